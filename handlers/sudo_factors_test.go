package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/passkeytest"
	"github.com/rosterhq/roster/views"
)

// Issue 18's parts joined: sudo gates turning two-factor off, new
// recovery codes and removing a passkey (sudoActions); the prompt takes an
// authenticator or recovery code, or a passkey, besides the password; the
// sign-in's second step takes a passkey.

// twoFactorOffForm turns two-factor on for Ann (a gated action: from
// another session of hers that re-authenticated, so that w.c's still asks)
// and gives the turn-off form with the app's next code.
func twoFactorOffForm(t *testing.T, w *sudoWorld) url.Values {
	secret, _ := enrol(t, w.freshClient(t))
	return url.Values{"code": {nextCode(t, secret)}}
}

func twoFactorOff(t *testing.T, w *sudoWorld, _ *response) bool {
	f, err := w.a.store.SecondFactors(context.Background(), w.ann.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return !f.TOTP
}

// newCodesForm turns two-factor on for Ann and keeps her first recovery
// code, which new codes replace.
func newCodesForm(t *testing.T, w *sudoWorld) url.Values {
	_, codes := enrol(t, w.freshClient(t))
	w.vars["oldcode"] = codes[0]
	return url.Values{}
}

func newCodesShown(t *testing.T, w *sudoWorld, res *response) bool {
	codes := recoveryCodeRE.FindAllStringSubmatch(res.body, -1)
	return len(codes) == 10 && !strings.Contains(res.body, w.vars["oldcode"])
}

// passkeyForm adds a passkey for Ann (gated: from another session of hers
// that re-authenticated) and names it in the path.
func passkeyForm(t *testing.T, w *sudoWorld) url.Values {
	w.freshClient(t).addPasskey(rosterAuthenticator(), "Ann's key")
	keys, err := w.a.store.PasskeysForUser(context.Background(), w.ann.ID, "roster.test")
	if err != nil || len(keys) != 1 {
		t.Fatalf("Ann's passkeys: %v %v", keys, err)
	}
	w.vars["passkey"] = strconv.FormatInt(keys[0].ID, 10)
	return url.Values{}
}

func passkeyRemoved(t *testing.T, w *sudoWorld, _ *response) bool {
	n, err := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test")
	if err != nil {
		t.Fatal(err)
	}
	return n == 0
}

// sudoEvent is the method of the user's newest sudo event, or "".
func sudoEvent(t *testing.T, a *app, userID int64) string {
	t.Helper()
	page, err := a.store.EventsForUser(context.Background(), userID, db.EventKey{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		if ev.Kind == db.EventSudo {
			m, _ := ev.Detail["method"].(string)
			return m
		}
	}
	return ""
}

// answerWith posts the prompt's form holding field, with values set.
func (w *sudoWorld) answerWith(c *client, act sudoAction, res *response, field string, set url.Values) *response {
	c.t.Helper()
	action, form := promptForm(c.t, res, field)
	for k, v := range set {
		form[k] = v
	}
	var header http.Header
	if act.htmx {
		header = http.Header{"Hx-Request": {"true"}, "Hx-Target": {act.target}, "X-Csrf-Token": {c.csrf()}}
	}
	return c.do(http.MethodPost, action, form, header)
}

// TestSudoWithTwoFactorCode: someone with two-factor on passes the prompt
// with a code from the app: a wrong code is refused by its field and
// audited, the right one resumes the action (audited as "totp"), the same
// code is refused at the next prompt (another session), a recovery code
// works once; wrong codes take the sign-in's slots, and past the limit
// even a right code is refused.
func TestSudoWithTwoFactorCode(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	secret, codes := enrol(t, w.freshClient(t))
	act := sudoActions()[2] // change email, htmx
	form := url.Values{"new_email": {"ann.new@example.com"}}

	res := w.post(w.c, act, form)
	if res.status != http.StatusOK || !strings.Contains(res.body, `name="sudo_2fa_code"`) || !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("prompt of someone with two-factor on: got %d, want the password and the code fields; body:\n%s", res.status, res.body)
	}
	wrong := w.answerWith(w.c, act, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {"000000"}})
	if wrong.status != http.StatusUnprocessableEntity || !strings.Contains(wrong.body, fieldError("That code is not right. Enter the 6-digit code your app shows now, or a recovery code.")) {
		t.Fatalf("wrong code: got %d, want 422 by the field; body:\n%s", wrong.status, wrong.body)
	}
	if act.happened(t, w, wrong) {
		t.Fatal("wrong code: the action happened")
	}
	if kinds := eventKinds(t, w.a, w.ann.ID); !strings.HasPrefix(kinds, db.EventSudoFailed+" ") {
		t.Errorf("wrong code: events %s, want sudo_failed first", kinds)
	}
	code := nextCode(t, secret)
	done := w.answerWith(w.c, act, wrong, "sudo_2fa_code", url.Values{"sudo_2fa_code": {code}})
	if done.status != act.status || !act.happened(t, w, done) {
		t.Fatalf("right code: got %d, want the action resumed; body:\n%.2000s", done.status, done.body)
	}
	if m := sudoEvent(t, w.a, w.ann.ID); m != "totp" {
		t.Errorf("audit: sudo method %q, want totp", m)
	}
	if page := w.c.get("/profile/activity").body; !strings.Contains(page, "Confirmed it was you with a code from the authenticator app before a sensitive change") {
		t.Errorf("activity: no entry for the code")
	}

	// Another session of Ann: the same code is spent.
	other := w.a.client(t)
	other.signInOnly(w.ann.ID)
	pw := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	pwAct := sudoActions()[0]
	res = w.post(other, pwAct, pw)
	replay := w.answerWith(other, pwAct, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {code}})
	if replay.status != http.StatusUnprocessableEntity || !strings.Contains(replay.body, fieldError(views.RuleText(db.ErrCodeReplayed))) {
		t.Fatalf("the code again: got %d, want 422 replayed; body:\n%s", replay.status, replay.body)
	}
	if pwAct.happened(t, w, replay) {
		t.Fatal("replayed code: the password changed")
	}
	// A recovery code, once.
	rec := w.answerWith(other, pwAct, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {codes[3]}})
	if rec.status != http.StatusOK || !pwAct.happened(t, w, rec) {
		t.Fatalf("recovery code: got %d, want the password changed; body:\n%.2000s", rec.status, rec.body)
	}
	if m := sudoEvent(t, w.a, w.ann.ID); m != "recovery_code" {
		t.Errorf("audit: sudo method %q, want recovery_code", m)
	}
	w.a.mail.waitFor(t, annEmail, "Security notice: a recovery code was used")
	third := w.a.client(t)
	third.signInOnly(w.ann.ID)
	res = w.post(third, act, form)
	if again := w.answerWith(third, act, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {codes[3]}}); again.status != http.StatusUnprocessableEntity {
		t.Fatalf("the recovery code again: got %d, want 422", again.status)
	}

	// Wrong codes count with the sign-in's limit (10 per address, the one
	// above and the replay among them); then a right code is refused too.
	for i := 0; i < 7; i++ {
		if r := w.answerWith(third, act, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {"12345" + strconv.Itoa(i)}}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d: got %d, want 422", i, r.status)
		}
	}
	held := w.answerWith(third, act, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {codes[4]}})
	if held.status != http.StatusTooManyRequests || held.header.Get("Retry-After") == "" || !strings.Contains(held.body, fieldError("Too many wrong codes. Wait 15 minutes and try again.")) {
		t.Fatalf("past the limit: got %d, want 429 by the field; body:\n%s", held.status, held.body)
	}
	if f, _ := w.a.store.SecondFactors(context.Background(), w.ann.ID, ""); f.RecoveryCodes != 9 {
		t.Errorf("past the limit: %d recovery codes left, want 9 (none used)", f.RecoveryCodes)
	}
}

