package db

import (
	"context"
	"database/sql"
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
	browser, other := []byte("browser hash"), []byte("another browser")
	start := func(relay string) {
		t.Helper()
		if err := s.StartSAMLRequest(ctx, SAMLRequest{RelayState: relay, ConnectionID: c.ID, RequestID: "id-" + relay, BrowserHash: browser}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartSAMLRequest(ctx, SAMLRequest{RelayState: "r0", ConnectionID: c.ID, RequestID: "id-r0"}); err == nil {
		t.Fatalf("a request bound to no browser was recorded")
	}
	ext := External{Provider: SAMLProvider(c.ID), Subject: "ann", Email: "ann@example.com", EmailVerified: true}
	start("r1")
	if r, err := s.OpenSAMLRequest(ctx, c.ID, "r1"); err != nil || r.RequestID != "id-r1" || string(r.BrowserHash) != string(browser) {
		t.Fatalf("open request: got %+v, %v", r, err)
	}
	// Another browser cannot finish it.
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r1", BrowserHash: other, AssertionID: "a0", External: ext}, ev); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("finish in another browser: got %v, want ErrSAMLRequestUnknown", err)
	}
	out, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r1", BrowserHash: browser, AssertionID: "a1", External: ext}, ev)
	if err != nil || out.Outcome != LoginCreated {
		t.Fatalf("first sign-in: got %+v, %v", out, err)
	}
	if id, err := s.IdentityBySubject(ctx, ext.Provider, ext.Subject); err != nil || id.ID != out.IdentityID || id.UserID != out.User.ID {
		t.Fatalf("identity: got %+v, %v; want id %d of user %d", id, err, out.IdentityID, out.User.ID)
	}
	m, err := s.Membership(ctx, c.AccountID, out.User.ID)
	if err != nil || m.Role != RoleReadOnly {
		t.Fatalf("membership after sign-in: got %+v, %v; want readonly", m, err)
	}
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r1"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("open a used request: got %v", err)
	}
	// The request is single-use, and so is the assertion.
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r1", BrowserHash: browser, AssertionID: "a2", External: ext}, ev); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("reuse the request: got %v, want ErrSAMLRequestUnknown", err)
	}
	start("r2")
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r2", BrowserHash: browser, AssertionID: "a1", External: ext}, ev); !errors.Is(err, ErrSAMLReplayed) {
		t.Fatalf("replay the assertion: got %v, want ErrSAMLReplayed", err)
	}
	// An IdP-initiated response signs nobody in by itself: it is held,
	// and only its browser's confirmation, once, finishes it.
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, BrowserHash: browser, AssertionID: "a3", External: ext}, ev); err == nil {
		t.Fatalf("an IdP-initiated sign-in without a confirmation succeeded")
	}
	held := HeldSAML{ConnectionID: c.ID, AssertionID: "a3", TokenHash: []byte("token"), BrowserHash: browser, External: ext}
	if err := s.HoldSAMLResponse(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := s.HoldSAMLResponse(ctx, HeldSAML{ConnectionID: c.ID, AssertionID: "a3", TokenHash: []byte("token2"), BrowserHash: browser, External: ext}); !errors.Is(err, ErrSAMLReplayed) {
		t.Fatalf("hold the same assertion twice: got %v, want ErrSAMLReplayed", err)
	}
	if _, err := s.HeldSAMLResponse(ctx, c.ID, []byte("token"), other); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("read a held response from another browser: got %v", err)
	}
	if got, err := s.HeldSAMLResponse(ctx, c.ID, []byte("token"), browser); err != nil || got.Subject != "ann" || got.Email != ext.Email || got.Provider != ext.Provider {
		t.Fatalf("held response: got %+v, %v", got, err)
	}
	confirm := SAMLSignIn{Connection: c, HeldTokenHash: []byte("token"), BrowserHash: other, External: ext}
	if _, err := s.SAMLLogin(ctx, confirm, ev); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("confirm in another browser: got %v, want ErrSAMLRequestUnknown", err)
	}
	confirm.BrowserHash = browser
	if out, err := s.SAMLLogin(ctx, confirm, ev); err != nil || out.Outcome != LoginExisting {
		t.Fatalf("confirmed IdP-initiated sign-in: got %+v, %v", out, err)
	}
	if _, err := s.SAMLLogin(ctx, confirm, ev); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("confirm twice: got %v, want ErrSAMLRequestUnknown", err)
	}
	// A refusal consumes the request and the assertion all the same.
	verifiedUser(t, s, "bob@example.com")
	start("r3")
	bob := External{Provider: SAMLProvider(c.ID), Subject: "bob", Email: "bob@example.com"}
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r3", BrowserHash: browser, AssertionID: "a4", External: bob}, ev); !errors.Is(err, ErrLinkUnverifiedProvider) {
		t.Fatalf("unverified email of an existing user: got %v, want ErrLinkUnverifiedProvider", err)
	}
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r3"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("request after a refusal: got %v, want it used", err)
	}
	// An email at a domain nobody verified makes no profile.
	start("r5")
	zoe := External{Provider: SAMLProvider(c.ID), Subject: "zoe", Email: "zoe@example.org"}
	if _, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: "r5", BrowserHash: browser, AssertionID: "a5", External: zoe}, ev); !errors.Is(err, ErrSAMLNoProfile) {
		t.Fatalf("new email at an unverified domain: got %v, want ErrSAMLNoProfile", err)
	}
	if _, err := s.UserByEmail(ctx, "zoe@example.org"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("profile for zoe@example.org: got %v, want none", err)
	}
	// Requests and held responses expire.
	start("r4")
	held.AssertionID, held.TokenHash = "a6", []byte("token3")
	if err := s.HoldSAMLResponse(ctx, held); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Now().Add(SAMLRequestTTL + time.Minute) }
	if _, err := s.OpenSAMLRequest(ctx, c.ID, "r4"); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("expired request: got %v", err)
	}
	if _, err := s.HeldSAMLResponse(ctx, c.ID, []byte("token3"), browser); !errors.Is(err, ErrSAMLRequestUnknown) {
		t.Fatalf("expired held response: got %v", err)
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
	ext := External{Provider: SAMLProvider(c.ID), Subject: "carol", Email: "carol@example.com", EmailVerified: true}
	for i, ua := range []string{"firefox", "firefox", "safari"} {
		relay := fmt.Sprint("r", i)
		if err := s.StartSAMLRequest(ctx, SAMLRequest{RelayState: relay, ConnectionID: c.ID, RequestID: "id", BrowserHash: []byte(ua)}); err != nil {
			t.Fatal(err)
		}
		in := SAMLSignIn{Connection: c, RelayState: relay, BrowserHash: []byte(ua), AssertionID: fmt.Sprint("a", i), External: ext, Notices: notices}
		if _, err := s.SAMLLogin(ctx, in, Event{Kind: EventSignIn, UserAgent: ua}); err != nil {
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

// samlSignedIn signs a new person in through connection c (its email
// domain verified) and opens a session through the login, and a second
// session with a password.
func samlSignedIn(t *testing.T, s *Store, c SAMLConnection, subject string) (User, Session, Session) {
	t.Helper()
	ctx := context.Background()
	relay := "relay-" + subject
	if err := s.StartSAMLRequest(ctx, SAMLRequest{RelayState: relay, ConnectionID: c.ID, RequestID: "id", BrowserHash: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	ext := External{Provider: SAMLProvider(c.ID), Subject: subject, Email: subject + "@example.com", EmailVerified: true}
	out, err := s.SAMLLogin(ctx, SAMLSignIn{Connection: c, RelayState: relay, BrowserHash: []byte("b"), AssertionID: "a-" + subject, External: ext}, Event{Kind: EventSignIn})
	if err != nil {
		t.Fatal(err)
	}
	through, err := s.CreateSession(ctx, Session{IDHash: []byte("saml-" + subject), UserID: out.User.ID, ExpiresAt: time.Now().Add(time.Hour), IdentityID: out.IdentityID})
	if err != nil {
		t.Fatal(err)
	}
	password, err := s.CreateSession(ctx, Session{IDHash: []byte("pw-" + subject), UserID: out.User.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return out.User, through, password
}

// sessionIDs lists the ids of the user's sessions.
func sessionIDs(t *testing.T, s *Store, userID int64) []int64 {
	t.Helper()
	list, err := s.SessionsForUser(context.Background(), userID, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ss := range list {
		ids = append(ids, ss.ID)
	}
	return ids
}

// TestDeleteSAMLConnectionDropsLogins: deleting a connection, or the
// account it belongs to, deletes its logins and signs out the sessions they
// opened (and no others), so a later connection can never inherit them.
func TestDeleteSAMLConnectionDropsLogins(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"connection", "account"} {
		t.Run(how, func(t *testing.T) {
			s := openTest(t)
			owner, c := samlSetup(t, s)
			if err := s.VerifySAMLDomain(ctx, c.ID, "example.com", Event{Kind: EventSAMLDomainVerified}); err != nil {
				t.Fatal(err)
			}
			c, _ = s.SAMLConnection(ctx, c.ID)
			// Another account's connection, whose login must stay.
			other := verifiedUser(t, s, "other-owner@example.net")
			acc2 := accountWith(t, s, other, nil)
			c2, err := s.CreateSAMLConnection(ctx, acc2.ID, other.ID, NewSAMLConnection{Name: "Other", IdPMetadataXML: "<md/>", EmailDomains: []string{"example.com"}}, Event{Kind: EventSAMLConnectionAdded})
			if err != nil {
				t.Fatal(err)
			}
			ann, annSAML, annPassword := samlSignedIn(t, s, c, "ann")
			if _, err := s.w.Exec(`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (?, ?, 'ann-elsewhere', 0, 0)`, ann.ID, SAMLProvider(c2.ID)); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "connection":
				_, err = s.DeleteSAMLConnection(ctx, c.AccountID, owner.ID, c.ID, Event{Kind: EventSAMLConnectionDeleted})
			case "account":
				err = s.DeleteAccount(ctx, c.AccountID, owner.ID, Event{Kind: EventAccountDeleted})
			}
			if err != nil {
				t.Fatal(err)
			}
			ids, _ := s.IdentitiesForUser(ctx, ann.ID)
			if len(ids) != 1 || ids[0].Provider != SAMLProvider(c2.ID) {
				t.Errorf("Ann's logins: got %+v, want only the one of connection %d", ids, c2.ID)
			}
			if got := sessionIDs(t, s, ann.ID); !slices.Equal(got, []int64{annPassword.ID}) {
				t.Errorf("Ann's sessions: got %v, want only %d (not %d, opened through the deleted login)", got, annPassword.ID, annSAML.ID)
			}
			page, err := s.EventsForUser(ctx, ann.ID, EventKey{}, 10)
			log := page.Events
			if err != nil || len(log) == 0 || log[0].Kind != EventLoginUnlinked || log[0].Detail["connection"] != "Okta" || log[0].Detail["provider"] != SAMLProvider(c.ID) {
				t.Errorf("Ann's log: got %+v, %v; want the login's removal with connection Okta first", log, err)
			}
		})
	}
}

// TestUnlinkIgnoresDeadLogins: a login whose connection is gone is no way
// in, so it cannot keep the last real one from being removed... nor let
// the last real one go.
func TestUnlinkIgnoresDeadLogins(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	_, c := samlSetup(t, s)
	if err := s.VerifySAMLDomain(ctx, c.ID, "example.com", Event{Kind: EventSAMLDomainVerified}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.SAMLConnection(ctx, c.ID)
	ann, _, _ := samlSignedIn(t, s, c, "ann")
	// A login naming no connection: only a write around the rules leaves
	// one (00011 removed those of connections deleted before it, and the
	// trigger removes a connection's logins with it).
	if _, err := s.w.Exec(`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (?, 'saml:999', 'ann', 0, 0)`, ann.ID); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.IdentitiesForUser(ctx, ann.ID)
	var live Identity
	for _, id := range ids {
		if id.Provider == SAMLProvider(c.ID) {
			live = id
		}
	}
	if _, err := s.UnlinkIdentity(ctx, ann.ID, live.ID, Event{Kind: EventLoginUnlinked}); !errors.Is(err, ErrLastLogin) {
		t.Fatalf("unlink the last live login beside a dead one: got %v, want ErrLastLogin", err)
	}
}

// TestSAMLBindingsMigration: 00011 removes the logins of connections
// deleted before it and keeps the others; it goes down and up again.
func TestSAMLBindingsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 8)
	owner := verifiedUser(t, s, "owner@example.com")
	acc := accountWith(t, s, owner, nil)
	var live int64
	if err := s.w.QueryRow(`INSERT INTO saml_connections (account_id, name, idp_metadata_xml, entity_id, created_at)
		VALUES (?, 'Okta', '<md/>', 'https://idp', 0) RETURNING id`, acc.ID).Scan(&live); err != nil {
		t.Fatal(err)
	}
	for _, provider := range []string{SAMLProvider(live), SAMLProvider(live + 1), "google"} {
		if _, err := s.w.Exec(`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (?, ?, 'ann', 0, 0)`, owner.ID, provider); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	ids, _ := s.IdentitiesForUser(ctx, owner.ID)
	for _, id := range ids {
		got = append(got, id.Provider)
	}
	if want := []string{SAMLProvider(live), "google"}; !slices.Equal(got, want) {
		t.Errorf("logins after 00011: got %v, want %v", got, want)
	}
	for {
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v <= 10 {
			break
		}
		if _, err := p.Down(ctx); err != nil {
			t.Fatalf("down from %d: %v", v, err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// TestUnlinkKeepsSessions: the X on a login keeps the sessions it opened
// (DESIGN 5), which then name no login.
func TestUnlinkKeepsSessions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	_, c := samlSetup(t, s)
	if err := s.VerifySAMLDomain(ctx, c.ID, "example.com", Event{Kind: EventSAMLDomainVerified}); err != nil {
		t.Fatal(err)
	}
	c, _ = s.SAMLConnection(ctx, c.ID)
	ann, through, _ := samlSignedIn(t, s, c, "ann")
	if _, err := s.w.Exec(`UPDATE users SET password_hash = 'h' WHERE id = ?`, ann.ID); err != nil {
		t.Fatal(err)
	}
	var identityID int64
	if err := s.w.QueryRow(`SELECT identity_id FROM sessions WHERE id = ?`, through.ID).Scan(&identityID); err != nil || identityID == 0 {
		t.Fatalf("identity of the session: got %d, %v; want the login's id", identityID, err)
	}
	if _, err := s.UnlinkIdentity(ctx, ann.ID, identityID, Event{Kind: EventLoginUnlinked}); err != nil {
		t.Fatal(err)
	}
	var left sql.NullInt64
	if err := s.w.QueryRow(`SELECT identity_id FROM sessions WHERE id = ?`, through.ID).Scan(&left); err != nil || left.Valid {
		t.Errorf("session after unlinking its login: got %v, %v; want kept, with no login", left, err)
	}
}
