// Re-authentication ("sudo mode"): a session that proved its person again
// is trusted with sensitive actions for SudoWindow. It is kept on the
// session's row, never in a cookie, so a new session (a sign-in, another
// browser) starts without it.

package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Audit event kinds of re-authentication.
const (
	EventSudo       = "sudo"        // detail: method (password, code)
	EventSudoFailed = "sudo_failed" // detail: method
)

// SudoWindow is how long a re-authentication lasts for its session.
const SudoWindow = 10 * time.Minute

// Re-authentication by a code mailed to the account email (for people
// without a password): how long a code works, how many wrong codes end it,
// and how many codes a person may be sent an hour.
const (
	SudoCodeTTL         = 10 * time.Minute
	MaxSudoCodeTries    = 5
	MaxSudoCodesPerHour = 5
)

// ErrSudoCode is a mailed re-authentication code that is wrong, expired,
// used up or was never sent to this session.
var ErrSudoCode = errors.New("wrong or expired re-authentication code")

// sudoFresh is the condition, on a sessions row, of a re-authentication
// within SudoWindow of :now (its arguments: sudoArgs). Reauthenticated and
// the authenticator-app set-up (setUpOwnedBy) both read it.
const sudoFresh = `sudo_at IS NOT NULL AND sudo_at <= :now AND :now - sudo_at < :window`

func sudoArgs(now time.Time) []any {
	return []any{sql.Named("now", unix(now)), sql.Named("window", int64(SudoWindow/time.Second))}
}

// Reauthenticated reports whether userID's session idHash re-authenticated
// within SudoWindow.
func (s *Store) Reauthenticated(ctx context.Context, userID int64, idHash []byte) (bool, error) {
	var fresh bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id_hash = CAST(:hash AS BLOB) AND user_id = :user AND `+sudoFresh+`)`,
		append(sudoArgs(s.now()), sql.Named("hash", idHash), sql.Named("user", userID))...).Scan(&fresh)
	if err != nil {
		return false, fmt.Errorf("re-authentication of user %d: %w", userID, err)
	}
	return fresh, nil
}

// Reauthenticate records that userID's session idHash re-authenticated
// now, with ev (EventSudo; its user is set here) in the same transaction.
// A session that is gone is ErrNotFound.
func (s *Store) Reauthenticate(ctx context.Context, userID int64, idHash []byte, ev Event) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error { return reauthenticate(ctx, tx, userID, idHash, ev, s.now()) })
	if err != nil {
		return fmt.Errorf("re-authenticate user %d: %w", userID, err)
	}
	return nil
}

func reauthenticate(ctx context.Context, tx *sql.Tx, userID int64, idHash []byte, ev Event, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET sudo_at = ?, sudo_code_hash = NULL, sudo_code_expires_at = NULL, sudo_code_attempts = 0
		WHERE id_hash = CAST(? AS BLOB) AND user_id = ?`, unix(now), idHash, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	ev.UserID = userID
	return addEvent(ctx, tx, ev, now)
}

// SendSudoCode gives userID's session idHash a new six-digit code, which
// replaces any earlier one, and queues compose's mail with it to the
// account email, in one transaction. At most MaxSudoCodesPerHour codes an
// hour are sent to a person: more is a *Throttled error.
func (s *Store) SendSudoCode(ctx context.Context, userID int64, idHash []byte, compose func(code string) (Mail, error)) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		limit := Limit{Key: "sudo:code:user:" + strconv.FormatInt(userID, 10), Max: MaxSudoCodesPerHour, Window: time.Hour}
		if _, err := reserve(ctx, tx, now, []Limit{limit}); err != nil {
			return err
		}
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return err
		}
		code := fmt.Sprintf("%06d", n.Int64())
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET sudo_code_hash = ?, sudo_code_expires_at = ?, sudo_code_attempts = 0
			WHERE id_hash = CAST(? AS BLOB) AND user_id = ?`, sudoCodeHash(idHash, code), unix(now.Add(SudoCodeTTL)), idHash, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		var email string
		if err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE id = ?`, userID).Scan(&email); err != nil {
			return err
		}
		m, err := compose(code)
		if err != nil {
			return err
		}
		_, err = queueMail(ctx, tx, userID, email, m, nil, SudoCodeTTL, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("send re-authentication code to user %d: %w", userID, err)
	}
	return nil
}

// UseSudoCode checks code against the one mailed for userID's session
// idHash. The right code, within SudoCodeTTL, re-authenticates the session
// as Reauthenticate does (with ev) and is spent; a wrong one counts, and
// the MaxSudoCodeTries-th wrong one spends it too. Either failure is
// ErrSudoCode.
func (s *Store) UseSudoCode(ctx context.Context, userID int64, idHash []byte, code string, ev Event) error {
	var wrong bool
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var hash []byte
		var expires sql.NullInt64
		var tries int
		err := tx.QueryRowContext(ctx, `SELECT sudo_code_hash, sudo_code_expires_at, sudo_code_attempts FROM sessions
			WHERE id_hash = CAST(? AS BLOB) AND user_id = ?`, idHash, userID).Scan(&hash, &expires, &tries)
		if err != nil {
			return err
		}
		if hash == nil || !expires.Valid || expires.Int64 <= unix(now) || tries >= MaxSudoCodeTries {
			wrong = true
			return nil
		}
		if subtle.ConstantTimeCompare(hash, sudoCodeHash(idHash, code)) != 1 {
			wrong = true
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET sudo_code_attempts = sudo_code_attempts + 1,
				sudo_code_hash = CASE WHEN sudo_code_attempts + 1 >= ? THEN NULL ELSE sudo_code_hash END
				WHERE id_hash = CAST(? AS BLOB)`, MaxSudoCodeTries, idHash)
			return err
		}
		return reauthenticate(ctx, tx, userID, idHash, ev, now)
	})
	if err != nil {
		return fmt.Errorf("re-authentication code of user %d: %w", userID, err)
	}
	if wrong {
		return ErrSudoCode
	}
	return nil
}

// sudoCodeHash binds a code to the session it was sent for.
func sudoCodeHash(idHash []byte, code string) []byte {
	h := sha256.New()
	h.Write(idHash)
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}

// ReauthenticateWithFactor uses proof up for userID (an authenticator
// code's step, a recovery code, or a factor checked elsewhere such as a
// passkey) and re-authenticates the session idHash, with ev, in one
// transaction: a code is spent only by the re-authentication it made.
// used is the event of a recovery code used (see consume).
func (s *Store) ReauthenticateWithFactor(ctx context.Context, userID int64, idHash []byte, p Proof, used, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := consume(ctx, tx, userID, p, used, now); err != nil {
			return err
		}
		return reauthenticate(ctx, tx, userID, idHash, ev, now)
	})
}
