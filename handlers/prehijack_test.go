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

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/oauthtest"
	"github.com/rosterhq/roster/views"
)

// Pre-hijacking (issue 13, attack 3): someone who does not own an address
// makes a profile with it before its owner does, attaches a login of their
// own, and waits for the owner to take the profile over by confirming the
// address. The first confirmation of an address must end what was attached
// before it.

// startAddLogin posts Add Login for the provider of oc and, when Roster
// sends the browser to the provider, completes the trip. It returns the
// answer to the post and whether the trip to the provider happened. The
// session is re-authenticated first (Add Login is a sensitive action).
func (c *client) startAddLogin(oc oauthCase, f *oauthtest.IdP) (*response, bool) {
	c.t.Helper()
	c.reauthenticate()
	start := c.postForm("/profile/logins/"+oc.key, nil)
	if start.status != http.StatusSeeOther || !strings.HasPrefix(start.header.Get("Location"), f.Server.URL+"/") {
		return start, false
	}
	c.viaIdP(f, start)
	return start, true
}

// resetPassword follows a reset link for email in a fresh browser and sets
// password, as the owner of the mailbox would. It returns the browser and
// the answer to the reset.
func resetPassword(t *testing.T, a *app, email, password string) (*client, *response) {
	t.Helper()
	token := resetToken(t, a, email)
	c := a.client(t)
	res := c.postForm("/password/reset/"+token, url.Values{"new_password": {password}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Fatalf("reset the password of %s: got %d to %q, want 303 to /login; body %s", email, res.status, res.header.Get("Location"), res.body)
	}
	return c, res
}

// TestPreHijackThroughAddLogin plays attack 3 with every provider: Mallory
// signs up with Ann's address, links her own login with Add Login, and
// waits; Ann resets the password of "her" profile; Mallory's login must not
// open it.
func TestPreHijackThroughAddLogin(t *testing.T) {
	for _, oc := range oauthCases {
		t.Run(oc.key, func(t *testing.T) {
			t.Parallel()
			a, fakes := oauthApp(t)
			f := fakes[oc.key]

			// 1. Mallory signs up with Ann's address; it stays unverified.
			mallory := a.client(t)
			mallory.signup("Mallory", annEmail, bobPassword)
			// 2. Add Login with Mallory's own account at the provider.
			f.SignInAs(person("6661", "mallory@evil.example", true))
			mallory.startAddLogin(oc, f)
			// 3. Ann finds she "has" a profile and resets its password.
			resetPassword(t, a, annEmail, newPassword)
			// 4. Mallory signs in with her login, in a fresh browser.
			intruder := a.client(t)
			res := intruder.signInWith(oc, f, "/profile")
			if got := intruder.profileEmail(); got == annEmail {
				t.Fatalf("after Ann's reset, Mallory's %s login logs in to Ann's profile (callback %d to %q)",
					oc.name, res.status, res.header.Get("Location"))
			}
			if ids := a.identities(t, annEmail); len(ids) != 0 {
				t.Fatalf("Ann's logins after her reset: got %+v, want none", ids)
			}
		})
	}
}

// TestAddLoginRefusedWhileUnverified: Add Login is refused, with a clear
// message, while the account email is unverified; nothing is linked and
// the browser never goes to the provider.
func TestAddLoginRefusedWhileUnverified(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	oc := oauthCases[0]
	c := a.client(t)
	c.signup(annName, annEmail, annPassword)
	page := c.get("/profile").body
	if strings.Contains(page, `action="/profile/logins/`+oc.key+`"`) || !strings.Contains(page, "Confirm your email address to link a login") {
		t.Errorf("#sso-logins while unverified: want no Add Login button and the reason")
	}
	fakes[oc.key].SignInAs(person("6662", "ann@gmail.example", true))
	res, went := c.startAddLogin(oc, fakes[oc.key])
	if went {
		t.Fatal("Add Login with an unverified account email went to the provider, want it refused here")
	}
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile#sso-logins" {
		t.Fatalf("Add Login: got %d to %q, want 303 to /profile#sso-logins", res.status, res.header.Get("Location"))
	}
	if page := c.get("/profile").body; !strings.Contains(page, `<div class="flash error" role="status">`+html.EscapeString(views.RuleText(db.ErrLinkUnconfirmedEmail))) {
		t.Errorf("profile after the refusal: no error flash %q", db.ErrLinkUnconfirmedEmail)
	}
	if ids := a.identities(t, annEmail); len(ids) != 0 {
		t.Fatalf("Ann's logins: got %+v, want none", ids)
	}

	// Once the address is confirmed, Add Login works.
	a.verify(t, a.userByEmail(t, annEmail))
	if _, went := c.startAddLogin(oc, fakes[oc.key]); !went {
		t.Fatal("Add Login after the email was confirmed: did not go to the provider")
	}
	if ids := a.identities(t, annEmail); len(ids) != 1 {
		t.Fatalf("Ann's logins after Add Login: got %+v, want the new one", ids)
	}
}

