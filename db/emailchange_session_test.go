package db

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestEmailChangeEndsWithItsSession: a pending change of the account email
// is the asking session's (review 3, finding 2): each path that ends that
// session ends the change, its link then refused, while the change of a
// session that stays keeps working. A session past its absolute expiry
// that the sweep has not removed yet no longer carries its change either.
func TestEmailChangeEndsWithItsSession(t *testing.T) {
	ctx := context.Background()
	type world struct {
		s             *Store
		u             User
		asker, keeper Session
	}
	for name, end := range map[string]func(w world) error{
		"revoke one": func(w world) error {
			return w.s.RevokeSession(ctx, w.u.ID, w.asker.ID, Event{Kind: EventSessionRevoked})
		},
		"log out others": func(w world) error {
			_, err := w.s.RevokeOtherSessions(ctx, w.u.ID, w.keeper.IDHash, Event{Kind: EventSessionRevoked})
			return err
		},
		"log out": func(w world) error { return w.s.DeleteSession(ctx, w.asker.IDHash) },
		"password change": func(w world) error {
			_, err := w.s.ChangePassword(ctx, w.u.ID, "new-hash", w.keeper.IDHash, Event{Kind: EventPasswordChanged})
			return err
		},
		"expiry sweep": func(w world) error {
			_, err := w.s.w.Exec(`UPDATE sessions SET expires_at = 1 WHERE id = ?`, w.asker.ID)
			if err != nil {
				return err
			}
			_, err = w.s.DeleteExpired(ctx, time.Now().Add(-time.Hour))
			return err
		},
		"expired, not swept yet": func(w world) error {
			_, err := w.s.w.Exec(`UPDATE sessions SET expires_at = 1 WHERE id = ?`, w.asker.ID)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := openTest(t)
			u := mustUser(t, s, "ann@example.com")
			var w world
			w.s, w.u = s, u
			var err error
			for i, ss := range []*Session{&w.keeper, &w.asker} {
				if *ss, err = s.CreateSession(ctx, Session{IDHash: fmt.Appendf(nil, "session-%d", i), UserID: u.ID, ExpiresAt: time.Now().Add(24 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RequestEmailChange(ctx, EmailChangeAsk{UserID: u.ID, SessionHash: w.asker.IDHash, NewEmail: "mallory@evil.example",
				TokenHash: []byte("c"), CancelHash: []byte("x"), TTL: time.Hour}, Event{Kind: EventEmailChangeAsked}); err != nil {
				t.Fatal(err)
			}
			if c, err := s.PendingEmailChange(ctx, u.ID); err != nil || c.Email != "mallory@evil.example" {
				t.Fatalf("PendingEmailChange: got %+v, %v; want the change", c, err)
			}
			if err := end(w); err != nil {
				t.Fatal(err)
			}
			if c, err := s.PendingEmailChange(ctx, u.ID); err != nil || c.Email != "" {
				t.Errorf("PendingEmailChange after its session ended: got %+v, %v; want none", c, err)
			}
			if _, _, err := s.EmailChangeByToken(ctx, []byte("c")); !errors.Is(err, ErrNotFound) {
				t.Errorf("EmailChangeByToken: got %v, want ErrNotFound", err)
			}
			if _, _, _, err := s.EmailChangeByCancel(ctx, []byte("x")); !errors.Is(err, ErrNotFound) {
				t.Errorf("EmailChangeByCancel: got %v, want ErrNotFound", err)
			}
			_, err = s.ConfirmEmailChange(ctx, []byte("c"), nil, func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged})
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("ConfirmEmailChange after its session ended: got %v, want ErrNotFound", err)
			}
			if got, _ := s.UserByID(ctx, u.ID); got.Email != "ann@example.com" {
				t.Errorf("the account email is %s, want it kept", got.Email)
			}
		})
	}
}

// TestEmailChangeNeedsItsSession: a change is asked for from a live
// session of the user's; any other (none, another user's, an ended one)
// is refused, and nothing is recorded.
func TestEmailChangeNeedsItsSession(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	bob := mustUser(t, s, "bob@example.com")
	bobs, err := s.CreateSession(ctx, Session{IDHash: []byte("bob"), UserID: bob.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, Session{IDHash: []byte("old"), UserID: u.ID, ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, hash := range [][]byte{nil, bobs.IDHash, []byte("old")} {
		err := s.RequestEmailChange(ctx, EmailChangeAsk{UserID: u.ID, SessionHash: hash, NewEmail: "ann.new@example.com",
			TokenHash: []byte("c"), CancelHash: []byte("x"), TTL: time.Hour}, Event{Kind: EventEmailChangeAsked})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("asked from session %q: got %v, want ErrNotFound", hash, err)
		}
	}
	var n int
	if err := s.w.QueryRow(`SELECT count(*) FROM email_changes`).Scan(&n); err != nil || n != 0 {
		t.Errorf("email_changes: %d rows, %v; want none", n, err)
	}
}
