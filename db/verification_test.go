package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "mallory@evil.example", []byte("mallory-change"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
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
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
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
// verified stay when it is verified again (operator) or changed; the
// sessions stay through the operator's verification, and an email change
// ends all but the browser that confirmed it, with every sign-in waiting
// for its second step, as a password change does.
func TestLaterVerificationKeepsLogins(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, _, err := s.ResolveLogin(ctx, External{"google", "g1", "ann@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	newSession(t, s, u.ID, "other")
	newSession(t, s, u.ID, "kept")
	got, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified})
	if err != nil || len(got.Removed) != 0 {
		t.Fatalf("MarkEmailVerified: got %+v, %v; want nothing removed", got, err)
	}
	if _, err := s.ActiveSession(ctx, []byte("other"), time.Time{}); err != nil {
		t.Errorf("other session after verifying again: got %v, want kept", err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("c"), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartPendingSignIn(ctx, PendingSignIn{TokenHash: []byte("p"), UserID: u.ID, Method: "password"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ConfirmEmailChange(ctx, []byte("c"), []byte("kept"), func(string, string) (Notice, error) { return Notice{}, nil }, Event{Kind: EventEmailChanged})
	if err != nil {
		t.Fatal(err)
	}
	if got.First || got.SignedOut != 1 || !got.KeptSession {
		t.Errorf("ConfirmEmailChange: got first %v, %d signed out, kept %v; want not first, 1, kept", got.First, got.SignedOut, got.KeptSession)
	}
	if ids, _ := s.IdentitiesForUser(ctx, u.ID); len(ids) != 1 {
		t.Errorf("logins: got %+v, want the Google one kept", ids)
	}
	if _, err := s.ActiveSession(ctx, []byte("other"), time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("other session after the email change: got %v, want signed out", err)
	}
	if _, err := s.ActiveSession(ctx, []byte("kept"), time.Time{}); err != nil {
		t.Errorf("the confirming browser's session: got %v, want kept", err)
	}
	if _, err := s.PendingSignInFor(ctx, []byte("p")); !errors.Is(err, ErrPendingGone) {
		t.Errorf("sign-in waiting for its second step after the email change: got %v, want %v", err, ErrPendingGone)
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
	// A profile made by a login, unverified, as 00012's schema holds it
	// (today's code writes columns later migrations add).
	var u User
	if err := s.w.QueryRowContext(ctx, `INSERT INTO users (email, name, created_at, updated_at) VALUES ('ann@example.com', '', 1, 1) RETURNING id, email`).Scan(&u.ID, &u.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO identities (user_id, provider, subject, email, created_at, last_used_at) VALUES (?, 'oidc:Acme', 'm1', 'ann@example.com', 1, 1)`, u.ID); err != nil {
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

// keptAtFirstVerification are the tables holding a user's rows (a user_id
// column, or a reference to users) that the first verification of the
// account email keeps, with why. Every other one is ended: by
// confirmAddress itself (sessions, identities) or in unproven's list.
// TestFirstVerificationListsEveryTable fails for a table in none of them.
var keptAtFirstVerification = map[string]string{
	"users":           "the profile itself",
	"audit_events":    "the profile's history, which says what the first verification ended",
	"email_tokens":    "links mailed to the account email: the address just proven",
	"memberships":     "access of the profile to an account, not of anyone to the profile; listed under My Accounts, where its owner can leave; accounts cannot be made or invites sent while unverified",
	"preferences":     "how pages look: no way in, and no data leaves through them",
	"payment_methods": "a card is its payer's: it opens nothing, the profile lists it under Cards, and removing it is a call to Stripe, which a transaction cannot make",
	"passkey_users":   "the WebAuthn user handle: random, no credential (the passkeys go)",
	"accounts":        "owner_id: an account is made only by a verified profile (CreateAccount)",
	"invites":         "invited_by: sent only by a verified profile",
	"saml_requests":   "link_user_id: an Add Login through SAML under way, ended by endUnproven outside the list (its column is not user_id)",
}

// endedByConfirmAddress are ended by confirmAddress's own statements.
var endedByConfirmAddress = map[string]bool{"sessions": true, "identities": true}

// TestFirstVerificationListsEveryTable walks every table of the schema
// that holds a user's rows and fails when one is neither ended at the
// first verification nor kept on purpose: a new table cannot slip
// through the rule that the first verification ends what was attached
// before it.
func TestFirstVerificationListsEveryTable(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ended := map[string]bool{}
	for _, u := range unproven {
		ended[u.table] = true
	}
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT m.name FROM sqlite_master m WHERE m.type = 'table' AND (
		EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'user_id')
		OR EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name) f WHERE f."table" = 'users')
		OR m.name = 'users') ORDER BY 1`)
	tables, err := collect(rows, err, func(r interface{ Scan(...any) error }) (string, error) {
		var name string
		return name, r.Scan(&name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 15 {
		t.Fatalf("found only %d tables with a user's rows: %v", len(tables), tables)
	}
	for _, table := range tables {
		_, kept := keptAtFirstVerification[table]
		switch {
		case (ended[table] || endedByConfirmAddress[table]) && kept:
			t.Errorf("table %s is both ended and kept at the first verification", table)
		case !ended[table] && !endedByConfirmAddress[table] && !kept:
			t.Errorf("table %s holds a user's rows but the first verification neither ends them (unproven, db/verification.go) nor keeps them on purpose (keptAtFirstVerification): decide", table)
		}
	}
	for table := range keptAtFirstVerification {
		if !slices.Contains(tables, table) {
			t.Errorf("keptAtFirstVerification names %s, which holds no user's rows (gone or renamed?)", table)
		}
	}
}

// TestFirstVerificationEndsWhatWasAttached: whatever someone attached to
// a profile while its address was unverified (rows as any release may
// have let them be written) is gone after the first verification, by a
// link or by the operator: for every table of unproven, none of the
// user's rows it ends is left. The account email stays, with every notice
// routed to it.
func TestFirstVerificationEndsWhatWasAttached(t *testing.T) {
	for _, by := range []string{"link", "operator"} {
		t.Run(by, func(t *testing.T) {
			ctx := context.Background()
			s := openTest(t)
			u := mustUser(t, s, "ann@example.com")
			other := mustUser(t, s, "bob@example.com")
			attach := func(userID int64, tag string) {
				t.Helper()
				err := s.Tx(ctx, func(tx *sql.Tx) error {
					for _, q := range []string{
						`INSERT INTO totp_secrets (user_id, secret, confirmed_at, created_at) VALUES (?1, x'01', 1, 1)`,
						`INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?1, CAST(?2 AS BLOB), 1)`,
						`INSERT INTO passkeys (user_id, rp_id, credential_id, name, credential, created_at) VALUES (?1, 'roster.test', CAST(?2 AS BLOB), 'key', '{}', 1)`,
						`INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, session, created_at) VALUES (CAST(?2 AS BLOB), 'register', ?1, '{}', 1)`,
						`INSERT INTO pending_signins (token_hash, user_id, method, created_at, expires_at) VALUES (CAST(?2 AS BLOB), ?1, 'password', 1, 99999999999)`,
						`INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (CAST('asker-' || ?2 AS BLOB), ?1, 1, 1, 99999999999)`,
						`INSERT INTO email_changes (user_id, new_email, token_hash, session_id, created_at, expires_at)
							SELECT ?1, ?2 || '@evil.example', CAST(?2 AS BLOB), id, 1, 99999999999 FROM sessions WHERE id_hash = CAST('asker-' || ?2 AS BLOB)`,
						`INSERT INTO contact_methods (user_id, kind, address, label, is_account, verified_at, created_at) VALUES (?1, 'email', ?2 || '@evil.example', 'mine', 0, 1, 1)`,
						`DELETE FROM notification_rules WHERE user_id = ?1`,
						`INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id)
							SELECT ?1, 'security', 0, id FROM contact_methods WHERE user_id = ?1 AND is_account = 0`,
						`INSERT INTO outbox (user_id, contact_method_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
							SELECT ?1, id, 'email', address, 'account', 'queued', 'b', 1, 1 FROM contact_methods WHERE user_id = ?1 AND is_account = 0`,
					} {
						if _, err := tx.ExecContext(ctx, q, userID, tag); err != nil {
							return fmt.Errorf("%s: %w", q, err)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			attach(u.ID, "mallory")
			attach(other.ID, "bob")
			count := func(table, where string, userID int64) int {
				t.Helper()
				q := `SELECT count(*) FROM ` + table + ` WHERE user_id = ?1`
				if where != "" {
					q += ` AND ` + where
				}
				args := []any{userID}
				if strings.Contains(q, "?2") {
					args = append(args, time.Now().Unix())
				}
				var n int
				if err := s.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, e := range unproven {
				if e.table != "notification_rules" && count(e.table, e.where, u.ID) == 0 {
					t.Fatalf("set-up: no row of %s to end", e.table)
				}
			}
			var v Verified
			var err error
			if by == "link" {
				if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
					t.Fatal(err)
				}
				v, err = s.VerifyEmail(ctx, []byte("v"), nil, Event{Kind: EventEmailVerified})
			} else {
				v, err = s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified})
			}
			if err != nil || !v.First {
				t.Fatalf("first verification: %+v, %v", v, err)
			}
			for _, e := range unproven {
				if e.table == "notification_rules" {
					continue
				}
				if n := count(e.table, e.where, u.ID); n != 0 {
					t.Errorf("%s: %d rows attached before the first verification are left", e.table, n)
				}
				if n := count(e.table, e.where, other.ID); n == 0 {
					t.Errorf("%s: Bob's rows went with Ann's first verification", e.table)
				}
			}
			if v.Ended["totp_secrets"] != 1 || v.Ended["passkeys"] != 1 || v.Ended["contact_methods"] != 1 {
				t.Errorf("Ended: got %v, want one each of totp_secrets, passkeys, contact_methods", v.Ended)
			}
			rules, err := s.Rules(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			methods, err := s.ContactMethods(ctx, u.ID)
			if err != nil || len(methods) != 1 || !methods[0].IsAccount {
				t.Fatalf("contact methods after: %+v, %v; want the account email alone", methods, err)
			}
			if want := DefaultRules(methods[0].ID); !sameRules(rules, want) {
				t.Errorf("routing after: %+v, want the defaults %+v", rules, want)
			}
		})
	}
}

// sameRules reports whether a and b hold the same rules, in any order.
func sameRules(a, b []Rule) bool {
	key := func(r Rule) string { return fmt.Sprintf("%s/%d/%d", r.Circumstance, r.Severity, r.MethodID) }
	var ka, kb []string
	for _, r := range a {
		ka = append(ka, key(r))
	}
	for _, r := range b {
		kb = append(kb, key(r))
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// TestFactorsRefusedWhileUnverified: an authenticator app and a passkey
// are refused, in their transactions, while the account email is
// unverified (whatever a handler checked before), and accepted once it is
// confirmed.
func TestFactorsRefusedWhileUnverified(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	key := Passkey{UserID: u.ID, RPID: "roster.test", CredentialID: []byte("c1"), Name: "laptop", Credential: []byte("{}")}
	if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); !errors.Is(err, ErrFactorUnconfirmedEmail) {
		t.Errorf("StartTOTP while unverified: got %v, want %v", err, ErrFactorUnconfirmedEmail)
	}
	// An enrolment begun by a release before this one cannot be confirmed.
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at) VALUES (?, x'01', 1)`, u.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := testConfirmTOTP(s, ctx, u.ID, 1, [][]byte{[]byte("r")}, Event{Kind: EventTwoFactorEnabled}); !errors.Is(err, ErrFactorUnconfirmedEmail) {
		t.Errorf("ConfirmTOTP while unverified: got %v, want %v", err, ErrFactorUnconfirmedEmail)
	}
	if _, err := s.AddPasskey(ctx, key, Event{Kind: EventPasskeyAdded}); !errors.Is(err, ErrFactorUnconfirmedEmail) {
		t.Errorf("AddPasskey while unverified: got %v, want %v", err, ErrFactorUnconfirmedEmail)
	}
	if f, err := s.SecondFactors(ctx, u.ID, "roster.test"); err != nil || f.TOTP || f.Passkeys != 0 || f.RecoveryCodes != 0 {
		t.Errorf("factors after the refusals: %+v, %v; want none", f, err)
	}
	if _, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); err != nil {
		t.Errorf("StartTOTP once verified: %v", err)
	}
	if err := testConfirmTOTP(s, ctx, u.ID, 1, [][]byte{[]byte("r")}, Event{Kind: EventTwoFactorEnabled}); err != nil {
		t.Errorf("ConfirmTOTP once verified: %v", err)
	}
	if _, err := s.AddPasskey(ctx, key, Event{Kind: EventPasskeyAdded}); err != nil {
		t.Errorf("AddPasskey once verified: %v", err)
	}
}
