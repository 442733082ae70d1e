package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSecondFactorsUsedOnce: an authenticator step is accepted only past
// the last one used, a recovery code once; a factor checked elsewhere (a
// passkey) uses nothing up; regenerating kills every old code; turning
// off needs a proof and leaves nothing.
func TestSecondFactorsUsedOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "N", PasswordHash: "h", Verified: true}, Event{Kind: EventSignUp}) // factors need a confirmed email
	if err != nil {
		t.Fatal(err)
	}
	if f, err := s.SecondFactors(ctx, u.ID, ""); err != nil || f.Any() {
		t.Fatalf("before: got %+v, %v; want none", f, err)
	}
	if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.SecondFactors(ctx, u.ID, ""); f.Any() {
		t.Fatalf("an enrolment not confirmed counts as a factor")
	}
	old := [][]byte{[]byte("h1"), []byte("h2")}
	if err := testConfirmTOTP(s, ctx, u.ID, 100, old, Event{Kind: EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	if err := testStartTOTP(s, ctx, u.ID, []byte("other")); !errors.Is(err, ErrTwoFactorOn) {
		t.Fatalf("enrol again while on: got %v, want ErrTwoFactorOn", err)
	}
	used := Event{Kind: EventRecoveryCodeUsed}
	for _, tc := range []struct {
		p    Proof
		want error
	}{
		{Proof{Step: 100}, ErrCodeReplayed}, // confirmation's
		{Proof{Step: 99}, ErrCodeReplayed},
		{Proof{Step: 101}, nil},
		{Proof{Step: 101}, ErrCodeReplayed},
		{Proof{Recovery: []byte("h1")}, nil},
		{Proof{Recovery: []byte("h1")}, ErrRecoveryRefused},
		{Proof{Recovery: []byte("nope")}, ErrRecoveryRefused},
		{Proof{Elsewhere: "passkey"}, nil},
		{Proof{Elsewhere: "passkey"}, nil},
	} {
		if err := s.UseSecondFactor(ctx, u.ID, tc.p, used); !errors.Is(err, tc.want) && err != tc.want {
			t.Errorf("use %+v: got %v, want %v", tc.p, err, tc.want)
		}
	}
	if f, _ := s.SecondFactors(ctx, u.ID, ""); !f.TOTP || f.RecoveryCodes != 1 {
		t.Fatalf("after one recovery code: got %+v, want on with 1 left", f)
	}
	if err := s.RegenerateRecoveryCodes(ctx, u.ID, [][]byte{[]byte("n1")}, Event{Kind: EventRecoveryCodesNew}); err != nil {
		t.Fatal(err)
	}
	if err := s.UseSecondFactor(ctx, u.ID, Proof{Recovery: []byte("h2")}, used); !errors.Is(err, ErrRecoveryRefused) {
		t.Errorf("an old code after regeneration: got %v, want ErrRecoveryRefused", err)
	}
	if err := s.DisableTwoFactor(ctx, u.ID, Proof{Step: 101}, used, Event{Kind: EventTwoFactorDisabled}); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("turn off with a used step: got %v, want ErrCodeReplayed", err)
	}
	if err := s.DisableTwoFactor(ctx, u.ID, Proof{Recovery: []byte("n1")}, used, Event{Kind: EventTwoFactorDisabled}); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.SecondFactors(ctx, u.ID, ""); f.Any() || f.RecoveryCodes != 0 {
		t.Fatalf("after turning off: got %+v, want nothing", f)
	}
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the secret after turning off: got %v, want ErrNotFound", err)
	}
}

