package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// waitListening waits for an in-process serve, whose result comes on done,
// to log that it listens, and returns the address; serve returning first
// fails the test.
func waitListening(t *testing.T, done <-chan error, log *logtest.Buffer) string {
	t.Helper()
	var addr string
	proctest.WaitFor(t, "the listening log line", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, log.String())
		default:
		}
		addr = proctest.ListenAddr(log.String())
		return addr != ""
	})
	return addr
}

// TestServeGracefulShutdown runs `roster serve` with a demo user, starts a
// sign-in whose body is still arriving, cancels: the server stops accepting,
// finishes that request, returns nil and leaves the WAL checkpointed.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "roster.db")
	env := map[string]string{"ROSTER_DB": dbPath, "ROSTER_ADDR": "127.0.0.1:0", "ROSTER_DEMO": "1"}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr logtest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- testCommand.Run(ctx, []string{"serve"}, proctest.Env(env), strings.NewReader(""), &stdout, &stderr)
	}()

	addr := waitListening(t, done, &stderr)
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	proctest.WaitFor(t, "GET /healthz 200", func() bool {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(body) == "ok"
	})
	m := demoLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("ROSTER_DEMO=1: got stdout %q, want the demo credentials", stdout.String())
	}
	if info, err := os.Stat(dbPath + "-wal"); err != nil || info.Size() == 0 {
		t.Fatalf("while serving: want a non-empty WAL to checkpoint, got %v, %v", info, err)
	}

	// A sign-in hashes in a worker process, a child of the server.
	before := hashWorkers(t)
	const token = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG" // 43 characters, as the CSRF cookie
	form := url.Values{"email": {m[1]}, "password": {m[2]}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "roster_csrf="+token)
	req.Header.Set("X-CSRF-Token", token)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("sign-in with the demo credentials: got %d to %q, want 303 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}
	var worker int
	for _, pid := range hashWorkers(t) {
		if !slices.Contains(before, pid) {
			if worker != 0 {
				t.Fatalf("hash workers %d and %d started for one sign-in", worker, pid)
			}
			worker = pid
		}
	}
	if worker == 0 {
		t.Fatal("no hash worker started for a sign-in")
	}

	// A sign-in whose body has not all arrived is in flight at shutdown.
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\nCookie: roster_csrf=%s\r\nX-CSRF-Token: %s\r\n\r\n%s",
		addr, len(form), token, token, form[:10])
	time.Sleep(200 * time.Millisecond)

	cancel()
	proctest.WaitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	io.WriteString(conn, form[10:])
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		t.Errorf("in-flight sign-in with the demo credentials: got %d to %q, want 303 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return within 15s of cancel")
	}
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() != 0 {
		t.Errorf("after shutdown the WAL has %d bytes, want it checkpointed (empty or gone)", info.Size())
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Error(err)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("log does not say it is shutting down:\n%s", stderr.String())
	}
	proctest.WaitFor(t, "the hash worker to exit", func() bool { return !slices.Contains(hashWorkers(t), worker) })
}

// hashWorkers are the test process's children that are password hash
// workers: started with only ROSTER_HASH_WORKER=1 in their environment, at
// nice 10.
func hashWorkers(t *testing.T) []int {
	t.Helper()
	var workers []int
	for _, pid := range proctest.Children(os.Getpid()) {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil || string(env) != "ROSTER_HASH_WORKER=1\x00" {
			continue // exited, or some other child
		}
		stat, err := proctest.Stat(pid)
		if err != nil {
			continue
		}
		if nice := stat[16]; nice != "10" {
			t.Errorf("hash worker %d has nice %s, want 10", pid, nice)
		}
		workers = append(workers, pid)
	}
	return workers
}
