package sso

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
)

// TestSPKey: the key and certificate survive their PEM, which is how
// every process and restart presents the same certificate; a PEM without
// one of them is refused.
func TestSPKey(t *testing.T) {
	s, err := NewSPKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseSPKeyPEM(s)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Key.PublicKey.Equal(k.Cert.PublicKey) || k.Key.N.BitLen() != 2048 {
		t.Fatalf("the certificate is not of the %d-bit key", k.Key.N.BitLen())
	}
	if years := k.Cert.NotAfter.Sub(time.Now()).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("certificate valid for %.1f years, want 10", years)
	}
	keyOnly := s[:strings.Index(s, "-----BEGIN CERTIFICATE")]
	certOnly := s[strings.Index(s, "-----BEGIN CERTIFICATE"):]
	for _, bad := range []string{"", keyOnly, certOnly, "not pem"} {
		if _, err := ParseSPKeyPEM(bad); err == nil {
			t.Errorf("ParseSPKeyPEM(%.30q) accepted it", bad)
		}
	}
}

// TestNewServiceProvider: the entity id is the metadata URL, responses
// come by POST to the ACS URL, SHA-1 is refused and unsolicited responses
// are not allowed unless the caller says so.
func TestNewServiceProvider(t *testing.T) {
	s, err := NewSPKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseSPKeyPEM(s)
	if err != nil {
		t.Fatal(err)
	}
	conn := db.SAMLConnection{ID: 3, IdPMetadataXML: samltest.Metadata(t, s)}
	sp, err := NewServiceProvider(conn, SP{Key: k, MetadataURL: "https://r.example/saml/3/metadata", ACSURL: "https://r.example/saml/3/acs"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.EntityID != "https://r.example/saml/3/metadata" || sp.AcsURL.String() != "https://r.example/saml/3/acs" ||
		!sp.RejectSHA1Signatures || sp.AllowIDPInitiated || sp.IDPMetadata.EntityID != "https://idp.example.com/metadata" {
		t.Fatalf("got entity %q, ACS %q, reject SHA-1 %v, IdP-initiated %v, IdP %q",
			sp.EntityID, sp.AcsURL.String(), sp.RejectSHA1Signatures, sp.AllowIDPInitiated, sp.IDPMetadata.EntityID)
	}
	if _, err := NewServiceProvider(db.SAMLConnection{ID: 4, IdPMetadataXML: "<x/>"}, SP{Key: k}); err == nil {
		t.Fatal("metadata that is not SAML built a service provider")
	}
}

func TestSAMLErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("check: %w", saml.ErrExpired), "expired"},
		{saml.ErrAudienceMismatch, "audience"},
		{saml.ErrInvalidSignature, "signature"},
		{saml.ErrBadStatus{Status: "urn:oasis:names:tc:SAML:2.0:status:Requester"}, "idp_status"},
		{errors.New("something else"), "invalid_response"},
	}
	for _, tt := range tests {
		if got := SAMLErrorKind(tt.err); got != tt.want {
			t.Errorf("SAMLErrorKind(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestSAMLExternal: what an assertion may fail to say comes back as a
// typed error, for the caller to word.
func TestSAMLExternal(t *testing.T) {
	conn := db.SAMLConnection{ID: 7, EmailDomains: []string{"example.com", "other.org"}, VerifiedDomains: []string{"example.com"}}
	assertion := func(format, nameID string, attrs ...saml.Attribute) *saml.Assertion {
		return &saml.Assertion{
			Subject:             &saml.Subject{NameID: &saml.NameID{Format: format, Value: nameID}},
			AttributeStatements: []saml.AttributeStatement{{Attributes: attrs}},
		}
	}
	attr := func(name, value string) saml.Attribute {
		return saml.Attribute{Name: name, Values: []saml.AttributeValue{{Value: value}}}
	}
	tests := []struct {
		name    string
		conn    db.SAMLConnection
		a       *saml.Assertion
		want    db.External
		wantErr error
	}{
		{"email NameID", conn, assertion(string(saml.EmailAddressNameIDFormat), "Ann@Example.com", attr("displayName", "Ann")),
			db.External{Provider: "saml:7", Subject: "Ann@Example.com", Email: "ann@example.com", EmailVerified: true, DisplayName: "Ann"}, nil},
		{"persistent NameID, mail attribute, given name and surname", conn,
			assertion(string(saml.PersistentNameIDFormat), "abc", attr("mail", "bo@other.org"), attr("givenName", "Bo"), attr("sn", "Ek")),
			db.External{Provider: "saml:7", Subject: "abc", Email: "bo@other.org", DisplayName: "Bo Ek"}, nil},
		{"no subject", conn, &saml.Assertion{}, db.External{}, ErrNoNameID},
		{"transient NameID", conn, assertion(string(saml.TransientNameIDFormat), "ann@example.com"), db.External{}, ErrTransientNameID},
		{"no email", conn, assertion(string(saml.PersistentNameIDFormat), "abc"), db.External{}, ErrNoEmail},
		{"an email with a name", conn, assertion("", "abc", attr("email", "Ann <ann@example.com>")), db.External{}, ErrNoEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SAMLExternal(tt.conn, tt.a)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}

	var de *DomainError
	_, err := SAMLExternal(conn, assertion("", "eve@evil.example"))
	if !errors.As(err, &de) || de.Email != "eve@evil.example" || len(de.Domains) != 2 {
		t.Fatalf("email outside the domains: got %v, want a DomainError", err)
	}
	if err := CheckDomain(db.SAMLConnection{}, "ann@example.com"); !errors.As(err, &de) || len(de.Domains) != 0 {
		t.Fatalf("connection without domains: got %v, want a DomainError with none", err)
	}
	if err := CheckDomain(conn, "ann@EXAMPLE.com"); err != nil {
		t.Fatalf("domain in other case: got %v, want nil", err)
	}
}
