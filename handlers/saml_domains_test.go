package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/dnstest"
	"github.com/rosterhq/roster/internal/samltest"
)

// The Verify button of SAML domains, against a real DNS server on loopback
// (internal/dnstest) that Roster's resolver is pointed at, as
// ROSTER_DNS_RESOLVER does.

// dnsEnv is a Roster app whose TXT look-ups go to dns, an identity
// provider to add connections to, and account Acme with its owner.
type dnsEnv struct {
	app     *app
	dns     *dnstest.Server
	idp     *samltest.IdP
	owner   db.User
	account db.Account
	admin   *client // signed in as the owner
}

func newDNSEnv(t *testing.T) *dnsEnv {
	t.Helper()
	server := dnstest.New(t)
	a := newApp(t, func(ac *appConfig) { ac.Resolver = handlers.DNSResolver(server.Addr) })
	e := &dnsEnv{app: a, dns: server, idp: samltest.New(t, nil)}
	e.owner = a.seedUser(t, annName, "ann@acme.test", annPassword)
	e.account = a.seedAccount(t, e.owner, "Acme")
	e.admin = a.client(t)
	e.admin.adopt(e.owner.ID)
	return e
}

func accountPath(acc db.Account) string { return "/accounts/" + strconv.FormatInt(acc.ID, 10) }

// addConnection has admin add a connection for domains to acc through the
// console, and returns it.
func (e *dnsEnv) addConnection(t *testing.T, admin *client, acc db.Account, name, domains string) db.SAMLConnection {
	t.Helper()
	res := admin.postForm(accountPath(acc)+"/saml", url.Values{
		"name": {name}, "metadata_url": {e.idp.URL + "/metadata"}, "email_domains": {domains},
	})
	if res.status != http.StatusSeeOther {
		t.Fatalf("add the SAML connection %s: got %d, want 303; body %s", name, res.status, res.body)
	}
	conns, err := e.app.store.SAMLConnections(context.Background(), acc.ID)
	if err != nil || len(conns) == 0 {
		t.Fatalf("connections of %s: got %d, %v", acc.Name, len(conns), err)
	}
	return conns[len(conns)-1]
}

func verifyPath(acc db.Account, conn db.SAMLConnection, domain string) string {
	return accountPath(acc) + "/saml/" + strconv.FormatInt(conn.ID, 10) + "/domains/" + domain + "/verify"
}

// txtRecordShown reads, from the console, the TXT record to publish at
// domain for the connection: its name and its value, copyable fields.
func txtRecordShown(t *testing.T, admin *client, acc db.Account, conn db.SAMLConnection, domain string) string {
	t.Helper()
	page := admin.get(accountPath(acc) + "/saml")
	article := regexp.MustCompile(`(?s)<article class="saml-connection" id="saml-` + strconv.FormatInt(conn.ID, 10) + `">.*?</article>`).FindString(page.body)
	m := regexp.MustCompile(`<label>Name <input type="text" readonly value="` + regexp.QuoteMeta(domain) + `"></label>\s*` +
		`<label>Value <input type="text" readonly value="(roster-verification=[a-z2-7]{26})"></label>`).FindStringSubmatch(article)
	if m == nil {
		t.Fatalf("the console shows no TXT record for %s of connection %d:\n%s", domain, conn.ID, article)
	}
	return html.UnescapeString(m[1])
}

