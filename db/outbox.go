package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Notice is a notification before it is routed: what it is about and what
// it says. Severity is 1-5 for alerts and ignored otherwise.
type Notice struct {
	Circumstance string
	Severity     int
	Subject      string
	Body         string
}

// States of an outbox row.
const (
	DeliveryQueued = "queued"
	DeliverySent   = "sent"
	DeliveryFailed = "failed" // given up
)

// Delivery is one outbox row: a notice on its way to one address.
type Delivery struct {
	ID            int64
	UserID        int64 // 0 for a mail to someone without a profile (an invite)
	MethodID      int64 // 0 when the method was deleted or there was none (an email change)
	Kind          string
	Address       string
	Circumstance  string
	Severity      int
	Subject       string
	Body          string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
	Secret        string // the webhook's signing key, filled by ClaimDeliveries
}

const deliveryColumns = `id, COALESCE(user_id, 0), COALESCE(contact_method_id, 0), kind, address, circumstance, severity, subject, body,
	state, attempts, next_attempt_at, last_error, created_at, sent_at`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next, created int64
	var sent sql.NullInt64
	err := row.Scan(&d.ID, &d.UserID, &d.MethodID, &d.Kind, &d.Address, &d.Circumstance, &d.Severity, &d.Subject, &d.Body,
		&d.State, &d.Attempts, &next, &d.LastError, &created, &sent)
	if err != nil {
		return Delivery{}, mapErr(err)
	}
	d.NextAttemptAt, d.CreatedAt, d.SentAt = fromUnix(next), fromUnix(created), nullTime(sent)
	return d, nil
}

// EnqueueTx queues n for the user inside tx, the transaction of whatever
// caused it: one outbox row per verified method the user's rules name for
// its circumstance (and severity). The account email is used before it
// is verified (it is where the person signed up; other methods must be
// verified), and security notices always include it. It returns the
// queued ids.
func (s *Store) EnqueueTx(ctx context.Context, tx *sql.Tx, userID int64, n Notice) ([]int64, error) {
	return enqueue(ctx, tx, userID, n, s.now())
}

// Enqueue is EnqueueTx in a transaction of its own, for notices whose cause
// was written elsewhere (an external sign-in, the notify API).
func (s *Store) Enqueue(ctx context.Context, userID int64, n Notice) ([]int64, error) {
	var ids []int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = enqueue(ctx, tx, userID, n, s.now())
		return err
	})
	return ids, err
}

