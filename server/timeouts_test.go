package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// TestHTTPServerTimeouts: the server of `roster serve` has every timeout
// set, so no client holds a connection forever.
func TestHTTPServerTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler(), config{}.httpTimeouts(), slog.New(slog.DiscardHandler))
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 10 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, 30 * time.Second},
		{"WriteTimeout", srv.WriteTimeout, 60 * time.Second},
		{"IdleTimeout", srv.IdleTimeout, 120 * time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestSlowClientCutOff runs serve with timeouts shortened to fractions of
// a second and checks that a client trickling its headers or its body, or
// idling on a kept-alive connection, is disconnected on time.
func TestSlowClientCutOff(t *testing.T) {
	cfg, err := parseConfig(nil, proctest.Env(map[string]string{
		"ROSTER_DB": filepath.Join(t.TempDir(), "roster.db"), "ROSTER_ADDR": "127.0.0.1:0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.timeouts = timeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 2 * time.Second, Idle: 500 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	var stderr logtest.Buffer
	done := make(chan error, 1)
	go func() { done <- testCommand.serve(ctx, cfg, io.Discard, &stderr) }()
	defer func() { cancel(); <-done }()
	addr := waitListening(t, done, &stderr)

	// trickle writes s a byte every 50 ms, stopping at the first error.
	trickle := func(conn net.Conn, s string) {
		for i := range len(s) {
			if _, err := conn.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// closedWithin reads until the server closes conn and reports how long
	// that took; a whole response read on the way is returned too.
	closedWithin := func(t *testing.T, conn net.Conn, limit time.Duration) (time.Duration, string) {
		t.Helper()
		start := time.Now()
		conn.SetReadDeadline(start.Add(limit))
		b, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection still open after %v, want it closed by the server", limit)
		}
		return time.Since(start), string(b)
	}
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("headers byte by byte", func(t *testing.T) {
		conn := dial(t)
		// 3 s of headers at this pace, against a 300 ms header timeout.
		go trickle(conn, "GET /healthz HTTP/1.1\r\nHost: roster.test\r\nUser-Agent: slowloris/1.0\r\nAccept: */*\r\n\r\n")
		took, got := closedWithin(t, conn, 3*time.Second)
		if strings.Contains(got, "200 OK") {
			t.Errorf("got a response %q, want the connection closed", got)
		}
		t.Logf("closed after %v", took.Round(time.Millisecond))
	})
	t.Run("body byte by byte", func(t *testing.T) {
		conn := dial(t)
		body := strings.Repeat("x", 60)
		io.WriteString(conn, "POST /login HTTP/1.1\r\nHost: roster.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 62\r\n\r\n")
		go trickle(conn, "a="+body)
		took, _ := closedWithin(t, conn, 3*time.Second)
		t.Logf("closed after %v", took.Round(time.Millisecond))
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dial(t)
		io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: roster.test\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: got %v, %v, want 200", res, err)
		}
		res.Body.Close()
		took, _ := closedWithin(t, conn, 3*time.Second)
		t.Logf("closed after %v idle", took.Round(time.Millisecond))
	})
}