// verified reports whether domain is verified for the connection.
func (e *dnsEnv) verified(t *testing.T, conn db.SAMLConnection, domain string) bool {
	t.Helper()
	c, err := e.app.store.SAMLConnection(context.Background(), conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c.DomainVerified(domain)
}

func TestSAMLDomainVerify(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	ctx := context.Background()
	conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com, example.org")
	record := txtRecordShown(t, e.admin, e.account, conn, "example.com")
	if other := txtRecordShown(t, e.admin, e.account, conn, "example.org"); other == record {
		t.Errorf("example.com and example.org share the record %s", record)
	}
	if page := e.admin.get(accountPath(e.account) + "/saml"); !strings.Contains(page.body, "example.com not verified") ||
		!strings.Contains(page.body, `action="`+verifyPath(e.account, conn, "example.com")+`"`) {
		t.Errorf("the console shows no pending example.com with a Verify button:\n%s", page.body)
	}

	// Before the record is published: 422, the message next to the domain.
	res := e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil)
	want := "No TXT record " + record + " at example.com yet. DNS changes can take a while to show: try again in a few minutes."
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(want)) || strings.Contains(res.body, "<html") {
		t.Fatalf("verify before publishing: got %d, want the #saml fragment with 422 and %q; body %s", res.status, want, res.body)
	}
	if got := e.dns.Queries(); !slices.Equal(got, []string{"TXT example.com."}) {
		t.Errorf("DNS queries: got %v, want one TXT query for example.com.", got)
	}
	// Without JavaScript: the whole console, with the same message.
	res = e.admin.postForm(verifyPath(e.account, conn, "example.com"), nil)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(want)) || !strings.Contains(res.body, "<html") {
		t.Errorf("plain verify before publishing: got %d, want the console with 422", res.status)
	}
	// Other records, and only the name's own: a record one label up or
	// down does not count.
	e.dns.SetTXT("example.com", "v=spf1 -all", "google-site-verification=abc")
	e.dns.SetTXT("_roster-challenge.example.com", record)
	e.dns.SetTXT("www.example.com", record)
	if res := e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(want)) {
		t.Errorf("verify with other records: got %d, want 422 and %q", res.status, want)
	}
	if e.verified(t, conn, "example.com") {
		t.Fatal("example.com verified without its record")
	}

	// Published: verified, in the section and the store, with an audit
	// event naming the Admin.
	e.dns.SetTXT("example.com", "v=spf1 -all", record)
	res = e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, "example.com verified") || !strings.Contains(res.body, "example.com is verified") {
		t.Fatalf("verify after publishing: got %d, want the section with example.com verified; body %s", res.status, res.body)
	}
	if !e.verified(t, conn, "example.com") || e.verified(t, conn, "example.org") {
		t.Errorf("verified domains: want example.com only")
	}
	page, err := e.app.store.EventsForUser(ctx, e.owner.ID, db.EventKey{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page.Events, func(ev db.Event) bool { return ev.Kind == db.EventSAMLDomainVerified })
	if i < 0 || page.Events[i].AccountID != e.account.ID || page.Events[i].Detail["domain"] != "example.com" || page.Events[i].UserAgent != firefoxUA {
		t.Fatalf("the Admin's activity: got %+v, want a domain-verified event for example.com", page.Events)
	}
	if res := e.admin.get("/profile/activity"); !strings.Contains(res.body, "Verified the domain example.com for the SAML connection Okta of Acme") {
		t.Errorf("the activity page does not say the domain was verified")
	}

	// Again, as a plain form: nothing to look up.
	before := len(e.dns.Queries())
	res = e.admin.postForm(verifyPath(e.account, conn, "example.com"), nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != accountPath(e.account)+"/manage#saml" {
		t.Errorf("verify a verified domain: got %d to %q, want 303 to the console", res.status, res.header.Get("Location"))
	}
	if n := len(e.dns.Queries()); n != before {
		t.Errorf("verify a verified domain asked DNS %d more times, want none", n-before)
	}
}

// TestSAMLDomainVerifyWho: only the account's Admins verify, with a CSRF
// token, and only their own connections' listed domains; nobody else makes
// Roster send a DNS query.
func TestSAMLDomainVerifyWho(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com")
	record := txtRecordShown(t, e.admin, e.account, conn, "example.com")
	e.dns.SetTXT("example.com", record)
	path := verifyPath(e.account, conn, "example.com")

	bob := e.app.seedUser(t, "Bob", bobEmail, bobPassword)
	bobC := e.app.client(t)
	bobC.adopt(bob.ID)
	bobAcc := e.app.seedAccount(t, bob, "Bob's")
	if res := bobC.postForm(path, nil); res.status != http.StatusNotFound {
		t.Errorf("a non-member verifies: got %d, want 404", res.status)
	}
	// Through his own account's id: the connection is not his account's.
	if res := bobC.postForm(verifyPath(bobAcc, conn, "example.com"), nil); res.status != http.StatusNotFound {
		t.Errorf("another account's Admin names the connection under his account: got %d, want 404", res.status)
	}
	e.app.join(t, e.account, e.owner, bob, db.RoleNormal)
	if res := bobC.postForm(path, nil); res.status != http.StatusForbidden {
		t.Errorf("a Normal member verifies: got %d, want 403", res.status)
	}
	if res := e.app.client(t).postForm(path, nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("logged out: got %d to %q, want 303 to /login", res.status, res.header.Get("Location"))
	}
	if res := e.admin.do(http.MethodPost, path, url.Values{}, nil); res.status != http.StatusForbidden {
		t.Errorf("the Admin without a CSRF token: got %d, want 403", res.status)
	}
	for _, p := range []string{
		verifyPath(e.account, conn, "example.org"),    // not listed
		verifyPath(e.account, conn, "ex%20ample.com"), // not a domain
		verifyPath(e.account, conn, "example.com.."),  // not a domain
		accountPath(e.account) + "/saml/abc/domains/example.com/verify",
	} {
		if res := e.admin.postForm(p, nil); res.status != http.StatusNotFound {
			t.Errorf("POST %s: got %d, want 404", p, res.status)
		}
	}
	if got := e.dns.Queries(); len(got) != 0 {
		t.Errorf("DNS queries: got %v, want none", got)
	}
	if e.verified(t, conn, "example.com") {
		t.Error("example.com verified by a refused request")
	}
}

// TestSAMLDomainTakeover plays account B's attack on a domain account A
// has verified: B lists it too, so B has a pending claim. The claim counts
// for nothing, B cannot verify the domain while A holds it (even with its
// own record published), and A's record, public in DNS, never verifies
// B's claim.
func TestSAMLDomainTakeover(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	connA := e.addConnection(t, e.admin, e.account, "Okta", "example.com")
	recordA := txtRecordShown(t, e.admin, e.account, connA, "example.com")
	e.dns.SetTXT("example.com", recordA)
	if res := e.admin.postHTMX(verifyPath(e.account, connA, "example.com"), nil); res.status != http.StatusOK {
		t.Fatalf("A verifies example.com: got %d; body %s", res.status, res.body)
	}

	mallory := e.app.seedUser(t, "Mallory", "mallory@evil.test", bobPassword)
	m := e.app.client(t)
	m.adopt(mallory.ID)
	accB := e.app.seedAccount(t, mallory, "Evil")
	connB := e.addConnection(t, m, accB, "Evil IdP", "example.com")
	page := m.get(accountPath(accB) + "/saml")
	if !strings.Contains(page.body, "example.com is verified for another SAML connection on this server") || strings.Contains(page.body, "roster-verification=") {
		t.Errorf("B's console: want example.com shown as taken, with no record to publish:\n%s", page.body)
	}
	if e.verified(t, connB, "example.com") {
		t.Fatal("B's pending claim counts as verified")
	}
	claim, err := e.app.store.SAMLDomainClaim(context.Background(), accB.ID, mallory.ID, connB.ID, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.dns.Queries())
	e.dns.SetTXT("example.com", recordA, claim.TXTRecord())
	res := m.postHTMX(verifyPath(accB, connB, "example.com"), nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, fieldError("example.com is verified for another SAML connection on this server. It can be verified for this one once that connection is deleted.")) {
		t.Errorf("B verifies while A holds example.com: got %d, want 409 and the message; body %s", res.status, res.body)
	}
	if n := len(e.dns.Queries()); n != before {
		t.Errorf("B's refused verify asked DNS %d times, want none", n-before)
	}
	if e.verified(t, connB, "example.com") || !e.verified(t, connA, "example.com") {
		t.Fatal("example.com moved to B")
	}
	anon := e.app.client(t)
	if res := anon.get("/login/saml?email=zoe@example.com"); res.header.Get("Location") != "/saml/"+strconv.FormatInt(connA.ID, 10)+"/login" {
		t.Errorf("/login/saml for example.com: got %d to %q, want A's connection", res.status, res.header.Get("Location"))
	}

	// A deletes its connection; A's record is still in DNS, and is not B's.
	e.dns.SetTXT("example.com", recordA)
	if res := e.admin.postForm(accountPath(e.account)+"/saml/"+strconv.FormatInt(connA.ID, 10)+"/delete", nil); res.status != http.StatusSeeOther {
		t.Fatalf("A deletes its connection: got %d", res.status)
	}
	res = m.postHTMX(verifyPath(accB, connB, "example.com"), nil)
	want := "The TXT records at example.com have a roster-verification value that is not this connection's. Publish " + claim.TXTRecord() + " (other records can stay)."
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(want)) {
		t.Errorf("B verifies with A's old record: got %d, want 422 and %q; body %s", res.status, want, res.body)
	}
	if e.verified(t, connB, "example.com") {
		t.Fatal("A's record verified B's claim")
	}
}

