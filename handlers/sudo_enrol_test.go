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
