package handlers_test

import (
	"context"
	"crypto/sha256"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/totptest"
	"github.com/rosterhq/roster/views"
)

// Two-factor authentication (issue 18 items 1, 2, 4 and 8), through the
// real router: enrolment on the profile, recovery codes, the sign-in's
// second step after a password and after external logins.

var (
	totpSecretRE   = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7 ]+)</code>`)
	recoveryCodeRE = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
)

// codeAt is the authenticator code of secret at t, as an app computes it.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// nextCode is the code of the time step after now's: the app's next one,
// accepted within the one step of clock skew. The code of now's step is
// the one enrolment used.
func nextCode(t *testing.T, secret string) string {
	return codeAt(t, secret, time.Now().Add(30*time.Second))
}

// startEnrolment posts Set up an authenticator app and reads the secret
// off the profile page.
func startEnrolment(t *testing.T, c *client) string {
	t.Helper()
	res := c.postForm("/profile/two-factor", nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("POST /profile/two-factor: got %d, want 303; body %s", res.status, res.body)
	}
	page := c.get("/profile")
	m := totpSecretRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("GET /profile while enrolling: no secret on the page; body %s", page.body)
	}
	if !strings.Contains(page.body, `<svg xmlns="http://www.w3.org/2000/svg" class="qr"`) {
		t.Errorf("GET /profile while enrolling: no QR code SVG")
	}
	return strings.ReplaceAll(m[1], " ", "")
}

// enrol turns two-factor on for the signed-in client c and returns the
// secret and the recovery codes shown.
func enrol(t *testing.T, c *client) (string, []string) {
	t.Helper()
	secret := startEnrolment(t, c)
	res := c.postForm("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if res.status != http.StatusOK {
		t.Fatalf("confirm: got %d, want 200; body %s", res.status, res.body)
	}
	var codes []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(res.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("confirm: got %d recovery codes on the page, want 10", len(codes))
	}
	return secret, codes
}

// passwordStep logs in with the password of a profile with two-factor on:
// the answer is the second step, not a session.
func passwordStep(t *testing.T, c *client, email, pw string) {
	t.Helper()
	res := c.postForm("/login", url.Values{"email": {email}, "password": {pw}, "next": {"/accounts/new"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login/two-factor" {
		t.Fatalf("log in: got %d to %q, want 303 to /login/two-factor; body %s", res.status, res.header.Get("Location"), res.body)
	}
}

// twoFactorPanel is the #two-factor section of body.
func twoFactorPanel(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<section id="two-factor">`)
	if i < 0 {
		t.Fatalf("no #two-factor section in %s", body)
	}
	return body[i : i+strings.Index(body[i:], "</section>")]
}

