package handlers_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/oauthtest"
)

// Login CSRF (SECURITY.md): another site must not be able to sign a
// browser in to a profile of its choosing. A GET never starts an external
// sign-in; a sign-in that comes back for another person than the one
// signed in does not switch the browser.

var continueFormRE = regexp.MustCompile(`<form method="post" action="([^"]+)">\s*<input type="hidden" name="_csrf" value="[^"]+">\s*<input type="hidden" name="next" value="([^"]*)">\s*<button type="submit">Continue with ([^<]+)</button>`)

// startSignIn starts an external sign-in the way Roster's pages do: a GET
// of the start path shows the "Continue with" page, which starts nothing,
// and its button posts the form with the CSRF token.
func (c *client) startSignIn(path string) *response {
	c.t.Helper()
	page := c.get(path)
	m := continueFormRE.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: got %d to %q, want the Continue with page; body %s", path, page.status, page.header.Get("Location"), page.body)
	}
	if want, _, _ := strings.Cut(path, "?"); m[1] != want {
		c.t.Fatalf("GET %s: the Continue button posts to %q, want %q", path, m[1], want)
	}
	return c.postForm(m[1], url.Values{"next": {html.UnescapeString(m[2])}})
}

// TestSAMLSignInStartNotForgeable (the review's
// TestReviewSAMLLoginCSRFThroughGETStart): Mallory, Admin of her own
// account, adds a SAML connection to her own IdP and verifies her own
// domain. Her page sends Bob's browser to /saml/{C}/login, a top-level
// cross-site GET; her IdP answers at once for her own user and posts to
// the ACS. The GET must start nothing: no roster_saml cookie, no request,
// no redirect to the IdP; so the ACS has no sign-in of Bob's browser to
// finish, and Bob stays Bob.
func TestSAMLSignInStartNotForgeable(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	verifyDomain(t, e, "example.com") // Mallory's own domain, proved by her DNS
	mal := e.app.client(t)
	if res := e.postACS(mal, e.idpResponse(t, mal)); res.status != http.StatusSeeOther {
		t.Fatalf("Mallory's own sign-in: %d %s", res.status, res.body)
	}
	bob := e.app.seedUser(t, "Bob", bobEmail, bobPassword)
	for _, signedIn := range []bool{true, false} {
		victim := e.app.client(t)
		if signedIn {
			victim.adopt(bob.ID)
		}
		// <a href="https://roster/saml/C/login"> on Mallory's page, also
		// through /login/saml?email=, which leads there.
		for _, forged := range []string{e.connPath("/login") + "?next=/cards", "/login/saml?email=" + url.QueryEscape("x@example.com")} {
			res := victim.get(forged)
			for res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), "/saml/") {
				res = victim.get(res.header.Get("Location"))
			}
			if to := res.header.Get("Location"); strings.HasPrefix(to, e.idp.URL) {
				// The attack goes on: her IdP auto-posts its answer.
				acs := e.postACS(victim, e.idpAnswer(t, to))
				if got := profileEmail(t, victim, bobEmail, idpEmail); got == idpEmail {
					t.Fatalf("ATTACK SUCCEEDED (signed in %v): GET %s signed the browser in to Mallory's profile (ACS %d to %q)", signedIn, forged, acs.status, acs.header.Get("Location"))
				}
				t.Fatalf("GET %s (signed in %v) started a sign-in at the IdP: 303 to %s", forged, signedIn, to)
			}
			if res.status != http.StatusOK || !continueFormRE.MatchString(res.body) || res.cookie("roster_saml") != nil {
				t.Errorf("GET %s (signed in %v): got %d, want the Continue with page and no binding cookie; body %s", forged, signedIn, res.status, res.body)
			}
			// The page names the account whose Admins set the connection
			// up (and named it): the person sees whose sign-in it is.
			if want := "the single sign-on of the account <strong>" + html.EscapeString(e.account.Name) + "</strong>"; !strings.Contains(res.body, want) {
				t.Errorf("GET %s: the Continue with page does not say %q; body %s", forged, want, res.body)
			}
		}
		if signedIn {
			if got := profileEmail(t, victim, bobEmail, idpEmail); got != bobEmail {
				t.Errorf("Bob's browser is %q after the forged starts, want Bob", got)
			}
		}
	}
	// The start itself needs the CSRF token.
	if res := e.app.client(t).do(http.MethodPost, e.connPath("/login"), url.Values{}, nil); res.status != http.StatusForbidden {
		t.Errorf("POST %s without a CSRF token: got %d, want 403", e.connPath("/login"), res.status)
	}
	if res := e.app.client(t).do(http.MethodPost, "/login/saml", url.Values{"email": {"x@example.com"}}, nil); res.status != http.StatusForbidden {
		t.Errorf("POST /login/saml without a CSRF token: got %d, want 403", res.status)
	}
	// The discovery form posts and starts at once, keeping next.
	c := e.app.client(t)
	res := c.postForm("/login/saml", url.Values{"email": {"zoe@example.com"}, "next": {"/cards"}})
	if to := res.header.Get("Location"); res.status != http.StatusSeeOther || !strings.HasPrefix(to, e.idp.URL+"/sso?") {
		t.Fatalf("POST /login/saml: got %d to %q, want 303 to the IdP", res.status, to)
	}
	acs := e.postACS(c, e.idpAnswer(t, res.header.Get("Location")))
	if acs.status != http.StatusSeeOther || acs.header.Get("Location") != "/cards" {
		t.Errorf("ACS after POST /login/saml with next=/cards: got %d to %q", acs.status, acs.header.Get("Location"))
	}
}

