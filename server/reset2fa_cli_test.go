package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/totptest"
)

// TestUserResetTwoFactor: `roster user reset-2fa` turns off the
// authenticator app and the recovery codes of someone who lost them, says
// what it did, keeps the passkeys unless -passkeys says, writes the audit
// entry and queues a security notice to the person; someone whose only way
// in is passkeys keeps them.
func TestUserResetTwoFactor(t *testing.T) {
	c := newCLI(t)
	store := c.store()
	ctx := t.Context()
	u := c.createUser(store, "a@example.com")
	if err := totptest.Start(ctx, store, u.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	codes := [][]byte{[]byte("h1"), []byte("h2"), []byte("h3")}
	if err := totptest.Confirm(ctx, store, u.ID, 1, codes, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddPasskey(ctx, db.Passkey{UserID: u.ID, RPID: "roster.test", CredentialID: []byte("cred"), Name: "Phone", Credential: []byte("{}")},
		db.Event{Kind: db.EventPasskeyAdded}); err != nil {
		t.Fatal(err)
	}

	out := c.mustRun("", "user", "reset-2fa", "-email", "a@example.com")
	for _, want := range []string{"turned off two-factor authentication for <a@example.com>: the authenticator app and 3 unused recovery codes removed",
		"1 passkeys kept (add -passkeys to remove them)", "a security notice to <a@example.com> is queued"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q, want %q", out, want)
		}
	}
	if f, err := store.SecondFactors(ctx, u.ID, "roster.test"); err != nil || f.TOTP || f.RecoveryCodes != 0 || f.Passkeys != 1 {
		t.Errorf("after reset-2fa: %+v (%v), want no app, no codes, the passkey kept", f, err)
	}
	evs, err := store.EventsForUser(ctx, u.ID, db.EventKey{}, 1)
	if err != nil || len(evs.Events) != 1 || evs.Events[0].Kind != db.EventTwoFactorReset || evs.Events[0].IP != "cli" {
		t.Errorf("audit: %+v (%v), want two_factor_reset from the cli", evs.Events, err)
	}
	mails, err := store.RecentDeliveries(ctx, u.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range mails {
		if m.Subject == "Security notice: two-factor authentication reset by an administrator" && m.Address == "a@example.com" &&
			strings.Contains(m.Body, "your authenticator app and your recovery codes no longer work.") {
			found = true
		}
	}
	if !found {
		t.Errorf("no security notice queued to a@example.com: %+v", mails)
	}

	// Again: nothing left, nothing said to the person.
	if out := c.mustRun("", "user", "reset-2fa", "-email", "a@example.com"); !strings.Contains(out, "had no two-factor authentication to reset; nothing changed") {
		t.Errorf("second run: %q", out)
	}
	// With -passkeys: the passkey goes too.
	if out := c.mustRun("", "user", "reset-2fa", "-email", "a@example.com", "-passkeys"); !strings.Contains(out, "1 passkeys removed") {
		t.Errorf("-passkeys: %q", out)
	}
	if n, _ := store.CountAllPasskeys(ctx, u.ID); n != 0 {
		t.Errorf("-passkeys: %d passkeys left", n)
	}
	if _, _, err := c.run("", "user", "reset-2fa", "-email", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no user has the email nobody@example.com") {
		t.Errorf("unknown email: %v", err)
	}
}

// TestUserResetTwoFactorSignsOut: an operator resets a second factor
// because the device is lost or the profile may be taken, so the reset
// ends every session of the person and the sign-ins waiting for their
// second step, and says so; the help says it too.
func TestUserResetTwoFactorSignsOut(t *testing.T) {
	c := newCLI(t)
	store := c.store()
	ctx := t.Context()
	a, b := c.createUser(store, "a@example.com"), c.createUser(store, "b@example.com")
	if err := totptest.Start(ctx, store, a.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := totptest.Confirm(ctx, store, a.ID, 1, [][]byte{[]byte("h1")}, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	for i, u := range []db.User{a, a, b} { // two sessions of a, one of b
		if _, err := store.CreateSession(ctx, db.Session{IDHash: []byte{'s', byte(i)}, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.StartPendingSignIn(ctx, db.PendingSignIn{TokenHash: []byte("pending"), UserID: a.ID, Method: "password", Next: "/profile"}); err != nil {
		t.Fatal(err)
	}

	out := c.mustRun("", "user", "reset-2fa", "-email", "a@example.com")
	if want := "2 sessions signed out, 1 sign-in waiting for its second step ended"; !strings.Contains(out, want) {
		t.Errorf("output %q, want %q", out, want)
	}
	if ss, err := store.SessionsForUser(ctx, a.ID, time.Now().Add(-time.Hour)); err != nil || len(ss) != 0 {
		t.Errorf("a's sessions after reset-2fa: %v (%v), want none", ss, err)
	}
	if _, err := store.PendingSignInFor(ctx, []byte("pending")); !errors.Is(err, db.ErrPendingGone) {
		t.Errorf("a's pending sign-in after reset-2fa: %v, want it gone", err)
	}
	found := false
	if mails, err := store.RecentDeliveries(ctx, a.ID, 10); err == nil {
		for _, m := range mails {
			found = found || strings.Contains(m.Body, "Every browser signed in to your profile was logged out.")
		}
	}
	if !found {
		t.Error("the security notice does not say every browser was logged out")
	}
	if ss, err := store.SessionsForUser(ctx, b.ID, time.Now().Add(-time.Hour)); err != nil || len(ss) != 1 {
		t.Errorf("b's sessions after a's reset-2fa: %v (%v), want b's one kept", ss, err)
	}
	help, _, err := c.run("", "help")
	if err != nil || !strings.Contains(help, "signs every session of the person out") {
		t.Errorf("help does not say reset-2fa signs out (%v):\n%s", err, help)
	}
}