// TestSudoTwoFactorWithoutPassword: someone who logs in with SSO only and
// has two-factor on gives a code from the app, and is mailed nothing.
func TestSudoTwoFactorWithoutPassword(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	gh := oauthCases[1]
	c := a.client(t)
	fakes["github"].SignInAs(person("3001", "sso@example.com", true))
	c.signInWith(gh, fakes["github"], "/profile")
	// Turning two-factor on is gated: from another session of the person
	// that re-authenticated (by a mailed code), so that c's still asks.
	other := a.client(t)
	other.adopt(a.userByEmail(t, "sso@example.com").ID)
	secret, _ := enrol(t, other)
	act := sudoAction{path: "/profile/password", htmx: true, target: "change-password"}
	w := &sudoWorld{a: a}

	res := w.post(c, act, url.Values{"new_password": {newPassword}})
	if res.status != http.StatusOK || strings.Contains(res.body, "Email me a code") || !strings.Contains(res.body, `name="sudo_2fa_code"`) {
		t.Fatalf("SSO only, two-factor on: got %d, want the code field and no mailed code; body:\n%s", res.status, res.body)
	}
	mailed := w.answerWith(c, act, res, "sudo_2fa_code", url.Values{"sudo_send_code": {"1"}, "sudo_2fa_code": {""}})
	if mailed.status != http.StatusUnprocessableEntity || strings.Contains(mailed.body, "A code is on its way") {
		t.Fatalf("asking for a mailed code anyway: got %d, want the code field refused empty; body:\n%s", mailed.status, mailed.body)
	}
	done := w.answerWith(c, act, res, "sudo_2fa_code", url.Values{"sudo_2fa_code": {nextCode(t, secret)}})
	if done.status != http.StatusOK || !strings.Contains(done.body, "Your password is set: you can log in with it too.") {
		t.Fatalf("right code: got %d, want the password set; body:\n%s", done.status, done.body)
	}
	passwordStep(t, a.client(t), "sso@example.com", newPassword) // the new password, then the second step
}

