package sso

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/crewjam/saml"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
)

// forgedResponse is a well-formed, unsigned SAML response that would sign
// ann in if signatures were not checked.
const forgedResponse = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"
 ID="_r1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" Destination="http://localhost:8080/saml/1/acs" InResponseTo="id-1">
<saml:Issuer>https://idp.example.com/metadata</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">
<saml:Issuer>https://idp.example.com/metadata</saml:Issuer>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ann@example.com</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="id-1" Recipient="http://localhost:8080/saml/1/acs" NotOnOrAfter="2999-01-01T00:00:00Z"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="2000-01-01T00:00:00Z" NotOnOrAfter="2999-01-01T00:00:00Z"><saml:AudienceRestriction><saml:Audience>http://localhost:8080/saml/1/metadata</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AuthnStatement AuthnInstant="2026-01-01T00:00:00Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
</saml:Assertion></samlp:Response>`

// FuzzSAMLACS posts a raw form body to the ACS decoding: ACSForm takes
// a SAMLResponse and the RelayState exactly as posted, and the service
// provider never accepts a response the IdP did not sign, whether it
// answers our request or arrives unsolicited.
func FuzzSAMLACS(f *testing.F) {
	spPEM, err := NewSPKeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	idpPEM, err := NewSPKeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	key, err := ParseSPKeyPEM(spPEM)
	if err != nil {
		f.Fatal(err)
	}
	conn := db.SAMLConnection{ID: 1, IdPMetadataXML: samltest.Metadata(f, idpPEM)}
	sp, err := NewServiceProvider(conn, SP{Key: key,
		MetadataURL: "http://localhost:8080/saml/1/metadata", ACSURL: "http://localhost:8080/saml/1/acs"})
	if err != nil {
		f.Fatal(err)
	}

	b64 := func(s string) string { return url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(s))) }
	for _, s := range []string{
		"SAMLResponse=" + b64(forgedResponse) + "&RelayState=abc",
		"SAMLResponse=" + b64(strings.Replace(forgedResponse, "<saml:Assertion", "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/><saml:Assertion", 1)),
		"SAMLResponse=" + b64("<x/>"), "SAMLResponse=%%%", "SAMLResponse=", "RelayState=abc", "SAMLart=AAQ&SAMLResponse=x",
		"SAMLResponse=" + b64(`<!DOCTYPE r [<!ENTITY a "aaaaaaaa">]><r>&a;&a;</r>`), "SAMLResponse=a&SAMLResponse=b&RelayState=" + strings.Repeat("r", 100),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, unsolicited bool) {
		r := httptest.NewRequest(http.MethodPost, "/saml/1/acs", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		relay, ok := ACSForm(r)
		posted, err := url.ParseQuery(body)
		want := err == nil && posted.Get("SAMLResponse") != "" && !posted.Has("SAMLart")
		if ok != want {
			t.Fatalf("ACSForm(%q) ok = %v, want %v", body, ok, want)
		}
		if !ok {
			return
		}
		if relay != posted.Get("RelayState") {
			t.Fatalf("ACSForm(%q) relay = %q, want %q", body, relay, posted.Get("RelayState"))
		}
		s := *sp
		s.AllowIDPInitiated = unsolicited
		ids := []string{"id-1"}
		if unsolicited {
			ids = nil
		}
		if a, err := s.ParseResponse(r, ids); err == nil {
			t.Fatalf("an unsigned response was accepted: %+v", a)
		}
	})
}

// FuzzSAMLExternal checks what a validated assertion may say about a
// person: a sign-in goes ahead only with a stable, non-empty NameID and an
// email that is one plain address, verified only at a verified domain.
func FuzzSAMLExternal(f *testing.F) {
	for _, s := range [][4]string{
		{"ann@example.com", string(saml.EmailAddressNameIDFormat), "", "Ann"},
		{"abc123", string(saml.PersistentNameIDFormat), "ann@example.com", ""},
		{"abc123", string(saml.TransientNameIDFormat), "ann@example.com", "Ann"},
		{"  ", "", "ann@example.com", "Ann"},
		{"abc", "", "Ann <ann@example.com>", "Ann\nLee"},
		{"abc", "", "ann@EXAMPLE.com", ""},
		{"abc", "", "ann@example.com\r\nBcc: x@y.z", ""},
		{"ann@other.org", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	conn := db.SAMLConnection{ID: 7, EmailDomains: []string{"example.com", "other.org"}, VerifiedDomains: []string{"example.com"}}
	f.Fuzz(func(t *testing.T, nameID, format, email, name string) {
		a := &saml.Assertion{
			Subject: &saml.Subject{NameID: &saml.NameID{Format: format, Value: nameID}},
			AttributeStatements: []saml.AttributeStatement{{Attributes: []saml.Attribute{
				{Name: "urn:oid:0.9.2342.19200300.100.1.3", Values: []saml.AttributeValue{{Value: email}}},
				{FriendlyName: "displayName", Values: []saml.AttributeValue{{Value: name}}},
			}}},
		}
		ext, err := SAMLExternal(conn, a)
		if err != nil {
			if ext != (db.External{}) {
				t.Fatalf("refused (%v) but returned %+v", err, ext)
			}
			return
		}
		if ext.Provider != "saml:"+strconv.FormatInt(conn.ID, 10) {
			t.Fatalf("provider %q, want saml:%d", ext.Provider, conn.ID)
		}
		if ext.Subject == "" || ext.Subject != strings.TrimSpace(nameID) || format == string(saml.TransientNameIDFormat) {
			t.Fatalf("NameID %q (%s) accepted as subject %q", nameID, format, ext.Subject)
		}
		if addr, err := mail.ParseAddress(ext.Email); err != nil || addr.Address != ext.Email || addr.Name != "" {
			t.Fatalf("accepted email %q, which is not one plain address", ext.Email)
		}
		if strings.ContainsFunc(ext.Email, unicode.IsControl) {
			t.Fatalf("accepted email %q with a control character", ext.Email)
		}
		domain := ext.Email[strings.LastIndexByte(ext.Email, '@')+1:]
		if ext.EmailVerified != (strings.ToLower(domain) == "example.com") {
			t.Fatalf("email %q verified = %v, want verified only at example.com", ext.Email, ext.EmailVerified)
		}
	})
}
