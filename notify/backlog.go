package notify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rosterhq/roster/db"
)

// BacklogLate is how long a message may wait before the log speaks of it.
const BacklogLate = time.Minute

// BacklogLog tells the operator in the log that messages wait: each Check
// while the oldest queued one has waited longer than BacklogLate ("outbox:
// 12 waiting, oldest 3m20s, last error: ..."), and once when that is over.
type BacklogLog struct {
	store *db.Store
	log   *slog.Logger
	now   func() time.Time
	late  bool // the last Check found a late message
}

// NewBacklogLog makes a BacklogLog on store; now is the clock (nil is
// time.Now).
func NewBacklogLog(store *db.Store, log *slog.Logger, now func() time.Time) *BacklogLog {
	if now == nil {
		now = time.Now
	}
	return &BacklogLog{store: store, log: log, now: now}
}

// Run checks every period until ctx ends.
func (b *BacklogLog) Run(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.Check(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("read the outbox backlog", "err", err)
		}
	}
}

// Check reads the backlog and logs what it finds, if anything is late or
// just stopped being.
func (b *BacklogLog) Check(ctx context.Context) error {
	bl, err := b.store.OutboxBacklog(ctx)
	if err != nil {
		return err
	}
	age := time.Duration(0)
	if !bl.Oldest.IsZero() {
		age = b.now().Sub(bl.Oldest).Round(time.Second)
	}
	switch {
	case age > BacklogLate:
		msg := fmt.Sprintf("outbox: %d waiting, oldest %v", bl.Queued, age)
		if bl.LastError != "" {
			msg += ", last error: " + bl.LastError
		}
		b.log.Warn(msg, "waiting", bl.Queued, "oldest_seconds", int64(age.Seconds()), "last_error", bl.LastError)
		b.late = true
	case b.late && bl.Queued == 0:
		b.log.Info("outbox: drained, every waiting message was delivered or given up")
		b.late = false
	case b.late:
		b.log.Info(fmt.Sprintf("outbox: caught up, %d waiting, oldest %v", bl.Queued, age), "waiting", bl.Queued, "oldest_seconds", int64(age.Seconds()))
		b.late = false
	}
	return nil
}