// sudoPasskey passes res's prompt with cred as static/passkey.js does:
// begin (the form's values), assert, post the form with the credential.
func (w *sudoWorld) sudoPasskey(c *client, act sudoAction, res *response, auth *passkeytest.Authenticator, cred *passkeytest.Credential) *response {
	c.t.Helper()
	if !strings.Contains(res.body, `data-passkey="check" data-passkey-begin="/profile/sudo/passkey/begin"`) || !strings.Contains(res.body, "Use a passkey") {
		c.t.Fatalf("the prompt offers no passkey; body:\n%s", res.body)
	}
	_, form := promptForm(c.t, res, "sudo_passkey")
	begin := c.passkeyBegin("/profile/sudo/passkey/begin", form)
	if begin.status != http.StatusOK {
		c.t.Fatalf("begin the prompt's passkey: got %d; body %s", begin.status, begin.body)
	}
	challenge, err := passkeytest.Challenge([]byte(begin.body))
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := auth.Assert(cred, challenge)
	if err != nil {
		c.t.Fatal(err)
	}
	return w.answerWith(c, act, res, "sudo_passkey", url.Values{"credential": {string(body)}})
}

// TestSudoWithPasskey: someone with a passkey passes the prompt with it
// (in place and as a page) and the action resumes with its values,
// audited as "passkey"; another person's passkey, or the same assertion
// again, is refused by the form and changes nothing.
func TestSudoWithPasskey(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	auth := rosterAuthenticator()
	annKey := w.freshClient(t).addPasskey(auth, "Ann's key")
	bobClient := w.a.client(t)
	bobClient.adopt(w.a.verify(t, w.bob).ID)
	bobKey := bobClient.addPasskey(auth, "Bob's key")
	act := sudoActions()[2] // change email, htmx
	form := url.Values{"new_email": {"ann.new@example.com"}}

	res := w.post(w.c, act, form)
	refused := w.sudoPasskey(w.c, act, res, auth, bobKey)
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, "That passkey was not accepted.") || act.happened(t, w, refused) {
		t.Fatalf("Bob's passkey at Ann's prompt: got %d, want 422 and nothing changed; body:\n%s", refused.status, refused.body)
	}
	if kinds := eventKinds(t, w.a, w.ann.ID); !strings.HasPrefix(kinds, db.EventSudoFailed+" ") {
		t.Errorf("refused passkey: events %s, want sudo_failed first", kinds)
	}
	// Without JavaScript the form posts no credential.
	if noJS := w.answerWith(w.c, act, res, "sudo_passkey", nil); noJS.status != http.StatusUnprocessableEntity || !strings.Contains(noJS.body, "needs JavaScript") {
		t.Errorf("no credential: got %d, want 422 saying JavaScript is needed", noJS.status)
	}
	done := w.sudoPasskey(w.c, act, res, auth, annKey)
	if done.status != act.status || !act.happened(t, w, done) {
		t.Fatalf("Ann's passkey: got %d, want the email change asked; body:\n%.2000s", done.status, done.body)
	}
	if m := sudoEvent(t, w.a, w.ann.ID); m != "passkey" {
		t.Errorf("audit: sudo method %q, want passkey", m)
	}

	// As a page (no htmx), in another session: the page loads the script.
	other := w.a.client(t)
	other.signInOnly(w.ann.ID)
	plain := sudoActions()[1]
	page := w.post(other, plain, url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if !strings.Contains(page.body, `<script src="/static/passkey.`) {
		t.Errorf("the prompt page does not load passkey.js")
	}
	if r := w.sudoPasskey(other, plain, page, auth, annKey); r.status != http.StatusSeeOther || !plain.happened(t, w, r) {
		t.Fatalf("passkey at the prompt page: got %d, want the password changed; body:\n%.2000s", r.status, r.body)
	}
	// The Manage console loads passkey.js too: its in-place prompt (here
	// transferring the ownership) is passed with the passkey.
	if page := other.get(w.expand("/accounts/{acc}/manage")).body; !strings.Contains(page, `<script src="/static/passkey.`) {
		t.Errorf("the Manage console does not load passkey.js")
	}
	var transfer sudoAction
	for _, act := range sudoActions() {
		if act.name == "transfer ownership, htmx" {
			transfer = act
		}
	}
	third := w.a.client(t)
	third.signInOnly(w.ann.ID)
	prompted := w.post(third, transfer, url.Values{"user_id": {"{bob}"}})
	if r := w.sudoPasskey(third, transfer, prompted, auth, annKey); r.status != transfer.status || !transfer.happened(t, w, r) {
		t.Fatalf("passkey at the Manage console's prompt: got %d, want the ownership moved; body:\n%.2000s", r.status, r.body)
	}
	// Someone without a passkey is offered none, and cannot begin one.
	if begin := bobClient.passkeyBegin("/profile/sudo/passkey/begin", nil); begin.status != http.StatusOK {
		t.Errorf("Bob (a passkey) begins: got %d, want 200", begin.status)
	}
	carol := w.a.client(t)
	carol.adopt(w.carol.ID) // the world's Normal member, with no passkey
	if begin := carol.passkeyBegin("/profile/sudo/passkey/begin", nil); begin.status != http.StatusNotFound {
		t.Errorf("Carol (no passkey) begins: got %d, want 404", begin.status)
	}
}

