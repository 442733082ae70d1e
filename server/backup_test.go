package server

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
)

// TestRestoreCommandErrors: each mistake in `roster restore` (and
// `roster replicate`) gets one line that says what to do, and nothing is
// written. The restore itself is tested in package backup and e2e.
func TestRestoreCommandErrors(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	replica := "file://" + filepath.Join(dir, "empty-replica")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no replica", nil, []string{"restore", "-to", filepath.Join(dir, "a.db")}, "ROSTER_LITESTREAM_URL: set it"},
		{"bad replica", map[string]string{"ROSTER_LITESTREAM_URL": "ftp://x/y"}, []string{"restore", "-to", filepath.Join(dir, "a.db")}, "ROSTER_LITESTREAM_URL: want"},
		{"no -to", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"restore"}, "usage: roster restore -to FILE"},
		{"extra argument", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"restore", "-to", filepath.Join(dir, "a.db"), "more"}, "usage: roster restore -to FILE"},
		{"bad timestamp", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"restore", "-to", filepath.Join(dir, "a.db"), "-timestamp", "yesterday"}, "restore -timestamp: want RFC 3339"},
		{"existing file", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"restore", "-to", existing}, "restore to " + existing + ": already exists"},
		{"empty replica", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"restore", "-to", filepath.Join(dir, "a.db")}, "restore: no backup in the replica"},
		{"replicate with an argument", map[string]string{"ROSTER_LITESTREAM_URL": replica}, []string{"replicate", "now"}, "usage: roster replicate"},
		{"replicate without a database", map[string]string{"ROSTER_LITESTREAM_URL": replica, "ROSTER_DB": filepath.Join(dir, "none.db")}, []string{"replicate"}, "replicate " + filepath.Join(dir, "none.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testCommand.Run(t.Context(), tt.args, proctest.Env(tt.env), strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line starting with %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.db")); !os.IsNotExist(err) {
		t.Errorf("a failed restore left a.db behind: %v", err)
	}
}

// TestReplicaEnv: the replicate child gets the backup's settings as serve
// read them, flags included, since it reads only its environment.
func TestReplicaEnv(t *testing.T) {
	cfg, err := parseConfig([]string{"-db", "/data/flag.db", "-litestream-url", "s3://b/roster", "-litestream-s3-endpoint", "http://127.0.0.1:9000", "-litestream-dir", "/state"},
		proctest.Env(map[string]string{"ROSTER_DB": "/data/env.db", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "ROSTER_SECRET": strings.Repeat("x", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.replicaEnv, " ")
	want := "ROSTER_DB=/data/flag.db ROSTER_LITESTREAM_URL=s3://b/roster ROSTER_LITESTREAM_S3_ENDPOINT=http://127.0.0.1:9000 ROSTER_LITESTREAM_DIR=/state AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBackupFollowsTheRole: the backup streams only from the primary: on
// one machine always, with LiteFS while no .primary file names another
// node, and again once it is promoted.
func TestBackupFollowsTheRole(t *testing.T) {
	if !isPrimary(nil)() {
		t.Fatal("one machine (no LiteFS): isPrimary false, want true")
	}
	dir := t.TempDir()
	r := newRole(config{LiteFS: true, DB: filepath.Join(dir, "roster.db")}, slog.New(slog.DiscardHandler))
	primary := isPrimary(r)
	if !primary() {
		t.Fatal("LiteFS without .primary: isPrimary false, want true")
	}
	if err := os.WriteFile(filepath.Join(dir, ".primary"), []byte("node-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.checked = time.Time{} // read the file now, not after roleEvery
	r.mu.Unlock()
	if primary() {
		t.Fatal("a replica (.primary names node-a): isPrimary true, want false")
	}
	if err := os.Remove(filepath.Join(dir, ".primary")); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.checked = time.Time{}
	r.mu.Unlock()
	if !primary() {
		t.Fatal("promoted (.primary gone): isPrimary false, want true")
	}
}
