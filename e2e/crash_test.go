package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
)

// TestCrashKeepsAcknowledgedWrites kills `roster serve` with SIGKILL in the
// middle of write load (names saved and people signing up over real HTTP),
// starts it again on the same file and checks that every write the first
// process acknowledged is there and the database is intact.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin := buildRoster(t)
	dbPath := filepath.Join(t.TempDir(), "roster.db")
	srv := startServer(t, bin, dbPath)
	start := time.Now()

	log := newWriteLog()
	stop := make(chan struct{})
	browsers, wait := writeLoad(t, func() *browser { return newBrowser(t, srv.base) }, "", 8, 2, log, stop)
	proctest.WaitFor(t, "300 acknowledged writes, a sign-up among them", func() bool { return log.ready(300) })
	srv.signal(syscall.SIGKILL)
	<-srv.exited
	close(stop)
	wait()
	names, signups := log.snapshot()
	if len(signups) == 0 {
		t.Fatal("no sign-up was acknowledged before the kill; the test would prove nothing about inserts")
	}
	if ws, ok := srv.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first process: got %v, want killed by SIGKILL", srv.cmd.ProcessState)
	}
	t.Logf("killed after %d acknowledged writes (%d sign-ups) in %v", log.count(), len(signups), time.Since(start).Round(time.Millisecond))

	again := startServer(t, bin, dbPath)
	// The restarted server serves what was saved: each renamer's session
	// is still valid and its profile shows the last name acknowledged, or
	// the one whose answer the kill cut off.
	for email, b := range browsers {
		b.base = again.base
		status, body, err := b.get("/profile")
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: GET /profile after the restart: got %d, %v, want 200", email, status, err)
		}
		acked := names[email]
		if len(acked) == 0 {
			continue
		}
		last, cut := acked[len(acked)-1], log.inFlight[email]
		if !strings.Contains(body, last) && (cut == "" || !strings.Contains(body, cut)) {
			t.Errorf("%s: profile shows neither the last acknowledged name %q nor the unanswered %q", email, last, cut)
		}
	}
	again.stop(t)

	conn := openCopy(t, dbPath)
	checkIntegrity(t, conn)
	checkWrites(t, conn, names, signups)
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("load, kill, restart and checks took %v, want under 30s", elapsed)
	}
}
