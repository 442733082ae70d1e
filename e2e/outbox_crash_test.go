package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/internal/smtptest"
)

// TestCrashDuringDelivery queues notifications through the API while the
// mail server hangs, kills `roster serve` with SIGKILL while its worker
// holds a full batch, and starts it again with the mail server answering:
// the new process releases the dead one's claims at start, so every
// notification arrives, once, within seconds (it took 123 s when the
// claims waited out a 2-minute lease).
func TestCrashDuringDelivery(t *testing.T) {
	const notices = 30
	bin := buildRoster(t)
	dbPath := filepath.Join(t.TempDir(), "roster.db")
	smtp := smtptest.Start(t)
	smtp.Hold()
	token := strings.Repeat("t", 40)
	env := []string{"ROSTER_SMTP_URL=smtp://" + smtp.Addr, "ROSTER_API_TOKEN=" + token}
	create := exec.Command(bin, "user", "create", "-email", "ann@example.com", "-verified")
	create.Env = rosterEnv(dbPath)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("roster user create: %v\n%s", err, out)
	}

	srv := startServer(t, bin, dbPath, env...)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	for i := range notices {
		body, _ := json.Marshal(map[string]any{"user": "ann@example.com", "circumstance": "security",
			"subject": fmt.Sprintf("Notice %02d", i), "body": "body"})
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/notify", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /api/v1/notify: got %d, want 202", res.StatusCode)
		}
	}
	// The first notice woke the worker alone: it holds that one.
	proctest.WaitFor(t, "the worker to be mid-delivery, waiting on the mail server", func() bool { return smtp.Held() == 1 })
	srv.signal(syscall.SIGKILL)
	<-srv.exited
	// The next process, the mail server still hanging, releases it and
	// claims a full batch.
	srv = startServer(t, bin, dbPath, env...)
	proctest.WaitFor(t, "the second process to be mid-delivery", func() bool { return smtp.Held() == 2 })
	claimed := countClaimed(t, dbPath)
	srv.signal(syscall.SIGKILL)
	<-srv.exited
	if claimed < 2 {
		t.Fatalf("%d rows were claimed when the server was killed, want a batch", claimed)
	}
	smtp.Release()

	restart := time.Now()
	again := startServer(t, bin, dbPath, env...)
	var last time.Duration
	proctest.WaitFor(t, fmt.Sprintf("all %d notifications after the restart", notices), func() bool {
		if len(subjects(smtp.Mails())) < notices {
			return false
		}
		last = time.Since(restart)
		return true
	})
	again.stop(t)
	t.Logf("%d notifications queued, %d claimed by the killed worker: the last arrived %.1f s after the restart (123 s when claims waited out the lease)",
		notices, claimed, last.Seconds())
	if !strings.Contains(again.stderr.String(), "released the claims of a process that is gone") {
		t.Errorf("the restarted server's log does not say it released the dead process's claims:\n%s", again.stderr.String())
	}
	count := subjects(smtp.Mails())
	for i := range notices {
		if s := fmt.Sprintf("Notice %02d", i); count[s] != 1 {
			t.Errorf("%q arrived %d times, want once", s, count[s])
		}
	}
	var queued int
	if err := openCopy(t, dbPath).QueryRow(`SELECT count(*) FROM outbox WHERE state != 'sent'`).Scan(&queued); err != nil || queued != 0 {
		t.Errorf("%d rows not marked sent (%v), want 0", queued, err)
	}
}

// subjects counts the notices among mails by subject.
func subjects(mails []smtptest.Mail) map[string]int {
	count := map[string]int{}
	for _, m := range mails {
		if strings.Contains(m.Subject, "Notice ") {
			count[m.Subject[strings.Index(m.Subject, "Notice "):]]++
		}
	}
	return count
}

// countClaimed counts the outbox rows a worker holds.
func countClaimed(t *testing.T, dbPath string) int {
	t.Helper()
	conn := openCopy(t, dbPath)
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM outbox WHERE state = 'queued' AND claimed_by != ''`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	return n
}
