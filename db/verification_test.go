package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The first verification of an address ends what was attached before it
// (issue 13, attack 3): each way an email becomes verified, with a login
// linked while it was not.

// preHijacked is Mallory's work: a profile for ann@example.com that an
// external login without a confirmed email made, with a password too, a
// pending change of the account email to her own address, and three
// sessions: "mallory-login" opened through the login, "mallory-password"
// and "this-browser" with the password.
func preHijacked(t *testing.T, s *Store) User {
	t.Helper()
	ctx := context.Background()
	u, outcome, err := s.ResolveLogin(ctx, External{"oidc:Acme", "m1", "ann@example.com", false, "Mallory"}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil || outcome != LoginCreated || u.EmailVerified() {
		t.Fatalf("setup: got %+v %q %v, want an unverified profile made", u, outcome, err)
	}
	if _, err := s.ChangePassword(ctx, u.ID, "mallory-hash", nil, Event{Kind: EventPasswordChanged}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.IdentitiesForUser(ctx, u.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("setup: logins %+v, %v; want the oidc:Acme one", ids, err)
	}
	if _, err := s.CreateSession(ctx, Session{IDHash: []byte("mallory-login"), UserID: u.ID, IdentityID: ids[0].ID,
		ExpiresAt: time.Now().Add(time.Hour), IP: "127.0.0.1", UserAgent: "test"}); err != nil {
		t.Fatal(err)
	}
	newSession(t, s, u.ID, "mallory-password")
	newSession(t, s, u.ID, "this-browser")
	if err := s.RequestEmailChange(ctx, u.ID, "mallory@evil.example", []byte("mallory-change"), time.Hour, &Mail{Subject: "confirm"}, Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFirstVerificationEndsUnconfirmedLogins(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// verify confirms the address, asking to keep the session keep
		// where the path has a browser to keep.
		verify func(t *testing.T, s *Store, u User) (Verified, error)
		// kept is the session still signed in after it: the verifying
		// browser's, unless the login that went opened it; none after a
		// reset (a new password signs out everywhere) or from the
		// operator (a login went, and a session opened through it before
		// sessions recorded their login looks like any other).
		kept string
	}{
		{"verification link", func(t *testing.T, s *Store, u User) (Verified, error) {
			if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
				t.Fatal(err)
			}
			return s.VerifyEmail(ctx, []byte("v"), []byte("this-browser"), Event{Kind: EventEmailVerified})
		}, "this-browser"},
		{"verification link in the browser opened through the login", func(t *testing.T, s *Store, u User) (Verified, error) {
			if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
				t.Fatal(err)
			}
			return s.VerifyEmail(ctx, []byte("v"), []byte("mallory-login"), Event{Kind: EventEmailVerified})
		}, ""},
		{"password reset", func(t *testing.T, s *Store, u User) (Verified, error) {
			if err := s.CreateEmailToken(ctx, []byte("r"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
				t.Fatal(err)
			}
			return s.ResetPassword(ctx, []byte("r"), "ann-hash", Event{Kind: EventPasswordReset})
		}, ""},
		{"operator", func(t *testing.T, s *Store, u User) (Verified, error) {
			return s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			u := preHijacked(t, s)
			got, err := tt.verify(t, s, u)
			if err != nil {
				t.Fatal(err)
			}
			if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 0 {
				t.Errorf("logins after the first verification: got %+v, want none", ids)
			}
			if len(got.Removed) != 1 || got.Removed[0].Provider != "oidc:Acme" {
				t.Errorf("removed: got %+v, want the oidc:Acme login", got.Removed)
			}
			signedIn := 0
			for _, id := range []string{"mallory-login", "mallory-password", "this-browser"} {
				_, err := s.ActiveSession(ctx, []byte(id), time.Time{})
				switch {
				case id == tt.kept && err != nil:
					t.Errorf("session %s: got %v, want it kept", id, err)
				case id != tt.kept && !errors.Is(err, ErrNotFound):
					t.Errorf("session %s: got %v, want it signed out", id, err)
				case err == nil:
					signedIn++
				}
			}
			if got.KeptSession != (tt.kept != "") || got.SignedOut != int64(3-signedIn) {
				t.Errorf("Verified: kept %v and signed out %d, want kept %v and %d signed out", got.KeptSession, got.SignedOut, tt.kept != "", 3-signedIn)
			}
			if c, _ := s.PendingEmailChange(ctx, u.ID); c.Email != "" {
				t.Errorf("pending email change after the first verification: %q, want none", c.Email)
			}
			if _, err := s.ConfirmEmailChange(ctx, []byte("mallory-change"), nil, func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged}); !errors.Is(err, ErrNotFound) {
				t.Errorf("Mallory's email change link after the first verification: got %v, want ErrNotFound", err)
			}
			page, _ := s.EventsForUser(ctx, u.ID, EventKey{}, 50)
			var logged bool
			for _, ev := range page.Events {
				logged = logged || ev.Kind == EventLoginUnlinked && ev.Detail["reason"] == ReasonUnconfirmedEmail && ev.Detail["provider"] == "oidc:Acme"
			}
			if !logged {
				t.Errorf("activity: no removal of the oidc:Acme login for the unconfirmed email: %+v", page.Events)
			}
		})
	}
}

// TestVerifyLinkKeepsThisBrowser: with no login to remove, the browser
// that follows the verification link stays signed in; every other session
// is signed out.
func TestVerifyLinkKeepsThisBrowser(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	newSession(t, s, u.ID, "this-browser")
	newSession(t, s, u.ID, "other-browser")
	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.VerifyEmail(ctx, []byte("v"), []byte("this-browser"), Event{Kind: EventEmailVerified})
	if err != nil || !got.First || !got.KeptSession || got.SignedOut != 1 || len(got.Removed) != 0 {
		t.Fatalf("VerifyEmail: got %+v, %v; want a first verification keeping this browser, one other signed out", got, err)
	}
	if _, err := s.ActiveSession(ctx, []byte("this-browser"), time.Time{}); err != nil {
		t.Errorf("this browser: got %v, want kept", err)
	}
	if _, err := s.ActiveSession(ctx, []byte("other-browser"), time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("other browser: got %v, want signed out", err)
	}
}

// TestEmailChangeIsFirstVerification: confirming a new address for a
// profile that never confirmed the old one ends what was attached before.
func TestEmailChangeIsFirstVerification(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, _, err := s.ResolveLogin(ctx, External{"oidc:Acme", "m1", "ann@example.com", false, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, s, u.ID, "other")
	if err := s.RequestEmailChange(ctx, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}, Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConfirmEmailChange(ctx, []byte("c"), []byte("kept"), func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged})
	if err != nil || !got.User.EmailVerified() || len(got.Removed) != 1 {
		t.Fatalf("ConfirmEmailChange: got %+v, %v; want verified with one login removed", got, err)
	}
	if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 0 {
		t.Errorf("logins: got %+v, want none", ids)
	}
	if _, err := s.ActiveSession(ctx, []byte("other"), time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("other session: got %v, want signed out", err)
	}
}

// TestLaterVerificationKeepsLogins: logins linked while the email was
// verified stay, and so do sessions, when it is verified again (operator)
// or changed.
func TestLaterVerificationKeepsLogins(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, _, err := s.ResolveLogin(ctx, External{"google", "g1", "ann@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, s, u.ID, "other")
	got, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified})
	if err != nil || len(got.Removed) != 0 {
		t.Fatalf("MarkEmailVerified: got %+v, %v; want nothing removed", got, err)
	}
	if err := s.RequestEmailChange(ctx, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}, Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmEmailChange(ctx, []byte("c"), []byte("kept"), func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 1 {
		t.Errorf("logins: got %+v, want the Google one kept", ids)
	}
	if _, err := s.ActiveSession(ctx, []byte("other"), time.Time{}); err != nil {
		t.Errorf("other session: got %v, want kept", err)
	}
}

// TestVerifiedOnlyThroughTheRule: a write that sets email_verified_at from
// NULL without going through firstVerification (a future path that forgets
// it) fails instead of keeping the logins attached before.
func TestVerifiedOnlyThroughTheRule(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, _, err := s.ResolveLogin(ctx, External{"oidc:Acme", "m1", "ann@example.com", false, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.exec(ctx, `UPDATE users SET email_verified_at = 1 WHERE id = ?`, u.ID); err == nil {
		t.Fatal("a bare UPDATE verified the email with a login linked while unverified, want it refused")
	}
	if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 1 {
		t.Fatalf("logins: got %+v, want the one", ids)
	}
}

// TestLinkRefusedWhileUnverified: Add Login refuses a profile whose email
// is not confirmed, whatever path calls it.
func TestLinkRefusedWhileUnverified(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	err := s.LinkIdentity(ctx, u.ID, External{"google", "g-m", "mallory@evil.example", true, ""}, Event{Kind: EventLoginLinked})
	if !errors.Is(err, ErrLinkUnconfirmedEmail) {
		t.Fatalf("LinkIdentity to an unverified profile: got %v, want ErrLinkUnconfirmedEmail", err)
	}
	if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 0 {
		t.Fatalf("logins: got %+v, want none", ids)
	}
}

// TestFirstVerificationMigration: 00013's triggers come and go with it.
func TestFirstVerificationMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 12)
	u, _, err := s.ResolveLogin(ctx, External{"oidc:Acme", "m1", "ann@example.com", false, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEmailToken(ctx, []byte("r"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := p.UpByOne(ctx); err != nil || res.Source.Version != 13 {
		t.Fatalf("up to 00013: got %+v, %v", res, err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET email_verified_at = 1 WHERE id = ?`, u.ID); err == nil {
		t.Error("after 00013: a bare verification with a login linked went through")
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET email = 'other@example.com' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ValidResetToken(ctx, []byte("r")); !errors.Is(err, ErrNotFound) {
		t.Errorf("after 00013: a link to the old address survived the change: %v", err)
	}
	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET email_verified_at = 1 WHERE id = ?`, u.ID); err != nil {
		t.Errorf("after 00013 down: %v, want the trigger gone", err)
	}
}

// TestSessionNamesALiveLogin: a session opened through a login is stored
// only while the login is the user's. A sign-in whose login the first
// verification removed in between (from Ann's browser, following her link)
// must not leave a session that names it and that nothing signs out.
func TestSessionNamesALiveLogin(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := preHijacked(t, s)
	ids, err := s.IdentitiesForUser(ctx, u.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("setup: logins %+v, %v", ids, err)
	}
	other := mustUser(t, s, "bob@example.com")
	if _, err := s.CreateSession(ctx, Session{IDHash: []byte("bob-through-ann"), UserID: other.ID, IdentityID: ids[0].ID,
		ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session of Bob naming Ann's login: got %v, want ErrNotFound", err)
	}
	// Mallory's sign-in through her login has resolved; Ann confirms the
	// address before the session is written.
	if _, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, Session{IDHash: []byte("mallory-late"), UserID: u.ID, IdentityID: ids[0].ID,
		ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a session through the removed login: got %v, want ErrNotFound", err)
	}
	for _, id := range []string{"bob-through-ann", "mallory-late"} {
		if _, err := s.ActiveSession(ctx, []byte(id), time.Time{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("session %s: got %v, want none stored", id, err)
		}
	}
	if _, err := s.CreateSession(ctx, Session{IDHash: []byte("ann-password"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Errorf("a session opened with the password: %v", err)
	}
}
