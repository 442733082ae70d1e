package server

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

func TestSAMLVerifyDomain(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "owner@example.com", "-verified")
	store := c.store()
	owner, err := store.UserByEmail(t.Context(), "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := store.CreateAccount(t.Context(), owner.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := store.CreateSAMLConnection(t.Context(), acc.ID, owner.ID, db.NewSAMLConnection{
		Name: "Okta", IdPMetadataXML: "<md/>", IdPEntityID: "https://idp.example.com", EmailDomains: []string{"example.com"},
	}, db.Event{Kind: db.EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	id := "1"
	if conn.ID != 1 {
		t.Fatalf("connection id: got %d, want 1", conn.ID)
	}
	out := c.mustRun("", "saml", "verify-domain", "-connection", id, "-domain", "Example.com")
	if out != "emails at example.com from SAML connection 1 now count as verified\n" {
		t.Errorf("got %q", out)
	}
	conn, err = store.SAMLConnection(t.Context(), conn.ID)
	if err != nil || !conn.DomainVerified("example.com") {
		t.Errorf("got %+v, %v; want example.com verified", conn.VerifiedDomains, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"saml"}, "usage: roster saml verify-domain"},
		{[]string{"saml", "verify-domain", "-connection", id}, "usage: roster saml verify-domain"},
		{[]string{"saml", "verify-domain", "-connection", "9", "-domain", "example.com"}, "there is no SAML connection 9"},
		{[]string{"saml", "verify-domain", "-connection", id, "-domain", "other.com"}, "does not list other.com"},
	} {
		if _, _, err := c.run("", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("roster %s: got %v, want an error containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}
