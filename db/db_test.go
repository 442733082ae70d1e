package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// The words are views'; these tests look at the rows, not the text.
	s.SetBillingComposer(func(b BillingCleared) (Notice, error) {
		return Notice{Subject: "billing of " + b.AccountName}, nil
	})
	return s
}

func mustUser(t *testing.T, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Email: email, Name: "N", PasswordHash: "h"}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMigrateFromEmpty(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("got no migrations applied on an empty database")
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate: got %v, %v; want nothing applied", again, err)
	}
	var mode string
	if err := s.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode: got %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys: got %d, %v; want 1", fk, err)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "Ann@Example.com")
	if u.ID == 0 || u.EmailVerified() || u.PasswordHash != "h" {
		t.Fatalf("created user: got %+v", u)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: "ann@example.COM"}, Event{Kind: EventSignUp}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email: got %v, want ErrConflict", err)
	}
	got, err := s.UserByEmail(ctx, "ANN@example.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail: got %+v, %v", got, err)
	}
	if _, err := s.UserByID(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UserByID missing: got %v, want ErrNotFound", err)
	}
	if err := s.UpdateName(ctx, u.ID, "  Ann  ", Event{Kind: EventProfileUpdated}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Name != "Ann" {
		t.Fatalf("name: got %q, want %q", got.Name, "Ann")
	}
	if err := s.UpdateName(ctx, 999, "x", Event{Kind: EventProfileUpdated}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateName missing: got %v, want ErrNotFound", err)
	}
	if _, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); !got.EmailVerified() {
		t.Fatal("email not verified after MarkEmailVerified")
	}
	if err := s.SetPasswordHash(ctx, u.ID, "h", "h2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "h2" {
		t.Fatalf("hash: got %q, want h2", got.PasswordHash)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers: got %d, %v; want 1", n, err)
	}
	page, err := s.EventsForUser(ctx, u.ID, EventKey{}, 25)
	if events := page.Events; err != nil || page.Newer || page.Older || len(events) != 3 || events[0].Kind != EventEmailVerified || events[1].Kind != EventProfileUpdated || events[2].Kind != EventSignUp {
		t.Fatalf("events: got %+v, %v", page, err)
	}
}

