package handlers_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
)

// Re-authentication ("sudo mode", sudo.go): every sensitive action asks
// for the password again unless this session gave it within 10 minutes,
// and resumes with its own form values once it is given.

// sudoWorld is Ann (password, confirmed email) owning Acme, with Bob as
// an Admin of it, Carol a Normal member, and a Google login linked to Ann, on an app that offers
// the four external logins. Ann's client is signed in without
// re-authentication.
type sudoWorld struct {
	a        *app
	c        *client
	ann, bob db.User
	carol    db.User // a Normal member of Acme
	acc      db.Account
	login    db.Identity
	google   string // the fake Google's URL
	vars     map[string]string
}

func newSudoWorld(t *testing.T, opts ...func(*appConfig)) *sudoWorld {
	t.Helper()
	a, fakes := oauthApp(t, opts...)
	w := &sudoWorld{a: a, google: fakes["google"].Server.URL}
	w.ann = a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	w.bob = a.seedUser(t, "Bob", bobEmail, bobPassword)
	w.acc = a.seedAccount(t, w.ann, "Acme")
	a.join(t, w.acc, w.ann, w.bob, db.RoleAdmin)
	w.carol = a.seedUser(t, "Carol", "carol@example.com", bobPassword)
	a.join(t, w.acc, w.ann, w.carol, db.RoleNormal)
	ext := db.External{Provider: "google", Subject: "g-ann", Email: "ann@gmail.example", EmailVerified: true}
	if err := a.store.LinkIdentity(context.Background(), w.ann.ID, ext, db.Event{Kind: db.EventLoginLinked}); err != nil {
		t.Fatal(err)
	}
	w.login = a.identities(t, annEmail)[0]
	w.c = a.client(t)
	w.c.signInOnly(w.ann.ID)
	w.vars = map[string]string{"acc": itoa(w.acc.ID), "login": itoa(w.login.ID), "bob": itoa(w.bob.ID), "carol": itoa(w.carol.ID)}
	return w
}