// TestOAuthSignInStartNotForgeable: a GET of /auth/{provider} (a link on
// another site) shows the Continue with page and starts nothing; the
// start is a POST with the CSRF token, keeping a safe next.
func TestOAuthSignInStartNotForgeable(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	for i, oc := range oauthCases {
		c := a.client(t)
		res := c.get("/auth/" + oc.key + "?next=" + url.QueryEscape("/accounts/new"))
		m := continueFormRE.FindStringSubmatch(res.body)
		if res.status != http.StatusOK || m == nil || res.cookie("roster_oauth") != nil {
			t.Fatalf("GET /auth/%s: got %d to %q, want the Continue with page and no flow cookie; body %s", oc.key, res.status, res.header.Get("Location"), res.body)
		}
		if m[1] != "/auth/"+oc.key || m[2] != "/accounts/new" || m[3] != html.EscapeString(oc.name) {
			t.Errorf("GET /auth/%s: the form posts to %q with next %q, Continue with %q", oc.key, m[1], m[2], m[3])
		}
		if res := c.do(http.MethodPost, "/auth/"+oc.key, url.Values{"next": {"/accounts/new"}}, nil); res.status != http.StatusForbidden {
			t.Errorf("POST /auth/%s without a CSRF token: got %d, want 403", oc.key, res.status)
		}
		fakes[oc.key].SignInAs(person(strconv.Itoa(500+i), oc.key+"@example.org", true))
		if res := c.signInWith(oc, fakes[oc.key], "/accounts/new"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/accounts/new" {
			t.Errorf("sign in with %s through the page: got %d to %q, want 303 to /accounts/new", oc.key, res.status, res.header.Get("Location"))
		}
	}
	// next stays local.
	res := a.client(t).get("/auth/google?next=" + url.QueryEscape("//evil.test/x"))
	if m := continueFormRE.FindStringSubmatch(res.body); m == nil || m[2] != "/profile" {
		t.Errorf("GET /auth/google?next=//evil.test/x: the form carries %v, want next /profile", m)
	}
}

