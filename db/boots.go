package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Boot is one running `roster serve`: ID is random, made at start, and is
// the name its outbox worker writes in claimed_by.
type Boot struct {
	ID   string
	Host string
	PID  int
}

// How boots tell that they are alive: a running process records the time
// every BootBeat, and a boot silent for BootStale is taken for dead by the
// next process that starts.
const (
	BootBeat  = 10 * time.Second
	BootStale = 6 * BootBeat
)

// StartBoot records b as running and releases the outbox claims of the
// boots it replaces, so that their rows are due at once rather than when
// their leases run out: a boot on b's host whose process is gone (alive
// says so) or had b's own pid (a restarted container's pid 1), and a boot
// of any host silent for BootStale. Their rows in boots go too. It returns
// how many claims it released.
func (s *Store) StartBoot(ctx context.Context, b Boot, alive func(pid int) bool) (int64, error) {
	var released int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, `SELECT id, host, pid, seen_at FROM boots WHERE id != ?`, b.ID)
		type other struct {
			Boot
			seen int64
		}
		others, err := collect(rows, err, func(r rowScanner) (other, error) {
			var o other
			return o, r.Scan(&o.ID, &o.Host, &o.PID, &o.seen)
		})
		if err != nil {
			return err
		}
		for _, o := range others {
			replaced := o.Host == b.Host && (o.PID == b.PID || !alive(o.PID))
			if !replaced && fromUnix(o.seen).After(now.Add(-BootStale)) {
				continue
			}
			n, err := releaseClaims(ctx, tx, o.ID)
			if err != nil {
				return err
			}
			released += n
			if _, err := tx.ExecContext(ctx, `DELETE FROM boots WHERE id = ?`, o.ID); err != nil {
				return err
			}
		}
		// A process whose LiteFS primary was demoted and promoted again
		// starts its boot again under the same id.
		_, err = tx.ExecContext(ctx, `INSERT INTO boots (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, seen_at = excluded.seen_at`,
			b.ID, b.Host, b.PID, unix(now), unix(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start boot %s: %w", b.ID, err)
	}
	return released, nil
}

// BeatBoot records that b is still running. A boot another process took
// for dead is recorded again; its released claims stay released.
func (s *Store) BeatBoot(ctx context.Context, b Boot) error {
	now := unix(s.now())
	_, err := s.exec(ctx, `INSERT INTO boots (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, b.ID, b.Host, b.PID, now, now)
	if err != nil {
		return fmt.Errorf("beat boot %s: %w", b.ID, err)
	}
	return nil
}

// EndBoot removes the boot of a process that stops cleanly, releasing any
// claim it still holds.
func (s *Store) EndBoot(ctx context.Context, id string) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := releaseClaims(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM boots WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("end boot %s: %w", id, err)
	}
	return nil
}

// releaseClaims makes the rows worker holds due again at once. The claim
// still counts as an attempt: the dead worker may have been sending.
func releaseClaims(ctx context.Context, tx *sql.Tx, worker string) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE outbox SET claimed_by = '', claimed_until = 0
		WHERE claimed_by = ? AND state = 'queued'`, worker)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
