package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/password"
)

// TestLoginNext follows a local next after sign-in and refuses any other.
func TestLoginNext(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, annName, annEmail, annPassword)

	tests := []struct {
		next string
		want string
	}{
		{"https://evil.example", "/profile"},
		{"//evil.example", "/profile"},
		{`/\evil.example`, "/profile"},
		{"/\t/evil.example", "/profile"},
		{"javascript:alert(1)", "/profile"},
		{"", "/profile"},
		{"/profile/activity", "/profile/activity"},
		{"/profile/activity?page=2", "/profile/activity?page=2"},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"email": {annEmail}, "password": {annPassword}, "next": {tt.next}}
			res := a.client(t).postForm("/login", form)
			if got := res.header.Get("Location"); res.status != http.StatusSeeOther || got != tt.want {
				t.Errorf("POST /login with next=%q: got %d to %q, want 303 to %q", tt.next, res.status, got, tt.want)
			}
			res = a.client(t).postHTMX("/login", form)
			if got := res.header.Get("HX-Redirect"); got != tt.want {
				t.Errorf("htmx POST /login with next=%q: got HX-Redirect %q, want %q", tt.next, got, tt.want)
			}
		})
	}

	t.Run("login page keeps only a safe next", func(t *testing.T) {
		t.Parallel()
		c := a.client(t)
		for next, want := range map[string]string{"https://evil.example": "/profile", "/profile/activity": "/profile/activity"} {
			body := c.get("/login?next=" + url.QueryEscape(next)).body
			if field := `<input type="hidden" name="next" value="` + want + `">`; !strings.Contains(body, field) {
				t.Errorf("GET /login?next=%s: missing %s", next, field)
			}
		}
	})
}

// TestSignupPasswordRules applies DESIGN section 5: at least 12 and at most
// 256 characters of any kind, not a common password.
func TestSignupPasswordRules(t *testing.T) {
	t.Parallel()
	prose := []rune("Zoë bakes crème brûlée at dawn 🍮, the señor's piñata sings 🎶; 東京の夜は静かで、猫が屋根を歩く 🐈 — " +
		"żółw płynie przez rzekę, and a naïve façade of Ünïcödé hides 42 lanterns 🏮 under the old bridge where Ørjan keeps " +
		"his bicycle, a blue kettle and three Ελληνικά books.")
	passphrase := string(prose[:200])
	long := strings.Repeat("correct horse battery staple ", 9)

	tests := []struct {
		name       string
		password   string
		wantStatus int
		wantError  string
	}{
		{"11 characters", "tv-gown-lam", http.StatusUnprocessableEntity, password.ErrTooShort.Error()},
		{"common password", "password1234", http.StatusUnprocessableEntity, password.ErrCommon.Error()},
		{"common password with capitals and symbols", "Password1234!", http.StatusUnprocessableEntity, password.ErrCommon.Error()},
		{"257 characters", string([]rune(long)[:257]), http.StatusUnprocessableEntity, password.ErrTooLong.Error()},
		{"12 characters", "tv-gown-lamp", http.StatusSeeOther, ""},
		{"200-character Unicode passphrase", passphrase, http.StatusSeeOther, ""},
	}
	a := newApp(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := a.client(t)
			email := "user" + strconv.Itoa(i) + "@example.com"
			res := c.postForm("/signup", url.Values{"name": {"Someone"}, "email": {email}, "password": {tt.password}})
			if res.status != tt.wantStatus {
				t.Fatalf("POST /signup: got %d, want %d; body:\n%s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantError != "" {
				if !strings.Contains(res.body, fieldError(tt.wantError)) {
					t.Errorf("POST /signup: missing %q next to the password", tt.wantError)
				}
				if strings.Contains(res.body, tt.password) {
					t.Error("POST /signup: the refused password is echoed in the page, want the field empty")
				}
				return
			}
			// The accepted password signs in, exactly as typed.
			a.client(t).login(email, tt.password)
		})
	}
	if len([]rune(passphrase)) != 200 {
		t.Fatalf("passphrase fixture: got %d code points, want 200", len([]rune(passphrase)))
	}
}

