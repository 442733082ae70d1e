package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rosterhq/roster/internal/proctest"
)

// TestLitestreamRestore is continuous backup as an operator runs it: serve
// with ROSTER_LITESTREAM_URL on a directory, or on a bucket of an
// S3-protocol server on loopback (gofakes3) with the endpoint and keys in
// the environment; sign up through HTTP, stop the server (the replicate
// child syncs what is left), then `roster restore` into a new file, which
// holds the user. A second restore onto that file is refused.
func TestLitestreamRestore(t *testing.T) {
	bin := buildRoster(t)
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		testLitestream(t, bin, dir, "file://"+filepath.Join(dir, "replica"))
	})
	t.Run("s3", func(t *testing.T) {
		mem := s3mem.New()
		if err := mem.CreateBucket("roster-backups"); err != nil {
			t.Fatal(err)
		}
		s3 := httptest.NewServer(gofakes3.New(mem).Server())
		defer s3.Close()
		testLitestream(t, bin, t.TempDir(), "s3://roster-backups/roster",
			"ROSTER_LITESTREAM_S3_ENDPOINT="+s3.URL, "AWS_ACCESS_KEY_ID=roster-e2e", "AWS_SECRET_ACCESS_KEY=roster-e2e-secret",
			// Litestream's S3 client cannot take one, and Roster refuses it.
			"AWS_CA_BUNDLE=")
	})
}

func testLitestream(t *testing.T, bin, dir, replica string, env ...string) {
	dbPath := filepath.Join(dir, "roster.db")
	env = append(env, "ROSTER_LITESTREAM_URL="+replica)
	srv := startServer(t, bin, dbPath, env...)

	// The replicate child runs in a process group of its own, so that a
	// terminal's Ctrl-C reaches only the server, which stops it last.
	var replicator int
	proctest.WaitFor(t, "the replicate child", func() bool {
		for _, pid := range proctest.Children(srv.cmd.Process.Pid) {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasSuffix(string(cmdline), "\x00replicate\x00") {
				replicator = pid
				return true
			}
		}
		return false
	})
	server, err := proctest.Stat(srv.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	child, err := proctest.Stat(replicator)
	if err != nil {
		t.Fatal(err)
	}
	if server[2] == child[2] {
		t.Errorf("the replicate child shares the server's process group %s", server[2])
	}

	b := newBrowser(t, srv.base)
	status, err := b.post("/signup", url.Values{"name": {"Backed Up"}, "email": {"backed-up@example.com"}, "password": {"seven quiet lanterns in the harbour"}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign up: got %d, %v, want 303", status, err)
	}
	srv.stop(t)
	log := srv.stderr.String()
	for _, want := range []string{"continuous backup is streaming", "continuous backup stopped after a final sync"} {
		if !strings.Contains(log, want) {
			t.Errorf("the server's log does not say %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "starting it again") {
		t.Errorf("the replicate child failed:\n%s", log)
	}

	restored := filepath.Join(t.TempDir(), "restored.db")
	cmd := exec.Command(bin, "restore", "-to", restored)
	cmd.Env = append(rosterEnv(filepath.Join(dir, "elsewhere.db")), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roster restore: %v\n%s\nserver log:\n%s", err, out, srv.stderr.String())
	}
	if !strings.Contains(string(out), "restored "+replica) {
		t.Errorf("roster restore: got %q", out)
	}
	conn := openCopy(t, restored)
	checkIntegrity(t, conn)
	var name string
	if err := conn.QueryRow(`SELECT name FROM users WHERE email = ?`, "backed-up@example.com").Scan(&name); err != nil || name != "Backed Up" {
		t.Errorf("restored database: user backed-up@example.com: got %q, %v", name, err)
	}

	again := exec.Command(bin, "restore", "-to", restored)
	again.Env = cmd.Env
	out, err = again.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already exists") {
		t.Errorf("restore onto an existing file: got %v, %q; want a refusal", err, out)
	}
	if _, err := os.Stat(restored + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s.tmp", restored)
	}
}
