package backup_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rosterhq/roster/backup"
	"github.com/rosterhq/roster/db"
)

// childEnv marks the test binary started again as the replicate child, as
// the server starts `roster replicate`: Litestream must not share a process
// with Roster's SQLite connections (package doc).
const childEnv = "BACKUP_TEST_REPLICATE"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(replicateChild())
	}
	os.Exit(m.Run())
}

func replicateChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	client, err := backup.Client(os.Getenv(backup.EnvURL), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := backup.Replicate(ctx, os.Getenv("ROSTER_DB"), "", client, log); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestFileReplica(t *testing.T) {
	dir := t.TempDir()
	testReplica(t, "file://"+filepath.Join(dir, "replica"), map[string]string{})
}

// TestS3Replica streams to a real S3-protocol server on loopback (gofakes3
// in memory), with the endpoint, region and keys as an operator sets them.
func TestS3Replica(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "") // see Client
	mem := s3mem.New()
	if err := mem.CreateBucket("roster-backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	testReplica(t, "s3://roster-backups/prod/roster", map[string]string{
		backup.EnvEndpoint:      srv.URL,
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "roster-test",
		"AWS_SECRET_ACCESS_KEY": "roster-test-secret",
	})
	objs, err := mem.ListBucket("roster-backups", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil || len(objs.Contents) == 0 {
		t.Errorf("bucket: got %v objects, %v; want the replica's files", objs, err)
	}
}

// testReplica writes users through the store while the replicate child
// streams, restores the latest state and a point in time between two
// writes, and checks which users each restore holds.
func testReplica(t *testing.T, replicaURL string, env map[string]string) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.db")
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	getenv := func(k string) string {
		if k == backup.EnvURL {
			return replicaURL
		}
		return env[k]
	}
	client, err := backup.Client(replicaURL, getenv)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	childArgs := []string{childEnv + "=1", "ROSTER_DB=" + path, backup.EnvURL + "=" + replicaURL}
	for k, v := range env {
		childArgs = append(childArgs, k+"="+v)
	}
	supCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		backup.Supervisor{
			Exe: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), childArgs...),
			Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Stderr: os.Stderr,
		}.Run(supCtx)
	}()
	defer func() { stop(); <-done }()

	addUser(t, store, "before@example.com")
	waitForUser(t, client, dir, "before@example.com")
	between := time.Now()
	// Past the second: a replica may keep its files' times in seconds.
	time.Sleep(1100 * time.Millisecond)
	addUser(t, store, "after@example.com")
	latest := waitForUser(t, client, dir, "after@example.com")
	if !hasUser(t, latest, "before@example.com") {
		t.Errorf("latest restore: before@example.com missing")
	}

	pit := filepath.Join(dir, "pit.db")
	if err := backup.Restore(ctx, client, pit, between); err != nil {
		t.Fatalf("restore at %s: %v", between.Format(time.RFC3339Nano), err)
	}
	if !hasUser(t, pit, "before@example.com") {
		t.Errorf("restore at %s: before@example.com missing", between.Format(time.RFC3339Nano))
	}
	if hasUser(t, pit, "after@example.com") {
		t.Errorf("restore at %s: after@example.com, written later, is there", between.Format(time.RFC3339Nano))
	}

	if err := backup.Restore(ctx, client, pit, time.Time{}); !errors.Is(err, backup.ErrExists) {
		t.Errorf("restore onto an existing file: got %v, want ErrExists", err)
	}
	if err := backup.Restore(ctx, client, filepath.Join(dir, "early.db"), between.Add(-time.Hour)); !errors.Is(err, backup.ErrNoBackup) {
		t.Errorf("restore before the first backup: got %v, want ErrNoBackup", err)
	}
}

func addUser(t *testing.T, store *db.Store, email string) {
	t.Helper()
	if _, err := store.CreateUser(context.Background(), db.NewUser{Email: email, PasswordHash: "x"}, db.Event{Kind: db.EventSignUp}); err != nil {
		t.Fatal(err)
	}
}

var restores int

// waitForUser restores the latest state to new files until one holds
// email, and returns that file.
func waitForUser(t *testing.T, c litestream.ReplicaClient, dir, email string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		restores++
		path := filepath.Join(dir, fmt.Sprintf("latest-%d.db", restores))
		err := backup.Restore(context.Background(), c, path, time.Time{})
		if err == nil && hasUser(t, path, email) {
			return path
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach the replica in 20s (last restore: %v)", email, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func hasUser(t *testing.T, path, email string) bool {
	t.Helper()
	store, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = store.UserByEmail(context.Background(), email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		t.Fatalf("%s: %v", path, err)
	}
	return err == nil
}

// TestReplicateStoppedAtOnce: a replicate child told to stop before its
// first copy (a server stopped a moment after it started) still makes one.
func TestReplicateStoppedAtOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.db")
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	addUser(t, store, "quick@example.com")
	// Closed before Litestream opens the file in this process (package doc).
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	client, err := backup.Client("file://"+filepath.Join(dir, "replica"), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if err := backup.Replicate(stopped, path, "", client, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("replicate: %v", err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := backup.Restore(ctx, client, restored, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !hasUser(t, restored, "quick@example.com") {
		t.Error("quick@example.com is not in the replica")
	}
}
