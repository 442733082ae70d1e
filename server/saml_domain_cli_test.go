package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestSAMLVerifyDomainTaken: the operator cannot verify for a second
// connection (of another account) a domain verified for a first one; the
// second connection's pending claim stays pending.
func TestSAMLVerifyDomainTaken(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "owner@example.com", "-verified")
	c.mustRun("", "user", "create", "-email", "mallory@example.net", "-verified")
	store := c.store()
	var conns []db.SAMLConnection
	for _, email := range []string{"owner@example.com", "mallory@example.net"} {
		u, err := store.UserByEmail(t.Context(), email)
		if err != nil {
			t.Fatal(err)
		}
		acc, err := store.CreateAccount(t.Context(), u.ID, "Account of "+email, db.Event{Kind: db.EventAccountCreated})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := store.CreateSAMLConnection(t.Context(), acc.ID, u.ID, db.NewSAMLConnection{
			Name: "IdP", IdPMetadataXML: "<md/>", IdPEntityID: "https://idp.example", EmailDomains: []string{"example.com"},
		}, db.Event{Kind: db.EventSAMLConnectionAdded})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	id := func(c db.SAMLConnection) string { return strconv.FormatInt(c.ID, 10) }
	c.mustRun("", "saml", "verify-domain", "-connection", id(conns[0]), "-domain", "example.com")
	c.mustRun("", "saml", "verify-domain", "-connection", id(conns[0]), "-domain", "example.com") // again: nothing changes
	_, _, err := c.run("", "saml", "verify-domain", "-connection", id(conns[1]), "-domain", "example.com")
	if err == nil || !strings.Contains(err.Error(), "example.com is already verified for another SAML connection") {
		t.Errorf("verify a taken domain: got %v, want it refused", err)
	}
	for i, want := range []bool{true, false} {
		conn, err := store.SAMLConnection(t.Context(), conns[i].ID)
		if err != nil || conn.DomainVerified("example.com") != want {
			t.Errorf("connection %d: example.com verified %t (%v), want %t", conn.ID, conn.DomainVerified("example.com"), err, want)
		}
	}
}
