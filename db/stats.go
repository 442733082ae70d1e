package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// OutboxBacklog counts the queued notifications and returns when the oldest
// of them was queued (the zero time when none is). The partial index
// outbox_due holds exactly the queued rows, so a scrape reads only those.
func (s *Store) OutboxBacklog(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM outbox INDEXED BY outbox_due
		WHERE state = 'queued'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("outbox backlog: %w", err)
	}
	return n, nullTime(oldest), nil
}

// CountActiveSessions counts the sessions that can still be used: not past
// their absolute expiry and used since idleSince.
func (s *Store) CountActiveSessions(ctx context.Context, idleSince time.Time) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE expires_at > ? AND last_seen_at > ?`,
		unix(s.now()), unix(idleSince)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count active sessions: %w", err)
	}
	return n, nil
}

// PoolStats returns the statistics of the writer and the reader pools.
func (s *Store) PoolStats() (writer, reader sql.DBStats) {
	return s.w.Stats(), s.r.Stats()
}