// TestSAMLDomainVerifyLimits: the Verify button is not a way to have Roster
// send DNS queries at will: 10 look-ups a minute per account, counted
// before the query goes out, then 429 with Retry-After.
func TestSAMLDomainVerifyLimits(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com, example.org")
	for i := range 10 {
		d := []string{"example.com", "example.org"}[i%2]
		if res := e.admin.postHTMX(verifyPath(e.account, conn, d), nil); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("look-up %d: got %d, want 422", i+1, res.status)
		}
	}
	res := e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" ||
		!strings.Contains(res.body, `<small class="field-error" role="alert">Too many DNS look-ups in the last minute. Try again in `) {
		t.Errorf("11th look-up: got %d, Retry-After %q, want 429 with the message next to the domain; body %s", res.status, res.header.Get("Retry-After"), res.body)
	}
	if got := e.dns.Queries(); len(got) != 10 {
		t.Errorf("DNS queries: got %d, want 10", len(got))
	}
}

// TestSAMLDomainVerifyLookupFails: a DNS server that fails is reported as
// such, without its error text.
func TestSAMLDomainVerifyLookupFails(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com")
	e.dns.Fail("example.com", dns.RcodeServerFailure)
	res := e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil)
	want := "We could not look up the TXT records of example.com: the DNS servers did not answer in time, or answered with an error. Try again in a few minutes."
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(want)) {
		t.Errorf("SERVFAIL: got %d, want 422 and %q; body %s", res.status, want, res.body)
	}
	for _, never := range []string{"misbehaving", e.dns.Addr, "lookup "} {
		if strings.Contains(res.body, never) {
			t.Errorf("the answer shows %q", never)
		}
	}
	if e.verified(t, conn, "example.com") {
		t.Error("example.com verified after SERVFAIL")
	}
}

