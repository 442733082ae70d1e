package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrEmailTaken refuses an account email another profile has.
const ErrEmailTaken = RuleError("email taken by another user")

// RequestEmailChange records that the user wants newEmail as the account
// email and queues m (with the confirmation link) to that address, in one
// transaction; the link works for ttl from its delivery (a nil m queues
// nothing and the link works for ttl from now: tests seed changes so). A new request
// replaces an earlier one, whose mail goes no more if it waits for a retry.
// The caller limits how many links go to one address (handlers/throttle.go).
func (s *Store) RequestEmailChange(ctx context.Context, userID int64, newEmail string, tokenHash []byte, ttl time.Duration, m *Mail, ev Event) error {
	newEmail = NormalEmail(newEmail)
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailFree(ctx, tx, userID, newEmail); err != nil {
			return err
		}
		now := s.now()
		if err := dropChangeMail(ctx, tx, userID, true, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO email_changes (user_id, new_email, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET new_email = excluded.new_email, token_hash = excluded.token_hash,
				created_at = excluded.created_at, expires_at = excluded.expires_at`,
			userID, newEmail, tokenHash, unix(now), unix(linkExpiry(now, ttl, m))); err != nil {
			return err
		}
		if m != nil {
			if _, err := queueMail(ctx, tx, userID, newEmail, *m, tokenHash, ttl, now); err != nil {
				return err
			}
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "new_email", newEmail)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return fmt.Errorf("request email change of user %d: %w", userID, err)
	}
	return nil
}

func emailFree(ctx context.Context, tx *sql.Tx, userID int64, email string) error {
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = ? AND id <> ?`, email, userID).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return ErrEmailTaken
}

// dropChangeMail deletes the mail of the user's pending email change
// while it waits: the change was cancelled, or replaced (retried, see
// dropQueuedMail).
func dropChangeMail(ctx context.Context, tx *sql.Tx, userID int64, replaced bool, now time.Time) error {
	var old []byte
	err := tx.QueryRowContext(ctx, `SELECT token_hash FROM email_changes WHERE user_id = ?`, userID).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return dropQueuedMail(ctx, tx, old, replaced, now)
}

// EmailChange is a pending change of the account email: the address it is
// to, and where the mail with its link stands.
type EmailChange struct {
	Email string
	Mail  MailState
}

// PendingEmailChange is the user's pending email change; its Email is ""
// when there is none.
func (s *Store) PendingEmailChange(ctx context.Context, userID int64) (EmailChange, error) {
	var c EmailChange
	var sent int64
	err := s.r.QueryRowContext(ctx, `SELECT e.new_email, `+mailStateColumns+` FROM email_changes e
		LEFT JOIN outbox o ON o.token_hash = e.token_hash WHERE e.user_id = ? AND e.expires_at > ?`,
		userID, unix(s.now())).Scan(&c.Email, &c.Mail.State, &c.Mail.Failing, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return EmailChange{}, nil
	}
	c.Mail.SentAt = fromUnix(sent)
	return c, err
}

// CancelEmailChange withdraws the user's pending email change, whose link
// then stops working, and records it, in one transaction; it returns the
// address the change was to. With no pending change it is ErrNotFound.
func (s *Store) CancelEmailChange(ctx context.Context, userID int64, ev Event) (string, error) {
	var newEmail string
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := dropChangeMail(ctx, tx, userID, false, now); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `DELETE FROM email_changes WHERE user_id = ? RETURNING new_email`, userID).Scan(&newEmail)
		if err != nil {
			return mapErr(err)
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "new_email", newEmail)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return "", fmt.Errorf("cancel email change of user %d: %w", userID, err)
	}
	return newEmail, nil
}

// EmailChangeByToken reports the user and new address of an unexpired
// email change link without using it: opening the link only shows a page,
// whose form then spends it (ConfirmEmailChange).
func (s *Store) EmailChangeByToken(ctx context.Context, tokenHash []byte) (userID int64, newEmail string, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT user_id, new_email FROM email_changes WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, unix(s.now())).Scan(&userID, &newEmail)
	return userID, newEmail, mapErr(err)
}

// ConfirmEmailChange spends a confirmation link: the new address replaces
// the old one, verified (following the link proved it), and tell, given
// the old and new addresses, is queued to the old address, all in one
// transaction. Links mailed to the old address stop working; when the old
// address was never verified, this is a first verification and ends what
// was attached before it (confirmAddress), keeping keepSession unless it
// was opened through a login that went; else every session but
// keepSession and every pending sign-in end, as with a password change.
// An unknown or expired link is ErrNotFound.
func (s *Store) ConfirmEmailChange(ctx context.Context, tokenHash, keepSession []byte, tell func(old, new string) (Notice, error), ev Event) (Verified, error) {
	var v Verified
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var userID int64
		var newEmail string
		err := tx.QueryRowContext(ctx, `DELETE FROM email_changes WHERE token_hash = ? AND expires_at > ? RETURNING user_id, new_email`,
			tokenHash, unix(now)).Scan(&userID, &newEmail)
		if err != nil {
			return err
		}
		if err := emailFree(ctx, tx, userID, newEmail); err != nil {
			return err
		}
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
		if err != nil {
			return err
		}
		// The new address may have been a contact method: it is the
		// account email now, so the other row goes.
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_methods WHERE user_id = ? AND kind = 'email' AND is_account = 0 AND address = ? COLLATE NOCASE`,
			userID, newEmail); err != nil {
			return err
		}
		if v, err = confirmAddress(ctx, tx, userID, newEmail, byLink, keepSession, ev, now); err != nil {
			return err
		}
		n, err := tell(old.Email, newEmail)
		if err != nil {
			return err
		}
		n.Circumstance = CircumstanceSecurity
		if _, err := enqueueTo(ctx, tx, ContactMethod{UserID: userID, Kind: KindEmail, Address: old.Email}, n, now); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "old_email", old.Email), "new_email", newEmail)
		ev.Detail = withVerified(ev.Detail, v)
		if !v.First {
			ev.Detail = withDetail(ev.Detail, "sessions_revoked", v.SignedOut)
		}
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return Verified{}, fmt.Errorf("confirm email change: %w", err)
	}
	return v, nil
}
