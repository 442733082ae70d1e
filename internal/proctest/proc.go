// Package proctest is what the tests and benchmarks see of a roster
// process from outside: in /proc, the children a server started (its
// password hash workers), their priority, CPU, faults and memory; the
// address its log says it listens on; a free loopback address to give it;
// its environment, and waiting for what it does.
package proctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Children lists the running processes that pid started.
func Children(pid int) []int {
	lists, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var pids []int
	for _, list := range lists {
		b, _ := os.ReadFile(list)
		for f := range strings.FieldsSeq(string(b)) {
			if child, err := strconv.Atoi(f); err == nil {
				pids = append(pids, child)
			}
		}
	}
	return pids
}

// Stat returns the fields of /proc/PID/stat after "pid (comm) ", so
// that field n of proc(5) is [n-3]: minflt (10) is [7], utime (14) [11],
// stime (15) [12], nice (19) [16].
func Stat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 17 {
		return nil, fmt.Errorf("/proc/%d/stat has %d fields after the name", pid, len(f))
	}
	return f, nil
}

// StatusKB reads one size of pid, in KiB, from /proc/PID/status:
// VmRSS is all resident memory, RssAnon the part that is not file pages.
func StatusKB(pid int, key string) (int64, error) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// ListenAddr finds the address in the "Roster is listening" line of a
// server's JSON log, or "" while there is none.
func ListenAddr(log string) string {
	for line := range strings.Lines(log) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "Roster is listening" {
			return rec.Addr
		}
	}
	return ""
}

// LoopbackAddr returns a loopback address nothing listens on (for now).
func LoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Env turns a map into the getenv that server.Command.Run takes.
func Env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// WaitFor polls cond every 10 ms for up to ten seconds, and fails the test
// naming what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