// TestSAMLIdPInitiatedNeedsVerifiedDomain: an Admin may allow sign-in
// started at the identity provider only for a connection with a verified
// domain, when adding it or later.
func TestSAMLIdPInitiatedNeedsVerifiedDomain(t *testing.T) {
	t.Parallel()
	e := newDNSEnv(t)
	ctx := context.Background()
	const msg = "Verify one of the connection's email domains first: sign-in started at the identity provider is allowed only for a connection with a verified domain."
	res := e.admin.postHTMX(accountPath(e.account)+"/saml", url.Values{
		"name": {"Okta"}, "metadata_url": {e.idp.URL + "/metadata"}, "email_domains": {"example.com"}, "allow_idp_initiated": {"1"},
	})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(msg)) {
		t.Errorf("add a connection with IdP-initiated sign-in: got %d, want 422 and %q; body %s", res.status, msg, res.body)
	}
	if conns, _ := e.app.store.SAMLConnections(ctx, e.account.ID); len(conns) != 0 {
		t.Fatalf("connections after a refused add: got %d, want none", len(conns))
	}
	conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com")
	path := accountPath(e.account) + "/saml/" + strconv.FormatInt(conn.ID, 10) + "/idp-initiated"
	allowed := func() bool {
		c, err := e.app.store.SAMLConnection(ctx, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c.AllowIdPInitiated
	}
	if res := e.admin.postHTMX(path, url.Values{"allow_idp_initiated": {"1"}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(msg)) {
		t.Errorf("allow it before a domain is verified: got %d, want 422 and %q; body %s", res.status, msg, res.body)
	}
	if allowed() {
		t.Fatal("IdP-initiated sign-in allowed without a verified domain")
	}
	e.dns.SetTXT("example.com", txtRecordShown(t, e.admin, e.account, conn, "example.com"))
	if res := e.admin.postHTMX(verifyPath(e.account, conn, "example.com"), nil); res.status != http.StatusOK {
		t.Fatalf("verify: got %d; body %s", res.status, res.body)
	}
	bob := e.app.seedUser(t, "Bob", bobEmail, bobPassword)
	e.app.join(t, e.account, e.owner, bob, db.RoleNormal)
	bobC := e.app.client(t)
	bobC.adopt(bob.ID)
	if res := bobC.postForm(path, url.Values{"allow_idp_initiated": {"1"}}); res.status != http.StatusForbidden || allowed() {
		t.Errorf("a Normal member allows it: got %d, want 403", res.status)
	}
	if res := e.admin.postForm(path, url.Values{"allow_idp_initiated": {"1"}}); res.status != http.StatusSeeOther || !allowed() {
		t.Errorf("allow it with a verified domain: got %d, allowed %t; want 303, true", res.status, allowed())
	}
	if res := e.admin.postHTMX(path, nil); res.status != http.StatusOK || allowed() {
		t.Errorf("refuse it again: got %d, allowed %t; want 200, false", res.status, allowed())
	}
}
