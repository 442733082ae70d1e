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

// EmailChangeAsk is a request to change the account email.
type EmailChangeAsk struct {
	UserID int64
	// SessionHash is the hash of the session that asks: the change is that
	// session's, and ends with it (ON DELETE CASCADE).
	SessionHash []byte
	NewEmail    string
	TokenHash   []byte // of the confirmation link, mailed to NewEmail
	CancelHash  []byte // of the cancel link, mailed to the old address
	TTL         time.Duration
	Confirm     *Mail // to NewEmail, with the confirmation link
	Notice      *Mail // to the old (current) address, with the cancel link
}

// RequestEmailChange records that the user wants a.NewEmail as the account
// email, bound to the asking session, and queues a.Confirm (with the
// confirmation link) to that address and a.Notice (with the cancel link)
// to the current one, in one transaction; the links work for a.TTL from
// delivery (a nil Confirm queues nothing and the links work for a.TTL
// from now: tests seed changes so). A new request replaces an earlier
// one, whose mail goes no more if it waits for a retry. A session that
// is not the user's, or has ended, is ErrNotFound. The caller limits how
// many links go to one address (handlers/throttle.go).
func (s *Store) RequestEmailChange(ctx context.Context, a EmailChangeAsk, ev Event) error {
	newEmail := NormalEmail(a.NewEmail)
	userID := a.UserID
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailFree(ctx, tx, userID, newEmail); err != nil {
			return err
		}
		now := s.now()
		var sessionID int64
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT s.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
			WHERE s.id_hash = ? AND s.user_id = ? AND s.expires_at > ?`, a.SessionHash, userID, unix(now)).Scan(&sessionID, &old); err != nil {
			return mapErr(err)
		}
		if err := dropChangeMail(ctx, tx, userID, true, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO email_changes (user_id, new_email, token_hash, cancel_hash, session_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET new_email = excluded.new_email, token_hash = excluded.token_hash,
				cancel_hash = excluded.cancel_hash, session_id = excluded.session_id,
				created_at = excluded.created_at, expires_at = excluded.expires_at`,
			userID, newEmail, a.TokenHash, a.CancelHash, sessionID, unix(now), unix(linkExpiry(now, a.TTL, a.Confirm))); err != nil {
			return err
		}
		if a.Confirm != nil {
			if _, err := queueMail(ctx, tx, userID, newEmail, *a.Confirm, a.TokenHash, a.TTL, now); err != nil {
				return err
			}
		}
		if a.Notice != nil {
			n := *a.Notice
			n.Circumstance = CircumstanceSecurity
			if _, err := queueMail(ctx, tx, userID, old, n, a.CancelHash, a.TTL, now); err != nil {
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
// dropQueuedMail), when also the notice to the old address goes.
func dropChangeMail(ctx context.Context, tx *sql.Tx, userID int64, replaced bool, now time.Time) error {
	var old, cancel []byte
	err := tx.QueryRowContext(ctx, `SELECT token_hash, cancel_hash FROM email_changes WHERE user_id = ?`, userID).Scan(&old, &cancel)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := dropQueuedMail(ctx, tx, old, replaced, now); err != nil {
		return err
	}
	// The notice to the old address goes even when the change is cancelled
	// (security notices are not withdrawn); one replaced by a newer
	// request's notice waits no longer than the confirmation does.
	if cancel == nil || !replaced {
		return nil
	}
	return dropQueuedMail(ctx, tx, cancel, replaced, now)
}

// changeLive is the condition on email_changes (as e) of a change still
// pending at ?1 (now): unexpired, and the session that asked for it not
// past its absolute expiry (the sweep, DeleteExpired, removes such a
// session and with it the change, but may not have run yet).
const changeLive = `e.expires_at > ?1 AND e.session_id IN (SELECT id FROM sessions WHERE expires_at > ?1)`

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
		LEFT JOIN outbox o ON o.token_hash = e.token_hash WHERE e.user_id = ?2 AND `+changeLive,
		unix(s.now()), userID).Scan(&c.Email, &c.Mail.State, &c.Mail.Failing, &sent)
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
	err = s.r.QueryRowContext(ctx, `SELECT user_id, new_email FROM email_changes e WHERE token_hash = ?2 AND `+changeLive,
		unix(s.now()), tokenHash).Scan(&userID, &newEmail)
	return userID, newEmail, mapErr(err)
}

// EmailChangeByCancel reports the user, the new address and when it was
// asked for, of the pending change whose cancel link (mailed to the old
// address) has cancelHash, without cancelling it: opening the link only
// shows a page, whose form cancels (CancelEmailChangeByLink).
func (s *Store) EmailChangeByCancel(ctx context.Context, cancelHash []byte) (userID int64, newEmail string, asked time.Time, err error) {
	var at int64
	err = s.r.QueryRowContext(ctx, `SELECT user_id, new_email, created_at FROM email_changes e WHERE cancel_hash = ?2 AND `+changeLive,
		unix(s.now()), cancelHash).Scan(&userID, &newEmail, &at)
	return userID, newEmail, fromUnix(at), mapErr(err)
}

// CancelEmailChangeByLink withdraws the pending change whose cancel link
// has cancelHash, logs out the session that asked for it (whoever stops a
// change from the old address's mailbox may not have asked for it: the
// session must not ask again at once), and records it, in one
// transaction. The link works without a session, for someone locked out
// of theirs. It returns the user and the address the change was to; an
// unknown, spent or expired link is ErrNotFound.
func (s *Store) CancelEmailChangeByLink(ctx context.Context, cancelHash []byte, ev Event) (userID int64, newEmail string, err error) {
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var sessionID int64
		if err := tx.QueryRowContext(ctx, `SELECT user_id, new_email, session_id FROM email_changes e WHERE cancel_hash = ?2 AND `+changeLive,
			unix(now), cancelHash).Scan(&userID, &newEmail, &sessionID); err != nil {
			return mapErr(err)
		}
		if err := dropChangeMail(ctx, tx, userID, false, now); err != nil {
			return err
		}
		// The change goes with its session (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, sessionID); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(withDetail(ev.Detail, "new_email", newEmail), "by", "link"), "sessions_revoked", 1)
		return addEvent(ctx, tx, ev, now)
	})
	if err != nil {
		return 0, "", fmt.Errorf("cancel email change by its link: %w", err)
	}
	return userID, newEmail, nil
}

// ConfirmEmailChange spends a confirmation link: the new address replaces
// the old one, verified (following the link proved it), and tell, given
// the old and new addresses, is queued to the old address, all in one
// transaction. Links mailed to the old address stop working; when the old
// address was never verified, this is a first verification and ends what
// was attached before it (confirmAddress), keeping keepSession unless it
// was opened through a login that went; else every session but
// keepSession and every pending sign-in end, as with a password change.
// An unknown or expired link, or one whose asking session ended, is
// ErrNotFound.
func (s *Store) ConfirmEmailChange(ctx context.Context, tokenHash, keepSession []byte, tell func(old, new string) (Notice, error), ev Event) (Verified, error) {
	var v Verified
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var userID int64
		var newEmail string
		err := tx.QueryRowContext(ctx, `DELETE FROM email_changes AS e WHERE token_hash = ?2 AND `+changeLive+` RETURNING user_id, new_email`,
			unix(now), tokenHash).Scan(&userID, &newEmail)
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