// TestOAuthSignInDoesNotSwitchProfiles: the backstop at the callback. A
// browser signed in to Bob's profile that comes back from a sign-in which
// resolves to another person (a login linked to Mallory, or a login that
// would make a new profile) is not switched: 409, Bob is still signed in,
// nothing was written, and the page offers to log out first. Bob's own
// login signs him in again as usual.
func TestOAuthSignInDoesNotSwitchProfiles(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	oc, f := oauthCases[0], fakes["google"]
	mal := a.client(t)
	f.SignInAs(person("666", "mallory@example.org", true))
	if res := mal.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
		t.Fatalf("Mallory's own sign-in: %d %s", res.status, res.body)
	}
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	victim := a.client(t)
	victim.adopt(bob.ID)
	for _, who := range []oauthtest.User{person("666", "mallory@example.org", true), person("777", "newcomer@example.org", true)} {
		f.SignInAs(who)
		users := countRows(t, a, "users")
		res := victim.signInWith(oc, f, "/cards")
		if res.status != http.StatusConflict || !strings.Contains(res.body, "You are logged in as "+bobEmail) || !strings.Contains(res.body, `action="/logout"`) {
			t.Errorf("callback for %s in Bob's browser: got %d to %q, want 409 with the log-out-first page; body %s", who.Email, res.status, res.header.Get("Location"), res.body)
		}
		if got := victim.profileEmail(); got != bobEmail {
			t.Fatalf("ATTACK SUCCEEDED: Bob's browser is now %q after a sign-in for %s", got, who.Email)
		}
		if n := countRows(t, a, "users"); n != users {
			t.Errorf("the refused sign-in for %s made a profile: %d users, want %d", who.Email, n, users)
		}
	}
	// Bob's own login (linked to him by his confirmed email) still works.
	f.SignInAs(person("888", bobEmail, true))
	if res := victim.signInWith(oc, f, "/cards"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/cards" || victim.profileEmail() != bobEmail {
		t.Errorf("Bob's own Google sign-in while signed in: got %d to %q", res.status, res.header.Get("Location"))
	}
	// Logged out, the same browser may sign in as someone else.
	victim.postForm("/logout", nil)
	f.SignInAs(person("666", "mallory@example.org", true))
	if res := victim.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || victim.profileEmail() != "mallory@example.org" {
		t.Errorf("after logging out: got %d, profile %q", res.status, victim.profileEmail())
	}
}

// TestSAMLSignInDoesNotSwitchProfiles: the backstop at the ACS. Bob, signed
// in, presses Continue on a page Mallory led him to; her IdP answers for
// her own user. The IdP's POST is cross-site, so the browser sends the
// roster_saml cookie (SameSite=None) but not the session (SameSite=Lax):
// the ACS knows Bob from the request he started. Bob is not switched, and
// the answer is spent: after he logs out it signs nobody in.
func TestSAMLSignInDoesNotSwitchProfiles(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	verifyDomain(t, e, "example.com")
	mal := e.app.client(t)
	if res := e.postACS(mal, e.idpResponse(t, mal)); res.status != http.StatusSeeOther {
		t.Fatalf("Mallory's own sign-in: %d %s", res.status, res.body)
	}
	bob := e.app.verify(t, e.app.seedUser(t, "Bob", bobEmail, bobPassword))
	for _, crossSite := range []bool{true, false} {
		victim := e.app.client(t)
		victim.adopt(bob.ID)
		form := e.idpResponse(t, victim)
		poster := victim
		if crossSite {
			poster = e.app.client(t)
			u, _ := url.Parse(e.app.server.URL)
			poster.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "roster_saml", Value: victim.cookie("roster_saml")}})
		}
		res := e.postACS(poster, form)
		if res.status != http.StatusConflict || !strings.Contains(res.body, "You are logged in as "+bobEmail) || res.cookie(sessCookie) != nil {
			t.Errorf("ACS (cross-site %v) for Mallory in Bob's browser: got %d to %q, want 409 with the log-out-first page and no session; body %s",
				crossSite, res.status, res.header.Get("Location"), res.body)
		}
		if got := profileEmail(t, victim, bobEmail, idpEmail); got != bobEmail {
			t.Fatalf("ATTACK SUCCEEDED (cross-site %v): Bob's browser is now %q", crossSite, got)
		}
		victim.postForm("/logout", nil)
		if res := e.postACS(victim, form); res.status != http.StatusForbidden || victim.signedIn() {
			t.Errorf("the refused answer posted again after logging out: got %d to %q, want 403 and nobody signed in", res.status, res.header.Get("Location"))
		}
	}
}

