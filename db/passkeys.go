// Passkeys: their records, the random user handle each person's passkeys
// carry, and the ceremonies (begin to finish) in flight. The WebAuthn
// checks themselves are the library's, in handlers/passkeys.go; this file
// keeps the bytes it hands over.

package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Audit event kinds of passkeys.
const (
	EventPasskeyAdded   = "passkey_added"
	EventPasskeyRenamed = "passkey_renamed"
	EventPasskeyRemoved = "passkey_removed"
	// EventPasskeyCloneWarning: a passkey answered with a signature
	// counter not above the stored one, so a copy of it may exist; the
	// sign-in was refused.
	EventPasskeyCloneWarning = "passkey_clone_warning"
)

// PasskeyCeremonyTTL is how long a ceremony may take between its begin and
// its finish.
const PasskeyCeremonyTTL = 5 * time.Minute

// MaxPasskeys is how many passkeys one person may have.
const MaxPasskeys = 20

// Refusals of passkey changes and ceremonies, as codes (rules.go).
const (
	ErrPasskeyCeremony = RuleError("passkey ceremony unknown, spent, expired or of another browser")
	ErrTooManyPasskeys = RuleError("too many passkeys")
	ErrPasskeyTaken    = RuleError("passkey already registered")
)

// Ceremony purposes.
const (
	CeremonyRegister = "register" // adding a passkey, signed in
	CeremonyLogin    = "login"    // signing in with a discoverable passkey
	CeremonyVerify   = "verify"   // checking a passkey of a known user (second factor, sudo)
)

// Passkey is one of a person's passkeys.
type Passkey struct {
	ID           int64
	UserID       int64
	RPID         string // the relying-party id it was made for
	CredentialID []byte
	Name         string
	Credential   []byte // the library's credential record, JSON
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero until first used
}

// Ceremony is a passkey ceremony between its begin and its finish, bound
// to the browser by the hash of its cookie.
type Ceremony struct {
	TokenHash []byte
	Purpose   string
	UserID    int64  // the signed-in or known user; 0 for a discoverable sign-in
	Session   []byte // the library's session data, JSON
	CreatedAt time.Time
}

const passkeyColumns = `id, user_id, rp_id, credential_id, name, credential, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var cred string
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&p.ID, &p.UserID, &p.RPID, &p.CredentialID, &p.Name, &cred, &created, &used); err != nil {
		return Passkey{}, mapErr(err)
	}
	p.Credential, p.CreatedAt, p.LastUsedAt = []byte(cred), fromUnix(created), nullTime(used)
	return p, nil
}

// PasskeyHandle returns the user's WebAuthn user handle, making a random
// one (32 bytes) the first time.
func (s *Store) PasskeyHandle(ctx context.Context, userID int64) ([]byte, error) {
	var handle []byte
	err := s.r.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = ?`, userID).Scan(&handle)
	if err == nil {
		return handle, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("passkey handle of user %d: %w", userID, err)
	}
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO passkey_users (user_id, handle, created_at) VALUES (?, ?, ?)`,
			userID, randomBytes(32), unix(s.now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = ?`, userID).Scan(&handle)
	})
	if err != nil {
		return nil, fmt.Errorf("passkey handle of user %d: %w", userID, err)
	}
	return handle, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// UserByPasskeyHandle returns the user whose passkeys carry handle, or
// ErrNotFound.
func (s *Store) UserByPasskeyHandle(ctx context.Context, handle []byte) (User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM passkey_users WHERE handle = ?)`, handle))
}

// PasskeysForUser returns the user's passkeys for relying party rpID,
// oldest first.
func (s *Store) PasskeysForUser(ctx context.Context, userID int64, rpID string) ([]Passkey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? AND rp_id = ? ORDER BY id`, userID, rpID)
	if err != nil {
		return nil, fmt.Errorf("passkeys of user %d: %w", userID, err)
	}
	defer rows.Close()
	var list []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// AddPasskey stores a new passkey of p.UserID, with its audit entry (and
// notice), unless the person has MaxPasskeys already, the credential is
// registered (ErrPasskeyTaken) or the account email is unverified
// (ErrFactorUnconfirmedEmail).
func (s *Store) AddPasskey(ctx context.Context, p Passkey, ev Event) (Passkey, error) {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailConfirmed(ctx, tx, p.UserID, ErrFactorUnconfirmedEmail); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ?`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxPasskeys {
			return ErrTooManyPasskeys
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO passkeys (user_id, rp_id, credential_id, name, credential, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rp_id, credential_id) DO NOTHING`,
			p.UserID, p.RPID, p.CredentialID, p.Name, string(p.Credential), unix(now))
		if err != nil {
			return err
		}
		if added, _ := res.RowsAffected(); added == 0 {
			return ErrPasskeyTaken
		}
		p.ID, _ = res.LastInsertId()
		p.CreatedAt = fromUnix(unix(now))
		ev.UserID = p.UserID
		ev.Detail = withDetail(ev.Detail, "name", p.Name)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return Passkey{}, err
	}
	return p, nil
}