func (w *sudoWorld) expand(s string) string {
	for k, v := range w.vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// sudoAction is one sensitive action: its post, the section htmx targets,
// and how to tell that it happened.
type sudoAction struct {
	name     string
	path     string
	form     func(t *testing.T, w *sudoWorld) url.Values
	target   string
	htmx     bool
	status   int // of the resumed action
	happened func(t *testing.T, w *sudoWorld, res *response) bool
}

func sudoActions() []sudoAction {
	values := func(v url.Values) func(*testing.T, *sudoWorld) url.Values {
		return func(*testing.T, *sudoWorld) url.Values { return v }
	}
	passwordChanged := func(t *testing.T, w *sudoWorld, _ *response) bool {
		u, err := w.a.store.UserByID(context.Background(), w.ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash != w.ann.PasswordHash
	}
	emailAsked := func(t *testing.T, w *sudoWorld, _ *response) bool {
		ch, err := w.a.store.PendingEmailChange(context.Background(), w.ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ch.Email == "ann.new@example.com"
	}
	loginRemoved := func(t *testing.T, w *sudoWorld, _ *response) bool {
		return len(w.a.identities(t, annEmail)) == 0
	}
	ownerMoved := func(t *testing.T, w *sudoWorld, _ *response) bool {
		m, err := w.a.store.Membership(context.Background(), w.acc.ID, w.ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		return !m.IsOwner()
	}
	accountGone := func(t *testing.T, w *sudoWorld, _ *response) bool {
		_, err := w.a.store.Membership(context.Background(), w.acc.ID, w.ann.ID)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			t.Fatal(err)
		}
		return errors.Is(err, db.ErrNotFound)
	}
	samlAdded := func(t *testing.T, w *sudoWorld, _ *response) bool {
		conns, err := w.a.store.SAMLConnections(context.Background(), w.acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(conns) == 1
	}
	toGoogle := func(t *testing.T, w *sudoWorld, res *response) bool {
		return res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), w.google+"/")
	}
	samlForm := func(t *testing.T, w *sudoWorld) url.Values {
		idp := samltest.New(t, nil)
		res, err := http.Get(idp.URL + "/metadata")
		if err != nil {
			t.Fatal(err)
		}
		md, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return url.Values{"name": {"Acme IdP"}, "metadata_xml": {string(md)}, "email_domains": {"example.com"}, "role": {"normal"}}
	}
	adminInvite := url.Values{"email": {"new.admin@example.com"}, "role": {db.RoleAdmin}}
	adminInvited := func(t *testing.T, w *sudoWorld, _ *response) bool {
		invites, _, err := w.a.store.PendingInvites(context.Background(), w.acc.ID, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(invites) == 1 && invites[0].Email == "new.admin@example.com" && invites[0].Role == db.RoleAdmin
	}
	carolAdmin := func(t *testing.T, w *sudoWorld, _ *response) bool {
		m, err := w.a.store.Membership(context.Background(), w.acc.ID, w.carol.ID)
		if err != nil {
			t.Fatal(err)
		}
		return m.Role == db.RoleAdmin
	}
	pw := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	return []sudoAction{
		{"change password, htmx", "/profile/password", values(pw), "change-password", true, http.StatusOK, passwordChanged},
		{"change password, plain", "/profile/password", values(pw), "", false, http.StatusSeeOther, passwordChanged},
		{"change email, htmx", "/profile/email", values(url.Values{"new_email": {"ann.new@example.com"}}), "contact-info", true, http.StatusOK, emailAsked},
		{"change email, plain", "/profile/email", values(url.Values{"new_email": {"ann.new@example.com"}}), "", false, http.StatusSeeOther, emailAsked},
		{"Add Login, plain", "/profile/logins/google", values(url.Values{}), "", false, http.StatusSeeOther, toGoogle},
		{"remove a login, htmx", "/profile/logins/{login}/delete", values(url.Values{}), "sso-logins", true, http.StatusOK, loginRemoved},
		{"remove a login, plain", "/profile/logins/{login}/delete", values(url.Values{}), "", false, http.StatusSeeOther, loginRemoved},
		{"transfer ownership, htmx", "/accounts/{acc}/owner", values(url.Values{"user_id": {"{bob}"}}), "owner", true, http.StatusNoContent, ownerMoved},
		{"transfer ownership, plain", "/accounts/{acc}/owner", values(url.Values{"user_id": {"{bob}"}}), "", false, http.StatusSeeOther, ownerMoved},
		{"delete an account, plain", "/accounts/{acc}/delete", values(url.Values{"confirm_name": {"Acme"}}), "", false, http.StatusSeeOther, accountGone},
		{"delete an account, htmx", "/accounts/{acc}/delete", values(url.Values{"confirm_name": {"Acme"}}), "danger", true, http.StatusNoContent, accountGone},
		{"add a SAML connection, htmx", "/accounts/{acc}/saml", samlForm, "saml", true, http.StatusOK, samlAdded},
		{"add a SAML connection, plain", "/accounts/{acc}/saml", samlForm, "", false, http.StatusSeeOther, samlAdded},
		// Issue 18's own sensitive actions: two-factor off, new recovery
		// codes, a passkey removed.
		{"turn off two-factor, htmx", "/profile/two-factor/disable", twoFactorOffForm, "two-factor", true, http.StatusOK, twoFactorOff},
		{"turn off two-factor, plain", "/profile/two-factor/disable", twoFactorOffForm, "", false, http.StatusSeeOther, twoFactorOff},
		{"new recovery codes, htmx", "/profile/two-factor/recovery-codes", newCodesForm, "two-factor", true, http.StatusOK, newCodesShown},
		{"remove a passkey, htmx", "/profile/passkeys/{passkey}/delete", passkeyForm, "passkeys", true, http.StatusOK, passkeyRemoved},
		{"remove a passkey, plain", "/profile/passkeys/{passkey}/delete", passkeyForm, "", false, http.StatusSeeOther, passkeyRemoved},
		// Making an Admin: an invite as Admin, a member promoted.
		{"invite an Admin, htmx", "/accounts/{acc}/invites", values(adminInvite), "invite", true, http.StatusOK, adminInvited},
		{"invite an Admin, plain", "/accounts/{acc}/invites", values(adminInvite), "", false, http.StatusSeeOther, adminInvited},
		{"make a member Admin, htmx", "/accounts/{acc}/members/{carol}/role", values(url.Values{"role": {db.RoleAdmin}}), "members", true, http.StatusOK, carolAdmin},
		{"make a member Admin, plain", "/accounts/{acc}/members/{carol}/role", values(url.Values{"role": {db.RoleAdmin}}), "", false, http.StatusSeeOther, carolAdmin},
	}
}

// post sends form to path as the action's own form does: htmx with its
// headers (HX-Target the section), or a plain form with _csrf.
func (w *sudoWorld) post(c *client, act sudoAction, form url.Values) *response {
	c.t.Helper()
	v := url.Values{}
	for k, vs := range form {
		for _, x := range vs {
			v.Add(k, w.expand(x))
		}
	}
	path := w.expand(act.path)
	if !act.htmx {
		return c.postForm(path, v)
	}
	return c.do(http.MethodPost, path, v, http.Header{"Hx-Request": {"true"}, "Hx-Target": {act.target}, "X-Csrf-Token": {c.csrf()}})
}

var (
	promptAction = regexp.MustCompile(`<form method="post" action="([^"]+)"(?: hx-post="[^"]+")?(?: data-passkey="check" data-passkey-begin="[^"]+")? novalidate>`)
	hiddenInput  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// prompt reads the prompt's form as a browser would send it: its action
// and every hidden field (the action's values and the _csrf token).
func prompt(t *testing.T, res *response) (string, url.Values) {
	t.Helper()
	return promptForm(t, res, "sudo_password")
}

// promptForm reads the prompt's form that has the field named field (the
// prompt has a form for each way: password, code, passkey): its action
// and every hidden field.
func promptForm(t *testing.T, res *response, field string) (string, url.Values) {
	t.Helper()
	for _, chunk := range strings.Split(res.body, "<form ")[1:] {
		chunk = "<form " + chunk[:strings.Index(chunk, "</form>")]
		if !strings.Contains(chunk, `name="`+field+`"`) {
			continue
		}
		m := promptAction.FindStringSubmatch(chunk)
		if m == nil {
			break
		}
		form := url.Values{}
		for _, f := range hiddenInput.FindAllStringSubmatch(chunk, -1) {
			form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
		}
		return html.UnescapeString(m[1]), form
	}
	t.Fatalf("got %d without the re-authentication prompt's %s form; body:\n%s", res.status, field, res.body)
	return "", nil
}

// answer posts the prompt's form with password, as the browser sends it
// (htmx adds its headers, the token among them).
func (w *sudoWorld) answer(c *client, act sudoAction, res *response, password string) *response {
	c.t.Helper()
	action, form := prompt(c.t, res)
	form.Set("sudo_password", password)
	var header http.Header
	if act.htmx {
		header = http.Header{"Hx-Request": {"true"}, "Hx-Target": {act.target}, "X-Csrf-Token": {c.csrf()}}
	}
	return c.do(http.MethodPost, action, form, header)
}

// TestSudoGatesSensitiveActions: each sensitive action, without a fresh
// re-authentication, answers with the prompt (in place of its section for
// htmx, a page otherwise) and changes nothing; the prompt's form with the
// right password resumes it with the values first sent, and it happens.
func TestSudoGatesSensitiveActions(t *testing.T) {
	t.Parallel()
	for _, act := range sudoActions() {
		t.Run(act.name, func(t *testing.T) {
			t.Parallel()
			w := newSudoWorld(t)
			form := act.form(t, w)
			res := w.post(w.c, act, form)
			if res.status != http.StatusOK {
				t.Errorf("without re-authentication: got %d, want 200 with the prompt", res.status)
			}
			if act.happened(t, w, res) {
				t.Fatal("without re-authentication: the action happened")
			}
			action, carried := prompt(t, res)
			if action != w.expand(act.path) {
				t.Errorf("the prompt posts to %q, want %q", action, w.expand(act.path))
			}
			for k := range form {
				if got, want := carried[k], []string{w.expand(form.Get(k))}; strings.Join(got, "\x00") != strings.Join(want, "\x00") {
					t.Errorf("the prompt carries %s = %q, want %q", k, got, want)
				}
			}
			if act.htmx {
				if strings.Contains(res.body, "<html") || !strings.HasPrefix(strings.TrimSpace(res.body), `<section id="`+act.target+`"`) {
					t.Errorf("htmx: want the prompt as the section #%s in place, got:\n%s", act.target, res.body)
				}
			} else if !strings.Contains(res.body, "<html") || !strings.Contains(res.body, "<h1>Confirm it is you</h1>") || strings.Contains(res.body, "hx-post=\""+w.expand(act.path)) {
				t.Errorf("plain post: want the prompt page, its form without htmx (the action may leave the site), got:\n%s", res.body)
			}

			done := w.answer(w.c, act, res, annPassword)
			if done.status != act.status {
				t.Errorf("after the right password: got %d, want %d; body:\n%.2000s", done.status, act.status, done.body)
			}
			if !act.happened(t, w, done) {
				t.Fatalf("after the right password: the action did not happen; body:\n%.2000s", done.body)
			}
			if strings.Contains(done.body, `name="sudo_password"`) {
				t.Errorf("after the right password: the prompt again")
			}
		})
	}
}

// TestSudoOnlyForMakingAdmins: an invite as Normal or Read-only, and a
// role change that makes no Admin (Bob taken down to Read-only), need no
// re-authentication; a second value smuggled after the first does not
// slip an Admin past it (both the gate and the action read the first).
func TestSudoOnlyForMakingAdmins(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	ctx := context.Background()
	acc := itoa(w.acc.ID)
	if res := w.c.postForm("/accounts/"+acc+"/invites", url.Values{"email": {"dee@example.com"}, "role": {db.RoleNormal, db.RoleAdmin}}); res.status != http.StatusSeeOther {
		t.Fatalf("invite as Normal: got %d; body:\n%.1000s", res.status, res.body)
	}
	invites, _, err := w.a.store.PendingInvites(ctx, w.acc.ID, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(invites) != 1 || invites[0].Role != db.RoleNormal {
		t.Errorf("invites after one as Normal: %+v", invites)
	}
	if res := w.c.postForm("/accounts/"+acc+"/members/"+itoa(w.bob.ID)+"/role", url.Values{"role": {db.RoleReadOnly}}); res.status != http.StatusSeeOther {
		t.Fatalf("Bob to Read-only: got %d; body:\n%.1000s", res.status, res.body)
	}
	if m, err := w.a.store.Membership(ctx, w.acc.ID, w.bob.ID); err != nil || m.Role != db.RoleReadOnly {
		t.Errorf("Bob's role: %q, %v; want read-only", m.Role, err)
	}
}

// TestSudoPasswordChangeResumesWithItsValues: the new password given
// before the prompt is the one set after it (not merely some change).
func TestSudoPasswordChangeResumesWithItsValues(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	act := sudoActions()[0]
	res := w.post(w.c, act, url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if done := w.answer(w.c, act, res, annPassword); !strings.Contains(done.body, "Your password is changed.") {
		t.Fatalf("after the prompt: got %d, want the password changed; body:\n%s", done.status, done.body)
	}
	w.a.client(t).login(annEmail, newPassword)
	if res := w.a.client(t).postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}}); res.status == http.StatusSeeOther {
		t.Error("the old password still logs in")
	}
}

// TestSudoWindow: once re-authenticated, the session is trusted for 10
// minutes: the next sensitive action runs at once; after 10 minutes it
// asks again. The window is the session's: another session of the same
// person, or a new sign-in in the same browser, is asked.
func TestSudoWindow(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	w := newSudoWorld(t, func(ac *appConfig) { ac.now = clock.Now })
	pw := sudoActions()[0]
	email := sudoActions()[2]

	res := w.post(w.c, email, url.Values{"new_email": {"ann.new@example.com"}})
	if done := w.answer(w.c, email, res, annPassword); done.status != http.StatusOK {
		t.Fatalf("change the email after the prompt: got %d", done.status)
	}
	clock.Add(9 * time.Minute)
	other := w.a.client(t)
	other.login(annEmail, annPassword) // a second browser, signed in with the password

	res = w.post(other, pw, url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if res.status != http.StatusOK || !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("another session of Ann: got %d, want the prompt (the window is the first session's)", res.status)
	}
	res = w.post(w.c, pw, url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Your password is changed.") {
		t.Fatalf("9 minutes after re-authenticating: got %d, want the change at once; body:\n%s", res.status, res.body)
	}

	clock.Add(61 * time.Second) // 10 minutes and a second
	res = w.post(w.c, pw, url.Values{"current_password": {newPassword}, "new_password": {annPassword}})
	if res.status != http.StatusOK || !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("over 10 minutes after re-authenticating: got %d, want the prompt again", res.status)
	}
	if done := w.answer(w.c, pw, res, newPassword); done.status != http.StatusOK {
		t.Fatalf("after the prompt again: got %d", done.status)
	}

	// A new sign-in in the same browser starts without the window.
	w.c.login(annEmail, annPassword)
	if res := w.post(w.c, email, url.Values{"new_email": {"ann.other@example.com"}}); !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("after signing in again: got %d, want the prompt", res.status)
	}
}

// TestSudoCSRF: the gated action checks its CSRF token before anything
// (no prompt for a forged post), and so does the prompt's post: a forged
// one neither re-authenticates the session nor runs the action, even with
// the right password.
func TestSudoCSRF(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	act := sudoActions()[1] // change password, plain
	form := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	res := w.c.do(http.MethodPost, "/profile/password", form, nil)
	if res.status != http.StatusForbidden || strings.Contains(res.body, `name="sudo_password"`) || !strings.Contains(res.body, "did not come from this site") {
		t.Fatalf("the action without a token: got %d, want the CSRF refusal, not the prompt; body:\n%s", res.status, res.body)
	}

	res = w.post(w.c, act, form)
	action, carried := prompt(t, res)
	for _, bad := range []string{"", strings.Repeat("A", 43)} {
		v := url.Values{}
		for k, vs := range carried {
			v[k] = vs
		}
		v.Set("_csrf", bad)
		v.Set("sudo_password", annPassword)
		res := w.c.do(http.MethodPost, action, v, nil)
		if res.status != http.StatusForbidden || !strings.Contains(res.body, "did not come from this site") {
			t.Errorf("the prompt with _csrf %q: got %d, want the CSRF refusal", bad, res.status)
		}
	}
	if act.happened(t, w, nil) {
		t.Fatal("a forged prompt post changed the password")
	}
	if kinds := eventKinds(t, w.a, w.ann.ID); strings.Contains(kinds, db.EventSudo+" ") {
		t.Errorf("a forged prompt post re-authenticated the session: events %s", kinds)
	}
	// The session was not re-authenticated: the action still asks.
	if res := w.post(w.c, act, form); res.status != http.StatusOK || !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("after the forged posts: got %d, want the prompt", res.status)
	}
}