// TestPreHijackThroughUnverifiedProvider: a provider that does not confirm
// the email makes an unverified profile for Ann's address with Mallory's
// login attached; Ann's reset must end it.
func TestPreHijackThroughUnverifiedProvider(t *testing.T) {
	for _, oc := range []oauthCase{oauthCases[0], oauthCases[3]} {
		t.Run(oc.key, func(t *testing.T) {
			t.Parallel()
			a, fakes := oauthApp(t)
			f := fakes[oc.key]

			// 1. Mallory's account at the provider claims Ann's address,
			// unconfirmed: a profile is made for it, Mallory signed in.
			mallory := a.client(t)
			f.SignInAs(person("6663", annEmail, false))
			mallory.signInWith(oc, f, "/profile")
			if got := mallory.profileEmail(); got != annEmail {
				t.Fatalf("setup: Mallory's sign-in made %q, want a profile for %s", got, annEmail)
			}
			// 2. Ann resets the password of the profile with her address.
			owner, res := resetPassword(t, a, annEmail, newPassword)
			// 3. Mallory's browser is out, and her login no longer opens
			// the profile.
			if mallory.signedIn() {
				t.Fatal("Mallory's browser is still logged in after Ann's reset")
			}
			intruder := a.client(t)
			cb := intruder.signInWith(oc, f, "/profile")
			if got := intruder.profileEmail(); got == annEmail {
				t.Fatalf("after Ann's reset, Mallory's %s login logs in to Ann's profile (callback %d)", oc.name, cb.status)
			}
			if ids := a.identities(t, annEmail); len(ids) != 0 {
				t.Fatalf("Ann's logins after her reset: got %+v, want none", ids)
			}
			// Ann is told what was removed: on the page after the reset
			// and in her activity log.
			checkFlash(t, owner, res, "Your password is changed. Log in with the new one. "+
				"Removed, because they were linked before your email address was confirmed: the "+oc.name+" login ("+annEmail+").")
			if act := activityText(t, a, annEmail, newPassword); !strings.Contains(act,
				"Removed the "+oc.name+" login ("+annEmail+"): it was linked before the email address was confirmed") {
				t.Errorf("activity: no removal of the %s login:\n%s", oc.name, act)
			}
		})
	}
}