// RenamePasskey renames one of the user's passkeys; ErrNotFound when it is
// not theirs.
func (s *Store) RenamePasskey(ctx context.Context, userID, id int64, name string, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM passkeys WHERE id = ? AND user_id = ?`, id, userID).Scan(&old); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "name", name), "old_name", old)
		return addEvent(ctx, tx, ev, s.now())
	})
}

// DeletePasskey removes one of the user's passkeys, with its audit entry
// (and notice), unless it is the last way in (no password, no linked
// login, no other passkey: ErrLastLogin); ErrNotFound when it is not theirs.
func (s *Store) DeletePasskey(ctx context.Context, userID, id int64, ev Event) (Passkey, error) {
	var p Passkey
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = scanPasskey(tx.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)); err != nil {
			return err
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM passkeys WHERE user_id = ?1 AND id <> ?2)
			+ (SELECT count(*) FROM identities WHERE user_id = ?1)
			+ (SELECT count(*) FROM users WHERE id = ?1 AND password_hash IS NOT NULL)`, userID, id).Scan(&others); err != nil {
			return err
		}
		if others == 0 {
			return ErrLastLogin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ?`, id); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "name", p.Name)
		return addEvent(ctx, tx, ev, s.now())
	})
	return p, err
}

// UsePasskey writes back a passkey's credential record after a sign-in
// with it (its signature counter and flags) and its last use. The row
// must still be the user's: a passkey removed meanwhile is ErrNotFound.
func (s *Store) UsePasskey(ctx context.Context, userID, id int64, credential []byte) error {
	res, err := s.exec(ctx, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ? AND user_id = ?`,
		string(credential), unix(s.now()), id, userID)
	if err != nil {
		return fmt.Errorf("use passkey %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// StartCeremony records a ceremony for the browser whose cookie hashes to
// c.TokenHash; replaces is the hash of the ceremony that browser had
// before (nil for none), which ends: one ceremony per browser at a time.
func (s *Store) StartCeremony(ctx context.Context, c Ceremony, replaces []byte) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if len(replaces) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE token_hash = ?`, replaces); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, session, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.TokenHash, c.Purpose, sql.NullInt64{Int64: c.UserID, Valid: c.UserID != 0}, string(c.Session), unix(s.now()))
		return err
	})
}

// TakeCeremony ends the ceremony of purpose bound to tokenHash and returns
// it: a ceremony is finished once, whatever the outcome. One that is
// unknown, of another purpose or older than PasskeyCeremonyTTL is
// ErrPasskeyCeremony.
func (s *Store) TakeCeremony(ctx context.Context, tokenHash []byte, purpose string) (Ceremony, error) {
	if len(tokenHash) == 0 {
		return Ceremony{}, ErrPasskeyCeremony
	}
	var c Ceremony
	var userID sql.NullInt64
	var session string
	var created int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM passkey_ceremonies WHERE token_hash = ?
			RETURNING purpose, user_id, session, created_at`, tokenHash).Scan(&c.Purpose, &userID, &session, &created)
	})
	if errors.Is(err, ErrNotFound) {
		return Ceremony{}, ErrPasskeyCeremony
	}
	if err != nil {
		return Ceremony{}, fmt.Errorf("take passkey ceremony: %w", err)
	}
	c.TokenHash, c.UserID, c.Session, c.CreatedAt = tokenHash, userID.Int64, []byte(session), fromUnix(created)
	if c.Purpose != purpose || s.now().Sub(c.CreatedAt) > PasskeyCeremonyTTL {
		return Ceremony{}, ErrPasskeyCeremony
	}
	return c, nil
}

// DeleteStaleCeremonies forgets the ceremonies begun before before, which
// nobody finished.
func (s *Store) DeleteStaleCeremonies(ctx context.Context, before time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM passkey_ceremonies WHERE created_at < ?`, unix(before)); err != nil {
		return fmt.Errorf("delete stale passkey ceremonies: %w", err)
	}
	return nil
}

// CountPasskeys is how many passkeys the user has for relying party rpID:
// whether a passkey can be their second factor.
func (s *Store) CountPasskeys(ctx context.Context, userID int64, rpID string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ? AND rp_id = ?`, userID, rpID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count passkeys of user %d: %w", userID, err)
	}
	return n, nil
}

// CountAllPasskeys is how many passkeys the user has, of any relying
// party (the operator's command line knows of no base URL).
func (s *Store) CountAllPasskeys(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count passkeys of user %d: %w", userID, err)
	}
	return n, nil
}