// eventKinds lists the kinds of the user's audit events, newest first,
// each followed by a space.
func eventKinds(t *testing.T, a *app, userID int64) string {
	t.Helper()
	page, err := a.store.EventsForUser(context.Background(), userID, db.EventKey{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range page.Events {
		b.WriteString(ev.Kind + " ")
	}
	return b.String()
}

// TestSudoWrongPassword: a wrong password gets the prompt again with a
// message next to its field, the form's values kept, and an audit entry;
// failures count with the sign-in's (per email and client IP), and past
// the limit even the right password is refused, with Retry-After.
func TestSudoWrongPassword(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	act := sudoActions()[0] // change password, htmx
	form := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	res := w.post(w.c, act, form)

	wrong := w.answer(w.c, act, res, "not the password at all")
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(wrong.body, fieldError("That is not your password.")) {
		t.Fatalf("wrong password: got %d, want 422 with the message by the field; body:\n%s", wrong.status, wrong.body)
	}
	if _, carried := prompt(t, wrong); carried.Get("new_password") != newPassword {
		t.Errorf("wrong password: the prompt lost the form's new_password")
	}
	if kinds := eventKinds(t, w.a, w.ann.ID); !strings.HasPrefix(kinds, db.EventSudoFailed+" ") {
		t.Errorf("wrong password: events %s, want sudo_failed first", kinds)
	}
	empty := w.answer(w.c, act, res, "")
	if empty.status != http.StatusUnprocessableEntity || !strings.Contains(empty.body, fieldError("Enter your password.")) {
		t.Errorf("no password: got %d, want 422 with the message by the field", empty.status)
	}

	// Nine more wrong passwords fill the sign-in limit of the address (10
	// in 15 minutes); then the right one is refused too.
	for i := 0; i < 9; i++ {
		if r := w.answer(w.c, act, res, "wrong "+strconv.Itoa(i)); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password %d: got %d, want 422", i+2, r.status)
		}
	}
	held := w.answer(w.c, act, res, annPassword)
	if held.status != http.StatusTooManyRequests || held.header.Get("Retry-After") == "" ||
		!strings.Contains(held.body, fieldError("Too many failed sign-in attempts. Wait 15 minutes and try again, or reset your password.")) {
		t.Fatalf("past the limit: got %d (Retry-After %q), want 429 with the message by the field; body:\n%s", held.status, held.header.Get("Retry-After"), held.body)
	}
	if act.happened(t, w, held) {
		t.Fatal("past the limit: the password changed")
	}
	// The limit is the sign-in's: logging in is held too.
	if r := w.a.client(t).postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}}); r.status != http.StatusTooManyRequests {
		t.Errorf("log in after the prompt's failures: got %d, want 429", r.status)
	}
}

