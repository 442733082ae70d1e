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
// NormalEmail form, as users.email is) for purpose.
// A new reset token replaces the user's earlier unused ones.
func (s *Store) CreateEmailToken(ctx context.Context, hash []byte, userID int64, purpose, email string, ttl time.Duration) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL`, userID, purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, hash, userID, purpose, NormalEmail(email), unix(now), unix(now.Add(ttl)))
		return err
	})
}

// useToken marks an unexpired, unused token of purpose as used and returns
// its user id and address. Anything else is ErrNotFound.
func useToken(ctx context.Context, tx *sql.Tx, hash []byte, purpose string, now time.Time) (int64, string, error) {
	var userID int64
	var email string
	err := tx.QueryRowContext(ctx, `UPDATE email_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id, email`, unix(now), hash, purpose, unix(now)).Scan(&userID, &email)
	return userID, email, mapErr(err)
}

// ValidResetToken reports the user a reset token belongs to without using it,
// so the reset form is only shown for a link that still works.
func (s *Store) ValidResetToken(ctx context.Context, hash []byte) (int64, error) {
	var userID int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id FROM email_tokens
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`,
		hash, TokenReset, unix(s.now())).Scan(&userID)
	return userID, mapErr(err)
}

// ResetPassword spends a reset token, sets the new hash, signs the user out
// everywhere and writes ev, in one transaction.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string, ev Event) (int64, error) {
	var userID int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if userID, _, err = useToken(ctx, tx, tokenHash, TokenReset, s.now()); err != nil {
			return err
		}
		n, err := setPassword(ctx, tx, userID, passwordHash, nil, s.now())
		if err != nil {
			return err
		}
		// Following the emailed link proves the address too.
		if err := markVerifiedIfSame(ctx, tx, userID, tokenHash, s.now()); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "sessions_revoked", n)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return 0, fmt.Errorf("reset password: %w", err)
	}
	return userID, nil
}

// VerifyEmail spends a verification token and marks the user's email
// verified, provided the token was sent to the address the user still has.
func (s *Store) VerifyEmail(ctx context.Context, tokenHash []byte, ev Event) (User, error) {
	var u User
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		userID, email, err := useToken(ctx, tx, tokenHash, TokenVerify, s.now())
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ?
			WHERE id = ? AND email = ?`, unix(s.now()), unix(s.now()), userID, email)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		ev.UserID = userID
		if err := addEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("verify email: %w", err)
	}
	return u, nil
}

func markVerifiedIfSame(ctx context.Context, tx *sql.Tx, userID int64, tokenHash []byte, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?)
		WHERE id = ? AND email = (SELECT email FROM email_tokens WHERE token_hash = ?)`, unix(now), userID, tokenHash)
	return err
}
