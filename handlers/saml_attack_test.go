package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/samltest"
)

// The attacks of issue 13 on SAML sign-in, played step by step through the
// real router against real identity providers (crewjam samlidp).

// addConnection has owner add a connection of their account acc to idp
// through the Manage console, for domains (comma-separated), and registers
// Roster's service provider at idp. The IdP's user idpUser signs in there.
func addConnection(t *testing.T, a *app, idp *samltest.IdP, owner db.User, acc db.Account, name, domains string) *samlEnv {
	t.Helper()
	admin := a.client(t)
	admin.adopt(owner.ID)
	res := admin.postForm("/accounts/"+strconv.FormatInt(acc.ID, 10)+"/saml", url.Values{
		"name": {name}, "metadata_url": {idp.URL + "/metadata"}, "email_domains": {domains}, "role": {""},
	})
	if res.status != http.StatusSeeOther {
		t.Fatalf("add the SAML connection %s: got %d, want 303; body %s", name, res.status, res.body)
	}
	conns, err := a.store.SAMLConnections(context.Background(), acc.ID)
	if err != nil || len(conns) == 0 {
		t.Fatalf("connections of %s: got %d, %v", acc.Name, len(conns), err)
	}
	e := &samlEnv{app: a, idp: idp, owner: owner, account: acc, conn: conns[len(conns)-1]}
	idp.Register(t, "roster", []byte(a.client(t).get(e.connPath("/metadata")).body))
	return e
}

// verifyDomain verifies domain for the connection, as the operator's CLI
// does, and reloads the connection.
func verifyDomain(t *testing.T, e *samlEnv, domain string) {
	t.Helper()
	ctx := context.Background()
	if err := e.app.store.VerifySAMLDomain(ctx, e.conn.ID, domain, db.Event{Kind: db.EventSAMLDomainVerified}); err != nil {
		t.Fatalf("verify %s for connection %d: %v", domain, e.conn.ID, err)
	}
	conn, err := e.app.store.SAMLConnection(ctx, e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.conn = conn
}

// profileEmail is the account email the client's profile page shows, or ""
// when the client is not signed in.
func profileEmail(t *testing.T, c *client, candidates ...string) string {
	t.Helper()
	if !c.signedIn() {
		return ""
	}
	body := c.get("/profile").body
	section := body[strings.Index(body, `id="contact-info"`):]
	section = section[:strings.Index(section, "</section>")]
	for _, e := range candidates {
		if strings.Contains(section, e) {
			return e
		}
	}
	return "someone else"
}

// Attack 1: a deleted connection's id is given to an attacker's new
// connection, whose IdP asserts the old NameID.
func TestSAMLAttackReusedConnectionID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newSAMLEnv(t, "", nil)
	verifyDomain(t, e, "example.com")

	// Alice signs in through Acme's connection: her profile and login.
	victim := e.app.client(t)
	if res := e.postACS(victim, e.idpResponse(t, victim)); res.status != http.StatusSeeOther {
		t.Fatalf("Alice logs in: got %d; body %s", res.status, res.body)
	}
	alice, err := e.app.store.UserByEmail(ctx, idpEmail)
	if err != nil {
		t.Fatal(err)
	}
	oldProvider := "saml:" + strconv.FormatInt(e.conn.ID, 10)

	// Acme's Admin deletes the connection.
	admin := e.app.client(t)
	admin.adopt(e.owner.ID)
	if res := admin.postForm("/accounts/"+strconv.FormatInt(e.account.ID, 10)+"/saml/"+strconv.FormatInt(e.conn.ID, 10)+"/delete", nil); res.status != http.StatusSeeOther {
		t.Fatalf("delete the connection: got %d; body %s", res.status, res.body)
	}
	if ids, _ := e.app.store.IdentitiesForUser(ctx, alice.ID); len(ids) != 0 {
		t.Errorf("Alice's logins after her connection was deleted: got %+v, want none", ids)
	}
	if victim.signedIn() {
		t.Errorf("the session Alice opened through the deleted connection is still logged in")
	}

	// Mallory makes an account and a connection to an IdP she runs, in
	// which she made a user with Alice's NameID.
	mallory := e.app.seedUser(t, "Mallory", "mallory@evil.test", bobPassword)
	evil := e.app.seedAccount(t, mallory, "Evil")
	evilIdP := samltest.New(t, nil)
	evilIdP.AddUser(t, idpUser, idpEmail, "Mallory as Alice", idpPassword)
	att := addConnection(t, e.app, evilIdP, mallory, evil, "Evil IdP", "example.com")
	t.Logf("deleted connection %s, Mallory's connection saml:%d", oldProvider, att.conn.ID)

	c := e.app.client(t)
	res := att.postACS(c, att.idpResponse(t, c))
	if got := profileEmail(t, c, idpEmail, "mallory@evil.test"); got == idpEmail {
		t.Fatalf("Mallory's IdP asserting Alice's NameID logged in as Alice (status %d)", res.status)
	}
	if ids, _ := e.app.store.IdentitiesForUser(ctx, alice.ID); len(ids) != 0 {
		t.Errorf("Alice's logins after Mallory's attempt: got %+v, want none", ids)
	}
}