// TestSAMLIdPInitiatedDoesNotSwitchProfiles: an IdP-initiated sign-in is a
// cross-site POST that signs in once confirmed. In a browser signed in to
// Bob's profile, for Mallory, the confirmation page is not offered, and
// posting its form anyway changes nothing.
func TestSAMLIdPInitiatedDoesNotSwitchProfiles(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	verifyDomain(t, e, "example.com")
	allowIdPInitiated(t, e)
	mal := e.app.client(t)
	if res := e.postACS(mal, e.idpResponse(t, mal)); res.status != http.StatusSeeOther {
		t.Fatalf("Mallory's own sign-in: %d %s", res.status, res.body)
	}
	bob := e.app.verify(t, e.app.seedUser(t, "Bob", bobEmail, bobPassword))
	victim := e.app.client(t)
	victim.adopt(bob.ID)
	held := e.postACS(victim, e.unsolicited(t))
	to := held.header.Get("Location")
	if held.status != http.StatusSeeOther || !strings.HasPrefix(to, e.connPath("/confirm?token=")) {
		t.Fatalf("unsolicited response: got %d to %q, want 303 to the confirmation", held.status, to)
	}
	page := victim.get(to)
	if page.status != http.StatusConflict || !strings.Contains(page.body, "You are logged in as "+bobEmail) || strings.Contains(page.body, `name="token"`) {
		t.Errorf("confirmation page in Bob's browser for Mallory: got %d, want 409 with the log-out-first page; body %s", page.status, page.body)
	}
	token := strings.TrimPrefix(to, e.connPath("/confirm?token="))
	res := victim.postForm(e.connPath("/confirm"), url.Values{"token": {token}})
	if res.status != http.StatusConflict {
		t.Errorf("posting the confirmation anyway: got %d to %q, want 409", res.status, res.header.Get("Location"))
	}
	if got := profileEmail(t, victim, bobEmail, idpEmail); got != bobEmail {
		t.Fatalf("ATTACK SUCCEEDED: Bob's browser is now %q", got)
	}
}

// TestContactLinkOnlyShows: opening a contact method's emailed link (a
// mail scanner, or another site's link to /profile/contacts/{id}/verify?code=
// with wrong codes) spends none of the code's tries; the page's button
// verifies.
func TestContactLinkOnlyShows(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	if res := c.postForm("/profile/contacts", url.Values{"kind": {"email"}, "address": {"ann.work@example.com"}}); res.status != http.StatusSeeOther {
		t.Fatalf("add an email: got %d", res.status)
	}
	msg := a.mail.waitFor(t, "ann.work@example.com", "Confirm this email address for Roster")
	u := regexp.MustCompile(`http://roster\.test(/profile/contacts/(\d+)/verify)\?code=(\d{6})`).FindStringSubmatch(msg.Text)
	if u == nil {
		t.Fatalf("no verification link in %q", msg.Text)
	}
	wrong := "000000"
	if u[3] == wrong {
		wrong = "111111"
	}
	for range 6 { // more than the 5 tries a code has
		res := c.get(u[1] + "?code=" + wrong)
		if res.status != http.StatusOK || !strings.Contains(res.body, `<button type="submit">Verify ann.work@example.com</button>`) {
			t.Fatalf("GET the link with a wrong code: got %d, want the page; body %s", res.status, res.body)
		}
	}
	if m := a.methods(t, ann)[1]; m.Verified() || m.Locked() {
		t.Fatalf("after opening the link: verified %v, locked %v; want neither", m.Verified(), m.Locked())
	}
	res := c.postForm(u[1], url.Values{"code": {u[3]}})
	if res.status != http.StatusSeeOther || !a.methods(t, ann)[1].Verified() {
		t.Errorf("the page's button with the right code: got %d, verified %v", res.status, a.methods(t, ann)[1].Verified())
	}
}

// countRows counts the rows of table.
func countRows(t *testing.T, a *app, table string) int {
	t.Helper()
	var n int
	err := a.store.Tx(context.Background(), func(tx *sql.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
