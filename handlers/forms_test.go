package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/password"
)

// annExists is a setup: Ann exists and is signed in in another browser,
// clients["ann"]; the scenario's client is signed out.
func annExists(t *testing.T, s *state) {
	s.clients["ann"] = s.app.client(t)
	s.clients["ann"].adopt(s.app.seedUser(t, annName, annEmail, annPassword).ID)
}

// withResetLink is a setup: Ann exists and asked for a reset link, whose
// token goes to vars["token"].
func withResetLink(t *testing.T, s *state) {
	annExists(t, s)
	s.vars["token"] = resetToken(t, s.app, annEmail)
}

// resetToken asks for a reset link for email from a fresh browser and
// returns the token from the mail.
func resetToken(t *testing.T, a *app, email string) string {
	t.Helper()
	// Only reset mails are counted: a sign-up's confirmation, queued too,
	// may arrive meanwhile.
	resets := func() int {
		n := 0
		for _, m := range a.mail.sentTo(email) {
			if strings.Contains(m.Subject, "Reset") {
				n++
			}
		}
		return n
	}
	before := resets()
	res := a.client(t).postHTMX("/password/forgot", url.Values{"email": {email}})
	if res.status != http.StatusOK {
		t.Fatalf("POST /password/forgot: got %d, want 200", res.status)
	}
	msg := a.mail.waitFor(t, email, "Reset")
	if got := resets(); got != before+1 {
		t.Fatalf("got %d reset mails to %s, want %d", got, email, before+1)
	}
	return strings.TrimPrefix(link(t, msg, "http://roster.test/password/reset/"), "http://roster.test/password/reset/")
}

