package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/session"
)

// openServeStore opens the database for serve. On the primary (or a
// single machine) it migrates it; on a LiteFS replica, which cannot
// write, it waits for the primary to (awaitPrimary).
func openServeStore(ctx context.Context, cfg config, role *role, log *slog.Logger) (*db.Store, error) {
	if role != nil && !role.isReplica() {
		log.Info("litefs: this node is the primary")
	}
	// A replica cannot create the file: the primary's first start does.
	if err := awaitFile(ctx, cfg.DB, role, log); err != nil {
		return nil, err
	}
	open := db.Open
	if cfg.queryOnly {
		open = db.OpenQueryOnly
	}
	store, err := open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := awaitPrimary(ctx, store, cfg, role, log); err != nil {
		store.Close()
		return nil, err
	}
	if !role.isReplica() {
		if _, err := store.Migrate(ctx); err != nil {
			store.Close()
			return nil, err
		}
	}
	return store, nil
}

// awaitPoll is how often a replica looks whether its primary has migrated.
const awaitPoll = 250 * time.Millisecond

// awaitFile returns once the database file exists, or this node is the
// primary.
func awaitFile(ctx context.Context, path string, role *role, log *slog.Logger) error {
	waiting := false
	for {
		primary, replica := role.current()
		if !replica {
			return nil
		}
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ROSTER_DB: %w", err)
		}
		if !waiting {
			log.Info(fmt.Sprintf("replica: waiting for the primary (%s) to create the database", primary), "db", path)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(awaitPoll):
		}
	}
}

// awaitPrimary returns at once on the primary. On a replica it returns
// once the primary has migrated the database to the schema this binary
// needs, and stored the cookie secret unless ROSTER_SECRET is set, and
// says in the log that it waits meanwhile; or once the replica is
// promoted (then the caller migrates).
func awaitPrimary(ctx context.Context, store *db.Store, cfg config, role *role, log *slog.Logger) error {
	waiting := false
	for {
		primary, replica := role.current()
		if !replica {
			return nil
		}
		have, want, err := store.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		ready := have >= want
		if ready && cfg.Secret == "" {
			_, err := store.Setting(ctx, cookieSecretSetting)
			if errors.Is(err, db.ErrNotFound) {
				ready = false
			} else if err != nil {
				return err
			}
		}
		if ready {
			if waiting {
				log.Info(fmt.Sprintf("replica: the primary (%s) has migrated to %05d", primary, have))
			}
			return nil
		}
		if !waiting {
			log.Info(fmt.Sprintf("replica: waiting for the primary (%s) to migrate to %05d", primary, want), "schema", have)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(awaitPoll):
		}
	}
}

// background runs what `roster serve` does besides answering requests,
// all of which writes: the boot's heartbeat, the outbox worker, the
// backlog log and the sweeps. It runs on the primary only: on a LiteFS
// replica, follow starts it at promotion and stops it at demotion.
type background struct {
	store    *db.Store
	sessions *session.Store
	worker   *notify.Worker
	boot     db.Boot
	log      *slog.Logger

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running workers; nil when stopped
	done    sync.WaitGroup
	stopped bool // for good: serve is returning
}

// start records the boot (startBoot) and starts every worker, until ctx
// ends or stop.
func (b *background) start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel != nil || b.stopped {
		return nil
	}
	if err := startBoot(ctx, b.store, b.boot, b.log); err != nil {
		return err
	}
	ctx, b.cancel = context.WithCancel(ctx)
	b.done.Go(func() { sweep(ctx, b.sessions, b.log) })
	b.done.Go(func() { beatBoot(ctx, b.store, b.boot, b.log) })
	// Mail that waits (an SMTP outage) is said in the log every minute.
	b.done.Go(func() { notify.NewBacklogLog(b.store, b.log, nil).Run(ctx, time.Minute) })
	b.done.Go(func() { sweepSpent(ctx, b.store, b.log) })
	b.done.Go(func() { b.worker.Run(ctx) })
	b.done.Go(func() { sweepExpiredCards(ctx, b.store, b.log) })
	return nil
}

// halt stops the workers, waits for the delivery in hand, and ends the
// boot (which fails on a demoted primary: the next primary takes the boot
// for dead once it is silent for db.BootStale).
func (b *background) halt(ctx context.Context) {
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.done.Wait()
	b.cancel = nil
	if err := b.store.EndBoot(ctx, b.boot.ID); err != nil {
		b.log.Error("end boot", "err", err)
	}
}

// stop stops the workers for good.
func (b *background) stop(ctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.halt(ctx)
}

// follow starts the workers when role says this node is the primary and
// stops them when it says a replica, checking every roleEvery until ctx
// ends.
func (b *background) follow(ctx context.Context, role *role) {
	t := time.NewTicker(roleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		primary, replica := role.current()
		b.mu.Lock()
		running := b.cancel != nil
		b.mu.Unlock()
		switch {
		case !replica && !running:
			if err := b.start(ctx); err != nil {
				if ctx.Err() == nil {
					b.log.Error("litefs: promoted, but the workers could not start; trying again", "err", err)
				}
				continue
			}
			b.log.Info("litefs: promoted to primary: the outbox worker and the sweeps run here now")
		case replica && running:
			b.mu.Lock()
			b.halt(ctx)
			b.mu.Unlock()
			b.log.Info("litefs: demoted to replica: the outbox worker and the sweeps stopped", "primary", primary)
		}
	}
}
