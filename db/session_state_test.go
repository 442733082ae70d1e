package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// State that a session starts (a set-up of an authenticator app, ...)
// names the session with ON DELETE CASCADE, so every path that ends a
// session ends that state too, with no list of tables to keep in step.

// TestEveryReferenceToSessionsCascades walks the schema: every column of
// every table that references sessions must be ON DELETE CASCADE.
func TestEveryReferenceToSessionsCascades(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	seen := 0
	for _, table := range tables {
		fks, err := s.r.QueryContext(ctx, `SELECT "table", "from", on_delete FROM pragma_foreign_key_list(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for fks.Next() {
			var parent, from, onDelete string
			if err := fks.Scan(&parent, &from, &onDelete); err != nil {
				t.Fatal(err)
			}
			if parent != "sessions" {
				continue
			}
			seen++
			if onDelete != "CASCADE" {
				t.Errorf("%s.%s references sessions ON DELETE %s, want CASCADE: ending a session would leave what it started", table, from, onDelete)
			}
		}
		if err := fks.Err(); err != nil {
			t.Fatal(err)
		}
		fks.Close()
	}
	if seen == 0 {
		t.Fatal("no column references sessions: the walk found nothing to check (totp_secrets.session_id at least)")
	}
}

// TestTOTPSetUpBelongsToItsSession: a set-up is seen and confirmed only in
// the session that started it, while that session's re-authentication is
// fresh and for TOTPSetUpTTL; ending the session ends it, and a confirmed
// secret outlives the session.
func TestTOTPSetUpBelongsToItsSession(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now()
	s.now = func() time.Time { return now }
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "N", PasswordHash: "h", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	session := func(name string, sudo bool) []byte {
		hash := []byte(name + " session hash")
		if _, err := s.CreateSession(ctx, Session{IDHash: hash, UserID: u.ID, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if sudo {
			if err := s.Reauthenticate(ctx, u.ID, hash, Event{Kind: EventSudo}); err != nil {
				t.Fatal(err)
			}
		}
		return hash
	}
	own, other, plain := session("own", true), session("other", true), session("plain", false)
	confirm := func(hash []byte) error {
		return s.ConfirmTOTP(ctx, u.ID, hash, 1, [][]byte{[]byte("r")}, Event{Kind: EventTwoFactorEnabled})
	}
	visible := func(hash []byte) bool {
		_, err := s.TOTPSetUp(ctx, u.ID, hash)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	if err := s.StartTOTP(ctx, u.ID, plain[:0], []byte("sealed")); !errors.Is(err, ErrNotFound) {
		t.Errorf("start without a session: got %v, want ErrNotFound", err)
	}
	if err := s.StartTOTP(ctx, u.ID, own, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if !visible(own) {
		t.Error("the session that started the set-up does not see it")
	}
	for name, hash := range map[string][]byte{"another re-authenticated session": other, "a session never re-authenticated": plain} {
		if visible(hash) {
			t.Errorf("%s sees the set-up", name)
		}
		if err := confirm(hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s confirms the set-up: got %v, want ErrNotFound", name, err)
		}
		if err := s.CancelTOTP(ctx, u.ID, hash); err != nil {
			t.Fatal(err)
		}
	}
	if !visible(own) {
		t.Error("another session's cancel ended the set-up")
	}
	// The re-authentication goes stale: the set-up is hidden and refused,
	// until the session re-authenticates again (within TOTPSetUpTTL).
	now = now.Add(SudoWindow)
	if visible(own) || !errors.Is(confirm(own), ErrNotFound) {
		t.Error("the set-up is seen or confirmed once its session's re-authentication is stale")
	}
	now = now.Add(-time.Minute)
	if err := s.Reauthenticate(ctx, u.ID, own, Event{Kind: EventSudo}); err != nil {
		t.Fatal(err)
	}
	// Past TOTPSetUpTTL since it started, it is gone, sudo or not.
	now = now.Add(TOTPSetUpTTL - SudoWindow + time.Minute)
	if visible(own) || !errors.Is(confirm(own), ErrNotFound) {
		t.Error("the set-up is seen or confirmed past TOTPSetUpTTL")
	}
	if _, err := s.DeleteExpired(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the expiry sweep kept a set-up past TOTPSetUpTTL (%v)", err)
	}
	// A new one, ended with its session.
	if err := s.Reauthenticate(ctx, u.ID, own, Event{Kind: EventSudo}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTOTP(ctx, u.ID, own, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, own); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after its session ended: the set-up is still there (%v)", err)
	}
	// Confirmed in its session, the secret outlives it.
	if err := s.Reauthenticate(ctx, u.ID, other, Event{Kind: EventSudo}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTOTP(ctx, u.ID, other, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := confirm(other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeOtherSessions(ctx, u.ID, plain, Event{Kind: EventSessionsRevoked}); err != nil {
		t.Fatal(err)
	}
	if f, err := s.SecondFactors(ctx, u.ID, ""); err != nil || !f.TOTP {
		t.Errorf("after the confirming session ended: two-factor on %v (%v), want on", f.TOTP, err)
	}
}

// TestTOTPSetUpSessionMigration: 00023 drops the set-ups begun before it
// (they belong to no session, so nothing could finish them) and keeps
// every confirmed secret; its down step keeps every secret too.
func TestTOTPSetUpSessionMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 22)
	var ids [2]int64
	for i, email := range []string{"on@example.com", "enrolling@example.com"} {
		u, err := s.CreateUser(ctx, NewUser{Email: email, Name: "N", PasswordHash: "h", Verified: true}, Event{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, confirmed_at, last_step, created_at) VALUES
		(?, CAST('on' AS BLOB), 5, 7, 1), (?, CAST('pending' AS BLOB), NULL, 0, 1)`, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	secrets := func() map[int64]string {
		t.Helper()
		rows, err := s.r.QueryContext(ctx, `SELECT user_id, CAST(secret AS TEXT) || '/' || COALESCE(confirmed_at, '-') || '/' || last_step FROM totp_secrets ORDER BY user_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[int64]string{}
		for rows.Next() {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				t.Fatal(err)
			}
			got[id] = v
		}
		return got
	}
	if _, err := p.UpTo(ctx, 23); err != nil {
		t.Fatal(err)
	}
	if got := secrets(); len(got) != 1 || got[ids[0]] != "on/5/7" {
		t.Errorf("after 00023: %v, want only the confirmed secret, unchanged", got)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at) VALUES (?, CAST('pending' AS BLOB), 1)`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 22); err != nil {
		t.Fatal(err)
	}
	if got := secrets(); len(got) != 2 || got[ids[0]] != "on/5/7" || got[ids[1]] != "pending/-/0" {
		t.Errorf("after 00023 down: %v, want both secrets", got)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
}
