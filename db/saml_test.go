package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// samlSetup makes an account owned by an Admin, with one connection for
// example.com and example.org that brings people in as readonly.
func samlSetup(t *testing.T, s *Store) (User, SAMLConnection) {
	t.Helper()
	owner := verifiedUser(t, s, "owner@example.com")
	acc := accountWith(t, s, owner, nil)
	c, err := s.CreateSAMLConnection(context.Background(), acc.ID, owner.ID, NewSAMLConnection{
		Name: "Okta", IdPMetadataXML: "<md/>", IdPEntityID: "https://idp.example.com",
		EmailDomains: []string{"Example.com", " example.org"}, DefaultRole: RoleReadOnly,
	}, Event{Kind: EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	return owner, c
}

func TestSAMLConnectionAdminsOnly(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, c := samlSetup(t, s)
	normal := verifiedUser(t, s, "normal@example.com")
	if _, err := s.w.Exec(`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, 'normal', 0)`, c.AccountID, normal.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := c.EmailDomains, []string{"example.com", "example.org"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("domains: got %v, want %v", got, want)
	}
	if _, err := s.CreateSAMLConnection(ctx, c.AccountID, normal.ID, NewSAMLConnection{Name: "x"}, Event{Kind: EventSAMLConnectionAdded}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a Normal member adds a connection: got %v, want ErrForbidden", err)
	}
	if _, err := s.DeleteSAMLConnection(ctx, c.AccountID, normal.ID, c.ID, Event{Kind: EventSAMLConnectionDeleted}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a Normal member deletes a connection: got %v, want ErrForbidden", err)
	}
	other := accountWith(t, s, normal, nil)
	if _, err := s.DeleteSAMLConnection(ctx, other.ID, normal.ID, c.ID, Event{Kind: EventSAMLConnectionDeleted}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete another account's connection: got %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteSAMLConnection(ctx, c.AccountID, owner.ID, c.ID, Event{Kind: EventSAMLConnectionDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SAMLConnection(ctx, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted connection: got %v, want ErrNotFound", err)
	}
}

func TestVerifySAMLDomain(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, c := samlSetup(t, s)
	ev := Event{Kind: EventSAMLDomainVerified}
	if err := s.VerifySAMLDomain(ctx, c.ID, "elsewhere.com", ev); !errors.Is(err, ErrDomainNotServed) {
		t.Fatalf("verify a domain the connection does not list: got %v", err)
	}
	if err := s.VerifySAMLDomain(ctx, c.ID, "EXAMPLE.com", ev); err != nil {
		t.Fatal(err)
	}
	c, _ = s.SAMLConnection(ctx, c.ID)
	if !c.DomainVerified("example.com") || c.DomainVerified("example.org") {
		t.Fatalf("verified domains: got %v, want [example.com]", c.VerifiedDomains)
	}
	// A second connection claiming the same domain cannot have it verified,
	// and /login/saml prefers the verified one.
	c2, err := s.CreateSAMLConnection(ctx, c.AccountID, owner.ID, NewSAMLConnection{Name: "Other", EmailDomains: []string{"example.com"}}, Event{Kind: EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifySAMLDomain(ctx, c2.ID, "example.com", ev); !errors.Is(err, ErrDomainTaken) {
		t.Fatalf("verify a domain verified elsewhere: got %v, want ErrDomainTaken", err)
	}
	list, err := s.SAMLConnectionsForDomain(ctx, "Example.COM")
	if err != nil || len(list) != 2 || list[0].ID != c.ID {
		t.Fatalf("connections for example.com: got %+v, %v; want the verified one first", list, err)
	}
	if list, _ := s.SAMLConnectionsForDomain(ctx, "ample.com"); len(list) != 0 {
		t.Fatalf("connections for ample.com: got %d, want none", len(list))
	}
}

func TestSAMLLogin(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	_, c := samlSetup(t, s)
	ev := Event{Kind: EventSignIn}
	start := func(relay string) {
		t.Helper()
		if err := s.StartSAMLRequest(ctx, SAMLRequest{RelayState: relay, ConnectionID: c.ID, RequestID: "id-" + relay}); err != nil {
			t.Fatal(err)
		}
	}
	ext := External{Provider: "saml:1", Subject: "ann", Email: "ann@example.com", EmailVerified: true}
	start("r1")
	if r, err := s.OpenSAMLRequest(ctx, c.ID, "r1"); err != nil || r.RequestID != "id-r1" {
		t.Fatalf("open request: got %+v, %v", r, err)
	}
	u, outcome, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r1", AssertionID: "a1", External: ext}, ev)
	if err != nil || outcome != LoginCreated {
		t.Fatalf("first sign-in: got %q, %v", outcome, err)
	}
	m, err := s.Membership(ctx, c.AccountID, u.ID)
	if err != nil || m.Role != RoleReadOnly {
		t.Fatalf("membership after sign-in: got %+v, %v; want readonly", m, err)
	}
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r1"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("open a used request: got %v", err)
	}
	// The request is single-use, and so is the assertion.
	if _, _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r1", AssertionID: "a2", External: ext}, ev); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("reuse the request: got %v, want ErrSAMLRequestUnknown", err)
	}
	start("r2")
	if _, _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r2", AssertionID: "a1", External: ext}, ev); !errors.Is(err, ErrSAMLReplayed) {
		t.Fatalf("replay the assertion: got %v, want ErrSAMLReplayed", err)
	}
	// An IdP-initiated sign-in has no request; the assertion still counts once.
	if _, outcome, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, AssertionID: "a3", External: ext}, ev); err != nil || outcome != LoginExisting {
		t.Fatalf("IdP-initiated sign-in: got %q, %v", outcome, err)
	}
	if _, _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, AssertionID: "a3", External: ext}, ev); !errors.Is(err, ErrSAMLReplayed) {
		t.Fatalf("replay an IdP-initiated assertion: got %v, want ErrSAMLReplayed", err)
	}
	// A refusal consumes the request and the assertion all the same.
	verifiedUser(t, s, "bob@example.com")
	start("r3")
	bob := External{Provider: "saml:1", Subject: "bob", Email: "bob@example.com"}
	if _, _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r3", AssertionID: "a4", External: bob}, ev); !errors.Is(err, ErrLinkUnverifiedProvider) {
		t.Fatalf("unverified email of an existing user: got %v, want ErrLinkUnverifiedProvider", err)
	}
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r3"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("request after a refusal: got %v, want it used", err)
	}
	// Requests expire.
	start("r4")
	s.now = func() time.Time { return time.Now().Add(SAMLRequestTTL + time.Minute) }
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r4"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("expired request: got %v", err)
	}
	if err := s.DeleteSpentSAML(ctx, s.now()); err != nil {
		t.Fatal(err)
	}
}

// TestSAMLLoginNotices: a SAML sign-in that links by email queues the
// linked notice in its transaction, a later one from a new browser the
// new-device notice.
func TestSAMLLoginNotices(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	_, c := samlSetup(t, s)
	carol := verifiedUser(t, s, "carol@example.com")
	notices := LoginNotices{Linked: &Notice{Circumstance: CircumstanceSecurity, Subject: "linked"},
		NewDevice: &Notice{Circumstance: CircumstanceSecurity, Subject: "new device"}}
	ext := External{Provider: "saml:1", Subject: "carol", Email: "carol@example.com", EmailVerified: true}
	for i, ua := range []string{"firefox", "firefox", "safari"} {
		in := SAMLSignIn{Connection: c, AssertionID: fmt.Sprint("a", i), External: ext, Notices: notices}
		if _, _, err := s.SAMLLogin(ctx, in, Event{Kind: EventSignIn, UserAgent: ua}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.RecentDeliveries(ctx, carol.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		got = append(got, d.Subject)
	}
	if want := []string{"new device", "linked"}; !slices.Equal(got, want) {
		t.Errorf("outbox %q, want %q (newest first)", got, want)
	}
}