func TestTwoFactorEnrol(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	c := a.client(t)
	c.adopt(ann.ID)
	if panel := twoFactorPanel(t, c.get("/profile").body); !strings.Contains(panel, "Set up an authenticator app") {
		t.Fatalf("panel before: want the set-up button; got %s", panel)
	}
	secret := startEnrolment(t, c)

	// A wrong code: refused next to the field, still off.
	wrong := codeAt(t, secret, time.Now().Add(-5*time.Minute))
	res := c.postHTMX("/profile/two-factor/confirm", url.Values{"code": {wrong}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError("That code is not right. Check that your app shows Roster's code, and enter the one it shows now.")) {
		t.Fatalf("wrong code: got %d, want 422 with the message by the field; body %s", res.status, res.body)
	}
	if !strings.Contains(res.body, `id="confirm_code"`) || !strings.Contains(res.body, `aria-invalid="true"`) {
		t.Errorf("wrong code: the fragment lacks the code field marked invalid")
	}
	if f, _ := a.store.SecondFactors(context.Background(), ann.ID, ""); f.Any() {
		t.Fatalf("after a wrong code: two-factor is on")
	}

	// The right code turns it on and shows the recovery codes once.
	res = c.postHTMX("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Two-factor authentication is on.") {
		t.Fatalf("right code: got %d; body %s", res.status, res.body)
	}
	if n := len(recoveryCodeRE.FindAllString(res.body, -1)); n != 10 {
		t.Errorf("recovery codes shown: got %d, want 10", n)
	}
	if !strings.Contains(res.body, `download="roster-recovery-codes.txt"`) || !strings.Contains(res.body, `href="data:text/plain;charset=utf-8,Roster%20recovery%20codes`) {
		t.Errorf("no download of the codes in the answer")
	}
	if f, _ := a.store.SecondFactors(context.Background(), ann.ID, ""); !f.TOTP || f.RecoveryCodes != 10 {
		t.Fatalf("after the right code: got %+v, want TOTP on with 10 recovery codes", f)
	}
	panel := twoFactorPanel(t, c.get("/profile").body)
	if !strings.Contains(panel, "10 recovery codes are left.") || recoveryCodeRE.MatchString(panel) || strings.Contains(panel, "totp-secret") {
		t.Errorf("panel after: want the count, no codes and no secret; got %s", panel)
	}
	a.mail.waitFor(t, annEmail, "Security notice: two-factor authentication turned on")
	if act := c.get("/profile/activity").body; !strings.Contains(act, "Turned on two-factor authentication with an authenticator app") {
		t.Errorf("activity: no entry for turning two-factor on")
	}
}

// TestSecondStep: a password is not enough once two-factor is on; the
// pending sign-in is not a session; a code used once is refused again.
func TestSecondStep(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	owner := a.client(t)
	owner.adopt(ann.ID)
	secret, _ := enrol(t, owner)
	enrolCode := codeAt(t, secret, time.Now())

	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	// Going straight to signed-in pages skips nothing: there is no session.
	for _, path := range []string{"/profile", "/accounts/new", "/preferences"} {
		if res := c.get(path); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s while the second step waits: got %d to %q, want 303 to /login", path, res.status, res.header.Get("Location"))
		}
	}
	if res := c.postForm("/profile/two-factor/disable", url.Values{"code": {nextCode(t, secret)}}); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("POST /profile/two-factor/disable while pending: got %d to %q, want 303 to /login", res.status, res.header.Get("Location"))
	}
	page := c.get("/login/two-factor")
	if page.status != http.StatusOK || !strings.Contains(page.body, `name="code"`) {
		t.Fatalf("GET /login/two-factor: got %d; body %s", page.status, page.body)
	}

	// The code enrolment used is refused: each code works once.
	res := c.postForm("/login/two-factor", url.Values{"code": {enrolCode}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(views.RuleText(db.ErrCodeReplayed))) {
		t.Fatalf("replayed code: got %d, want 422 with %q; body %s", res.status, views.RuleText(db.ErrCodeReplayed), res.body)
	}
	if c.signedIn() {
		t.Fatalf("signed in with a replayed code")
	}
	// A wrong code, then the app's next code.
	res = c.postForm("/login/two-factor", url.Values{"code": {"000000"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError("That code is not right. Enter the 6-digit code your app shows now, or a recovery code.")) {
		t.Fatalf("wrong code: got %d; body %s", res.status, res.body)
	}
	code := nextCode(t, secret)
	res = c.postForm("/login/two-factor", url.Values{"code": {code}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/accounts/new" {
		t.Fatalf("right code: got %d to %q, want 303 to the next, /accounts/new; body %s", res.status, res.header.Get("Location"), res.body)
	}
	if !c.signedIn() {
		t.Fatalf("not signed in after the right code")
	}
	// The pending sign-in is over: its cookie does not start another.
	if res := a.client(t).get("/login/two-factor"); res.status != http.StatusForbidden {
		t.Errorf("GET /login/two-factor from a browser without a pending sign-in: got %d, want 403", res.status)
	}
	act := c.get("/profile/activity").body
	for _, want := range []string{"Logged in with password and an authenticator code", "Failed sign-in attempt (wrong two-factor code)"} {
		if !strings.Contains(act, want) {
			t.Errorf("activity: no %q", want)
		}
	}
	// The same code again, from a new sign-in: refused.
	again := a.client(t)
	passwordStep(t, again, annEmail, annPassword)
	if res := again.postForm("/login/two-factor", url.Values{"code": {code}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("the code used again: got %d, want 422", res.status)
	}
	// Cancel and log in again: the pending sign-in ends.
	if res := again.postForm("/logout", nil); res.status != http.StatusSeeOther {
		t.Fatalf("log out at the second step: got %d", res.status)
	}
	if res := again.get("/login/two-factor"); res.status != http.StatusForbidden {
		t.Errorf("GET /login/two-factor after logging out: got %d, want 403", res.status)
	}
}

func TestSecondStepExpires(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	a := newApp(t, func(ac *appConfig) {
		ac.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	owner := a.client(t)
	owner.adopt(ann.ID)
	secret, _ := enrol(t, owner)

	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	skew.Store(int64(10*time.Minute + time.Second))
	res := c.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
	if res.status != http.StatusForbidden || !strings.Contains(res.body, html.EscapeString(views.RuleText(db.ErrPendingGone))) {
		t.Fatalf("code after 10 minutes: got %d, want 403 with %q; body %s", res.status, views.RuleText(db.ErrPendingGone), res.body)
	}
	if c.signedIn() {
		t.Fatalf("signed in after the pending sign-in expired")
	}
	// With htmx the form's answer is no place for the page: htmx loads it.
	late := a.client(t)
	skew.Store(0)
	passwordStep(t, late, annEmail, annPassword)
	skew.Store(int64(10*time.Minute + time.Second))
	res = late.postHTMX("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
	if res.status != http.StatusForbidden || res.header.Get("HX-Redirect") != "/login/two-factor" || res.body != "" {
		t.Fatalf("htmx code after 10 minutes: got %d, HX-Redirect %q, body %q; want 403 sending htmx to /login/two-factor", res.status, res.header.Get("HX-Redirect"), res.body)
	}
	if page := late.get("/login/two-factor"); page.status != http.StatusForbidden || !strings.Contains(page.body, html.EscapeString(views.RuleText(db.ErrPendingGone))) {
		t.Fatalf("the page htmx loads: got %d; body %s", page.status, page.body)
	}
}

func TestSecondStepThrottled(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	owner := a.client(t)
	owner.adopt(ann.ID)
	secret, _ := enrol(t, owner)

	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	for i := range 10 {
		if res := c.postForm("/login/two-factor", url.Values{"code": {"000000"}}); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d: got %d, want 422", i+1, res.status)
		}
	}
	res := c.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(res.body, "Too many wrong codes.") {
		t.Fatalf("after 10 wrong codes: got %d, Retry-After %q, want 429; body %s", res.status, res.header.Get("Retry-After"), res.body)
	}
	if c.signedIn() {
		t.Fatalf("signed in past the limit")
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	owner := a.client(t)
	owner.adopt(ann.ID)
	_, codes := enrol(t, owner)

	// A recovery code signs in once, typed in capitals without its dash.
	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	res := c.postForm("/login/two-factor", url.Values{"code": {strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))}})
	if res.status != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("recovery code: got %d, signed in %v; body %s", res.status, c.signedIn(), res.body)
	}
	a.mail.waitFor(t, annEmail, "Security notice: a recovery code was used")
	if panel := twoFactorPanel(t, c.get("/profile").body); !strings.Contains(panel, "9 recovery codes are left.") {
		t.Errorf("panel: want 9 codes left; got %s", panel)
	}
	second := a.client(t)
	passwordStep(t, second, annEmail, annPassword)
	res = second.postForm("/login/two-factor", url.Values{"code": {codes[0]}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(views.RuleText(db.ErrRecoveryRefused))) {
		t.Fatalf("the used recovery code again: got %d, want 422; body %s", res.status, res.body)
	}

	// New codes (behind re-authentication: this session signed in with a
	// code, and gives its password at the prompt): the old ones, used or
	// not, stop working.
	res = c.postForm("/profile/two-factor/recovery-codes", url.Values{"sudo_password": {annPassword}})
	if res.status != http.StatusOK {
		t.Fatalf("new recovery codes: got %d, want 200 (the codes are shown in this answer)", res.status)
	}
	var fresh []string
	for _, m := range recoveryCodeRE.FindAllStringSubmatch(res.body, -1) {
		fresh = append(fresh, m[1])
	}
	if len(fresh) != 10 {
		t.Fatalf("new recovery codes shown: got %d, want 10", len(fresh))
	}
	a.mail.waitFor(t, annEmail, "Security notice: new recovery codes")
	if strings.Contains(c.get("/profile").body, fresh[0]) {
		t.Errorf("the new codes are on the profile page again")
	}
	res = second.postForm("/login/two-factor", url.Values{"code": {codes[1]}})
	if res.status != http.StatusUnprocessableEntity || second.signedIn() {
		t.Fatalf("an old, unused recovery code after regeneration: got %d, want 422", res.status)
	}
	if res := second.postForm("/login/two-factor", url.Values{"code": {fresh[0]}}); res.status != http.StatusSeeOther || !second.signedIn() {
		t.Fatalf("a new recovery code: got %d; body %s", res.status, res.body)
	}
}

func TestTwoFactorDisable(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	c := a.client(t)
	c.adopt(ann.ID)
	secret, _ := enrol(t, c)

	for _, tc := range []struct{ code, message string }{
		{"", "Enter a code from your app, or a recovery code."},
		{"123456", "That code is not right. Enter the 6-digit code your app shows now, or a recovery code."},
		{codeAt(t, secret, time.Now()), views.RuleText(db.ErrCodeReplayed)}, // enrolment's
	} {
		res := c.postHTMX("/profile/two-factor/disable", url.Values{"code": {tc.code}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(tc.message)) {
			t.Errorf("turn off with %q: got %d, want 422 with %q; body %s", tc.code, res.status, tc.message, res.body)
		}
	}
	if f, _ := a.store.SecondFactors(context.Background(), ann.ID, ""); !f.TOTP {
		t.Fatalf("two-factor went off without a right code")
	}
	res := c.postForm("/profile/two-factor/disable", url.Values{"code": {nextCode(t, secret)}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("turn off with the right code: got %d; body %s", res.status, res.body)
	}
	checkFlash(t, c, res, "Two-factor authentication is off.")
	if f, _ := a.store.SecondFactors(context.Background(), ann.ID, ""); f.TOTP || f.RecoveryCodes != 0 {
		t.Fatalf("after turning off: got %+v, want nothing", f)
	}
	a.mail.waitFor(t, annEmail, "Security notice: two-factor authentication turned off")
	// A password is enough again.
	a.client(t).login(annEmail, annPassword)
}

// TestSSOSecondFactor: Google, GitHub, Slack and OIDC sign-ins ask for the
// person's second factor; an account's SAML IdP is trusted (DECISIONS).
func TestSSOSecondFactor(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	for i, oc := range oauthCases {
		if oc.key != "github" && oc.key != "oidc" {
			continue
		}
		t.Run(oc.key, func(t *testing.T) {
			f := fakes[oc.key]
			email := oc.key + "@example.com"
			f.SignInAs(person(itoa(int64(2000+i)), email, true))
			first := a.client(t)
			if res := first.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || !first.signedIn() {
				t.Fatalf("first sign-in: got %d; body %s", res.status, res.body)
			}
			first.reauthenticate() // turning two-factor on is gated
			secret, _ := enrol(t, first)

			c := a.client(t)
			res := c.signInWith(oc, f, "/accounts/new")
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login/two-factor" {
				t.Fatalf("sign-in with two-factor on: got %d to %q, want 303 to /login/two-factor; body %s", res.status, res.header.Get("Location"), res.body)
			}
			if c.signedIn() {
				t.Fatalf("signed in by %s alone", oc.name)
			}
			res = c.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}})
			if res.status != http.StatusSeeOther || res.header.Get("Location") != "/accounts/new" || !c.signedIn() {
				t.Fatalf("second step: got %d to %q; body %s", res.status, res.header.Get("Location"), res.body)
			}
			if act := c.get("/profile/activity").body; !strings.Contains(act, "Finished logging in with "+oc.name+" with an authenticator code") {
				t.Errorf("activity: no second step of the %s sign-in", oc.name)
			}
		})
	}
}

func TestSAMLSkipsSecondFactor(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, db.RoleReadOnly, nil)
	verifyDomain(t, e, "example.com")
	first := e.app.client(t)
	if res := e.postACS(first, e.idpResponse(t, first)); res.status != http.StatusSeeOther || !first.signedIn() {
		t.Fatalf("first SAML sign-in: got %d; body %s", res.status, res.body)
	}
	first.reauthenticate() // turning two-factor on is gated
	enrol(t, first)
	c := e.app.client(t)
	res := e.postACS(c, e.idpResponse(t, c))
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" || !c.signedIn() {
		t.Fatalf("SAML sign-in with two-factor on: got %d to %q, want 303 to /profile and a session; body %s", res.status, res.header.Get("Location"), res.body)
	}
}

// TestSecondStepKeyUnreadable: a key sealed under another ROSTER_SECRET
// refuses app codes in words, not with an error page; a recovery code
// still signs in.
func TestSecondStepKeyUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	if err := totptest.Start(ctx, a.store, ann.ID, []byte("sealed under a secret this server does not have")); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("roster recovery code:abcdefghij"))
	if err := totptest.Confirm(ctx, a.store, ann.ID, 1, [][]byte{sum[:]}, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	res := c.postForm("/login/two-factor", url.Values{"code": {"123456"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "This server can no longer read the key of your authenticator app") {
		t.Fatalf("app code with an unreadable key: got %d, want 422 saying so; body %s", res.status, res.body)
	}
	if res := c.postForm("/login/two-factor", url.Values{"code": {"abcde-fghij"}}); res.status != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("recovery code: got %d; body %s", res.status, res.body)
	}
}
