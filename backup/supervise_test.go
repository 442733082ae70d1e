package backup_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/backup"
)

// starts counts the lines a supervised shell child appended to file. The
// child sets its trap before it writes "up", so a SIGTERM right after that
// is always answered with "down".
func starts(file string) int {
	b, _ := os.ReadFile(file)
	return strings.Count(string(b), "\n")
}

// TestSupervisorFollowsPrimary: no child while Primary says no; one once it
// says yes; the child is stopped (SIGTERM) when it says no again, and when
// the context ends.
func TestSupervisorFollowsPrimary(t *testing.T) {
	file := filepath.Join(t.TempDir(), "starts")
	var primary atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		backup.Supervisor{
			Exe: "/bin/sh", Args: []string{"-c", `trap 'echo down >> "$F"; exit 0' TERM; echo up >> "$F"; while :; do sleep 0.05; done`},
			Env: []string{"F=" + file}, Primary: primary.Load,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard,
		}.Run(ctx)
	}()
	time.Sleep(1500 * time.Millisecond)
	if n := starts(file); n != 0 {
		t.Fatalf("a replica (Primary false) started the child %d times", n)
	}
	primary.Store(true)
	waitLines(t, file, "up\n")
	primary.Store(false)
	waitLines(t, file, "up\ndown\n")
	primary.Store(true)
	waitLines(t, file, "up\ndown\nup\n")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the context's end")
	}
	if b, _ := os.ReadFile(file); string(b) != "up\ndown\nup\ndown\n" {
		t.Errorf("got %q, want the child stopped by SIGTERM at the end", b)
	}
}

// TestSupervisorRestarts: a child that exits is started again.
func TestSupervisorRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "starts")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go backup.Supervisor{
		Exe: "/bin/sh", Args: []string{"-c", `echo up >> "$F"; exit 3`}, Env: []string{"F=" + file},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard,
	}.Run(ctx)
	waitLines(t, file, "up\nup\n")
}

func waitLines(t *testing.T, file, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %q, want %q", b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