func (a *app) userByEmail(t *testing.T, email string) db.User {
	t.Helper()
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// TestVerifyLinkAfterUnconfirmedProvider is the legitimate side of the
// rule: Pat's profile was made by a provider that did not confirm her
// email, so her only login goes when she confirms it, and with it the
// session of her browser, opened through that login. The page says what
// went and how to get back in; she chooses a password from a reset link,
// signs in, and links the provider again with Add Login. Bob, whose login
// was linked before this release while his email was unverified, follows
// his link in the browser he signed in to with his password: the login
// goes, with the session it opened in another browser, and his stays.
func TestVerifyLinkAfterUnconfirmedProvider(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	oc := oauthCases[3] // Acme ID
	f := fakes[oc.key]
	const pat = "pat@example.com"
	f.SignInAs(person("7001", pat, false))
	c := a.client(t)
	c.signInWith(oc, f, "/profile")
	if got := c.profileEmail(); got != pat {
		t.Fatalf("setup: logged in as %q, want a new profile for %s", got, pat)
	}
	if res := c.postHTMX("/profile/verify-email", nil); res.status != http.StatusOK {
		t.Fatalf("ask for a verification link: got %d", res.status)
	}
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, pat, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	pageSays(t, "Pat's verification page", c.confirmLink(path),
		"your email address is confirmed.",
		"Removed, because they were linked before your email address was confirmed: the Acme ID login (pat@example.com).",
		"Your profile has no password yet",
		`href="/password/forgot"`)
	if c.signedIn() {
		t.Error("the browser logged in through the removed login is still logged in")
	}
	// Signing in with the provider again does not link: it still does not
	// confirm the email (ResolveLogin step 3).
	wantRefused(t, c, c.signInWith(oc, f, "/profile"), http.StatusConflict, views.RuleText(db.ErrLinkUnverifiedProvider))
	// Pat chooses a password from a reset link, signs in, links Acme ID.
	resetPassword(t, a, pat, newPassword)
	c.login(pat, newPassword)
	if _, went := c.startAddLogin(oc, f); !went {
		t.Fatal("Add Login after the email was confirmed: did not go to the provider")
	}
	other := a.client(t)
	other.signInWith(oc, f, "/profile")
	if got := other.profileEmail(); got != pat {
		t.Fatalf("sign-in with the login linked again: got %q, want %s", got, pat)
	}
	if act := activityText(t, a, pat, newPassword); !strings.Contains(act, "Removed the Acme ID login (pat@example.com): it was linked before the email address was confirmed") {
		t.Errorf("activity: no removal:\n%s", act)
	}

	bob := a.client(t)
	bob.signup("Bob", bobEmail, bobPassword)
	u, err := a.store.UserByEmail(context.Background(), bobEmail)
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.Tx(context.Background(), func(tx *sql.Tx) error { // as Add Login did before this release
		_, err := tx.Exec(`INSERT INTO identities (user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at)
			VALUES (?, ?, '7002', ?, 0, 'Bob', 0, 0)`, u.ID, oc.provider, bobEmail)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SignInAs(person("7002", bobEmail, false))
	bobsLogin := a.client(t)
	bobsLogin.ua = safariUA
	bobsLogin.signInWith(oc, f, "/profile")
	if got := bobsLogin.profileEmail(); got != bobEmail {
		t.Fatalf("setup: logged in through Bob's login as %q, want %s", got, bobEmail)
	}
	path = strings.TrimPrefix(link(t, a.mail.waitFor(t, bobEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	pageSays(t, "Bob's verification page", bob.confirmLink(path),
		"Removed, because they were linked before your email address was confirmed: the Acme ID login (bob@example.com).",
		"Every other session was logged out.",
		"You can link your logins again with Add Login on your profile.",
		`href="/profile"`)
	if !bob.signedIn() {
		t.Error("Bob's browser, logged in with his password, was logged out with the removed login")
	}
	if bobsLogin.signedIn() {
		t.Error("the browser logged in through Bob's removed login is still logged in")
	}
}

// pageSays checks that res's page says each of wants (as text or as
// HTML-escaped text).
func pageSays(t *testing.T, what string, res *response, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(res.body, html.EscapeString(want)) && !strings.Contains(res.body, want) {
			t.Errorf("%s: missing %q; body:\n%s", what, want, res.body)
		}
	}
}

// TestVerifyLinkSignsOutOthers: the browser that follows the link stays
// signed in when no login was removed; every other session ends.
func TestVerifyLinkSignsOutOthers(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.signup(annName, annEmail, annPassword)
	other := a.client(t)
	other.ua = safariUA
	other.login(annEmail, annPassword)
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	res := c.confirmLink(path)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Every other session was logged out.") {
		t.Fatalf("GET %s: got %d; body:\n%s", path, res.status, res.body)
	}
	if !c.signedIn() {
		t.Error("the browser that followed the link: logged out, want kept")
	}
	if other.signedIn() {
		t.Error("another browser: still logged in, want logged out")
	}
}

// TestVerifyLinkInAnotherBrowser: Mallory signed up with Ann's address and
// a password of her choosing; Ann follows the verification link Mallory
// had sent her. Mallory's session ends, and the page tells Ann to choose a
// new password, which ends Mallory's password too.
func TestVerifyLinkInAnotherBrowser(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	mallory := a.client(t)
	mallory.signup("Mallory", annEmail, bobPassword)
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	ann := a.client(t)
	res := ann.confirmLink(path)
	if res.status != http.StatusOK || !strings.Contains(res.body, "If you did not make this profile yourself, choose a new password now") ||
		!strings.Contains(res.body, `href="/password/forgot"`) {
		t.Fatalf("GET %s in Ann's browser: got %d; body:\n%s", path, res.status, res.body)
	}
	if mallory.signedIn() {
		t.Error("Mallory's session after Ann confirmed the address: logged in, want logged out")
	}
}

// Full pre-account takeover (S5 review, finding 1): Mallory signs up with
// Ann's address, has two-factor on with her own app, and keeps a sign-in
// waiting at its second step (a fresh password step every few minutes).
// Ann takes her address back with a password reset, the first
// verification. Mallory must not finish the waiting second step and hold
// a session in Ann's now verified profile. Two-factor is refused while
// the address is unverified (checked first); the test writes Mallory's as
// a release before this one let her, since profiles made then remain.
func TestPreHijackThroughPendingSecondStep(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	mal := a.client(t)
	mal.signup(annName, annEmail, bobPassword)
	refusedEnrolment(t, a, mal)
	secret := preReleaseTwoFactor(t, a, a.userByEmail(t, annEmail).ID)
	waiting := a.client(t)
	passwordStep(t, waiting, annEmail, bobPassword)
	resetPassword(t, a, annEmail, annPassword) // Ann, from her mailbox
	if ann := a.userByEmail(t, annEmail); !ann.EmailVerified() {
		t.Fatalf("setup: not verified after the reset")
	}
	res := waiting.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
	if waiting.signedIn() {
		t.Errorf("Mallory holds a session in Ann's verified profile after Ann's reset, through the second step she left waiting (%d to %q)", res.status, res.header.Get("Location"))
	}
}

// refusedEnrolment checks that c, signed in to a profile whose address is
// unverified, cannot turn two-factor on: the panel says why and offers no
// button, and setting up is refused.
func refusedEnrolment(t *testing.T, a *app, c *client) {
	t.Helper()
	rule := views.RuleText(db.ErrFactorUnconfirmedEmail)
	panel := twoFactorPanel(t, c.get("/profile").body)
	if strings.Contains(panel, `action="/profile/two-factor"`) || !strings.Contains(panel, "Confirm your email address to turn it on") {
		t.Errorf("two-factor panel of an unverified profile: want no set-up button and the reason; got %s", panel)
	}
	c.reauthenticate()
	res := c.postForm("/profile/two-factor", nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, html.EscapeString(rule)) {
		t.Errorf("set up two-factor while unverified: got %d, want 409 with %q; body %s", res.status, rule, res.body)
	}
	if res := c.postForm("/profile/two-factor/confirm", url.Values{"code": {"123456"}}); res.status < 400 {
		t.Errorf("confirm two-factor while unverified: got %d, want a refusal", res.status)
	}
}

// preReleaseTwoFactor turns two-factor on for userID with a known secret,
// writing it as a release before this one let an unverified profile do,
// and returns the secret.
func preReleaseTwoFactor(t *testing.T, a *app, userID int64) string {
	t.Helper()
	const secret = "ORSXG5DTMVRXEZLUORSXG5DTMVRXEZLU"
	sealed, err := a.handler.SealTOTP(userID, secret)
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO totp_secrets (user_id, secret, confirmed_at, created_at) VALUES (?, ?, 1, 1)`, userID, sealed)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// A sign-in waiting for its second step is a session not started yet: it
// ends wherever the person's sessions end. Mallory, who has Ann's old
// password and can phish one code, must not finish a second step begun
// before Ann reset or changed her password, signed out her other
// sessions, or moved her account email.
func TestPendingSignInEndsWithSessions(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(t *testing.T, a *app, owner *client)
	}{
		{"password reset", func(t *testing.T, a *app, owner *client) { resetPassword(t, a, annEmail, newPassword) }},
		{"password change", func(t *testing.T, a *app, owner *client) {
			owner.reauthenticate()
			res := owner.postForm("/profile/password", url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("change password: got %d; body %s", res.status, res.body)
			}
		}},
		{"log out other sessions", func(t *testing.T, a *app, owner *client) {
			if res := owner.postForm("/profile/sessions/revoke-others", nil); res.status >= 400 {
				t.Fatalf("log out other sessions: got %d; body %s", res.status, res.body)
			}
		}},
		{"email change", func(t *testing.T, a *app, owner *client) {
			if res := owner.confirmLink(emailChangeLink(t, a, owner, "ann.new@example.com")); res.status >= 400 {
				t.Fatalf("confirm the new email: got %d; body %s", res.status, res.body)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
			owner := a.client(t)
			owner.adopt(ann.ID)
			secret, _ := enrol(t, owner)
			mal := a.client(t)
			passwordStep(t, mal, annEmail, annPassword) // the stolen password
			tt.end(t, a, owner)
			res := mal.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
			if mal.signedIn() {
				t.Errorf("a second step begun before the %s finished after it (%d to %q)", tt.name, res.status, res.header.Get("Location"))
			}
			if n := pendingSignIns(t, a, ann.ID); n != 0 {
				t.Errorf("after the %s: %d sign-ins still wait for their second step, want 0", tt.name, n)
			}
		})
	}
}

// pendingSignIns counts the sign-ins of userID waiting for a second step.
func pendingSignIns(t *testing.T, a *app, userID int64) int {
	t.Helper()
	var n int
	err := a.store.Tx(context.Background(), func(tx *sql.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM pending_signins WHERE user_id = ?`, userID).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Pre-hijack, what survives: Mallory signs up with Ann's address
// (unverified), and before Ann ever looks: turns two-factor on with her
// own app, adds and verifies her own email contact method and routes
// Ann's security notices (and any circumstance) to it. Ann takes "her"
// profile back with a password reset (the first verification). The first
// verification removes linked logins and sessions only: Mallory's
// authenticator and her contact method (with its routing) stay.
func TestPreHijackLeftoversEnd(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	mal := a.client(t)
	mal.signup(annName, annEmail, bobPassword) // Mallory, with Ann's address
	ann := a.userByEmail(t, annEmail)
	refusedEnrolment(t, a, mal)
	preReleaseTwoFactor(t, a, ann.ID)
	res := mal.postForm("/profile/contacts", url.Values{"kind": {"email"}, "address": {"mallory@evil.example"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("add contact: %d %s", res.status, res.body)
	}
	msg := a.mail.waitFor(t, "mallory@evil.example", "Confirm this email address for Roster")
	m := regexpVerify.FindStringSubmatch(msg.Text)
	if m == nil {
		t.Fatalf("no verification link in %q", msg.Text)
	}
	// The link shows a page whose button posts the code.
	if res := mal.postForm(m[1], url.Values{"code": {m[2]}}); res.status != http.StatusSeeOther {
		t.Fatalf("verify contact: %d", res.status)
	}
	var evil db.ContactMethod
	for _, cm := range a.methods(t, ann) {
		if cm.Address == "mallory@evil.example" {
			evil = cm
		}
	}
	routes := url.Values{"route": {
		"security:0:" + ritoa(evil.ID), "account:0:" + ritoa(evil.ID), "billing:0:" + ritoa(evil.ID),
		"alerts:1:" + ritoa(evil.ID), "alerts:5:" + ritoa(evil.ID),
	}}
	if res := mal.postHTMX("/profile/notifications", routes); res.status != http.StatusOK {
		t.Fatalf("routing: %d %s", res.status, res.body)
	}

	// Ann takes her address back, and is told what went.
	back, _ := resetPassword(t, a, annEmail, annPassword)
	pageSays(t, "the login page after Ann's reset", back.get("/login"),
		"Two-factor authentication was turned off, because it was set up before your email address was confirmed",
		"1 contact method was removed, because they were added before your email address was confirmed")

	for _, cm := range a.methods(t, ann) {
		if cm.Address == "mallory@evil.example" && cm.Verified() {
			t.Errorf("ATTACK SUCCEEDED: Mallory's verified contact method survived Ann's first verification")
		}
	}
	rules, _ := a.store.Rules(ctx, ann.ID)
	for _, r := range rules {
		if r.MethodID == evil.ID {
			t.Errorf("ATTACK SUCCEEDED: Ann's %s notices still go to Mallory's address", r.Circumstance)
		}
	}
	for _, m := range a.mail.sentTo("mallory@evil.example") {
		t.Logf("Mallory's mailbox got: %q", m.Subject)
	}
	c := a.client(t)
	res = c.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
	if res.header.Get("Location") == "/login/two-factor" {
		t.Errorf("ATTACK SUCCEEDED: after taking her address back, Ann is asked for Mallory's authenticator code: locked out of her profile")
	}
}

var regexpVerify = regexp.MustCompile(`http://roster\.test(/profile/contacts/\d+/verify)\?code=(\d{6})`)

func ritoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEmailChangeLogsOutOtherSessions: a change of the account email ends
// every other session of the person, as a password change does (someone
// who had a session, or the old mailbox, keeps nothing), keeps the browser
// that confirmed it, and says so.
func TestEmailChangeLogsOutOtherSessions(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	owner := a.client(t)
	owner.adopt(ann.ID)
	other := a.client(t)
	other.adopt(ann.ID)
	res := owner.confirmLink(emailChangeLink(t, a, owner, "ann.new@example.com"))
	pageSays(t, "the email change's page", res, "Your new account email is confirmed", "1 other session was logged out.")
	if !owner.signedIn() {
		t.Errorf("the browser that confirmed the change was logged out")
	}
	if other.signedIn() {
		t.Errorf("another session of Ann's survived the change of her account email")
	}
	pageSays(t, "Ann's activity", owner.get("/profile/activity"),
		"Changed the account email from "+annEmail+" to ann.new@example.com; 1 other session logged out")
	if msg := a.mail.waitFor(t, annEmail, "Security notice: account email changed"); !strings.Contains(msg.Text, "every other session was logged out") {
		t.Errorf("the notice to the old address does not say the other sessions were logged out: %q", msg.Text)
	}
}
