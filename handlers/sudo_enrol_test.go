package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Attacks found by the security review of issues 18 and 19, kept as
// tests: a stolen session must not add its own second factor.

// freshClient is another session of Ann that re-authenticated just now,
// as someone who knows her password has: set-up that w.c (a session that
// never re-authenticated) must not be able to do by itself.
func (w *sudoWorld) freshClient(t *testing.T) *client {
	t.Helper()
	c := w.a.client(t)
	c.adopt(w.ann.ID)
	return c
}

// TestSudoBlocksEnrolmentBySessionOnly: a stolen session (no password
// known, never re-authenticated) must not turn on two-factor with its own
// authenticator and then pass the sudo prompt with a code from it.
// Starting the enrolment asks for re-authentication first.
func TestSudoBlocksEnrolmentBySessionOnly(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	res := w.c.postForm("/profile/two-factor", nil)
	if res.status == http.StatusSeeOther || !strings.Contains(res.body, `name="sudo_password"`) {
		t.Fatalf("a session that never re-authenticated started an enrolment: got %d, want the re-authentication prompt; body:\n%.2000s", res.status, res.body)
	}
	if page := w.c.get("/profile"); totpSecretRE.MatchString(page.body) {
		t.Fatal("after the prompt was shown: a secret is on the profile page")
	}
	// Answered with the password, the enrolment starts.
	action, form := promptForm(t, res, "sudo_password")
	form.Set("sudo_password", annPassword)
	if done := w.c.postForm(action, form); done.status != http.StatusSeeOther {
		t.Fatalf("enrolment after the password: got %d, want 303; body:\n%.2000s", done.status, done.body)
	}
	if page := w.c.get("/profile"); !totpSecretRE.MatchString(page.body) {
		t.Fatal("enrolment after the password: no secret on the profile page")
	}
}

// TestSudoBlocksPasskeyAddBySessionOnly: a stolen session must not add its
// own passkey (and then sign in with it from anywhere, with no password
// and no second step). The finish asks for re-authentication; given the
// password at the prompt, the same ceremony's passkey is added.
func TestSudoBlocksPasskeyAddBySessionOnly(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	enrol(t, w.freshClient(t)) // Ann has two-factor on
	auth := rosterAuthenticator()
	begin := w.c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {"thief"}})
	if begin.status != http.StatusOK {
		t.Fatalf("begin adding a passkey: got %d; body %s", begin.status, begin.body)
	}
	body, cred, err := auth.Create([]byte(begin.body))
	if err != nil {
		t.Fatal(err)
	}
	res := w.c.postForm("/profile/passkeys", url.Values{"passkey_name": {"thief"}, "credential": {string(body)}})
	if n, err := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test"); err != nil || n != 0 {
		t.Fatalf("a session that never re-authenticated added a passkey (status %d): %d passkeys, %v", res.status, n, err)
	}
	thief := w.a.client(t)
	if login := thief.passkeyLogin(auth, cred, nil); thief.signedIn() {
		t.Fatalf("a passkey added by a session that never re-authenticated signs in as Ann (status %d)", login.status)
	}
	// The prompt carries the form on: with the password, the passkey of
	// this ceremony is added.
	action, form := promptForm(t, res, "sudo_password")
	form.Set("sudo_password", annPassword)
	if done := w.c.postForm(action, form); done.status != http.StatusSeeOther || done.header.Get("Location") != "/profile" {
		t.Fatalf("add the passkey after the password: got %d to %q, want 303 to /profile; body:\n%.2000s", done.status, done.header.Get("Location"), done.body)
	}
	if n, err := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test"); err != nil || n != 1 {
		t.Fatalf("after the password at the prompt: %d passkeys, %v; want 1", n, err)
	}
}

// TestSudoPasskeyWhileAddingPasskey: the prompt shown when a session that
// has not re-authenticated adds a passkey offers the person's existing
// passkey as a way through, as the other prompts do. The new passkey's
// credential is carried under its own name (the prompt's passkey form has
// its own credential field for the assertion), and the prompt's check
// keeps its own ceremony, so the ceremony of the passkey being added
// survives it: with the existing passkey, the new one is added. A
// passkey of another person is refused and adds nothing.
func TestSudoPasskeyWhileAddingPasskey(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	auth := rosterAuthenticator()
	annKey := w.freshClient(t).addPasskey(auth, "Ann's key")
	bobClient := w.a.client(t)
	bobClient.adopt(w.a.verify(t, w.bob).ID)
	bobKey := bobClient.addPasskey(auth, "Bob's key")

	begin := w.c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {"Laptop"}})
	if begin.status != http.StatusOK {
		t.Fatalf("begin adding a passkey: got %d; body %s", begin.status, begin.body)
	}
	body, laptop, err := auth.Create([]byte(begin.body))
	if err != nil {
		t.Fatal(err)
	}
	add := sudoAction{name: "add a passkey, plain", path: "/profile/passkeys"}
	res := w.c.postForm(add.path, url.Values{"passkey_name": {"Laptop"}, "credential": {string(body)}})
	if n, _ := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test"); n != 1 {
		t.Fatalf("adding without re-authentication: %d passkeys, want Ann's one (status %d)", n, res.status)
	}
	if !strings.Contains(res.body, "This change needs your password again, or a passkey.") {
		t.Errorf("the prompt does not offer the passkey in words; body:\n%.2000s", res.body)
	}
	// The passkey form has one credential field, empty: the assertion's.
	_, form := promptForm(t, res, "sudo_passkey")
	if got := form["credential"]; len(got) != 1 || got[0] != "" {
		t.Errorf("the prompt's passkey form carries credential %q, want one empty field for the assertion", got)
	}
	refused := w.sudoPasskey(w.c, add, res, auth, bobKey)
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, "That passkey was not accepted.") {
		t.Fatalf("Bob's passkey at Ann's prompt: got %d, want 422; body:\n%.2000s", refused.status, refused.body)
	}
	if n, _ := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test"); n != 1 {
		t.Fatalf("after Bob's passkey: %d passkeys, want 1", n)
	}
	done := w.sudoPasskey(w.c, add, refused, auth, annKey)
	if done.status != http.StatusSeeOther || done.header.Get("Location") != "/profile" {
		t.Fatalf("Ann's passkey at the prompt: got %d to %q, want 303 to /profile; body:\n%.2000s", done.status, done.header.Get("Location"), done.body)
	}
	if n, _ := w.a.store.CountPasskeys(context.Background(), w.ann.ID, "roster.test"); n != 2 {
		t.Fatalf("after Ann's passkey at the prompt: %d passkeys, want 2", n)
	}
	if m := sudoEvent(t, w.a, w.ann.ID); m != "passkey" {
		t.Errorf("audit: sudo method %q, want passkey", m)
	}
	// The passkey added is the one of the ceremony: it signs in.
	laptopC := w.a.client(t)
	if laptopC.passkeyLogin(auth, laptop, nil); !laptopC.signedIn() {
		t.Error("the passkey added through the prompt does not sign in")
	}
}
