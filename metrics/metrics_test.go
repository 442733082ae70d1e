package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/notify"
)

// TestOutboxGauges reads /metrics while SMTP is down and after the outbox
// drains: how many notifications wait, in all and by kind, and the age of
// the oldest.
func TestOutboxGauges(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	smtp := smtptest.Start(t)
	smtp.Stop()
	now := time.Now()
	clock := func() time.Time { return now }
	mailer, err := mail.NewSMTP("smtp://"+smtp.Addr, "Roster <roster@localhost>")
	if err != nil {
		t.Fatal(err)
	}
	w := notify.New(store, notify.Config{Mail: mailer, Now: clock, Log: slogDiscard()})
	m := metrics.New()
	m.Watch(metrics.Sources{Store: store, HashDepth: func() (int, int) { return 0, 0 },
		IdleSince: func() time.Time { return now }, Now: clock})
	scrape := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	u, err := store.CreateUser(ctx, db.NewUser{Email: "ann@example.com", Name: "Ann", Verified: true}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Down"}); err != nil {
			t.Fatal(err)
		}
	}
	// The rows carry the time they were queued at, which on a busy machine
	// is some way past the clock's start: the clock starts again from it.
	now = time.Now().Add(5 * time.Second)
	if n, err := w.RunOnce(ctx); n != 3 || err != nil {
		t.Fatalf("run during the outage: claimed %d (%v), want 3", n, err)
	}
	now = now.Add(90 * time.Second)
	body := scrape()
	for _, want := range []string{"roster_outbox_backlog 3", `roster_outbox_queued{kind="email"} 3`, `roster_outbox_queued{kind="sms"} 0`,
		"roster_metrics_scrape_errors 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("during the outage /metrics has no %s", want)
		}
	}
	if age := gauge(t, body, "roster_outbox_oldest_age_seconds"); age < 95 || age > 97 {
		t.Errorf("during the outage the oldest is %v s old, want 95", age)
	}

	smtp.Restart(t)
	now = now.Add(2 * time.Hour)
	for {
		n, err := w.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	body = scrape()
	for _, want := range []string{"roster_outbox_backlog 0", `roster_outbox_queued{kind="email"} 0`, "roster_outbox_oldest_age_seconds 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the outage /metrics has no %s", want)
		}
	}
	if got := len(smtp.Mails()); got != 3 {
		t.Errorf("%d mails arrived, want 3", got)
	}
}

func gauge(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestHashQueueGauges: /metrics shows the password checks waiting and the
// wait one arriving now would have.
func TestHashQueueGauges(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.Watch(metrics.Sources{Store: store, HashDepth: func() (int, int) { return 2, 7 },
		HashWait:  func() time.Duration { return 1500 * time.Millisecond },
		IdleSince: time.Now})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"roster_password_hashes_running 2", "roster_password_hash_queue_depth 7",
		"roster_password_hash_expected_wait_seconds 1.5"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}
