// Package notify delivers the outbox: a worker claims due rows with a
// database lease, hands each to the adapter of its kind (email, SMS, voice,
// Slack, signed webhook) and records the outcome, retrying with exponential
// backoff and jitter for 24 hours.
package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/clip"
	"github.com/rosterhq/roster/mail"
)

// Mailer sends one email; mail.SMTP and mail.Log are the two kinds.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Phone sends text messages and places voice calls; Twilio is the one kind
// in production, a fake Twilio API in tests.
type Phone interface {
	SendSMS(ctx context.Context, to, body string) error
	Call(ctx context.Context, to, say string) error
}

// Defaults of a Worker.
const (
	DefaultLease   = 30 * time.Second
	DefaultGiveUp  = db.DeliveryGiveUp
	DefaultBatch   = 20
	DefaultPoll    = 5 * time.Second
	firstBackoff   = 30 * time.Second
	maxBackoff     = time.Hour
	attemptTimeout = 30 * time.Second
	leaseMargin    = 5 * time.Second
)

// Config is what a Worker needs. Zero durations take the defaults.
type Config struct {
	Mail  Mailer
	Phone Phone // nil: SMS and voice wait, with an error, until one is configured
	// HTTP posts to Slack and webhooks. Nil means HTTPClient(false): a
	// timeout, and no connections to non-public addresses.
	HTTP *http.Client
	// Lease is how long a claim lasts unless renewed; a worker renews its
	// claims every Renew (Lease/3 by default) while it delivers them.
	Lease  time.Duration
	Renew  time.Duration
	GiveUp time.Duration
	Batch  int
	Poll   time.Duration // how often Run looks for work nobody kicked it for
	Now    func() time.Time
	Log    *slog.Logger
	// Name is this worker's name in claimed_by, generated when empty; in
	// `roster serve` it is the process's boot id (db.StartBoot).
	Name string
}

// Worker delivers the outbox. Any number of workers, in any number of
// processes, may run on one database: each row is leased to one of them.
type Worker struct {
	store *db.Store
	cfg   Config
	kick  chan struct{}
}

// New makes a worker on store.
func New(store *db.Store, cfg Config) *Worker {
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Renew == 0 {
		cfg.Renew = cfg.Lease / 3
	}
	if cfg.GiveUp == 0 {
		cfg.GiveUp = DefaultGiveUp
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTP == nil {
		cfg.HTTP = HTTPClient(false)
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:6])
	}
	return &Worker{store: store, cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick wakes Run at once: something was just queued. It never blocks.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: at once when kicked, when the next retry is
// due, and every Poll for rows other processes queued.
func (w *Worker) Run(ctx context.Context) {
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Log.Error("deliver notifications", "err", err)
		}
		if n == w.cfg.Batch {
			continue // more may be due
		}
		wait := w.cfg.Poll
		if next, err := w.store.NextDelivery(ctx); err == nil && !next.IsZero() {
			if d := time.Until(next); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims the rows due now and delivers them, one after another,
// renewing the claims while it works. It returns how many it claimed.
// Tests drive the worker with it and a Now of their own.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	claimed := w.cfg.Now()
	list, err := w.store.ClaimDeliveries(ctx, w.cfg.Name, claimed, w.cfg.Lease, w.cfg.Batch)
	if err != nil || len(list) == 0 {
		return 0, err
	}
	l := &lease{end: claimed.Add(w.cfg.Lease), held: len(list)}
	stop := w.renew(ctx, l)
	defer stop()
	var errs []error
	rctx := context.WithoutCancel(ctx)
	for _, d := range list {
		// A row is sent only while its claim is surely this worker's: a
		// claim not renewed in time, or released by a starting process that
		// took this one for dead, may be another worker's by now. The rest
		// of the batch is handed back, uncounted.
		// On shutdown too: the next process sends them at once.
		if !l.hold(w.cfg.Now().Add(leaseMargin)) || ctx.Err() != nil {
			errs = append(errs, w.store.ReleaseDelivery(rctx, d.ID, w.cfg.Name))
			continue
		}
		errs = append(errs, w.deliver(ctx, d))
	}
	return len(list), errors.Join(errs...)
}

// lease is what a worker knows of the claims of one batch: until when they
// last were renewed, how many rows it still holds, and whether some were
// lost (a renewal found fewer than it held).
type lease struct {
	mu   sync.Mutex
	end  time.Time
	held int
	lost bool
}

// hold says whether the batch's claims outlast at, and if so counts one
// row as taken out of the batch (about to be sent and recorded).
func (l *lease) hold(at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held--
	return !l.lost && l.end.After(at)
}

// renew renews the batch's claims every Renew until the returned stop is
// called.
func (w *Worker) renew(ctx context.Context, l *lease) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(w.cfg.Renew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			l.mu.Lock()
			now := w.cfg.Now()
			// held counts the rows not yet taken out of the batch; they are
			// recorded later, so a renewal finding fewer means some were
			// taken away.
			n, err := w.store.RenewClaims(context.WithoutCancel(ctx), w.cfg.Name, now, now.Add(w.cfg.Lease))
			switch {
			case err != nil:
				w.cfg.Log.Warn("renew notification claims", "err", err)
			case n < int64(l.held):
				l.lost = true
				w.cfg.Log.Warn("notification claims lost: another process released them", "held", l.held, "renewed", n)
			default:
				l.end = now.Add(w.cfg.Lease)
			}
			l.mu.Unlock()
		}
	})
	return func() { close(done); wg.Wait() }
}

