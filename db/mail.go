package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The mail lane: messages a person is waiting for and that carry a link
// (a sign-up confirmation, a password reset, an invite, an email change)
// go through the outbox like notifications, queued in the transaction that
// creates their token, claimed before notifications and tried at once.

// Mail is one such message, written out.
type Mail struct {
	Circumstance string // CircumstanceVerify, CircumstanceSecurity or CircumstanceAccount
	Subject      string
	Body         string // with the link
	// Kept is the body once the mail is sent or given up: the link
	// replaced by a note, so that the outbox keeps no usable link.
	Kept string
}

// DeliveryGiveUp is how long the outbox tries a message before giving up
// (notify's default).
const DeliveryGiveUp = 24 * time.Hour

// linkExpiry is when a link whose mail is queued at now stops working if
// it is never delivered: after the outbox gave up, plus its ttl. Delivery
// sets it to sent_at + ttl (the trigger outbox_link_sent, 00016).
func linkExpiry(now time.Time, ttl time.Duration, m *Mail) time.Time {
	if m == nil {
		return now.Add(ttl)
	}
	return now.Add(DeliveryGiveUp + ttl)
}

// queueMail queues m to address in tx, in the mail lane, naming the hash of
// its link's token and how long the link works once delivered. userID is 0
// for someone without a profile (an invite).
func queueMail(ctx context.Context, tx *sql.Tx, userID int64, address string, m Mail, tokenHash []byte, ttl time.Duration, now time.Time) (int64, error) {
	var user sql.NullInt64
	if userID != 0 {
		user = sql.NullInt64{Int64: userID, Valid: true}
	}
	if m.Circumstance == "" {
		m.Circumstance = CircumstanceVerify
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, body_kept, priority,
			token_hash, token_ttl, next_attempt_at, created_at)
		VALUES (?, 'email', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id`,
		user, address, m.Circumstance, m.Subject, m.Body, m.Kept, tokenHash, int64(ttl/time.Second), unix(now), unix(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue mail to %s: %w", address, err)
	}
	return id, nil
}

// dropQueuedMail deletes the mail of tokenHash while it waits for its
// first or next attempt: its link was withdrawn (a revoked invite, a
// cancelled email change), or, with retried, replaced by a new one (the
// mail would only bring a link that no longer works). A replaced link's
// mail goes no more only once an attempt failed, that is while the mail
// server is out: one not tried yet goes, as it was about to. A row a
// worker holds right now is left to it.
func dropQueuedMail(ctx context.Context, tx *sql.Tx, tokenHash []byte, retried bool, now time.Time) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE token_hash = ? AND state = 'queued' AND claimed_until <= ?
		AND (? = 0 OR last_error <> '')`, tokenHash, unix(now), retried)
	return err
}

// MailState is where the mail of a link stands, for the pages that say
// "sending", "we keep trying" or "sent". State is "" when no mail is known
// (a link from before the mail lane).
type MailState struct {
	State   string // DeliveryQueued, DeliverySent or DeliveryFailed
	Failing bool   // its last attempt failed (still queued: we keep trying)
	SentAt  time.Time
}

// mailStateColumns read a MailState from outbox o, which may be missing
// (LEFT JOIN).
const mailStateColumns = `COALESCE(o.state, ''), COALESCE(o.last_error, '') <> '', COALESCE(o.sent_at, 0)`

// VerifyMailState is the state of the mail of the user's newest unused
// confirmation link.
func (s *Store) VerifyMailState(ctx context.Context, userID int64) (MailState, error) {
	var m MailState
	var sent int64
	err := s.r.QueryRowContext(ctx, `SELECT `+mailStateColumns+` FROM email_tokens t JOIN outbox o ON o.token_hash = t.token_hash
		WHERE t.user_id = ? AND t.purpose = ? AND t.used_at IS NULL ORDER BY o.id DESC LIMIT 1`, userID, TokenVerify).Scan(&m.State, &m.Failing, &sent)
	if err == sql.ErrNoRows {
		return MailState{}, nil
	}
	if err != nil {
		return MailState{}, fmt.Errorf("confirmation mail of user %d: %w", userID, err)
	}
	m.SentAt = fromUnix(sent)
	return m, nil
}