// TestStateChangingRoutes runs every state-changing route as a plain form
// post (303 to a page with a flash) and as an htmx request (a fragment, or
// HX-Redirect where the handler sends the browser elsewhere).
func TestStateChangingRoutes(t *testing.T) {
	t.Parallel()
	signupForm := url.Values{"name": {annName}, "email": {annEmail}, "password": {annPassword}}
	loginForm := url.Values{"email": {annEmail}, "password": {annPassword}}
	passwordForm := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	forgotSent := "If a profile exists for " + annEmail + ", a link to choose a new password is on its way to it. The link works for one hour after it is sent."
	signedOut := func(t *testing.T, s *state, _ *response) {
		if s.c.signedIn() {
			t.Error("GET /profile after sign-out: got the profile, want a redirect to log in")
		}
	}
	secondSignedOut := func(t *testing.T, s *state, _ *response) {
		if s.clients["second"].signedIn() {
			t.Error("second browser: still logged in, want its session revoked")
		}
		if !s.c.signedIn() {
			t.Error("this browser: logged out, want its session kept")
		}
	}
	newPasswordWorks := func(t *testing.T, s *state, _ *response) {
		s.app.client(t).login(annEmail, newPassword)
	}

	runScenarios(t, []scenario{
		{
			name: "sign up", form: signupForm, path: "/signup",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "Welcome to Roster! A link to confirm your email is on its way to " + annEmail + ".",
		},
		{
			name: "sign up, htmx", form: signupForm, path: "/signup", htmx: true,
			wantStatus: http.StatusNoContent, wantHeader: map[string]string{"HX-Redirect": "/profile", "Location": ""},
			wantFlash: "Welcome to Roster! A link to confirm your email is on its way to " + annEmail + ".",
		},
		{
			name: "log in", setup: annExists, form: loginForm, path: "/login",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "You are logged in.",
		},
		{
			name: "log in, htmx", setup: annExists, form: loginForm, path: "/login", htmx: true,
			wantStatus: http.StatusNoContent, wantHeader: map[string]string{"HX-Redirect": "/profile"},
			wantFlash: "You are logged in.",
		},
		{
			name: "log out", setup: signedUp, form: url.Values{}, path: "/logout",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login"},
			wantFlash: "You are logged out.", after: signedOut,
		},
		{
			name: "log out, htmx", setup: signedUp, form: url.Values{}, path: "/logout", htmx: true,
			wantStatus: http.StatusNoContent, wantHeader: map[string]string{"HX-Redirect": "/login"},
			wantFlash: "You are logged out.", after: signedOut,
		},
		{
			name: "save name", setup: signedUp, form: url.Values{"name": {"Ann B. Example"}}, path: "/profile/name",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "Your name is saved.",
			after: func(t *testing.T, s *state, _ *response) {
				if body := s.c.get("/profile").body; !strings.Contains(body, `value="Ann B. Example"`) {
					t.Errorf("profile after saving the name: got no field with the new name:\n%s", body)
				}
			},
		},
		{
			name: "save name, htmx", setup: signedUp, form: url.Values{"name": {"Ann B. Example"}}, path: "/profile/name", htmx: true,
			wantStatus:   http.StatusOK,
			wantContains: []string{`<section id="contact-info">`, "Your name is saved.", `value="Ann B. Example"`},
		},
		{
			name: "send verification again", setup: signedUp, form: url.Values{}, path: "/profile/verify-email",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "A new confirmation link is on its way to " + annEmail + ".",
			after: func(t *testing.T, s *state, _ *response) {
				// The mail goes through the outbox: wait for it.
				if n := s.app.mail.settled(t, annEmail, 1); n != 1 {
					t.Fatalf("got %d mails to %s, want 1", n, annEmail)
				}
				link(t, s.app.mail.sentTo(annEmail)[0], "http://roster.test/verify/")
			},
		},
		{
			name: "send verification again, htmx", setup: signedUp, form: url.Values{}, path: "/profile/verify-email", htmx: true,
			wantStatus:   http.StatusOK,
			wantContains: []string{`<section id="contact-info">`, "A new confirmation link is on its way to " + annEmail + "."},
		},
		{
			name: "change password", setup: withSecondSession, form: passwordForm, path: "/profile/password",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "Your password is changed. 1 other session was logged out.",
			after:     func(t *testing.T, s *state, r *response) { secondSignedOut(t, s, r); newPasswordWorks(t, s, r) },
		},
		{
			name: "change password, htmx", setup: withSecondSession, form: passwordForm, path: "/profile/password", htmx: true,
			wantStatus: http.StatusOK,
			wantContains: []string{`<section id="change-password">`, "Your password is changed. 1 other session was logged out.",
				`<section id="sessions" hx-swap-oob="true">`},
			wantNotContains: []string{`/profile/sessions/{other}/revoke`},
			after:           secondSignedOut,
		},
		{
			name: "revoke a session", setup: withSecondSession, form: url.Values{}, path: "/profile/sessions/{other}/revoke",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "The session is logged out.", after: secondSignedOut,
		},
		{
			name: "revoke a session, htmx", setup: withSecondSession, form: url.Values{}, path: "/profile/sessions/{other}/revoke", htmx: true,
			wantStatus: http.StatusOK, wantContains: []string{`<section id="sessions">`, "The session is logged out."},
			after: secondSignedOut,
		},
		{
			name: "revoke other sessions", setup: withSecondSession, form: url.Values{}, path: "/profile/sessions/revoke-others",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "1 other session was logged out.", after: secondSignedOut,
		},
		{
			name: "revoke other sessions, htmx", setup: withSecondSession, form: url.Values{}, path: "/profile/sessions/revoke-others", htmx: true,
			wantStatus: http.StatusOK, wantContains: []string{`<section id="sessions">`, "1 other session was logged out."},
			after: secondSignedOut,
		},
		{
			name: "forgot password", setup: annExists, form: url.Values{"email": {annEmail}}, path: "/password/forgot",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login"},
			wantFlash: forgotSent,
			after: func(t *testing.T, s *state, _ *response) {
				s.app.mail.waitFor(t, annEmail, "Reset")
			},
		},
		{
			name: "forgot password, htmx", setup: annExists, form: url.Values{"email": {annEmail}}, path: "/password/forgot", htmx: true,
			wantStatus: http.StatusOK, wantContains: []string{`<form id="forgot-form"`, forgotSent},
			after: func(t *testing.T, s *state, _ *response) {
				s.app.mail.waitFor(t, annEmail, "Reset")
			},
		},
		{
			name: "reset password", setup: withResetLink, form: url.Values{"new_password": {newPassword}}, path: "/password/reset/{token}",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login"},
			wantFlash: "Your password is changed. Log in with the new one.",
			after: func(t *testing.T, s *state, r *response) {
				if s.clients["ann"].signedIn() {
					t.Error("Ann's browser after the reset: still logged in, want every session ended")
				}
				newPasswordWorks(t, s, r)
			},
		},
		{
			name: "reset password, htmx", setup: withResetLink, form: url.Values{"new_password": {newPassword}}, path: "/password/reset/{token}", htmx: true,
			wantStatus: http.StatusNoContent, wantHeader: map[string]string{"HX-Redirect": "/login"},
			wantFlash: "Your password is changed. Log in with the new one.",
			after:     newPasswordWorks,
		},
	})
}