// TestPendingSignIn: a pending sign-in lasts PendingSignInTTL, completes
// once, and the sweep removes expired ones.
func TestPendingSignIn(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	u := mustUser(t, s, "ann@example.com")
	p := PendingSignIn{TokenHash: []byte("token"), UserID: u.ID, Method: "password", Next: "/profile"}
	if err := s.StartPendingSignIn(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingSignInFor(ctx, p.TokenHash)
	if err != nil || got.UserID != u.ID || got.Next != "/profile" {
		t.Fatalf("pending: got %+v, %v", got, err)
	}
	if err := s.CompleteSecondStep(ctx, got, Proof{Elsewhere: "passkey"}, Event{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteSecondStep(ctx, got, Proof{Elsewhere: "passkey"}, Event{}); !errors.Is(err, ErrPendingGone) {
		t.Fatalf("complete twice: got %v, want ErrPendingGone", err)
	}
	p.TokenHash = []byte("late")
	if err := s.StartPendingSignIn(ctx, p); err != nil {
		t.Fatal(err)
	}
	now = now.Add(PendingSignInTTL)
	if _, err := s.PendingSignInFor(ctx, p.TokenHash); !errors.Is(err, ErrPendingGone) {
		t.Fatalf("after %s: got %v, want ErrPendingGone", PendingSignInTTL, err)
	}
	if err := s.CompleteSecondStep(ctx, PendingSignIn{TokenHash: p.TokenHash, UserID: u.ID}, Proof{Elsewhere: "passkey"}, Event{}); !errors.Is(err, ErrPendingGone) {
		t.Fatalf("complete after expiry: got %v, want ErrPendingGone", err)
	}
	if _, err := s.DeleteExpired(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM pending_signins`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("pending sign-ins after the sweep: got %d, %v; want 0", n, err)
	}
}

// TestResetTwoFactor: the operator's reset takes the app, the recovery
// codes and the waiting sign-ins in one transaction, with its event; with
// passkeys, those too, unless they are the only way in (no password, no
// linked login): then nothing changes.
func TestResetTwoFactor(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, NewUser{Email: "a@example.com", PasswordHash: "x", Verified: true}, Event{Kind: EventSignUp}) // factors need a confirmed email
	if err != nil {
		t.Fatal(err)
	}
	sso, err := s.CreateUser(ctx, NewUser{Email: "b@example.com", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{u.ID, sso.ID} {
		if err := testStartTOTP(s, ctx, id, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := testConfirmTOTP(s, ctx, id, 1, [][]byte{[]byte("a"), []byte("b")}, Event{Kind: EventTwoFactorEnabled}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddPasskey(ctx, Passkey{UserID: id, RPID: "roster.test", CredentialID: []byte{byte(id)}, Name: "k", Credential: []byte("{}")}, Event{Kind: EventPasskeyAdded}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartPendingSignIn(ctx, PendingSignIn{TokenHash: []byte("pending-token-hash"), UserID: u.ID, Method: "password"}); err != nil {
		t.Fatal(err)
	}

	// The passkeys are b's only way in: refused, nothing changed.
	if _, err := s.ResetTwoFactor(ctx, sso.ID, true, Event{Kind: EventTwoFactorReset}); !errors.Is(err, ErrLastLogin) {
		t.Fatalf("reset with passkeys of someone they are the only way in for: got %v, want ErrLastLogin", err)
	}
	if f, _ := s.SecondFactors(ctx, sso.ID, "roster.test"); !f.TOTP || f.RecoveryCodes != 2 || f.Passkeys != 1 {
		t.Errorf("after the refusal: %+v, want everything kept", f)
	}

	r, err := s.ResetTwoFactor(ctx, u.ID, false, Event{Kind: EventTwoFactorReset})
	if err != nil || !r.TOTP || r.RecoveryCodes != 2 || r.Passkeys != 0 {
		t.Fatalf("reset: %+v %v", r, err)
	}
	if f, _ := s.SecondFactors(ctx, u.ID, "roster.test"); f.TOTP || f.RecoveryCodes != 0 || f.Passkeys != 1 {
		t.Errorf("after the reset: %+v, want the passkey alone", f)
	}
	if _, err := s.PendingSignInFor(ctx, []byte("pending-token-hash")); !errors.Is(err, ErrPendingGone) {
		t.Errorf("the waiting sign-in: %v, want gone", err)
	}
	if r, err := s.ResetTwoFactor(ctx, u.ID, true, Event{Kind: EventTwoFactorReset}); err != nil || r.Passkeys != 1 {
		t.Errorf("reset with passkeys: %+v %v", r, err)
	}
	page, _ := s.EventsForUser(ctx, u.ID, EventKey{}, 10)
	n := 0
	for _, ev := range page.Events {
		if ev.Kind == EventTwoFactorReset {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d two_factor_reset events, want 2", n)
	}
}