// loginForm extracts the sign-in form from a page or fragment, with the
// typed email replaced, so two answers can be compared.
func loginForm(t *testing.T, body, email string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form id="login-form".*?</form>`).FindString(body)
	if m == "" {
		t.Fatalf("no sign-in form in:\n%s", body)
	}
	return strings.ReplaceAll(unmasked(m), email, "EMAIL")
}

// TestWrongEmailAndWrongPasswordLookTheSame: an unknown email and a wrong
// password get the same status and the same form.
func TestWrongEmailAndWrongPasswordLookTheSame(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	const unknown = "nobody@example.com"

	for _, htmx := range []bool{false, true} {
		post := c.postForm
		if htmx {
			post = c.postHTMX
		}
		wrongPassword := post("/login", url.Values{"email": {annEmail}, "password": {"not the password at all"}})
		wrongEmail := post("/login", url.Values{"email": {unknown}, "password": {annPassword}})
		if wrongPassword.status != http.StatusUnprocessableEntity || wrongEmail.status != wrongPassword.status {
			t.Errorf("htmx=%v: got %d for a wrong password and %d for an unknown email, want 422 for both", htmx, wrongPassword.status, wrongEmail.status)
		}
		got, want := loginForm(t, wrongEmail.body, unknown), loginForm(t, wrongPassword.body, annEmail)
		if got != want {
			t.Errorf("htmx=%v: unknown email got form\n%s\nwant the wrong-password form\n%s", htmx, got, want)
		}
		if !strings.Contains(want, "Wrong email or password.") {
			t.Errorf("htmx=%v: got form\n%s\nwant it to say \"Wrong email or password.\"", htmx, want)
		}
	}
}

// TestLoginThrottled refuses even the right password after ten failures
// for one email, with 429 and Retry-After, and counts an unknown email the
// same way.
func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	const throttled = "Too many failed sign-in attempts."

	for _, email := range []string{annEmail, "nobody@example.com"} {
		for i := range 10 {
			res := c.postHTMX("/login", url.Values{"email": {email}, "password": {"wrong password number " + strconv.Itoa(i)}})
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: failure %d: got %d, want 422", email, i+1, res.status)
			}
		}
		res := c.postHTMX("/login", url.Values{"email": {email}, "password": {annPassword}})
		if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, throttled) {
			t.Errorf("%s: right password after 10 failures: got %d, want 429 saying %q; body:\n%s", email, res.status, throttled, res.body)
		}
		if strings.Contains(res.body, "<html") {
			t.Errorf("%s: htmx 429: got a whole page, want the form fragment", email)
		}
		wantRetryAfter(t, email+": 429", res, 15*time.Minute)
	}
	res := c.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "<html") {
		t.Errorf("plain post while throttled: got %d, want 429 with the whole page", res.status)
	}
	// Another account from the same address is not yet affected.
	a.seedUser(t, "Bob", bobEmail, bobPassword)
	a.client(t).login(bobEmail, bobPassword)
}

// TestSignedOut sends anonymous requests for signed-in pages to sign in,
// remembering where they were going; htmx gets HX-Redirect, not a 302.
func TestSignedOut(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			name: "profile", path: "/profile",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login?next=%2Fprofile"},
		},
		{
			name: "activity page 2", path: "/profile/activity?page=2",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login?next=%2Fprofile%2Factivity%3Fpage%3D2"},
		},
		{
			name: "profile, htmx", path: "/profile", htmx: true,
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"HX-Redirect": "/login?next=%2Fprofile", "Location": ""},
		},
		{
			name: "post, htmx, from the activity page", path: "/profile/name", htmx: true, form: url.Values{"name": {"X"}},
			header:     map[string]string{"HX-Current-URL": "http://roster.test/profile/activity"},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"HX-Redirect": "/login?next=%2Fprofile%2Factivity", "Location": ""},
		},
		{
			name: "post, htmx, current URL on another site", path: "/profile/password", htmx: true, form: url.Values{},
			header:     map[string]string{"HX-Current-URL": "https://evil.example//evil.example"},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"HX-Redirect": "/login?next=%2Fprofile"},
		},
		{
			name: "plain post", path: "/profile/name", form: url.Values{"name": {"X"}},
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login?next=%2Fprofile"},
		},
		{
			name: "expired session cookie", path: "/profile",
			setup: func(t *testing.T, s *state) {
				u, _ := url.Parse(s.app.server.URL)
				s.c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessCookie, Value: strings.Repeat("x", 43)}})
			},
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login?next=%2Fprofile"},
		},
	})
}

// TestLogout ends the session on the server: the cookie is cleared, and a
// copy of its old value no longer signs anyone in.
func TestLogout(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	old := c.cookie(sessCookie)
	if old == "" {
		t.Fatal("no session cookie after sign-up")
	}

	res := c.postForm("/logout", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Fatalf("POST /logout: got %d to %q, want 303 to /login", res.status, res.header.Get("Location"))
	}
	if ck := res.cookie(sessCookie); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("POST /logout: got session cookie %v, want it cleared", ck)
	}
	if c.signedIn() {
		t.Error("after sign-out: GET /profile shows the profile, want a redirect to log in")
	}

	replay := a.client(t)
	u, _ := url.Parse(a.server.URL)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessCookie, Value: old}})
	if replay.signedIn() {
		t.Error("the signed-out session id still logs in, want it deleted on the server")
	}
	if got := activityText(t, a, annEmail, annPassword); !strings.Contains(got, "Logged out") {
		t.Errorf("activity: got %q, want a sign-out event", got)
	}
}

// TestSessionRotatedAtSignIn gives every sign-in a new session id and
// drops the one the browser had, so a planted cookie is worthless.
func TestSessionRotatedAtSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, "Bob", bobEmail, bobPassword)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	before := c.cookie(sessCookie)

	c.login(bobEmail, bobPassword)
	after := c.cookie(sessCookie)
	if after == "" || after == before {
		t.Fatalf("session id after logging in again: got %q, want a new one (was %q)", after, before)
	}
	if body := c.get("/profile").body; !strings.Contains(body, `value="`+bobEmail+`"`) {
		t.Error("after logging in as Bob: profile is not Bob's")
	}
	replay := a.client(t)
	u, _ := url.Parse(a.server.URL)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessCookie, Value: before}})
	if replay.signedIn() {
		t.Error("the session id from before the sign-in still works, want it dropped")
	}
}

// TestSignupModes honours ROSTER_SIGNUP: invite and closed refuse the form.
func TestSignupModes(t *testing.T) {
	t.Parallel()
	closed := func(ac *appConfig) { ac.Signup = handlers.SignupClosed }
	invite := func(ac *appConfig) { ac.Signup = handlers.SignupInvite }
	form := url.Values{"name": {annName}, "email": {annEmail}, "password": {annPassword}}
	noAnn := func(t *testing.T, s *state, _ *response) {
		res := s.app.client(t).postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("log in as the refused sign-up: got %d, want 422", res.status)
		}
	}
	runScenarios(t, []scenario{
		{
			name: "closed: the page says so", config: closed, path: "/signup",
			wantStatus: http.StatusOK, wantContains: []string{"Sign-up is closed on this server."},
			wantNotContains: []string{`<form id="signup-form"`},
		},
		{
			name: "closed: the form is refused", config: closed, path: "/signup", form: form,
			wantStatus: http.StatusForbidden, wantHeader: map[string]string{"Location": ""}, after: noAnn,
		},
		{
			name: "invite: the form is refused", config: invite, path: "/signup", form: form,
			wantStatus: http.StatusForbidden, wantContains: []string{"by invitation only"}, after: noAnn,
		},
		{
			name: "invite: login page offers no sign-up", config: invite, path: "/login",
			wantStatus: http.StatusOK, wantNotContains: []string{`href="/signup"`},
		},
		{
			name: "open: login page offers sign-up", path: "/login",
			wantStatus: http.StatusOK, wantContains: []string{`<a href="/signup">Create a profile</a>`},
		},
	})
}

// TestFragmentOrPage: only a plain htmx request gets a fragment; a boosted
// one wants the whole page, as a browser without JavaScript would.
func TestFragmentOrPage(t *testing.T) {
	t.Parallel()
	boosted := map[string]string{"HX-Boosted": "true"}
	runScenarios(t, []scenario{
		{
			name: "boosted post redirects", setup: signedUp, path: "/profile/name", htmx: true, header: boosted,
			form: url.Values{"name": {"Ann B."}}, wantStatus: http.StatusSeeOther,
			wantHeader: map[string]string{"Location": "/profile"}, wantFlash: "Your name is saved.",
		},
		{
			name: "boosted post with an error gets the page", setup: signedUp, path: "/profile/name", htmx: false,
			header: map[string]string{"HX-Request": "true", "HX-Boosted": "true"},
			form:   url.Values{"name": {""}}, wantStatus: http.StatusUnprocessableEntity,
			wantContains: []string{"<html", fieldError("Enter your name.")},
		},
		{
			name: "history restore gets the page", setup: signedUp, path: "/profile",
			header:     map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"},
			wantStatus: http.StatusOK, wantContains: []string{"<html", `<nav id="user-menu" aria-label="User menu">`},
		},
		{
			name: "boosted error gets the page", path: "/no/such/page",
			header:     map[string]string{"HX-Request": "true", "HX-Boosted": "true"},
			wantStatus: http.StatusNotFound, wantContains: []string{"<html"}, wantHeader: map[string]string{"HX-Retarget": ""},
		},
	})
}

// TestResetEndsSignInLockout: a stranger who knows Ann's address can spend
// its sign-in failures and lock her out for 15 minutes; the reset link,
// which only Ann receives, must let her in with her new password at once.
func TestResetEndsSignInLockout(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, annName, annEmail, annPassword)
	mallory := a.client(t)
	for i := range 10 {
		res := mallory.postHTMX("/login", url.Values{"email": {annEmail}, "password": {"guess number " + strconv.Itoa(i)}})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: got %d, want 422", i+1, res.status)
		}
	}

	ann := a.client(t)
	if res := ann.postHTMX("/password/forgot", url.Values{"email": {annEmail}}); res.status != http.StatusOK {
		t.Fatalf("forgot: got %d, want 200", res.status)
	}
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Reset"), "http://roster.test/password/reset/"), "http://roster.test")
	if res := ann.postForm(path, url.Values{"new_password": {newPassword}}); res.status != http.StatusSeeOther {
		t.Fatalf("POST %s: got %d, want 303", path, res.status)
	}
	res := ann.postForm("/login", url.Values{"email": {annEmail}, "password": {newPassword}})
	if res.status != http.StatusSeeOther {
		t.Errorf("Ann logs in with her new password after the reset: got %d, want 303 (still locked out by the stranger's guesses)", res.status)
	}
}