// TestValidation expects 422 with the message next to its field: the
// whole page with the typed values kept for a plain post, the form's
// fragment for htmx.
func TestValidation(t *testing.T) {
	t.Parallel()
	badSignup := url.Values{"name": {"Ann"}, "email": {"ann@example"}, "password": {annPassword}}
	emailMsg := fieldError("Enter an email address such as ann@example.com.")
	tooShort := fieldError(password.ErrTooShort.Error())

	runScenarios(t, []scenario{
		{
			name: "sign up with a bad email", form: badSignup, path: "/signup",
			wantStatus:      http.StatusUnprocessableEntity,
			wantContains:    []string{"<html", emailMsg, `value="Ann"`, `value="ann@example"`, `aria-invalid="true"`},
			wantNotContains: []string{annPassword},
		},
		{
			name: "sign up with a bad email, htmx", form: badSignup, path: "/signup", htmx: true,
			wantStatus:      http.StatusUnprocessableEntity,
			wantContains:    []string{`<form id="signup-form"`, emailMsg, `value="Ann"`, `value="ann@example"`},
			wantNotContains: []string{annPassword},
		},
		{
			// U+0130 lowercases to i: the address would have been stored
			// as ines@example.com, a mailbox its typist may not hold.
			name: "sign up with a letter that lowercases onto ASCII", form: url.Values{"name": {"Ines"}, "email": {"\u0130nes@example.com"}, "password": {annPassword}}, path: "/signup",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", fieldError("Enter an email address without accented letters or other alphabets, such as ann@example.com."), `value="Ines"`},
		},
		{
			name: "sign up without a name", form: url.Values{"email": {annEmail}, "password": {annPassword}}, path: "/signup",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", fieldError("Enter your name."), `value="` + annEmail + `"`},
		},
		{
			name: "sign up with a taken email", setup: annExists, form: url.Values{"name": {"Other Ann"}, "email": {"ANN@example.com"}, "password": {bobPassword}}, path: "/signup", htmx: true,
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{fieldError("A profile with this email already exists. Log in, or reset your password if you forgot it.")},
		},
		{
			name: "log in without a password", form: url.Values{"email": {annEmail}}, path: "/login",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", fieldError("Enter your password."), `value="` + annEmail + `"`},
		},
		{
			name: "log in without a password, htmx", form: url.Values{"email": {annEmail}}, path: "/login", htmx: true,
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{`<form id="login-form"`, fieldError("Enter your password."), `value="` + annEmail + `"`},
		},
		{
			name: "empty name", setup: signedUp, form: url.Values{"name": {"  "}}, path: "/profile/name",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", `<section id="contact-info">`, fieldError("Enter your name.")},
		},
		{
			name: "empty name, htmx", setup: signedUp, form: url.Values{"name": {""}}, path: "/profile/name", htmx: true,
			wantStatus:      http.StatusUnprocessableEntity,
			wantContains:    []string{`<section id="contact-info">`, fieldError("Enter your name.")},
			wantNotContains: []string{`<section id="sessions"`},
		},
		{
			name: "name too long, htmx", setup: signedUp, form: url.Values{"name": {strings.Repeat("é", 101)}}, path: "/profile/name", htmx: true,
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{fieldError("Use at most 100 characters."), strings.Repeat("é", 101)},
		},
		{
			name: "wrong current password", setup: signedUp, form: url.Values{"current_password": {"not my password at all"}, "new_password": {newPassword}}, path: "/profile/password",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", `<section id="change-password">`, fieldError("That is not your current password.")},
			after: func(t *testing.T, s *state, _ *response) {
				s.app.client(t).login(annEmail, annPassword) // unchanged
			},
		},
		{
			name: "new password too short, htmx", setup: signedUp, form: url.Values{"current_password": {annPassword}, "new_password": {"short pass"}}, path: "/profile/password", htmx: true,
			wantStatus:      http.StatusUnprocessableEntity,
			wantContains:    []string{`<section id="change-password">`, tooShort},
			wantNotContains: []string{`hx-swap-oob`},
		},
		{
			name: "forgot with a bad email", form: url.Values{"email": {"nobody"}}, path: "/password/forgot",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", emailMsg, `value="nobody"`},
		},
		{
			name: "forgot with a bad email, htmx", form: url.Values{"email": {"nobody"}}, path: "/password/forgot", htmx: true,
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{`<form id="forgot-form"`, emailMsg},
		},
		{
			name: "reset to a short password", setup: withResetLink, form: url.Values{"new_password": {"short pass"}}, path: "/password/reset/{token}",
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{"<html", tooShort, `<form id="reset-form"`},
		},
		{
			name: "reset to a common password, htmx", setup: withResetLink, form: url.Values{"new_password": {"password1234"}}, path: "/password/reset/{token}", htmx: true,
			wantStatus:   http.StatusUnprocessableEntity,
			wantContains: []string{`<form id="reset-form"`, fieldError(password.ErrCommon.Error())},
		},
	})
}
