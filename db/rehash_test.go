package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRehashKeepsNewerPassword (issue 13, point 8): a sign-in checks the
// password against the hash it read, then writes a stronger hash of it;
// a password changed in between must survive that write.
func TestRehashKeepsNewerPassword(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	read := u.PasswordHash // what the sign-in checked the password against
	// Meanwhile, Ann changes her password in another browser.
	if _, err := s.ChangePassword(ctx, u.ID, "changed", nil, Event{Kind: EventPasswordChanged}); err != nil {
		t.Fatal(err)
	}
	// The sign-in's rehash of the old password lands.
	if err := s.SetPasswordHash(ctx, u.ID, read, "rehash-of-old"); !errors.Is(err, ErrConflict) {
		t.Errorf("SetPasswordHash over a changed password: got %v, want ErrConflict", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "changed" {
		t.Fatalf("hash after the late rehash: got %q, want the changed password's %q", got.PasswordHash, "changed")
	}
}

// TestEmailChangeEndsLinks (issue 13, point 8): links mailed to the old
// address stop working when the account email changes.
func TestEmailChangeEndsLinks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	if err := s.CreateEmailToken(ctx, []byte("reset-old"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmEmailChange(ctx, []byte("c"), nil, func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ValidResetToken(ctx, []byte("reset-old")); !errors.Is(err, ErrNotFound) {
		t.Errorf("ValidResetToken of a link to the old address: got %v, want ErrNotFound", err)
	}
	if _, err := s.ResetPassword(ctx, []byte("reset-old"), "x", Event{Kind: EventPasswordReset}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResetPassword with a link to the old address: got %v, want ErrNotFound", err)
	}
}

// TestPasswordChangeEndsEmailChange: a pending change of the account email
// may come from a session the password change signs out; its link must
// not outlive it.
func TestPasswordChangeEndsEmailChange(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "mallory@evil.example", []byte("c"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChangePassword(ctx, u.ID, "new", nil, Event{Kind: EventPasswordChanged}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmEmailChange(ctx, []byte("c"), nil, func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("email change link after a password change: got %v, want ErrNotFound", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Email != "ann@example.com" {
		t.Fatalf("account email: got %s, want ann@example.com", got.Email)
	}
}
