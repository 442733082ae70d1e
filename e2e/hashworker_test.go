package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/proctest"
)

// TestHashWorkerIsTheServersBuild: an upgrade replaces the binary at its
// path while the old server still runs. The server's hash workers must
// still be its own build (a new one might speak another protocol), so the
// next sign-up is hashed by a worker running the replaced file, and not in
// the server's process as a fallback.
func TestHashWorkerIsTheServersBuild(t *testing.T) {
	bin := buildRoster(t)
	srv := startServer(t, bin, filepath.Join(t.TempDir(), "roster.db"))
	next := bin + ".next"
	if err := os.WriteFile(next, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, bin); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, srv.base)
	status, err := b.post("/signup", url.Values{"name": {"Upgrade"}, "email": {"upgrade@example.com"},
		"password": {"seven quiet lanterns in the harbour"}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign-up: got %d, %v; want 303\n%s", status, err, srv.stderr)
	}
	if log := srv.stderr.String(); strings.Contains(log, "hash worker did not start") || strings.Contains(log, "hash worker stopped") || strings.Contains(log, "server's process") {
		t.Fatalf("the sign-up was not hashed by a worker:\n%s", log)
	}
	workers := proctest.Children(srv.cmd.Process.Pid)
	if len(workers) != 1 {
		t.Fatalf("the server has %d children %v, want its hash worker", len(workers), workers)
	}
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(workers[0]), "exe"))
	if err != nil || !strings.HasSuffix(exe, " (deleted)") {
		t.Errorf("the worker runs %q (%v), want the server's replaced build, %s (deleted)", exe, err, bin)
	}
}