// Attack 2: an attacker's connection asserts an address outside its domains
// (victim@gmail.com) and gets a profile made for it with its login.
func TestSAMLAttackEmailOutsideDomains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t)
	mallory := a.seedUser(t, "Mallory", "mallory@attacker.example", bobPassword)
	evil := a.seedAccount(t, mallory, "Evil")
	idp := samltest.New(t, nil)
	idp.AddUser(t, idpUser, "victim@gmail.com", "Victim", idpPassword)
	e := addConnection(t, a, idp, mallory, evil, "Evil IdP", "attacker.example")
	verifyDomain(t, e, "attacker.example") // even a verified domain vouches only for itself

	c := a.client(t)
	form := e.idpResponse(t, c)
	res := e.postACS(c, form)
	if _, err := a.store.UserByEmail(ctx, "victim@gmail.com"); !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("a connection for attacker.example made a profile for victim@gmail.com (status %d, lookup %v)", res.status, err)
	}
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "victim@gmail.com") || !strings.Contains(res.body, "attacker.example") {
		t.Errorf("got %d, want 403 naming the address and the connection's domains; body %s", res.status, res.body)
	}
	if c.signedIn() {
		t.Errorf("the refused response signed the browser in")
	}

	// At one of its own domains that nobody verified, it signs in only
	// logins it already has: it neither makes nor links a profile.
	unverified := addConnection(t, a, samltest.New(t, nil), mallory, evil, "Other IdP", "unverified.example")
	unverified.idp.AddUser(t, idpUser, "zoe@unverified.example", "Zoe", idpPassword)
	c = a.client(t)
	res = unverified.postACS(c, unverified.idpResponse(t, c))
	if _, err := a.store.UserByEmail(ctx, "zoe@unverified.example"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("a connection made a profile at a domain nobody verified (status %d)", res.status)
	}
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "<h1>Sign-in failed</h1>") {
		t.Errorf("unverified domain: got %d, want 403 with the Sign-in failed page; body %s", res.status, res.body)
	}
}

// Attack 4, SP-initiated: Mallory starts a sign-in in her own browser, and
// has Alice's browser post the response she got.
func TestSAMLAttackLoginCSRF(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	verifyDomain(t, e, "example.com")
	mallorysBrowser := e.app.client(t)
	form := e.idpResponse(t, mallorysBrowser) // idpUser stands for Mallory here

	alicesBrowser := e.app.client(t)
	res := e.postACS(alicesBrowser, form) // an auto-submitting form on Mallory's page
	if alicesBrowser.signedIn() {
		t.Fatalf("a response started in another browser signed Alice's browser in (status %d)", res.status)
	}
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "<h1>Sign-in failed</h1>") {
		t.Errorf("got %d, want 403 with the Sign-in failed page; body %s", res.status, res.body)
	}
	// The browser that started the sign-in still finishes it.
	if res := e.postACS(mallorysBrowser, form); res.status != http.StatusSeeOther || !mallorysBrowser.signedIn() {
		t.Errorf("the browser that started the sign-in: got %d; body %s", res.status, res.body)
	}
}

