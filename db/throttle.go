package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The one limiter behind every throttle: sign-in attempts, mails sent to an
// address, verification codes, SetupIntents, API bearer failures. A slot is
// reserved before the work it pays for (a hash, a mail, a Stripe call)
// starts: counting and taking it is one write transaction, so concurrent
// callers serialize on SQLite's single writer and no two of them can both
// take the last slot. The slots live in the database, so every process
// shares one count.

// Limit is one count of the limiter: at most Max slots under Key in any
// Window.
type Limit struct {
	Key    string
	Max    int
	Window time.Duration
}

// Reservation is the slots one Reserve took, to give back with Release
// when the work they paid for turns out not to count (a right password).
type Reservation struct {
	ids []int64
}

// ErrThrottled is matched (errors.Is) by every *Throttled.
var ErrThrottled = errors.New("throttled")

// Throttled refuses a reservation: Limit is full for RetryAfter more
// (whole seconds, at least one).
type Throttled struct {
	Limit      Limit
	RetryAfter time.Duration
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("throttled: %d in %s, retry after %s", t.Limit.Max, t.Limit.Window, t.RetryAfter)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (t *Throttled) Is(target error) bool { return target == ErrThrottled }

// Reserve takes one slot under every limit, or none: when a limit is full
// it returns a *Throttled, for the full limit that frees last.
func (s *Store) Reserve(ctx context.Context, limits ...Limit) (Reservation, error) {
	var r Reservation
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = reserve(ctx, tx, s.now(), limits)
		return err
	})
	return r, err
}

// reserve is Reserve inside a caller's transaction, so that a slot and the
// work it pays for (a queued message) commit or roll back together.
func reserve(ctx context.Context, tx *sql.Tx, now time.Time, limits []Limit) (Reservation, error) {
	var refused *Throttled
	for _, l := range limits {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM throttle_slots WHERE key = ? AND expires_at > ?`,
			l.Key, unix(now)).Scan(&n); err != nil {
			return Reservation{}, fmt.Errorf("count slots: %w", err)
		}
		if n < l.Max {
			continue
		}
		// The oldest n-Max+1 slots must expire before one is free.
		var until int64
		if err := tx.QueryRowContext(ctx, `SELECT expires_at FROM throttle_slots WHERE key = ? AND expires_at > ?
			ORDER BY expires_at LIMIT 1 OFFSET ?`, l.Key, unix(now), max(n-l.Max, 0)).Scan(&until); err != nil {
			return Reservation{}, fmt.Errorf("oldest slot: %w", err)
		}
		// Rounded up: asked again after RetryAfter, the slot is free.
		retry := max((time.Unix(until, 0).Sub(now) + time.Second - 1).Truncate(time.Second), time.Second)
		if refused == nil || retry > refused.RetryAfter {
			refused = &Throttled{Limit: l, RetryAfter: retry}
		}
	}
	if refused != nil {
		return Reservation{}, refused
	}
	var r Reservation
	for _, l := range limits {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO throttle_slots (key, created_at, expires_at) VALUES (?, ?, ?) RETURNING id`,
			l.Key, unix(now), unix(now.Add(l.Window))).Scan(&id); err != nil {
			return Reservation{}, fmt.Errorf("take slot: %w", err)
		}
		r.ids = append(r.ids, id)
	}
	return r, nil
}

// Release gives back the slots of a reservation.
func (s *Store) Release(ctx context.Context, r Reservation) error {
	if len(r.ids) == 0 {
		return nil
	}
	return s.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range r.ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM throttle_slots WHERE id = ?`, id); err != nil {
				return fmt.Errorf("release slot: %w", err)
			}
		}
		return nil
	})
}

// Slots counts the live slots under l's key.
func (s *Store) Slots(ctx context.Context, l Limit) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM throttle_slots WHERE key = ? AND expires_at > ?`, l.Key, unix(s.now())).Scan(&n)
	return n, err
}

// ClearThrottle forgets every slot under key: after a right password, the
// failures against its email no longer count.
func (s *Store) ClearThrottle(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM throttle_slots WHERE key = ?`, key)
	return err
}
