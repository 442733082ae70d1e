package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/oauthtest"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
)

// The external logins of DESIGN section 5, each against a fake provider on
// loopback, through Roster's real routes with a browser-like cookie jar.

// oauthCase is one configured provider of the tests.
type oauthCase struct {
	key, name string
	kind      string // of oauthtest.IdP
	provider  string // identities.provider
	subject   func(sub string) string
}

var oauthCases = []oauthCase{
	{"google", "Google", "oidc", "google", func(s string) string { return s }},
	{"github", "GitHub", "github", "github", func(s string) string { return s }},
	{"slack", "Slack", "slack", "slack", func(s string) string { return "T0TEAM-" + s }},
	{"oidc", "Acme ID", "oidc", "oidc:Acme ID", func(s string) string { return s }},
}

// oauthApp is an app with all four providers, each at its own fake.
func oauthApp(t *testing.T, opts ...func(*appConfig)) (*app, map[string]*oauthtest.IdP) {
	t.Helper()
	fakes := map[string]*oauthtest.IdP{}
	var list []sso.Provider
	for _, oc := range oauthCases {
		f := oauthtest.New(t, oc.kind)
		fakes[oc.key] = f
		p := sso.Provider{Key: oc.key, Name: oc.name, ClientID: f.ClientID, ClientSecret: f.Secret, Issuer: f.Server.URL}
		if oc.kind == "github" {
			p.Issuer, p.GitHubURL = "", f.Server.URL
		}
		list = append(list, p)
	}
	opts = append([]func(*appConfig){func(ac *appConfig) { ac.OAuth = list }}, opts...)
	return newApp(t, opts...), fakes
}

// person is a oauthtest.User for the provider of oc: Slack people have a team.
func person(sub, email string, verified bool) oauthtest.User {
	return oauthtest.User{Sub: sub, Email: email, Verified: verified, Name: "Person " + sub, Team: "T0TEAM"}
}