// Attack 4, IdP-initiated: an unsolicited response posted to the ACS signs
// whoever posts it in, silently.
func TestSAMLAttackIdPInitiatedSilent(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	allowIdPInitiated(t, e)
	verifyDomain(t, e, "example.com")

	alicesBrowser := e.app.client(t)
	res := e.postACS(alicesBrowser, e.unsolicited(t))
	if alicesBrowser.signedIn() {
		t.Fatalf("an IdP-initiated response signed the browser in without a confirmation (status %d to %q)", res.status, res.header.Get("Location"))
	}
	confirmURL := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(confirmURL, e.connPath("/confirm?token=")) {
		t.Fatalf("POST ACS: got %d to %q, want 303 to the confirmation page", res.status, confirmURL)
	}

	// The page asks, in a form that needs a POST with the CSRF token.
	page := alicesBrowser.get(confirmURL)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Log in as "+idpEmail+" through Test IdP?") {
		t.Fatalf("GET the confirmation page: got %d; body %s", page.status, page.body)
	}
	action, form := formOf(t, page.body)
	if action != e.connPath("/confirm") || form.Get("token") == "" || form.Get("_csrf") == "" {
		t.Fatalf("confirmation form: got %q with %v, want a POST to %s with the token and _csrf", action, form, e.connPath("/confirm"))
	}

	// Another browser (Mallory's, with its own CSRF token) can neither see
	// nor confirm it; nor can a cross-site POST without the CSRF token.
	mallory := e.app.client(t)
	if res := mallory.get(confirmURL); res.status != http.StatusForbidden || strings.Contains(res.body, idpEmail) {
		t.Errorf("GET the confirmation page in another browser: got %d, want 403 without the email", res.status)
	}
	if res := mallory.postForm(action, url.Values{"token": {form.Get("token")}}); res.status != http.StatusForbidden || mallory.signedIn() {
		t.Errorf("confirm from another browser: got %d, want 403 and no session", res.status)
	}
	if res := alicesBrowser.do(http.MethodPost, action, url.Values{"token": {form.Get("token")}}, nil); res.status != http.StatusForbidden || alicesBrowser.signedIn() {
		t.Errorf("confirm without the CSRF token: got %d, want 403 and no session", res.status)
	}

	// Alice confirms: signed in, once.
	if res := alicesBrowser.do(http.MethodPost, action, form, nil); res.status != http.StatusSeeOther || profileEmail(t, alicesBrowser, idpEmail) != idpEmail {
		t.Fatalf("confirm: got %d to %q, want 303 and logged in as %s; body %s", res.status, res.header.Get("Location"), idpEmail, res.body)
	}
	again := e.app.client(t)
	again.hc.Jar.SetCookies(mustURL(e.app.server.URL), []*http.Cookie{{Name: "roster_saml", Value: alicesBrowser.cookie("roster_saml")}})
	if res := again.postForm(action, url.Values{"token": {form.Get("token")}}); res.status != http.StatusForbidden || again.signedIn() {
		t.Errorf("confirm a second time: got %d, want 403 and no session", res.status)
	}
}

// IdP-initiated sign-in is refused, in plain words, for a connection with
// no verified domain, even when its Admin switched it on.
func TestSAMLACSRefusesIdPInitiatedUnverified(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	allowIdPInitiated(t, e)
	c := e.app.client(t)
	form := e.unsolicited(t)
	res := e.postACS(c, form)
	refused(t, e, c, res, form, "idp_initiated_unverified")
	if !strings.Contains(res.body, "until one of its email domains is verified") {
		t.Errorf("refusal page: want the reason in plain words; body %s", res.body)
	}
}