// deliver sends one row and records the outcome; only a failure to record
// it is returned.
func (w *Worker) deliver(ctx context.Context, d db.Delivery) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	err := w.send(actx, d)
	cancel()
	// The outcome is recorded even while shutting down: the message went.
	rctx := context.WithoutCancel(ctx)
	now := w.cfg.Now()
	if err == nil {
		return w.store.MarkSent(rctx, d.ID, w.cfg.Name, now)
	}
	giveUp := !now.Before(d.CreatedAt.Add(w.cfg.GiveUp))
	next := now.Add(backoff(d.Attempts))
	w.cfg.Log.Warn("notification not delivered", "id", d.ID, "kind", d.Kind, "attempt", d.Attempts, "given_up", giveUp, "err", err)
	return w.store.MarkFailed(rctx, d.ID, w.cfg.Name, clip.String(err.Error(), 500), next, giveUp)
}

func (w *Worker) send(ctx context.Context, d db.Delivery) error {
	switch d.Kind {
	case db.KindEmail:
		return w.cfg.Mail.Send(ctx, mail.Message{To: d.Address, Subject: d.Subject, Text: d.Body})
	case db.KindSMS, db.KindVoice:
		if w.cfg.Phone == nil {
			return errors.New("no SMS and voice provider is configured (ROSTER_TWILIO_*)")
		}
		if d.Kind == db.KindSMS {
			return w.cfg.Phone.SendSMS(ctx, d.Address, smsText(d))
		}
		return w.cfg.Phone.Call(ctx, d.Address, d.Subject+". "+d.Body)
	case db.KindSlack:
		return postSlack(ctx, w.cfg.HTTP, d)
	case db.KindWebhook:
		return postWebhook(ctx, w.cfg.HTTP, d, w.cfg.Now())
	}
	return fmt.Errorf("unknown kind %q", d.Kind)
}

// smsText is the subject and body in one message, cut to what 10 SMS
// segments hold.
func smsText(d db.Delivery) string {
	s := d.Subject
	if d.Body != "" {
		s += "\n" + d.Body
	}
	return clip.String(s, 1500)
}

// backoff is the wait after the given number of attempts: 30 s doubling up
// to an hour, with full jitter over its upper half so that retries after an
// outage do not all arrive at once.
func backoff(attempts int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	j, err := rand.Int(rand.Reader, big.NewInt(int64(d/2)))
	if err != nil {
		return d
	}
	return d/2 + time.Duration(j.Int64())
}
