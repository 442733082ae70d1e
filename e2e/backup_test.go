package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/proctest"
)

// TestBackupDuringLoad runs `roster backup` as its own process against the
// file a live `roster serve` is writing to. The copy passes the integrity
// check and holds every write acknowledged before the backup started; then
// the README's restore drill (serve the copy) brings those writes back.
func TestBackupDuringLoad(t *testing.T) {
	bin := buildRoster(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "roster.db")
	srv := startServer(t, bin, dbPath)

	log := newWriteLog()
	stop := make(chan struct{})
	browsers, wait := writeLoad(t, func() *browser { return newBrowser(t, srv.base) }, "", 6, 2, log, stop)
	defer func() {
		close(stop)
		wait()
	}()
	proctest.WaitFor(t, "200 acknowledged writes, a sign-up among them", func() bool { return log.ready(200) })

	names, signups := log.snapshot()
	if len(signups) == 0 {
		t.Fatal("no sign-up was acknowledged before the backup; the test would prove nothing about inserts")
	}
	backup := filepath.Join(dir, "backup.db")
	cmd := exec.Command(bin, "backup", backup)
	cmd.Env = rosterEnv(dbPath)
	before := log.count()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roster backup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "wrote a consistent copy") {
		t.Errorf("roster backup: got %q", out)
	}
	if after := log.count(); after == before {
		t.Errorf("no write was acknowledged while the backup ran (%d before and after): it did not run under load", before)
	}

	conn := openCopy(t, backup)
	checkIntegrity(t, conn)
	checkWrites(t, conn, names, signups)
	conn.Close()

	// The restore drill: a server on the copy answers /healthz and shows
	// each renamer, still signed in, a name it had saved.
	restored := startServer(t, bin, backup)
	for email, b := range browsers {
		b = &browser{hc: b.hc, base: restored.base}
		status, body, err := b.get("/profile")
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: GET /profile on the restored copy: got %d, %v, want 200", email, status, err)
		}
		acked := names[email]
		if len(acked) == 0 {
			continue
		}
		// Names count up: the copy has the last one acknowledged before
		// the backup, or a later one.
		m := regexp.MustCompile(regexp.QuoteMeta(strings.TrimSuffix(email, "@example.com")) + ` name (\d+)\.`).FindStringSubmatch(body)
		if m == nil || nameNumber(m[0]) < nameNumber(acked[len(acked)-1]) {
			t.Errorf("%s: the restored profile shows %q, want %q or later", email, m, acked[len(acked)-1])
		}
	}
	restored.stop(t)
}

// nameNumber is the count in a renamer's name, "renamer3 name 41." -> 41.
func nameNumber(name string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(name[strings.LastIndex(name, " ")+1:], "."))
	return n
}