// identities returns the linked logins of the user with email (none when
// there is no such user).
func (a *app) identities(t *testing.T, email string) []db.Identity {
	t.Helper()
	u, err := a.store.UserByEmail(context.Background(), email)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	ids, err := a.store.IdentitiesForUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// signInWith goes through /auth/{key} and the provider and returns the
// callback's answer.
func (c *client) signInWith(oc oauthCase, f *oauthtest.IdP, next string) *response {
	c.t.Helper()
	res, callback := c.viaIdP(f, c.startSignIn("/auth/"+oc.key+"?next="+url.QueryEscape(next)))
	if want := "/auth/" + oc.key + "/callback?"; !strings.HasPrefix(callback, want) {
		c.t.Fatalf("provider sent the browser to %q, want %s...", callback, want)
	}
	return res
}

// viaIdP follows Roster's redirect to the provider (start is the answer to
// GET /auth/x or POST /profile/logins/x), lets the provider sign in, and
// brings the browser back to Roster's callback. It returns the callback's
// answer and the callback's path and query.
func (c *client) viaIdP(f *oauthtest.IdP, start *response) (*response, string) {
	c.t.Helper()
	to := start.header.Get("Location")
	if start.status != http.StatusSeeOther || !strings.HasPrefix(to, f.Server.URL+"/") {
		c.t.Fatalf("start: got %d to %q, want 303 to the provider at %s; body %s", start.status, to, f.Server.URL, start.body)
	}
	callback := f.AuthorizeURL(c.t, to)
	return c.get(callback), callback
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// profileEmail is the account email on the client's profile page.
func (c *client) profileEmail() string {
	c.t.Helper()
	m := regexp.MustCompile(`id="account-email" type="email" value="([^"]*)"`).FindStringSubmatch(c.get("/profile").body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestOAuthLogin(t *testing.T) {
	type check struct {
		a  *app
		f  *oauthtest.IdP
		oc oauthCase
		c  *client
	}
	tests := []struct {
		name string
		run  func(t *testing.T, k *check)
	}{
		{"new person: a verified profile is made and logged in", func(t *testing.T, k *check) {
			k.f.SignInAs(person("1001", "new@example.com", true))
			res := k.c.signInWith(k.oc, k.f, "/accounts/new")
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/accounts/new" {
				t.Fatalf("callback: got %d to %q, want 303 to /accounts/new; body %s", res.status, res.header.Get("Location"), res.body)
			}
			checkFlash(t, k.c, res, "Welcome to Roster! Your profile was made from your "+k.oc.name+" login.")
			if got := k.c.profileEmail(); got != "new@example.com" {
				t.Fatalf("logged in as %q, want new@example.com", got)
			}
			u, err := k.a.store.UserByEmail(context.Background(), "new@example.com")
			if err != nil || !u.EmailVerified() || u.PasswordHash != "" || u.Name != "Person 1001" {
				t.Fatalf("new user: got %+v, %v; want verified, no password, named Person 1001", u, err)
			}
			ids := k.a.identities(t, "new@example.com")
			if len(ids) != 1 || ids[0].Provider != k.oc.provider || ids[0].Subject != k.oc.subject("1001") {
				t.Fatalf("identities: got %+v, want one %s %s", ids, k.oc.provider, k.oc.subject("1001"))
			}
		}},
		{"returning person is found by subject after the email changed", func(t *testing.T, k *check) {
			k.f.SignInAs(person("1002", "first@example.com", true))
			k.c.signInWith(k.oc, k.f, "/profile")
			k.f.SignInAs(person("1002", "changed@example.com", true))
			again := k.a.client(t)
			res := again.signInWith(k.oc, k.f, "/profile")
			if res.status != http.StatusSeeOther {
				t.Fatalf("second sign-in: got %d, want 303; body %s", res.status, res.body)
			}
			if got := again.profileEmail(); got != "first@example.com" {
				t.Fatalf("second sign-in: logged in as %q, want the first profile, first@example.com", got)
			}
			if _, err := k.a.store.UserByEmail(context.Background(), "changed@example.com"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("a profile for the changed email: got %v, want none", err)
			}
			if ids := k.a.identities(t, "first@example.com"); len(ids) != 1 || ids[0].Email != "changed@example.com" {
				t.Fatalf("identity: got %+v, want one with the new email recorded", ids)
			}
		}},
		{"both emails verified: linked and logged in", func(t *testing.T, k *check) {
			k.a.verify(t, k.a.seedUser(t, annName, annEmail, annPassword))
			k.f.SignInAs(person("1003", annEmail, true))
			res := k.c.signInWith(k.oc, k.f, "/profile")
			if res.status != http.StatusSeeOther || k.c.profileEmail() != annEmail {
				t.Fatalf("callback: got %d, logged in as %q; want 303, Ann", res.status, k.c.profileEmail())
			}
			if ids := k.a.identities(t, annEmail); len(ids) != 1 || ids[0].Subject != k.oc.subject("1003") {
				t.Fatalf("Ann's logins: got %+v, want the new one", ids)
			}
		}},
		{"provider email unverified: not linked, no session", func(t *testing.T, k *check) {
			k.a.verify(t, k.a.seedUser(t, annName, annEmail, annPassword))
			k.f.SignInAs(person("1004", annEmail, false))
			res := k.c.signInWith(k.oc, k.f, "/profile")
			wantRefused(t, k.c, res, http.StatusConflict, views.RuleText(db.ErrLinkUnverifiedProvider))
			if ids := k.a.identities(t, annEmail); len(ids) != 0 {
				t.Fatalf("Ann's logins: got %+v, want none", ids)
			}
		}},
		{"local email unverified: not linked, no session", func(t *testing.T, k *check) {
			k.a.seedUser(t, annName, annEmail, annPassword)
			k.f.SignInAs(person("1005", annEmail, true))
			res := k.c.signInWith(k.oc, k.f, "/profile")
			wantRefused(t, k.c, res, http.StatusConflict, views.RuleText(db.ErrLinkUnverifiedLocal))
			if ids := k.a.identities(t, annEmail); len(ids) != 0 {
				t.Fatalf("Ann's logins: got %+v, want none", ids)
			}
		}},
		{"Add Login links a login with a different email", func(t *testing.T, k *check) {
			k.a.verify(t, k.a.seedUser(t, annName, annEmail, annPassword))
			k.c.login(annEmail, annPassword)
			k.f.SignInAs(person("1006", "ann.elsewhere@example.net", false))
			res, _ := k.c.viaIdP(k.f, k.c.postForm("/profile/logins/"+k.oc.key, url.Values{"sudo_password": {annPassword}}))
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile#sso-logins" {
				t.Fatalf("callback: got %d to %q, want 303 to /profile#sso-logins; body %s", res.status, res.header.Get("Location"), res.body)
			}
			checkFlash(t, k.c, res, "Your "+k.oc.name+" login (ann.elsewhere@example.net) is linked: you can log in with it now.")
			ids := k.a.identities(t, annEmail)
			if len(ids) != 1 || ids[0].Email != "ann.elsewhere@example.net" || ids[0].Provider != k.oc.provider {
				t.Fatalf("Ann's logins: got %+v, want the %s one", ids, k.oc.provider)
			}
			page := k.c.get("/profile").body
			if !strings.Contains(page, "ann.elsewhere@example.net") || !strings.Contains(page, "Remove "+html.EscapeString(k.oc.name)+" login") {
				t.Errorf("#sso-logins does not show the new login:\n%s", page)
			}
			// The login now signs Ann in, whatever its email.
			other := k.a.client(t)
			other.signInWith(k.oc, k.f, "/profile")
			if got := other.profileEmail(); got != annEmail {
				t.Fatalf("sign-in with the linked login: got %q, want Ann", got)
			}
		}},
		{"Add Login of a login linked to someone else: refused", func(t *testing.T, k *check) {
			bob := k.a.verify(t, k.a.seedUser(t, "Bob", bobEmail, bobPassword))
			ext := db.External{Provider: k.oc.provider, Subject: k.oc.subject("1007"), Email: bobEmail, EmailVerified: true}
			if err := k.a.store.LinkIdentity(context.Background(), bob.ID, ext, db.Event{Kind: db.EventLoginLinked}); err != nil {
				t.Fatal(err)
			}
			k.a.verify(t, k.a.seedUser(t, annName, annEmail, annPassword))
			k.c.login(annEmail, annPassword)
			k.f.SignInAs(person("1007", bobEmail, true))
			res, _ := k.c.viaIdP(k.f, k.c.postForm("/profile/logins/"+k.oc.key, url.Values{"sudo_password": {annPassword}}))
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile#sso-logins" {
				t.Fatalf("callback: got %d to %q, want 303 to /profile#sso-logins", res.status, res.header.Get("Location"))
			}
			if page := k.c.get("/profile").body; !strings.Contains(page, `<div class="flash error" role="status">`+html.EscapeString(views.RuleText(db.ErrIdentityTaken))) {
				t.Errorf("profile after the refusal: no error flash %q", db.ErrIdentityTaken)
			}
			if ids := k.a.identities(t, annEmail); len(ids) != 0 {
				t.Fatalf("Ann's logins: got %+v, want none", ids)
			}
			if ids := k.a.identities(t, bobEmail); len(ids) != 1 {
				t.Fatalf("Bob's logins: got %+v, want his one", ids)
			}
		}},
		{"forged state: refused", func(t *testing.T, k *check) {
			k.f.SignInAs(person("1008", "forged@example.com", true))
			callback := k.f.AuthorizeURL(t, k.c.startSignIn("/auth/"+k.oc.key).header.Get("Location"))
			u, _ := url.Parse(callback)
			q := u.Query()
			q.Set("state", "forged-"+q.Get("state"))
			u.RawQuery = q.Encode()
			wantRefused(t, k.c, k.c.get(u.RequestURI()), http.StatusBadRequest, "This sign-in did not start here")
			if _, err := k.a.store.UserByEmail(context.Background(), "forged@example.com"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("user after a forged state: got %v, want none", err)
			}
		}},
		{"missing state: refused", func(t *testing.T, k *check) {
			k.f.SignInAs(person("1009", "nostate@example.com", true))
			callback := k.f.AuthorizeURL(t, k.c.startSignIn("/auth/"+k.oc.key).header.Get("Location"))
			u, _ := url.Parse(callback)
			q := u.Query()
			q.Del("state")
			u.RawQuery = q.Encode()
			wantRefused(t, k.c, k.c.get(u.RequestURI()), http.StatusBadRequest, "This sign-in did not start here")
		}},
		{"callback in a browser that did not start the sign-in: refused", func(t *testing.T, k *check) {
			// Login CSRF: an attacker starts a sign-in and sends the
			// victim the callback link.
			attacker := k.a.client(t)
			k.f.SignInAs(person("1010", "attacker@example.com", true))
			callback := k.f.AuthorizeURL(t, attacker.startSignIn("/auth/"+k.oc.key).header.Get("Location"))
			wantRefused(t, k.c, k.c.get(callback), http.StatusBadRequest, "This sign-in did not start here")
			if _, err := k.a.store.UserByEmail(context.Background(), "attacker@example.com"); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("user after the replayed callback: got %v, want none", err)
			}
		}},
		{"a callback used twice: refused the second time", func(t *testing.T, k *check) {
			k.f.SignInAs(person("1011", "twice@example.com", true))
			res, callback := k.c.viaIdP(k.f, k.c.startSignIn("/auth/"+k.oc.key))
			if res.status != http.StatusSeeOther {
				t.Fatalf("first callback: got %d, want 303", res.status)
			}
			// The flow cookie went with the first use.
			if res := k.c.get(callback); res.status != http.StatusBadRequest {
				t.Fatalf("second callback: got %d, want 400", res.status)
			}
		}},
	}
	for _, oc := range oauthCases {
		for _, tt := range tests {
			t.Run(oc.key+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				a, fakes := oauthApp(t)
				tt.run(t, &check{a: a, f: fakes[oc.key], oc: oc, c: a.client(t)})
			})
		}
	}
}

