package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Backlog is what waits in the outbox: the queued rows, in all and by
// kind, when the oldest of them was queued (the zero time when none is),
// and the last error of the oldest one that failed, which is most often
// why they wait.
type Backlog struct {
	Queued    int64
	ByKind    map[string]int64
	Oldest    time.Time
	LastError string
}

// OutboxBacklog reads the backlog. The partial index outbox_due holds
// exactly the queued rows, so it reads only those.
func (s *Store) OutboxBacklog(ctx context.Context) (Backlog, error) {
	b := Backlog{ByKind: map[string]int64{}}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, count(*), min(created_at) FROM outbox INDEXED BY outbox_due
		WHERE state = 'queued' GROUP BY kind`)
	if err != nil {
		return Backlog{}, fmt.Errorf("outbox backlog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n, oldest int64
		if err := rows.Scan(&kind, &n, &oldest); err != nil {
			return Backlog{}, fmt.Errorf("outbox backlog: %w", err)
		}
		b.Queued += n
		b.ByKind[kind] = n
		if t := fromUnix(oldest); b.Oldest.IsZero() || t.Before(b.Oldest) {
			b.Oldest = t
		}
	}
	if err := rows.Err(); err != nil {
		return Backlog{}, fmt.Errorf("outbox backlog: %w", err)
	}
	if b.Queued == 0 {
		return b, nil
	}
	err = s.r.QueryRowContext(ctx, `SELECT last_error FROM outbox INDEXED BY outbox_due
		WHERE state = 'queued' AND last_error != '' ORDER BY created_at, id LIMIT 1`).Scan(&b.LastError)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Backlog{}, fmt.Errorf("outbox backlog: %w", err)
	}
	return b, nil
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
