package handlers

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
	"github.com/rosterhq/roster/sso"
)

// FuzzParseDomains checks the SAML connection's email domain list: what it
// accepts is 1 to 20 distinct lowercase host names, with no "@", space or
// other character that could widen whom the connection may sign in.
func FuzzParseDomains(f *testing.F) {
	for _, s := range []string{
		"example.com", "Example.COM, @corp.example.org", "a.io b.io\nc.io", "example.com,example.com", "",
		" , ", "localhost", "ex_ample.com", "-example.com", "example-.com", "xn--bcher-kva.example", "bücher.example",
		"example.com.", "*.example.com", "example.com@evil.com", "1.2.3.4", "a." + strings.Repeat("b", 64) + ".com",
		strings.Repeat("a.", 21) + "com", strings.TrimSuffix(strings.Repeat("x.io,", 21), ","), "example.com\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, problem := parseDomains(s)
		if problem != "" {
			if list != nil {
				t.Fatalf("parseDomains(%q) refused it (%s) but returned %q", s, problem, list)
			}
			return
		}
		if len(list) == 0 || len(list) > 20 {
			t.Fatalf("parseDomains(%q) = %q, want 1 to 20 domains", s, list)
		}
		for i, d := range list {
			if len(d) > 253 || d != strings.ToLower(d) || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
				t.Fatalf("parseDomains(%q) accepted %q", s, d)
			}
			if strings.ContainsFunc(d, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') }) {
				t.Fatalf("parseDomains(%q) accepted %q, with a character outside a-z 0-9 - .", s, d)
			}
			if slices.Contains(list[:i], d) {
				t.Fatalf("parseDomains(%q) = %q, with %q twice", s, list, d)
			}
		}
	})
}

// FuzzCheckIdPMetadata checks the IdP metadata an Admin pastes: metadata
// it accepts always builds a service provider later, at sign-in, and that
// provider has an IdP to send people to.
func FuzzCheckIdPMetadata(f *testing.F) {
	spPEM, err := sso.NewSPKeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	good := samltest.Metadata(f, spPEM)
	for _, s := range []string{
		good, strings.Replace(good, `use="signing"`, `use="encryption"`, 1), strings.Replace(good, "HTTP-Redirect", "HTTP-POST", 1),
		strings.Replace(good, `entityID="https://idp.example.com/metadata"`, "", 1), "<EntitiesDescriptor/>", "", "not xml",
		`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + good + `</EntitiesDescriptor>`,
		`<!DOCTYPE x [<!ENTITY a "a">]>` + good,
	} {
		f.Add([]byte(s))
	}
	h := &Handler{cfg: Config{BaseURL: &url.URL{Scheme: "https", Host: "roster.example.com"}}}
	key, err := sso.ParseSPKeyPEM(spPEM)
	if err != nil {
		f.Fatal(err)
	}
	h.saml.key = &key
	f.Fuzz(func(t *testing.T, b []byte) {
		entityID, problem := checkIdPMetadata(b)
		if problem != "" {
			if entityID != "" {
				t.Fatalf("refused (%s) but returned entity id %q", problem, entityID)
			}
			return
		}
		if entityID == "" {
			t.Fatalf("accepted %q with no entity id", b)
		}
		sp, err := h.serviceProvider(context.Background(), db.SAMLConnection{ID: 1, IdPMetadataXML: string(b)})
		if err != nil {
			t.Fatalf("accepted metadata %q fails at sign-in: %v", b, err)
		}
		if sp.IDPMetadata.EntityID != entityID {
			t.Fatalf("accepted entity id %q, sign-in reads %q", entityID, sp.IDPMetadata.EntityID)
		}
		if loc := sp.GetSSOBindingLocation("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"); loc == "" {
			t.Fatalf("accepted %q, which has no HTTP-Redirect sign-on address", b)
		}
	})
}