// wantRefused checks a refusal page: its status and words, and that the
// browser is not signed in.
func wantRefused(t *testing.T, c *client, res *response, status int, words string) {
	t.Helper()
	if res.status != status || !strings.Contains(res.body, html.EscapeString(words)) {
		t.Fatalf("got %d, want %d with %q; body %s", res.status, status, words, res.body)
	}
	if !strings.Contains(res.body, `href="/login"`) {
		t.Errorf("refusal page has no link back to /login")
	}
	if c.signedIn() {
		t.Fatalf("logged in after a refusal, want not")
	}
}

// TestGitHubPublicEmailIsNotProof: the email on a GitHub profile is typed
// by its owner; only /user/emails says which addresses GitHub verified.
func TestGitHubPublicEmailIsNotProof(t *testing.T) {
	gh := oauthCases[1]
	tests := []struct {
		name   string
		user   oauthtest.User
		status int
		// where the login ends up: a new profile's email, or "" for none
		newProfile string
	}{
		{"public email, listed unverified", oauthtest.User{Sub: "2001", PublicEmail: annEmail,
			Emails: []oauthtest.Email{{Email: annEmail, Primary: true, Verified: false}}}, http.StatusConflict, ""},
		{"public email, not listed at all", oauthtest.User{Sub: "2002", PublicEmail: annEmail,
			Emails: []oauthtest.Email{{Email: "other@example.net", Primary: true, Verified: true}}}, http.StatusSeeOther, "other@example.net"},
		{"verified secondary address links", oauthtest.User{Sub: "2003",
			Emails: []oauthtest.Email{{Email: "old@example.net", Primary: true}, {Email: annEmail, Verified: true}}}, http.StatusSeeOther, annEmail},
		{"no email at all: refused in plain words", oauthtest.User{Sub: "2004", Emails: []oauthtest.Email{}}, http.StatusConflict, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, fakes := oauthApp(t)
			a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
			c := a.client(t)
			fakes["github"].SignInAs(tt.user)
			res := c.signInWith(gh, fakes["github"], "/profile")
			if res.status != tt.status {
				t.Fatalf("callback: got %d, want %d; body %s", res.status, tt.status, res.body)
			}
			annLinked := len(a.identities(t, annEmail)) == 1
			if annLinked != (tt.newProfile == annEmail) {
				t.Fatalf("linked to Ann: got %v, want %v", annLinked, tt.newProfile == annEmail)
			}
			if tt.newProfile != "" && c.profileEmail() != tt.newProfile {
				t.Fatalf("logged in as %q, want %q", c.profileEmail(), tt.newProfile)
			}
		})
	}
}

