package notify_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/notify"
)

// TestBacklogLog: during an SMTP outage the log says, at each check once
// a message has waited a minute, how many wait, the oldest's age and the
// error; once when they are delivered; then nothing.
func TestBacklogLog(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	smtp := smtptest.Start(t)
	smtp.Stop()
	clk := newClock()
	w := notify.New(store, notify.Config{Mail: smtpMailer(t, smtp.Addr), Now: clk.Now, Log: quietLog(t)})
	var log logtest.Buffer
	watch := notify.NewBacklogLog(store, slog.New(slog.NewTextHandler(&log, nil)), clk.Now)
	u := newUser(t, store, "ann@example.com")
	for _, s := range []string{"one", "two", "three"} {
		if _, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: s}); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, w)
	lines := func() []string {
		return strings.FieldsFunc(log.String(), func(r rune) bool { return r == '\n' })
	}
	check := func() {
		t.Helper()
		if err := watch.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}

	check()
	if got := lines(); len(got) != 0 {
		t.Errorf("a few seconds into the outage the log says %q, want nothing yet", got)
	}
	clk.Add(3 * time.Minute)
	check()
	check()
	got := lines()
	if len(got) != 2 {
		t.Fatalf("after 3 minutes, two checks: got %q, want two lines", got)
	}
	for _, want := range []string{"outbox: 3 waiting, oldest 3m", "last error: smtp " + smtp.Addr, "connection refused", "level=WARN"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("log line %q has no %q", got[0], want)
		}
	}

	smtp.Restart(t)
	clk.Add(2 * time.Hour)
	drain(t, w)
	check()
	check()
	got = lines()
	if len(got) != 3 || !strings.Contains(got[2], "outbox: drained") {
		t.Errorf("after the outage: got %q, want one more line, saying the outbox drained", got)
	}
}
