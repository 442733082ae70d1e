package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Purposes of email tokens.
const (
	TokenVerify = "verify"
	TokenReset  = "reset"
)

// CreateEmailToken stores the hash of a token mailed to email (kept in its
// NormalEmail form, as users.email is) for purpose, and queues m, the mail
// that carries its link, in the same transaction. The link works for ttl
// from the mail's delivery (linkExpiry). A nil m queues nothing and the
// token works for ttl from now: tests seed tokens so.
// A new token replaces the user's earlier unused ones of purpose, and the
// mails of those that wait for a retry (dropQueuedMail).
func (s *Store) CreateEmailToken(ctx context.Context, hash []byte, userID int64, purpose, email string, ttl time.Duration, m *Mail) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		email = NormalEmail(email)
		rows, err := tx.QueryContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL RETURNING token_hash`, userID, purpose)
		replaced, err := collect(rows, err, func(r rowScanner) ([]byte, error) {
			var h []byte
			return h, r.Scan(&h)
		})
		if err != nil {
			return err
		}
		for _, h := range replaced {
			if err := dropQueuedMail(ctx, tx, h, true, now); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, hash, userID, purpose, email, unix(now), unix(linkExpiry(now, ttl, m)))
		if err != nil || m == nil {
			return err
		}
		_, err = queueMail(ctx, tx, userID, email, *m, hash, ttl, now)
		return err
	})
}

// useToken marks an unexpired, unused token of purpose as used and returns
// its user id and address. A token mailed to an address that is no longer
// the user's account email does not work: the link proves only that
// address. Anything else is ErrNotFound.
func useToken(ctx context.Context, tx *sql.Tx, hash []byte, purpose string, now time.Time) (int64, string, error) {
	var userID int64
	var email string
	err := tx.QueryRowContext(ctx, `UPDATE email_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
			AND email = (SELECT u.email FROM users u WHERE u.id = email_tokens.user_id)
		RETURNING user_id, email`, unix(now), hash, purpose, unix(now)).Scan(&userID, &email)
	return userID, email, mapErr(err)
}

// ValidResetToken reports the user a reset token belongs to without using it,
// so the reset form is only shown for a link that still works.
func (s *Store) ValidResetToken(ctx context.Context, hash []byte) (int64, error) {
	var userID int64
	err := s.r.QueryRowContext(ctx, `SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id AND u.email = t.email
		WHERE t.token_hash = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > ?`,
		hash, TokenReset, unix(s.now())).Scan(&userID)
	return userID, mapErr(err)
}

// ValidVerifyToken reports the user and address of a verification link
// without using it: opening the link only shows a page, whose form then
// spends it (VerifyEmail). The same conditions as useToken hold.
func (s *Store) ValidVerifyToken(ctx context.Context, hash []byte) (userID int64, email string, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT t.user_id, t.email FROM email_tokens t JOIN users u ON u.id = t.user_id AND u.email = t.email
		WHERE t.token_hash = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > ?`,
		hash, TokenVerify, unix(s.now())).Scan(&userID, &email)
	return userID, email, mapErr(err)
}

// ResetPassword spends a reset token, sets the new hash, signs the user out
// everywhere and writes ev, in one transaction. Following the emailed link
// proves the address too: a first verification ends what was attached
// before it (confirmAddress).
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string, ev Event) (Verified, error) {
	var v Verified
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		userID, _, err := useToken(ctx, tx, tokenHash, TokenReset, now)
		if err != nil {
			return err
		}
		n, err := setPassword(ctx, tx, userID, passwordHash, nil, now)
		if err != nil {
			return err
		}
		if v, err = confirmAddress(ctx, tx, userID, "", byLink, nil, ev, now); err != nil {
			return err
		}
		v.SignedOut += n
		ev.UserID = userID
		ev.Detail = withVerified(ev.Detail, v)
		ev.Detail = withDetail(ev.Detail, "sessions_revoked", v.SignedOut)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return Verified{}, fmt.Errorf("reset password: %w", err)
	}
	return v, nil
}

// VerifyEmail spends a verification token and marks the user's email
// verified, provided the token was sent to the address the user still has.
// A first verification ends what was attached before it (confirmAddress),
// keeping keepSession, the session of the browser that followed the link,
// unless it was opened through a login that went.
func (s *Store) VerifyEmail(ctx context.Context, tokenHash, keepSession []byte, ev Event) (Verified, error) {
	var v Verified
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		userID, _, err := useToken(ctx, tx, tokenHash, TokenVerify, now)
		if err != nil {
			return err
		}
		if v, err = confirmAddress(ctx, tx, userID, "", byLink, keepSession, ev, now); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withVerified(ev.Detail, v)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return Verified{}, fmt.Errorf("verify email: %w", err)
	}
	return v, nil
}