// The cookie that binds an SP-initiated sign-in to its browser: random,
// HttpOnly, short-lived; SameSite=None; Secure under https, so that the
// IdP's cross-site POST carries it; no SameSite attribute under plain http,
// where None without Secure is refused by browsers.
func TestSAMLBrowserCookie(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	first := e.app.client(t).startSignIn(e.connPath("/login"))
	ck := first.cookie("roster_saml")
	if ck == nil || !ck.HttpOnly || ck.Secure || ck.MaxAge != 600 || len(ck.Value) < 26 {
		t.Fatalf("http: got %+v, want an HttpOnly cookie of 10 minutes", ck)
	}
	for _, h := range first.header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "roster_saml=") && strings.Contains(h, "SameSite") {
			t.Errorf("http: got %q, want no SameSite attribute", h)
		}
	}
	if second := e.app.client(t).startSignIn(e.connPath("/login")).cookie("roster_saml"); second == nil || second.Value == ck.Value {
		t.Errorf("two browsers got the same binding value")
	}

	// Under https, on an app whose connection is added directly.
	a := newApp(t, httpsBase)
	owner := a.seedUser(t, annName, annEmail, annPassword)
	acc := a.seedAccount(t, owner, "Acme")
	res, err := http.Get(e.idp.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	md := new(strings.Builder)
	if _, err := io.Copy(md, res.Body); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	conn, err := a.store.CreateSAMLConnection(context.Background(), acc.ID, owner.ID, db.NewSAMLConnection{
		Name: "Test IdP", IdPMetadataXML: md.String(), IdPEntityID: e.idp.URL + "/metadata", EmailDomains: []string{"example.com"},
	}, db.Event{Kind: db.EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	start := a.client(t).startSignIn("/saml/" + strconv.FormatInt(conn.ID, 10) + "/login")
	ck = start.cookie("__Host-roster_saml")
	if start.status != http.StatusSeeOther || ck == nil || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || ck.Path != "/" {
		t.Errorf("https: got %d with %+v, want __Host-roster_saml HttpOnly, Secure, SameSite=None, Path=/", start.status, ck)
	}
}

// Point 8: /login/saml follows a domain only a connection that verified it.
func TestSAMLLoginPageUnverifiedDomain(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil) // claims example.com, not verified
	anon := e.app.client(t)
	res := anon.get("/login/saml?email=" + url.QueryEscape("zoe@example.com"))
	if res.status == http.StatusSeeOther {
		t.Fatalf("an unverified claim on example.com routed zoe@example.com to %q", res.header.Get("Location"))
	}
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "example.com") {
		t.Errorf("got %d, want 422 naming the domain; body %s", res.status, res.body)
	}
}

// Profile creation through SAML follows the connection's verified domains,
// not ROSTER_SIGNUP: with sign-up closed, a verified domain still brings
// its people in.
func TestSAMLCreatesProfilesWithSignupClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, func(ac *appConfig) { ac.Signup = handlers.SignupClosed })
	owner := a.seedUser(t, annName, "ann@acme.test", annPassword)
	acc := a.seedAccount(t, owner, "Acme")
	idp := samltest.New(t, nil)
	idp.AddUser(t, idpUser, idpEmail, "Alice Example", idpPassword)
	e := addConnection(t, a, idp, owner, acc, "Test IdP", "example.com")
	verifyDomain(t, e, "example.com")
	c := a.client(t)
	if res := e.postACS(c, e.idpResponse(t, c)); res.status != http.StatusSeeOther || profileEmail(t, c, idpEmail) != idpEmail {
		t.Fatalf("sign-in at a verified domain with sign-up closed: got %d; body %s", res.status, res.body)
	}
	if u, err := a.store.UserByEmail(ctx, idpEmail); err != nil || !u.EmailVerified() {
		t.Errorf("profile: got %+v, %v; want a verified profile for %s", u, err, idpEmail)
	}
}