func newSession(t *testing.T, s *Store, userID int64, id string) Session {
	t.Helper()
	ss, err := s.CreateSession(context.Background(), Session{IDHash: []byte(id), UserID: userID,
		ExpiresAt: time.Now().Add(time.Hour), IP: "127.0.0.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestSessions runs on both reads of a session: ActiveSession (a reader
// connection, for pages) and ActiveSessionToWrite (the writer, for POSTs),
// which must see the same sessions, expiries, idle limits and revocations.
func TestSessions(t *testing.T) {
	for _, read := range []struct {
		name   string
		active func(*Store) func(context.Context, []byte, time.Time) (SignedIn, error)
	}{
		{"reader", func(s *Store) func(context.Context, []byte, time.Time) (SignedIn, error) { return s.ActiveSession }},
		{"writer", func(s *Store) func(context.Context, []byte, time.Time) (SignedIn, error) {
			return s.ActiveSessionToWrite
		}},
	} {
		t.Run(read.name, func(t *testing.T) { testSessions(t, read.active) })
	}
}

func testSessions(t *testing.T, activeOf func(*Store) func(context.Context, []byte, time.Time) (SignedIn, error)) {
	ctx := context.Background()
	s := openTest(t)
	active := activeOf(s)
	u := mustUser(t, s, "a@example.com")
	other := mustUser(t, s, "b@example.com")
	a := newSession(t, s, u.ID, "a")
	newSession(t, s, u.ID, "b")
	newSession(t, s, u.ID, "c")
	bs := newSession(t, s, other.ID, "x")
	idle := time.Now().Add(-time.Hour)

	in, err := active(ctx, []byte("a"), idle)
	if err != nil || in.SessionID != a.ID || string(in.IDHash) != "a" || !in.LastSeenAt.Equal(a.LastSeenAt) {
		t.Fatalf("ActiveSession: got %+v, %v; want session %+v", in, err, a)
	}
	// The user and the preferences come with the session, as UserByID and
	// Preferences read them: the defaults before any are saved, then the
	// saved ones.
	if want, err := s.UserByID(ctx, u.ID); err != nil || in.User != want {
		t.Fatalf("ActiveSession's user: got %+v, want %+v (%v)", in.User, want, err)
	}
	if in.Prefs != DefaultPreferences() {
		t.Fatalf("ActiveSession's preferences, none saved: got %+v, want the defaults", in.Prefs)
	}
	saved := DefaultPreferences() // a preference declared later keeps its default
	saved.PageSize, saved.Timezone, saved.DateFormat, saved.Clock, saved.WeekStart = 50, "Europe/Berlin", "eu", "12", "sunday"
	saved.Theme, saved.GraphStyle, saved.GraphRange, saved.Legend, saved.Colourblind = "dark", "bar", "30d", false, true
	if err := s.SavePreferences(ctx, u.ID, saved); err != nil {
		t.Fatal(err)
	}
	if in, err := active(ctx, []byte("a"), idle); err != nil || in.Prefs != saved {
		t.Fatalf("ActiveSession's preferences: got %+v, %v; want %+v", in.Prefs, err, saved)
	}
	if p, err := s.Preferences(ctx, u.ID); err != nil || p != saved {
		t.Fatalf("Preferences: got %+v, %v; want %+v", p, err, saved)
	}
	if _, err := active(ctx, []byte("a"), time.Now().Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle session: got %v, want ErrNotFound", err)
	}
	if err := s.SaveSessionData(ctx, []byte("a"), []byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, []byte("a"), "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	in, _ = active(ctx, []byte("a"), idle)
	if !bytes.Equal(in.Data, []byte("data")) || !in.LastSeenAt.After(a.LastSeenAt.Add(-time.Second)) {
		t.Fatalf("after save/touch: got %+v", in)
	}
	list, err := s.SessionsForUser(ctx, u.ID, idle)
	if i := slices.IndexFunc(list, func(ss Session) bool { return ss.ID == a.ID }); err != nil || i < 0 || list[i].IP != "10.0.0.1" {
		t.Fatalf("after touch: got %+v, %v; want a from 10.0.0.1", list, err)
	}
	list, err = s.SessionsForUser(ctx, u.ID, idle)
	if err != nil || len(list) != 3 {
		t.Fatalf("SessionsForUser: got %d, %v; want 3", len(list), err)
	}
	// Another user's session cannot be revoked through this user.
	if err := s.RevokeSession(ctx, u.ID, bs.ID, Event{Kind: EventSessionRevoked}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke other's session: got %v, want ErrNotFound", err)
	}
	if err := s.RevokeSession(ctx, u.ID, a.ID+1, Event{Kind: EventSessionRevoked}); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeOtherSessions(ctx, u.ID, []byte("a"), Event{Kind: EventSessionsRevoked})
	if err != nil || n != 1 {
		t.Fatalf("RevokeOtherSessions: got %d, %v; want 1", n, err)
	}
	if list, _ := s.SessionsForUser(ctx, u.ID, idle); len(list) != 1 || list[0].ID != a.ID {
		t.Fatalf("left: got %+v, want only session a", list)
	}
	if err := s.DeleteSession(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := active(ctx, []byte("a"), idle); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: got %v, want ErrNotFound", err)
	}
	if n, err := s.DeleteExpired(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpired: got %d, %v; want 1 (b's session)", n, err)
	}
}

func TestChangePasswordRevokesOthers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "a@example.com")
	newSession(t, s, u.ID, "keep")
	newSession(t, s, u.ID, "other1")
	newSession(t, s, u.ID, "other2")
	n, err := s.ChangePassword(ctx, u.ID, "new", []byte("keep"), Event{Kind: EventPasswordChanged})
	if err != nil || n != 2 {
		t.Fatalf("ChangePassword: got %d, %v; want 2", n, err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "new" {
		t.Fatalf("hash: got %q", got.PasswordHash)
	}
	if _, err := s.ActiveSession(ctx, []byte("keep"), time.Time{}); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	if _, err := s.ChangePassword(ctx, 999, "x", nil, Event{Kind: EventPasswordChanged}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: got %v, want ErrNotFound", err)
	}
}

func TestEmailTokens(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "a@example.com")
	newSession(t, s, u.ID, "s1")

	if err := s.CreateEmailToken(ctx, []byte("v1"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.VerifyEmail(ctx, []byte("v1"), nil, Event{Kind: EventEmailVerified})
	if err != nil || !got.User.EmailVerified() {
		t.Fatalf("VerifyEmail: got %+v, %v", got, err)
	}
	if _, err := s.VerifyEmail(ctx, []byte("v1"), nil, Event{Kind: EventEmailVerified}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reused verify token: got %v, want ErrNotFound", err)
	}

	if err := s.CreateEmailToken(ctx, []byte("r1"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	// A second request replaces the first link.
	if err := s.CreateEmailToken(ctx, []byte("r2"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ValidResetToken(ctx, []byte("r1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replaced token: got %v, want ErrNotFound", err)
	}
	if id, err := s.ValidResetToken(ctx, []byte("r2")); err != nil || id != u.ID {
		t.Fatalf("ValidResetToken: got %d, %v", id, err)
	}
	v, err := s.ResetPassword(ctx, []byte("r2"), "reset-hash", Event{Kind: EventPasswordReset})
	if err != nil || v.User.ID != u.ID {
		t.Fatalf("ResetPassword: got %d, %v", v.User.ID, err)
	}
	if _, err := s.ResetPassword(ctx, []byte("r2"), "again", Event{Kind: EventPasswordReset}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reused reset token: got %v, want ErrNotFound", err)
	}
	if list, _ := s.SessionsForUser(ctx, u.ID, time.Time{}); len(list) != 0 {
		t.Fatalf("sessions after reset: got %d, want 0", len(list))
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "reset-hash" {
		t.Fatalf("hash after reset: got %q", got.PasswordHash)
	}
	if err := s.CreateEmailToken(ctx, []byte("old"), u.ID, TokenReset, u.Email, -time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword(ctx, []byte("old"), "x", Event{Kind: EventPasswordReset}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired token: got %v, want ErrNotFound", err)
	}
}

// TestSettings; the throttle has its own tests (throttle_test.go).
func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.Setting(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing setting: got %v, want ErrNotFound", err)
	}
	v, err := s.SettingOrInit(ctx, "k", "first")
	if err != nil || v != "first" {
		t.Fatalf("SettingOrInit: got %q, %v", v, err)
	}
	if v, _ := s.SettingOrInit(ctx, "k", "second"); v != "first" {
		t.Fatalf("SettingOrInit again: got %q, want first", v)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	mustUser(t, s, "a@example.com")
	file := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, file); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("users in backup: got %d, %v; want 1", n, err)
	}
	if err := s.Backup(ctx, file); err == nil {
		t.Fatal("backup over an existing file: got nil error")
	}
}

// TestConcurrentReadersAndWriters is the promise behind the two pools: many
// goroutines writing and reading at once never see SQLITE_BUSY.
func TestConcurrentReadersAndWriters(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "load@example.com")
	deadline := time.Now().Add(3 * time.Second)
	var writes, reads atomic.Int64
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline); n++ {
				email := fmt.Sprintf("w%d-%d@example.com", i, n)
				if _, err := s.CreateUser(ctx, NewUser{Email: email}, Event{Kind: EventSignUp}); err != nil {
					fail(err)
					return
				}
				if err := s.AddEvent(ctx, Event{UserID: u.ID, Kind: EventSignIn}); err != nil {
					fail(err)
					return
				}
				writes.Add(2)
			}
		}()
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := s.CountUsers(ctx); err != nil {
					fail(err)
					return
				}
				if _, err := s.EventsForUser(ctx, u.ID, EventKey{}, 25); err != nil {
					fail(err)
					return
				}
				reads.Add(2)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Errorf("got busy/locked error: %v", err)
		} else {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if writes.Load() == 0 || reads.Load() == 0 {
		t.Fatalf("got %d writes and %d reads, want both > 0", writes.Load(), reads.Load())
	}
	t.Logf("%d writes, %d reads, 0 errors", writes.Load(), reads.Load())
}

// ask is the request of a change of userID's account email to email, with
// the confirmation link's hash token, as from the user's newest session
// (one made for it when the user has none): a change belongs to the
// session that asked for it.
func ask(t *testing.T, s *Store, userID int64, email string, token []byte, ttl time.Duration, m *Mail) EmailChangeAsk {
	t.Helper()
	var hash []byte
	err := s.w.QueryRow(`SELECT id_hash FROM sessions WHERE user_id = ? ORDER BY id DESC LIMIT 1`, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		hash = append([]byte("asker-"), token...)
		_, err = s.CreateSession(context.Background(), Session{IDHash: hash, UserID: userID, ExpiresAt: time.Now().Add(30 * 24 * time.Hour)})
	}
	if err != nil {
		t.Fatalf("the session that asks for the change: %v", err)
	}
	return EmailChangeAsk{UserID: userID, SessionHash: hash, NewEmail: email, TokenHash: token,
		CancelHash: append([]byte("cancel-"), token...), TTL: ttl, Confirm: m}
}