// TestUnlinkLogin: the X removes a login and keeps the session, except
// the last way in.
func TestUnlinkLogin(t *testing.T) {
	a, fakes := oauthApp(t)
	gh := oauthCases[1]
	c := a.client(t)
	fakes["github"].SignInAs(person("3001", "sso@example.com", true))
	c.signInWith(gh, fakes["github"], "/profile")
	ids := a.identities(t, "sso@example.com")
	if len(ids) != 1 {
		t.Fatalf("logins: got %d, want 1", len(ids))
	}
	path := "/profile/logins/" + itoa(ids[0].ID) + "/delete"
	c.reauthenticate()
	page := c.get("/profile").body
	if !strings.Contains(page, "<h2>Set a password</h2>") || strings.Contains(page, `name="current_password"`) {
		t.Errorf("a profile without a password: want Set a password without the current password")
	}

	// The last way in stays, plain and htmx.
	res := c.postForm(path, nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, html.EscapeString(views.RuleText(db.ErrLastLogin))) {
		t.Fatalf("unlink the last login: got %d, want 409 with %q", res.status, db.ErrLastLogin)
	}
	res = c.postHTMX(path, nil)
	if res.status != http.StatusConflict || !strings.HasPrefix(strings.TrimSpace(res.body), `<section id="sso-logins">`) {
		t.Fatalf("unlink the last login with htmx: got %d %q, want 409 with the section", res.status, res.body)
	}
	if len(a.identities(t, "sso@example.com")) != 1 {
		t.Fatal("the last login was removed")
	}

	// Someone else cannot remove it either.
	bob := a.client(t)
	a.seedUser(t, "Bob", bobEmail, bobPassword)
	bob.login(bobEmail, bobPassword)
	if res := bob.postForm(path, url.Values{"sudo_password": {bobPassword}}); res.status != http.StatusNotFound {
		t.Fatalf("Bob removes someone's login: got %d, want 404", res.status)
	}

	// With a password set, it can go, and the session stays.
	if res := c.postForm("/profile/password", url.Values{"new_password": {newPassword}}); res.status != http.StatusSeeOther {
		t.Fatalf("set a password: got %d, want 303; body %s", res.status, res.body)
	}
	res = c.postHTMX(path, nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, "The GitHub login is removed") || !strings.Contains(res.body, "No linked logins.") {
		t.Fatalf("unlink with a password set: got %d %q", res.status, res.body)
	}
	if !c.signedIn() {
		t.Fatal("logged out after the unlink, want the session kept")
	}
	if len(a.identities(t, "sso@example.com")) != 0 {
		t.Fatal("login still linked after the unlink")
	}
	// Both changes to the ways in were told to the account email.
	a.mail.waitFor(t, "sso@example.com", "Security notice: password changed")
	notice := a.mail.waitFor(t, "sso@example.com", "Security notice: GitHub login removed")
	if !strings.Contains(notice.Text, "http://roster.test/password/forgot") {
		t.Errorf("notice: got %q, want a link to reset the password", notice.Text)
	}
	act := c.get("/profile/activity").body
	for _, want := range []string{"Removed the GitHub login (sso@example.com)", "Created the profile by logging in with GitHub"} {
		if !strings.Contains(act, want) {
			t.Errorf("activity: missing %q", want)
		}
	}
}

