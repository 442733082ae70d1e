package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLinkLookupsUseNothing: the GET of an emailed verification or email
// change link reads the link (ValidVerifyToken, EmailChangeByToken) without
// spending it, so a mail scanner's visit changes nothing; the lookups
// answer ErrNotFound exactly when spending it would.
func TestLinkLookupsUseNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")

	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if id, email, err := s.ValidVerifyToken(ctx, []byte("v")); err != nil || id != u.ID || email != u.Email {
			t.Fatalf("ValidVerifyToken: got %d, %q, %v; want %d, %q", id, email, err, u.ID, u.Email)
		}
	}
	if got, _ := s.UserByID(ctx, u.ID); got.EmailVerified() {
		t.Fatal("ValidVerifyToken verified the email")
	}
	if _, _, err := s.ValidVerifyToken(ctx, []byte("other")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: got %v, want ErrNotFound", err)
	}
	if _, err := s.VerifyEmail(ctx, []byte("v"), nil, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatalf("VerifyEmail after the lookups: %v", err)
	}
	if _, _, err := s.ValidVerifyToken(ctx, []byte("v")); !errors.Is(err, ErrNotFound) {
		t.Errorf("spent token: got %v, want ErrNotFound", err)
	}
	if err := s.CreateEmailToken(ctx, []byte("expired"), u.ID, TokenVerify, u.Email, -time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ValidVerifyToken(ctx, []byte("expired")); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired token: got %v, want ErrNotFound", err)
	}
	if err := s.CreateEmailToken(ctx, []byte("reset"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ValidVerifyToken(ctx, []byte("reset")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a reset token as a verification link: got %v, want ErrNotFound", err)
	}

	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if id, email, err := s.EmailChangeByToken(ctx, []byte("c")); err != nil || id != u.ID || email != "ann.new@example.com" {
			t.Fatalf("EmailChangeByToken: got %d, %q, %v; want %d, ann.new@example.com", id, email, err, u.ID)
		}
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Email != u.Email {
		t.Fatalf("EmailChangeByToken changed the email to %s", got.Email)
	}
	if _, _, err := s.EmailChangeByToken(ctx, []byte("other")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown change token: got %v, want ErrNotFound", err)
	}
	if _, err := s.ConfirmEmailChange(ctx, []byte("c"), nil, func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged}); err != nil {
		t.Fatalf("ConfirmEmailChange after the lookups: %v", err)
	}
	if _, _, err := s.EmailChangeByToken(ctx, []byte("c")); !errors.Is(err, ErrNotFound) {
		t.Errorf("spent change token: got %v, want ErrNotFound", err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.later@example.com", []byte("late"), -time.Second, nil), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EmailChangeByToken(ctx, []byte("late")); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired change token: got %v, want ErrNotFound", err)
	}
}