func enqueue(ctx context.Context, tx *sql.Tx, userID int64, n Notice, now time.Time) ([]int64, error) {
	if n.Circumstance != CircumstanceAlerts {
		n.Severity = 0
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+contactColumns+` FROM contact_methods cm
		WHERE cm.user_id = ? AND (
			((cm.verified_at IS NOT NULL OR cm.is_account = 1) AND EXISTS (SELECT 1 FROM notification_rules r
				WHERE r.user_id = cm.user_id AND r.contact_method_id = cm.id AND r.circumstance = ? AND r.severity = ?))
			OR (? = 'security' AND cm.is_account = 1))
		ORDER BY cm.is_account DESC, cm.id`, userID, n.Circumstance, n.Severity, n.Circumstance)
	methods, err := collect(rows, err, scanContact)
	if err != nil {
		return nil, fmt.Errorf("route %s notice: %w", n.Circumstance, err)
	}
	ids := []int64{}
	for _, m := range methods {
		id, err := enqueueTo(ctx, tx, m, n, now)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// enqueueTo queues n to one method, whatever the rules say.
func enqueueTo(ctx context.Context, tx *sql.Tx, m ContactMethod, n Notice, now time.Time) (int64, error) {
	var methodID sql.NullInt64
	if m.ID != 0 {
		methodID = sql.NullInt64{Int64: m.ID, Valid: true}
	}
	// A verification code is waited for: it goes in the mail lane.
	priority := 0
	if n.Circumstance == CircumstanceVerify {
		priority = 1
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox (user_id, contact_method_id, kind, address, circumstance, severity, subject, body, priority, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.UserID, methodID, m.Kind, m.Address, n.Circumstance, n.Severity, n.Subject, n.Body, priority, unix(now), unix(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue %s notice: %w", n.Circumstance, err)
	}
	return id, nil
}

// ClaimDeliveries leases up to limit due rows to worker until now+lease, in
// one UPDATE ... RETURNING: of several workers, on any number of processes,
// exactly one gets each row. A row whose lease ran out (its worker died)
// is due again. Each claim counts as an attempt.
func (s *Store) ClaimDeliveries(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]Delivery, error) {
	var list []Delivery
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? AND claimed_until <= ?
				ORDER BY priority DESC, next_attempt_at, id LIMIT CAST(? AS INTEGER))
			RETURNING `+deliveryColumns, worker, unix(now.Add(lease)), unix(now), unix(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return err
			}
			list = append(list, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, d := range list {
			if d.Kind != KindWebhook || d.MethodID == 0 {
				continue
			}
			if err := tx.QueryRowContext(ctx, `SELECT secret FROM contact_methods WHERE id = ?`, d.MethodID).Scan(&list[i].Secret); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return list, nil
}

// MarkSent records a delivery as sent, if worker still holds its lease.
func (s *Store) MarkSent(ctx context.Context, id int64, worker string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, last_error = '', claimed_by = '', claimed_until = 0
		WHERE id = ? AND claimed_by = ? AND state = 'queued'`, unix(now), id, worker)
	if err != nil {
		return fmt.Errorf("mark delivery %d sent: %w", id, err)
	}
	return nil
}

// MarkFailed records a failed attempt: the row waits until next, or is
// given up.
func (s *Store) MarkFailed(ctx context.Context, id int64, worker, reason string, next time.Time, giveUp bool) error {
	state := DeliveryQueued
	if giveUp {
		state = DeliveryFailed
	}
	_, err := s.exec(ctx, `UPDATE outbox SET state = ?, last_error = ?, next_attempt_at = ?, claimed_by = '', claimed_until = 0
		WHERE id = ? AND claimed_by = ? AND state = 'queued'`, state, reason, unix(next), id, worker)
	if err != nil {
		return fmt.Errorf("mark delivery %d failed: %w", id, err)
	}
	return nil
}

// ReleaseDelivery hands a claimed row back unsent, as if it had not been
// claimed: its worker ran out of lease before getting to it.
func (s *Store) ReleaseDelivery(ctx context.Context, id int64, worker string) error {
	_, err := s.exec(ctx, `UPDATE outbox SET claimed_by = '', claimed_until = 0, attempts = attempts - 1
		WHERE id = ? AND claimed_by = ? AND state = 'queued'`, id, worker)
	if err != nil {
		return fmt.Errorf("release delivery %d: %w", id, err)
	}
	return nil
}

// RenewClaims extends to until the leases worker still holds at now, and
// says how many rows it renewed. A row whose lease already ran out is left
// alone: another worker may have claimed it, and its guards (claimed_by)
// keep this worker from recording it.
func (s *Store) RenewClaims(ctx context.Context, worker string, now, until time.Time) (int64, error) {
	res, err := s.exec(ctx, `UPDATE outbox SET claimed_until = ?
		WHERE claimed_by = ? AND state = 'queued' AND claimed_until > ?`, unix(until), worker, unix(now))
	if err != nil {
		return 0, fmt.Errorf("renew claims of %s: %w", worker, err)
	}
	return res.RowsAffected()
}

// RecentDeliveries lists the user's latest outbox rows, newest first.
func (s *Store) RecentDeliveries(ctx context.Context, userID int64, limit int) ([]Delivery, error) {
	return s.Deliveries(ctx, userID, limit, 0)
}

// CountDeliveries counts the user's outbox rows, for the last page of
// their notifications.
func (s *Store) CountDeliveries(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deliveries of user %d: %w", userID, err)
	}
	return n, nil
}

// Deliveries lists a page of the user's outbox rows, newest first: limit
// rows after the first offset.
func (s *Store) Deliveries(ctx context.Context, userID int64, limit, offset int) ([]Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM outbox WHERE user_id = CAST(? AS INTEGER)
		ORDER BY id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`, userID, limit, offset)
	list, err := collect(rows, err, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("deliveries of user %d: %w", userID, err)
	}
	return list, nil
}

// DeliveryByID returns one outbox row.
func (s *Store) DeliveryByID(ctx context.Context, id int64) (Delivery, error) {
	return scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM outbox WHERE id = ?`, id))
}

// NextDelivery is when the earliest queued row is due, or the zero time
// when nothing is queued; the worker sleeps until then.
func (s *Store) NextDelivery(ctx context.Context) (time.Time, error) {
	var next sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(max(next_attempt_at, claimed_until)) FROM outbox WHERE state = 'queued'`).Scan(&next)
	return nullTime(next), err
}

// NewSignInDevice reports whether a sign-in with userAgent is from a new
// device: the user has signed in before, never with this user agent.
func (s *Store) NewSignInDevice(ctx context.Context, userID int64, userAgent string) (bool, error) {
	return newSignInDevice(ctx, s.r, userID, userAgent)
}

func newSignInDevice(ctx context.Context, q queryer, userID int64, userAgent string) (bool, error) {
	var before, same int
	err := q.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE user_agent = ?) FROM audit_events
		WHERE user_id = ? AND kind = 'signin'`, userAgent, userID).Scan(&before, &same)
	if err != nil {
		return false, fmt.Errorf("sign-in devices of user %d: %w", userID, err)
	}
	return before > 0 && same == 0, nil
}

// DeliveryRetention is how long sent and given-up outbox rows are kept:
// long enough to answer "did that notice go out?", short enough that the
// outbox does not grow for ever. Queued rows are never deleted.
const DeliveryRetention = 30 * 24 * time.Hour

// DeleteOldDeliveries deletes the sent rows sent before before and the
// given-up rows queued before it, and says how many went. It is
// idempotent, so every process may run it.
func (s *Store) DeleteOldDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM outbox WHERE (state = 'sent' AND sent_at < ?1) OR (state = 'failed' AND created_at < ?1)`,
		unix(before))
	if err != nil {
		return 0, fmt.Errorf("delete old deliveries: %w", err)
	}
	return res.RowsAffected()
}
