package db

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// claimOf returns the claim of connection connID on domain, as its Admin
// would ask for it.
func claimOf(t *testing.T, s *Store, adminID int64, c SAMLConnection, domain string) SAMLDomain {
	t.Helper()
	d, err := s.SAMLDomainClaim(context.Background(), c.AccountID, adminID, c.ID, domain)
	if err != nil {
		t.Fatalf("claim of connection %d on %s: %v", c.ID, domain, err)
	}
	return d
}

// TestSAMLDomainClaims: every listed domain has a pending claim with a
// token of its own, which the Admin confirms; the event names who did it.
func TestSAMLDomainClaims(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, c := samlSetup(t, s)
	list, err := s.SAMLDomains(ctx, c.AccountID)
	if err != nil || len(list) != 2 {
		t.Fatalf("claims of a new connection: got %+v, %v; want two", list, err)
	}
	for _, d := range list {
		if d.Verified() || len(d.Token) < 26 || !strings.HasPrefix(d.TXTRecord(), "roster-verification=") {
			t.Errorf("claim %+v: want pending, with a 26-character token", d)
		}
	}
	if list[0].Token == list[1].Token {
		t.Errorf("two claims share the token %q", list[0].Token)
	}
	d := claimOf(t, s, owner.ID, c, "Example.COM")
	if d.Domain != "example.com" || d.Token != list[0].Token {
		t.Errorf("claim on Example.COM: got %+v, want the one listed, %+v", d, list[0])
	}
	if _, err := s.SAMLDomainClaim(ctx, c.AccountID, owner.ID, c.ID, "elsewhere.com"); !errors.Is(err, ErrDomainNotServed) {
		t.Errorf("claim on a domain not listed: got %v, want ErrDomainNotServed", err)
	}
	ev := Event{Kind: EventSAMLDomainVerified, IP: "192.0.2.1"}
	if err := s.ConfirmSAMLDomain(ctx, c.AccountID, owner.ID, c.ID, "example.com", "not-the-token", ev); !errors.Is(err, ErrSAMLClaimChanged) {
		t.Fatalf("confirm with another token: got %v, want ErrSAMLClaimChanged", err)
	}
	if err := s.ConfirmSAMLDomain(ctx, c.AccountID, owner.ID, c.ID, "example.com", d.Token, ev); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.SAMLConnection(ctx, c.ID); !slices.Equal(c.VerifiedDomains, []string{"example.com"}) {
		t.Errorf("verified domains: got %v, want [example.com]", c.VerifiedDomains)
	}
	if d = claimOf(t, s, owner.ID, c, "example.com"); !d.Verified() {
		t.Errorf("claim after confirming: got %+v, want verified", d)
	}
	// Again: nothing changes, no second event.
	if err := s.ConfirmSAMLDomain(ctx, c.AccountID, owner.ID, c.ID, "example.com", d.Token, ev); err != nil {
		t.Fatal(err)
	}
	page, err := s.EventsForUser(ctx, owner.ID, EventKey{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	for _, e := range page.Events {
		if e.Kind == EventSAMLDomainVerified {
			events = append(events, e)
		}
	}
	if len(events) != 1 || events[0].AccountID != c.AccountID || events[0].IP != "192.0.2.1" ||
		events[0].Detail["domain"] != "example.com" || events[0].Detail["connection"] != "Okta" || events[0].Detail["method"] != "dns" {
		t.Errorf("verification events of the Admin: got %+v, want one naming the domain, connection and method", events)
	}
}

// TestSAMLDomainClaimAdminsOnly: claims are an Admin's business, of their
// own account's connections only.
func TestSAMLDomainClaimAdminsOnly(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, c := samlSetup(t, s)
	d := claimOf(t, s, owner.ID, c, "example.com")
	normal := verifiedUser(t, s, "normal@example.com")
	if _, err := s.w.Exec(`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, 'normal', 0)`, c.AccountID, normal.ID); err != nil {
		t.Fatal(err)
	}
	ev := Event{Kind: EventSAMLDomainVerified}
	if _, err := s.SAMLDomainClaim(ctx, c.AccountID, normal.ID, c.ID, "example.com"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a Normal member reads a claim: got %v, want ErrForbidden", err)
	}
	if err := s.ConfirmSAMLDomain(ctx, c.AccountID, normal.ID, c.ID, "example.com", d.Token, ev); !errors.Is(err, ErrForbidden) {
		t.Errorf("a Normal member confirms a claim: got %v, want ErrForbidden", err)
	}
	// The Admin of another account names this connection under theirs.
	mallory := verifiedUser(t, s, "mallory@example.net")
	other := accountWith(t, s, mallory, nil)
	if _, err := s.SAMLDomainClaim(ctx, other.ID, mallory.ID, c.ID, "example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's claim: got %v, want ErrNotFound", err)
	}
	if err := s.ConfirmSAMLDomain(ctx, other.ID, mallory.ID, c.ID, "example.com", d.Token, ev); !errors.Is(err, ErrNotFound) {
		t.Errorf("confirm another account's claim: got %v, want ErrNotFound", err)
	}
	if c, _ := s.SAMLConnection(ctx, c.ID); len(c.VerifiedDomains) != 0 {
		t.Errorf("verified domains: got %v, want none", c.VerifiedDomains)
	}
}

// TestSAMLDomainPendingClaimCountsForNothing is the attack of a second
// account on a domain that a first one has verified: B's connection lists
// the domain, so B has a pending claim. That claim must never count as
// verified (not for B's sign-ins, not for /login/saml's choice), and B
// cannot verify the domain while A holds it, whichever way it tries.
func TestSAMLDomainPendingClaimCountsForNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ownerA, a := samlSetup(t, s)
	if err := s.VerifySAMLDomain(ctx, a.ID, "example.com", Event{Kind: EventSAMLDomainVerified}); err != nil {
		t.Fatal(err)
	}
	mallory := verifiedUser(t, s, "mallory@example.net")
	accB := accountWith(t, s, mallory, nil)
	b, err := s.CreateSAMLConnection(ctx, accB.ID, mallory.ID, NewSAMLConnection{
		Name: "Evil", IdPMetadataXML: "<md/>", IdPEntityID: "https://evil.example.net", EmailDomains: []string{"example.com", "example.net"},
	}, Event{Kind: EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	claim := claimOf(t, s, mallory.ID, b, "example.com")
	if claim.Verified() || !claim.TakenElsewhere {
		t.Errorf("B's claim: got %+v, want pending and taken elsewhere", claim)
	}
	check := func(when string) {
		t.Helper()
		b, err := s.SAMLConnection(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.DomainVerified("example.com") || b.DomainVerified("example.net") || len(b.VerifiedDomains) != 0 {
			t.Errorf("%s: B's verified domains: got %v, want none", when, b.VerifiedDomains)
		}
		list, err := s.SAMLConnectionsForDomain(ctx, "example.com")
		if err != nil || len(list) != 2 || list[0].ID != a.ID {
			t.Errorf("%s: connections for example.com: got %+v, %v; want A's first", when, list, err)
		}
		if list, _ := s.SAMLConnectionsForDomain(ctx, "example.net"); len(list) != 1 || list[0].DomainVerified("example.net") {
			t.Errorf("%s: connections for example.net: got %+v; want B's, unverified", when, list)
		}
	}
	check("B's pending claims")

	ev := Event{Kind: EventSAMLDomainVerified}
	if err := s.ConfirmSAMLDomain(ctx, accB.ID, mallory.ID, b.ID, "example.com", claim.Token, ev); !errors.Is(err, ErrDomainTaken) {
		t.Errorf("B confirms a domain A holds: got %v, want ErrDomainTaken", err)
	}
	if err := s.VerifySAMLDomain(ctx, b.ID, "example.com", ev); !errors.Is(err, ErrDomainTaken) {
		t.Errorf("operator verifies for B a domain A holds: got %v, want ErrDomainTaken", err)
	}
	// The index holds even against a write that skips the check.
	if _, err := s.w.Exec(`UPDATE saml_domains SET verified_at = 1 WHERE connection_id = ? AND domain = 'example.com'`, b.ID); !errors.Is(mapErr(err), ErrConflict) {
		t.Errorf("a second verified row for example.com: got %v, want a UNIQUE failure", err)
	}
	check("B's refused verifications")

	// Once A's connection is gone, B may verify the domain (it still has
	// to publish its own token's record).
	if _, err := s.DeleteSAMLConnection(ctx, a.AccountID, ownerA.ID, a.ID, Event{Kind: EventSAMLConnectionDeleted}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmSAMLDomain(ctx, accB.ID, mallory.ID, b.ID, "example.com", claim.Token, ev); err != nil {
		t.Errorf("B confirms a domain nobody holds: %v", err)
	}
}

// TestSAMLDomainVerifiedOnce: two Admins verifying the same domain for
// two connections at once: one wins, the other is told it is taken.
func TestSAMLDomainVerifiedOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, a := samlSetup(t, s)
	b, err := s.CreateSAMLConnection(ctx, a.AccountID, owner.ID, NewSAMLConnection{Name: "Second", EmailDomains: []string{"example.com"}}, Event{Kind: EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{claimOf(t, s, owner.ID, a, "example.com").Token, claimOf(t, s, owner.ID, b, "example.com").Token}
	errs := make(chan error, 2)
	for i, c := range []SAMLConnection{a, b} {
		go func() {
			errs <- s.ConfirmSAMLDomain(ctx, c.AccountID, owner.ID, c.ID, "example.com", tokens[i], Event{Kind: EventSAMLDomainVerified})
		}()
	}
	var ok, taken int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrDomainTaken):
			taken++
		default:
			t.Errorf("confirm: %v", err)
		}
	}
	if ok != 1 || taken != 1 {
		t.Errorf("two confirmations at once: %d done, %d taken; want 1 and 1", ok, taken)
	}
}

// TestReserveDNSLookup: a look-up is reserved under every limit or none,
// and the window frees them.
func TestReserveDNSLookup(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	acc := DNSLookupLimit{Key: "account:1", Max: 3}
	ip := DNSLookupLimit{Key: "ip:192.0.2.1", Max: 4}
	for i := range 3 {
		if ok, _, err := s.ReserveDNSLookup(ctx, time.Minute, acc, ip); err != nil || !ok {
			t.Fatalf("look-up %d: got %t, %v; want it reserved", i+1, ok, err)
		}
	}
	now = now.Add(20 * time.Second)
	ok, wait, err := s.ReserveDNSLookup(ctx, time.Minute, acc, ip)
	if err != nil || ok || wait != 40*time.Second {
		t.Fatalf("4th look-up of the account: got %t, wait %v, %v; want refused, 40s", ok, wait, err)
	}
	// The refusal took nothing from the address: it has one left.
	other := DNSLookupLimit{Key: "account:2", Max: 3}
	if ok, _, _ := s.ReserveDNSLookup(ctx, time.Minute, other, ip); !ok {
		t.Fatalf("the address's 4th look-up: refused, want it reserved")
	}
	if ok, _, _ := s.ReserveDNSLookup(ctx, time.Minute, other, ip); ok {
		t.Fatalf("the address's 5th look-up: reserved, want it refused")
	}
	now = now.Add(41 * time.Second)
	if ok, _, err := s.ReserveDNSLookup(ctx, time.Minute, acc, DNSLookupLimit{Key: "ip:192.0.2.2", Max: 4}); err != nil || !ok {
		t.Fatalf("a minute later: got %t, %v; want it reserved", ok, err)
	}
}

// TestSAMLDomainClaimsMigration: 00012 keeps the operator's verified
// domains, gives every listed domain a claim with its own token, and turns
// IdP-initiated sign-in off where no domain is verified; down and up again.
func TestSAMLDomainClaimsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 11)
	owner := verifiedUser(t, s, "owner@example.com")
	acc := accountWith(t, s, owner, nil)
	for _, stmt := range []string{
		`INSERT INTO saml_connections (id, account_id, name, idp_metadata_xml, entity_id, email_domains, allow_idp_initiated, created_at)
			VALUES (1, ?1, 'Verified', '<md/>', 'https://a', 'example.com,example.org', 1, 0),
			       (2, ?1, 'Pending', '<md/>', 'https://b', 'example.net', 1, 0),
			       (3, ?1, 'None', '<md/>', 'https://c', '', 0, 0)`,
		`INSERT INTO saml_domains (connection_id, domain, verified_at) VALUES (1, 'Example.com', 100)`,
	} {
		if _, err := s.w.ExecContext(ctx, stmt, acc.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Up to 00012 only, so that Down below undoes 00012 whatever follows it.
	if _, err := p.UpTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	conns, err := s.SAMLConnections(ctx, acc.ID)
	if err != nil || len(conns) != 3 {
		t.Fatalf("connections after 00012: got %d, %v", len(conns), err)
	}
	if !slices.Equal(conns[0].VerifiedDomains, []string{"example.com"}) || !conns[0].AllowIdPInitiated {
		t.Errorf("connection with a verified domain: got %v, IdP-initiated %t; want [example.com], true", conns[0].VerifiedDomains, conns[0].AllowIdPInitiated)
	}
	if len(conns[1].VerifiedDomains) != 0 || conns[1].AllowIdPInitiated {
		t.Errorf("connection without one: got %v, IdP-initiated %t; want none, false", conns[1].VerifiedDomains, conns[1].AllowIdPInitiated)
	}
	claims, err := s.SAMLDomains(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	tokens := map[string]bool{}
	for _, d := range claims {
		got = append(got, d.Domain+":"+map[bool]string{true: "verified", false: "pending"}[d.Verified()])
		if len(d.Token) < 26 || tokens[d.Token] {
			t.Errorf("claim %+v: want a token of its own", d)
		}
		tokens[d.Token] = true
	}
	if want := []string{"example.com:verified", "example.org:pending", "example.net:pending"}; !slices.Equal(got, want) {
		t.Errorf("claims after 00012: got %v, want %v", got, want)
	}
	if !claims[0].VerifiedAt.Equal(time.Unix(100, 0)) {
		t.Errorf("verified at: got %v, want the operator's time", claims[0].VerifiedAt)
	}

	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []string
	list, err := s.w.QueryContext(ctx, `SELECT connection_id || ':' || domain || ':' || verified_at FROM saml_domains`)
	if err != nil {
		t.Fatal(err)
	}
	for list.Next() {
		var r string
		list.Scan(&r)
		rows = append(rows, r)
	}
	list.Close()
	if !slices.Equal(rows, []string{"1:example.com:100"}) {
		t.Errorf("saml_domains after 00012 down: got %v, want the verified row", rows)
	}
	if _, err := p.UpTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if claims, _ := s.SAMLDomains(ctx, acc.ID); len(claims) != 3 {
		t.Errorf("claims after 00012 again: got %d, want 3", len(claims))
	}
}