// TestUnlinkLoginPlain: a plain form post is redirected with a flash.
func TestUnlinkLoginPlain(t *testing.T) {
	a, _ := oauthApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	ext := db.External{Provider: "google", Subject: "g-ann", Email: "ann@gmail.example", EmailVerified: true}
	if err := a.store.LinkIdentity(context.Background(), ann.ID, ext, db.Event{Kind: db.EventLoginLinked}); err != nil {
		t.Fatal(err)
	}
	c := a.client(t)
	c.login(annEmail, annPassword)
	res := c.postForm("/profile/logins/"+itoa(a.identities(t, annEmail)[0].ID)+"/delete", url.Values{"sudo_password": {annPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		t.Fatalf("unlink: got %d to %q, want 303 to /profile", res.status, res.header.Get("Location"))
	}
	checkFlash(t, c, res, "The Google login is removed: it no longer logs you in.")
}

// TestOAuthOffered: only configured providers have buttons and routes.
func TestOAuthOffered(t *testing.T) {
	plain := newApp(t)
	c := plain.client(t)
	// "Log in with a passkey" is not one of them.
	if body := c.get("/login").body; strings.Contains(body, "Log in with:") || strings.Contains(body, `action="/auth/`) {
		t.Errorf("/login without providers shows a Log in with button")
	}
	for _, p := range []string{"/auth/google", "/auth/github/callback?state=x&code=y", "/auth/nonsense"} {
		if res := c.get(p); res.status != http.StatusNotFound {
			t.Errorf("GET %s without providers: got %d, want 404", p, res.status)
		}
	}

	a, _ := oauthApp(t)
	c = a.client(t)
	body := c.get("/login?next=/accounts/new").body
	for _, oc := range oauthCases {
		want := `<form method="post" action="/auth/` + oc.key + `">`
		if !strings.Contains(body, want) || !strings.Contains(body, "Log in with "+html.EscapeString(oc.name)) {
			t.Errorf("/login: no Log in with %s button (%s)", oc.name, want)
		}
	}
	if !strings.Contains(body, `<input type="hidden" name="next" value="/accounts/new"><button type="submit" class="login-icon"`) {
		t.Errorf("/login: the Log in with buttons do not carry next=/accounts/new")
	}
	if res := c.get("/auth/nonsense"); res.status != http.StatusNotFound {
		t.Errorf("GET /auth/nonsense: got %d, want 404", res.status)
	}
	// Add Login needs a session and a CSRF token.
	if res := c.postForm("/profile/logins/google", nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("Add Login logged out: got %d to %q, want 303 to /login", res.status, res.header.Get("Location"))
	}
	a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c.login(annEmail, annPassword)
	if res := c.do(http.MethodPost, "/profile/logins/google", url.Values{}, nil); res.status != http.StatusForbidden {
		t.Errorf("Add Login without a CSRF token: got %d, want 403", res.status)
	}
	page := c.get("/profile").body
	for _, oc := range oauthCases {
		if !strings.Contains(page, `action="/profile/logins/`+oc.key+`"`) {
			t.Errorf("#sso-logins: no Add Login for %s", oc.key)
		}
	}
}

// TestOAuthFlowCookie: the flow cookie is scoped to /auth, HttpOnly,
// SameSite=Lax, short-lived, and its contents are encrypted.
func TestOAuthFlowCookie(t *testing.T) {
	a, _ := oauthApp(t, httpsBase)
	c := a.client(t)
	res := c.startSignIn("/auth/google?next=/accounts/new")
	ck := res.cookie("roster_oauth")
	if ck == nil {
		t.Fatal("no roster_oauth cookie")
	}
	if ck.Path != "/auth" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 600 {
		t.Errorf("cookie: got %+v, want Path=/auth HttpOnly Secure SameSite=Lax Max-Age=600", ck)
	}
	state := regexp.MustCompile(`state=([^&]+)`).FindStringSubmatch(res.header.Get("Location"))
	if state == nil || strings.Contains(ck.Value, state[1]) || strings.Contains(ck.Value, "accounts") {
		t.Errorf("cookie value shows the state or next in the clear: %q", ck.Value)
	}
}

// TestOIDCIssuerDown: an issuer that does not answer makes its button
// answer 503, not the start-up or the other sign-ins fail.
func TestOIDCIssuerDown(t *testing.T) {
	down := oauthtest.New(t, "oidc")
	down.Server.Close()
	a := newApp(t, func(ac *appConfig) {
		ac.OAuth = []sso.Provider{{Key: "oidc", Name: "Down", ClientID: "x", ClientSecret: "y", Issuer: down.Server.URL}}
	})
	c := a.client(t)
	res := c.startSignIn("/auth/oidc")
	if res.status != http.StatusServiceUnavailable || !strings.Contains(res.body, "We could not reach Down") {
		t.Fatalf("GET /auth/oidc with the issuer down: got %d, want 503; body %s", res.status, res.body)
	}
	if res := c.get("/login"); res.status != http.StatusOK {
		t.Fatalf("GET /login: got %d, want 200", res.status)
	}
}

// TestExternalSignInNotices: linking at sign-in, a sign-in from a new
// browser and an unlink each queue their security notice with the change
// (the worker is not running, so only the change's transaction can have).
func TestExternalSignInNotices(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t, func(ac *appConfig) { ac.manualWorker = true })
	oc, f := oauthCases[0], fakes[oauthCases[0].key]
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	f.SignInAs(person("2001", annEmail, true))
	subjects := func() []string {
		t.Helper()
		list, err := a.store.RecentDeliveries(context.Background(), ann.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.Subject)
		}
		return got
	}
	firefox, safari := a.client(t), a.client(t)
	safari.ua = safariUA
	for _, c := range []*client{firefox, firefox, safari} {
		if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
			t.Fatalf("log in: got %d; body %s", res.status, res.body)
		}
	}
	want := []string{"Security notice: sign-in from a new device", "Security notice: " + oc.name + " login linked"}
	if got := subjects(); !slices.Equal(got, want) {
		t.Fatalf("outbox after three sign-ins %q, want %q", got, want)
	}
	ids := a.identities(t, annEmail)
	safari.reauthenticate()
	if res := safari.postForm(fmt.Sprintf("/profile/logins/%d/delete", ids[0].ID), nil); res.status != http.StatusSeeOther {
		t.Fatalf("unlink: got %d; body %s", res.status, res.body)
	}
	if got := subjects(); len(got) != 3 || got[0] != "Security notice: "+oc.name+" login removed" {
		t.Fatalf("outbox after the unlink %q, want the removal first", got)
	}
}
