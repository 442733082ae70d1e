package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An authenticator-app set-up belongs to the session that started it
// (behind sudo): its secret is shown, and its confirmation accepted, only
// in that session and only while that session's re-authentication is
// fresh. The attack of the third security review, kept as a test.

// TestTwoFactorSetUpOnlyFinishedBySessionThatStartedIt: Ann starts setting
// up an authenticator app in her own browser (after re-authenticating) and
// does not finish. A second session of hers that never re-authenticated (a
// stolen cookie, a shared computer left signed in: what sudo guards
// against) must neither read the pending secret off /profile nor, knowing
// it some other way, confirm it, get the recovery codes and then pass the
// sudo prompt with a code from that app.
func TestTwoFactorSetUpOnlyFinishedBySessionThatStartedIt(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	ann := w.freshClient(t) // Ann's own browser, re-authenticated
	if res := ann.postForm("/profile/two-factor", nil); res.status != http.StatusSeeOther {
		t.Fatalf("Ann starts enrolling: got %d, want 303; body:\n%.2000s", res.status, res.body)
	}
	own := totpSecretRE.FindStringSubmatch(ann.get("/profile").body)
	if own == nil {
		t.Fatal("the session that started the set-up does not see its secret")
	}
	// w.c: another session of Ann's that never re-authenticated.
	page := w.c.get("/profile")
	if m := totpSecretRE.FindStringSubmatch(page.body); m != nil {
		t.Errorf("a session that never re-authenticated reads the pending secret %s", m[1])
	}
	// Even knowing the secret (read over Ann's shoulder), it cannot finish.
	secret := strings.ReplaceAll(own[1], " ", "")
	confirm := w.c.postForm("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if recoveryCodeRE.MatchString(confirm.body) {
		t.Errorf("a session that never re-authenticated turned two-factor on with Ann's pending secret and got her recovery codes (status %d)", confirm.status)
	}
	if f, err := w.a.store.SecondFactors(context.Background(), w.ann.ID, ""); err != nil || f.TOTP {
		t.Errorf("after another session's confirmation: two-factor on %v (%v), want off", f.TOTP, err)
	}
	// Then it tries to pass sudo with the app's code and change the email.
	res := w.c.postForm("/profile/password", url.Values{"current_password": {""}, "new_password": {"thief-password-123456"}})
	if strings.Contains(res.body, `name="sudo_2fa_code"`) {
		action, form := promptForm(t, res, "sudo_2fa_code")
		form.Set("sudo_2fa_code", nextCode(t, secret))
		w.c.postForm(action, form)
	}
	w.c.postForm("/profile/email", url.Values{"new_email": {"thief@evil.example"}})
	if ch, err := w.a.store.PendingEmailChange(context.Background(), w.ann.ID); err == nil && ch.Email == "thief@evil.example" {
		t.Errorf("the session that never knew a password or had a factor of Ann's passed sudo and asked to move Ann's account email to thief@evil.example")
	}
	// Ann's own session still finishes it.
	done := ann.postForm("/profile/two-factor/confirm", url.Values{"code": {nextCode(t, secret)}})
	if done.status != http.StatusOK || !recoveryCodeRE.MatchString(done.body) {
		t.Errorf("Ann confirms in the session that started the set-up: got %d, no recovery codes; body:\n%.2000s", done.status, done.body)
	}
}

// TestTwoFactorSetUpEndsWithItsSession: another session that did
// re-authenticate (it knows the password) neither sees nor finishes the
// set-up either; the panel says how long it waits; and logging out the
// session that started it (here, from the other one) ends it.
func TestTwoFactorSetUpEndsWithItsSession(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	ann, other := w.freshClient(t), w.freshClient(t)
	if res := ann.postForm("/profile/two-factor", nil); res.status != http.StatusSeeOther {
		t.Fatalf("Ann starts enrolling: got %d, want 303; body:\n%.2000s", res.status, res.body)
	}
	page := ann.get("/profile")
	own := totpSecretRE.FindStringSubmatch(page.body)
	if own == nil {
		t.Fatal("the session that started the set-up does not see its secret")
	}
	if !strings.Contains(page.body, "within 10 minutes") {
		t.Error("the panel does not say that the set-up ends after 10 minutes")
	}
	secret := strings.ReplaceAll(own[1], " ", "")
	if totpSecretRE.MatchString(other.get("/profile").body) {
		t.Error("another re-authenticated session sees the pending secret")
	}
	res := other.postForm("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if res.status != http.StatusConflict || recoveryCodeRE.MatchString(res.body) {
		t.Errorf("another re-authenticated session confirms the set-up: got %d, want 409 and no recovery codes", res.status)
	}
	if f, err := w.a.store.SecondFactors(context.Background(), w.ann.ID, ""); err != nil || f.TOTP {
		t.Fatalf("two-factor on %v (%v), want off", f.TOTP, err)
	}
	if res := other.postForm("/profile/sessions/revoke-others", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("log out other sessions: got %d; body:\n%.1500s", res.status, res.body)
	}
	if _, err := w.a.store.TOTP(context.Background(), w.ann.ID); err == nil {
		t.Error("after its session was logged out, the set-up is still kept")
	}
}