// TestSecondStepPasskey: after the password, someone with two-factor on
// and a passkey is offered "Use a passkey", and their passkey signs them
// in (audited as the second factor); another person's passkey is refused,
// audited, and signs nobody in. Someone with a passkey and no
// authenticator app gets no second step (db.Factors.Any).
func TestSecondStepPasskey(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	auth := rosterAuthenticator()
	owner := a.client(t)
	owner.adopt(ann.ID)
	enrol(t, owner)
	annKey := owner.addPasskey(auth, "Ann's key")
	bobs := a.client(t)
	bobs.adopt(bob.ID)
	bobKey := bobs.addPasskey(auth, "Bob's key")

	// Bob: a passkey, no app: the password signs him in.
	if c := a.client(t); c.postForm("/login", url.Values{"email": {bobEmail}, "password": {bobPassword}}).status != http.StatusSeeOther || !c.signedIn() {
		t.Fatal("a passkey without two-factor: want signed in by the password alone")
	}

	c := a.client(t)
	passwordStep(t, c, annEmail, annPassword)
	page := c.get("/login/two-factor")
	if !strings.Contains(page.body, `data-passkey="check" data-passkey-begin="/login/two-factor/passkey/begin"`) || !strings.Contains(page.body, "Use a passkey") ||
		!strings.Contains(page.body, `<script src="/static/passkey.`) {
		t.Fatalf("second step: no passkey offered; body:\n%s", page.body)
	}
	assert := func(c *client, key *passkeytest.Credential) *response {
		t.Helper()
		begin := c.passkeyBegin("/login/two-factor/passkey/begin", nil)
		if begin.status != http.StatusOK || !strings.Contains(begin.body, `"allowCredentials"`) {
			t.Fatalf("begin: got %d; body %s", begin.status, begin.body)
		}
		challenge, _ := passkeytest.Challenge([]byte(begin.body))
		body, err := auth.Assert(key, challenge)
		if err != nil {
			t.Fatal(err)
		}
		return c.postForm("/login/two-factor/passkey", url.Values{"credential": {string(body)}})
	}
	res := assert(c, bobKey)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "That passkey was not accepted.") || c.signedIn() {
		t.Fatalf("Bob's passkey at Ann's second step: got %d (signed in %v), want 422; body:\n%s", res.status, c.signedIn(), res.body)
	}
	if kinds := eventKinds(t, a, ann.ID); !strings.HasPrefix(kinds, db.EventSignInFailed+" ") {
		t.Errorf("refused passkey: events %s, want signin_failed first", kinds)
	}
	if p := c.get("/profile"); p.status == http.StatusOK {
		t.Fatal("/profile reachable after a refused passkey")
	}
	res = assert(c, annKey)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/accounts/new" || !c.signedIn() {
		t.Fatalf("Ann's passkey: got %d to %q (signed in %v), want 303 to next; body:\n%s", res.status, res.header.Get("Location"), c.signedIn(), res.body)
	}
	evs, err := a.store.EventsForUser(context.Background(), ann.ID, db.EventKey{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if ev := evs.Events[0]; ev.Kind != db.EventSignIn || ev.Detail["second_factor"] != "passkey" {
		t.Errorf("audit: newest %s %v, want signin with second_factor passkey", ev.Kind, ev.Detail)
	}
	// The pending sign-in is over: the passkey way cannot begin again.
	if again := c.passkeyBegin("/login/two-factor/passkey/begin", nil); again.status != http.StatusForbidden {
		t.Errorf("begin after the sign-in: got %d, want 403", again.status)
	}

	// Someone with two-factor and no passkey is not offered one.
	carol := a.verify(t, a.seedUser(t, "Carol", "carol@example.com", annPassword))
	cc := a.client(t)
	cc.adopt(carol.ID)
	enrol(t, cc)
	d := a.client(t)
	passwordStep(t, d, "carol@example.com", annPassword)
	if p := d.get("/login/two-factor"); strings.Contains(p.body, "Use a passkey") {
		t.Errorf("second step without a passkey: offered one")
	}
	if r := d.passkeyBegin("/login/two-factor/passkey/begin", nil); r.status != http.StatusNotFound {
		t.Errorf("begin without a passkey: got %d, want 404", r.status)
	}
}
