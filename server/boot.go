package server

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/rosterhq/roster/db"
)

// newBoot is this process under a new random id, which its outbox worker
// writes in claimed_by.
func newBoot() db.Boot {
	host, _ := os.Hostname()
	return db.Boot{ID: rand.Text(), Host: host, PID: os.Getpid()}
}

// startBoot records b in boots and releases at once the claims of the
// process it replaces (see db.StartBoot), so that what that process was
// delivering when it died goes out now rather than when its leases run
// out.
func startBoot(ctx context.Context, store *db.Store, b db.Boot, log *slog.Logger) error {
	released, err := store.StartBoot(ctx, b, processAlive)
	if err != nil {
		return err
	}
	if released > 0 {
		log.Info("outbox: released the claims of a process that is gone", "count", released)
	}
	return nil
}

// processAlive says whether a process pid runs on this machine (EPERM: it
// does, as another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// beatBoot records every db.BootBeat that b is alive, until ctx ends.
func beatBoot(ctx context.Context, store *db.Store, b db.Boot, log *slog.Logger) {
	t := time.NewTicker(db.BootBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := store.BeatBoot(ctx, b); err != nil && ctx.Err() == nil {
			log.Warn("record that this process is alive", "err", err)
		}
	}
}
