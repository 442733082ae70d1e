package notify_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/notify"
)

// hookMailer runs before ahead of each message it hands to the real SMTP
// mailer: the test's way into the middle of a delivery.
type hookMailer struct {
	smtp   *mail.SMTP
	before func(n int)
	n      int
}

func (m *hookMailer) Send(ctx context.Context, msg mail.Message) error {
	m.before(m.n)
	m.n++
	return m.smtp.Send(ctx, msg)
}

// claimedUntil reads a row's lease end, which db.Delivery does not carry,
// through a connection of the test's own.
func claimedUntil(t *testing.T, conn *sql.DB, id int64) time.Time {
	t.Helper()
	var until int64
	if err := conn.QueryRow(`SELECT claimed_until FROM outbox WHERE id = ?`, id).Scan(&until); err != nil {
		t.Fatal(err)
	}
	return time.Unix(until, 0)
}

func TestShortLease(t *testing.T) {
	if notify.DefaultLease > 30*time.Second {
		t.Errorf("DefaultLease is %v, want at most 30s: a live worker renews it, a dead one holds its rows that long", notify.DefaultLease)
	}
}

// TestRenewalKeepsClaims: a send that takes a minute, twice the lease,
// keeps the batch's claims: meanwhile another worker claims nothing, and
// both rows are sent once, by their worker.
func TestRenewalKeepsClaims(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "roster.db")
	store := openStore(t, file)
	defer store.Close()
	conn, err := sql.Open("sqlite3", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	smtp := smtptest.Start(t)
	clk := newClock()
	lease := 30 * time.Second
	u := newUser(t, store, "ann@example.com")
	var ids []int64
	for i := range 2 {
		got, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	slow := &hookMailer{smtp: smtpMailer(t, smtp.Addr), before: func(n int) {
		if n > 0 {
			return
		}
		for step := range 6 {
			clk.Add(10 * time.Second)
			proctest.WaitFor(t, "a renewal at +"+strconv.Itoa(10*(step+1))+"s", func() bool {
				for _, id := range ids {
					if claimedUntil(t, conn, id).Before(clk.Now().Add(lease - 2*time.Second)) {
						return false
					}
				}
				return true
			})
			if list, err := store.ClaimDeliveries(ctx, "other", clk.Now(), lease, 10); err != nil || len(list) != 0 {
				t.Errorf("+%ds: another worker claimed %d rows (%v), want none while the first renews", 10*(step+1), len(list), err)
			}
		}
	}}
	w := notify.New(store, notify.Config{Mail: slow, Now: clk.Now, Log: quietLog(t), Name: "first", Lease: lease, Renew: 5 * time.Millisecond})
	if n, err := w.RunOnce(ctx); n != 2 || err != nil {
		t.Fatalf("run once: claimed %d (%v), want 2", n, err)
	}
	for _, id := range ids {
		if d, err := store.DeliveryByID(ctx, id); err != nil || d.State != db.DeliverySent {
			t.Errorf("delivery %d: %q (%v), want sent by the worker that kept its lease", id, d.State, err)
		}
	}
	if got := len(smtp.Mails()); got != 2 {
		t.Errorf("%d mails arrived, want 2", got)
	}
}

// TestLostClaimsAreNotRecorded: while a worker sends the first row of its
// batch, a starting process takes it for the dead process it replaces (same
// host and pid) and releases its claims. The worker notices at its next
// renewal: it records none of the rows and sends no more; the new process
// delivers them.
func TestLostClaimsAreNotRecorded(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	smtp := smtptest.Start(t)
	clk := newClock()
	var log logtest.Buffer
	old := db.Boot{ID: "old", Host: "h", PID: 1}
	if _, err := store.StartBoot(ctx, old, func(int) bool { return true }); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, store, "ann@example.com")
	var ids []int64
	for i := range 3 {
		got, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	taken := &hookMailer{smtp: smtpMailer(t, smtp.Addr), before: func(n int) {
		if n > 0 {
			return
		}
		if released, err := store.StartBoot(ctx, db.Boot{ID: "new", Host: "h", PID: 1}, func(int) bool { return true }); released != 3 || err != nil {
			t.Errorf("the new boot released %d claims (%v), want 3", released, err)
		}
		proctest.WaitFor(t, "the old worker to notice", func() bool {
			return strings.Contains(log.String(), "notification claims lost")
		})
	}}
	w := notify.New(store, notify.Config{Mail: taken, Now: clk.Now, Name: old.ID, Renew: 5 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	if n, err := w.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("run once: claimed %d (%v), want 3", n, err)
	}
	if got := len(smtp.Mails()); got != 1 {
		t.Errorf("the old worker sent %d mails, want only the one in hand when its claims went", got)
	}
	for _, id := range ids {
		if d, _ := store.DeliveryByID(ctx, id); d.State != db.DeliveryQueued {
			t.Errorf("delivery %d: %q, want queued: the old worker no longer held it", id, d.State)
		}
	}
	next := notify.New(store, notify.Config{Mail: smtpMailer(t, smtp.Addr), Now: clk.Now, Log: quietLog(t), Name: "new"})
	if n := drain(t, next); n != 3 {
		t.Errorf("the new worker delivered %d rows, want 3", n)
	}
	for _, id := range ids {
		if d, _ := store.DeliveryByID(ctx, id); d.State != db.DeliverySent {
			t.Errorf("delivery %d: %q, want sent", id, d.State)
		}
	}
}

// mailerFunc is a Mailer made of a function.
type mailerFunc func(ctx context.Context, msg mail.Message) error

func (f mailerFunc) Send(ctx context.Context, msg mail.Message) error { return f(ctx, msg) }

// TestShutdownHandsBackTheBatch: a worker stopped mid-batch hands the rows
// it has not started back unsent and uncounted, due at once for the next
// process, rather than failing them into a backoff.
func TestShutdownHandsBackTheBatch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	smtp := smtptest.Start(t)
	clk := newClock()
	u := newUser(t, store, "ann@example.com")
	var ids []int64
	for i := range 3 {
		got, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	real := smtpMailer(t, smtp.Addr)
	// The shutdown comes while the first message goes out.
	stopping := mailerFunc(func(mctx context.Context, msg mail.Message) error {
		err := real.Send(mctx, msg)
		cancel()
		return err
	})
	w := notify.New(store, notify.Config{Mail: stopping, Now: clk.Now, Log: quietLog(t), Name: "stopping"})
	if n, err := w.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("run once: claimed %d (%v), want 3", n, err)
	}
	for i, id := range ids {
		d, err := store.DeliveryByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if d.State != db.DeliverySent {
				t.Errorf("the row in hand: %q, want sent", d.State)
			}
			continue
		}
		if d.State != db.DeliveryQueued || d.Attempts != 0 || d.LastError != "" || d.NextAttemptAt.After(clk.Now()) {
			t.Errorf("row %d after the shutdown: %q, %d attempts, error %q, next %v (now %v); want queued, uncounted, due now",
				id, d.State, d.Attempts, d.LastError, d.NextAttemptAt, clk.Now())
		}
	}
	next := notify.New(store, notify.Config{Mail: real, Now: clk.Now, Log: quietLog(t), Name: "next"})
	if n := drain(t, next); n != 2 {
		t.Errorf("the next process delivered %d rows at once, want 2", n)
	}
	if got := len(smtp.Mails()); got != 3 {
		t.Errorf("%d mails arrived, want 3", got)
	}
}