// TestSudoAudited: re-authenticating is in the activity log.
func TestSudoAudited(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	act := sudoActions()[2]
	res := w.post(w.c, act, url.Values{"new_email": {"ann.new@example.com"}})
	w.answer(w.c, act, res, annPassword)
	if page := w.c.get("/profile/activity").body; !strings.Contains(page, "Confirmed it was you with the password before a sensitive change") {
		t.Errorf("activity: no re-authentication entry:\n%s", page)
	}
}

// TestSudoWithoutPassword: a person who logs in with SSO only has no
// password to give: the prompt mails a code to the account email instead,
// and the action resumes with the right code: here, setting a first
// password.
func TestSudoWithoutPassword(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	gh := oauthCases[1]
	c := a.client(t)
	fakes["github"].SignInAs(person("3001", "sso@example.com", true))
	c.signInWith(gh, fakes["github"], "/profile")
	act := sudoAction{path: "/profile/password", htmx: true, target: "change-password"}
	w := &sudoWorld{a: a}

	res := w.post(c, act, url.Values{"new_password": {newPassword}})
	if res.status != http.StatusOK || strings.Contains(res.body, `name="sudo_password"`) || !strings.Contains(res.body, "Email me a code") {
		t.Fatalf("without a password: got %d, want the prompt offering a code; body:\n%s", res.status, res.body)
	}
	action, form := codePrompt(t, res)
	form.Set("sudo_send_code", "1")
	hx := http.Header{"Hx-Request": {"true"}, "Hx-Target": {"change-password"}, "X-Csrf-Token": {c.csrf()}}
	sent := c.do(http.MethodPost, action, form, hx)
	if sent.status != http.StatusOK || !strings.Contains(sent.body, "A code is on its way to sso@example.com.") || !strings.Contains(sent.body, `name="sudo_code"`) {
		t.Fatalf("send a code: got %d, want the code field; body:\n%s", sent.status, sent.body)
	}
	msg := a.mail.waitFor(t, "sso@example.com", "Your Roster confirmation code")
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(msg.Text)
	if code == "" {
		t.Fatalf("no code in the mail %q", msg.Text)
	}

	action, form = codePrompt(t, sent)
	form.Set("sudo_code", "000000")
	if code == "000000" {
		form.Set("sudo_code", "111111")
	}
	if wrong := c.do(http.MethodPost, action, form, hx); wrong.status != http.StatusUnprocessableEntity ||
		!strings.Contains(wrong.body, fieldError("That code is wrong or has expired. Check the email, or send another code.")) {
		t.Fatalf("wrong code: got %d, want 422 with the message by the field; body:\n%s", wrong.status, wrong.body)
	}
	form.Set("sudo_code", code)
	done := c.do(http.MethodPost, action, form, hx)
	if done.status != http.StatusOK || !strings.Contains(done.body, "Your password is set: you can log in with it too.") {
		t.Fatalf("right code: got %d, want the password set; body:\n%s", done.status, done.body)
	}
	a.client(t).login("sso@example.com", newPassword)
}

// codePrompt reads the code prompt's form.
func codePrompt(t *testing.T, res *response) (string, url.Values) {
	t.Helper()
	m := promptAction.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("got %d without the prompt; body:\n%s", res.status, res.body)
	}
	form := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(res.body, -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), form
}
