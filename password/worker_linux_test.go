package password

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"golang.org/x/crypto/argon2"
)

// workerHasher is a Hasher hashing in a worker process (this test binary,
// see TestMain) until ctx ends, with its log.
func workerHasher(t *testing.T, ctx context.Context, idle time.Duration) (*Hasher, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	hr := NewHasher(2, 2)
	hr.UseWorkerProcess(ctx, slog.New(slog.NewTextHandler(logs, nil)))
	hr.worker.idle = idle
	return hr, logs
}

// TestWorkerStuck: a worker that stops answering is killed after the
// timeout, the hash it had in hand is done in the server's process, and
// the next hash starts a new worker.
func TestWorkerStuck(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hr.worker.timeout = 2 * time.Second
	hashAndVerify(t, hr)
	stuck := runningWorker(t, hr)
	if err := syscall.Kill(stuck, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	hashAndVerify(t, hr)
	waitExited(t, stuck)
	if !strings.Contains(logs.String(), "killed it after 2s without an answer") {
		t.Errorf("log lacks the kill:\n%s", logs)
	}
	// The next hash starts a new worker: under -race on a busy machine a
	// hash can take longer than 2 s, and the new worker must not be taken
	// for stuck too.
	hr.worker.timeout = time.Minute
	hashAndVerify(t, hr)
	if next := workerPID(hr); next == 0 || next == stuck {
		t.Errorf("worker after the stuck one: %d (stuck %d)", next, stuck)
	}
}

// TestWorkerReleasesMemory: a second after its last hash a worker gives
// the hash's 19 MiB back to the system, while it lives on waiting for the
// next.
func TestWorkerReleasesMemory(t *testing.T) {
	hr, _ := workerHasher(t, t.Context(), time.Minute)
	hashAndVerify(t, hr)
	pid := runningWorker(t, hr)
	anon := func() int64 {
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return kb
			}
		}
		t.Fatal("no RssAnon")
		return 0
	}
	// Measured as a drop rather than a level: under the race detector the
	// worker's shadow memory stays whatever the heap does.
	const drop = 15 << 10 // KiB, most of one hash's 19 MiB
	held := anon()
	deadline := time.Now().Add(10 * time.Second)
	for kb := held; held-kb < drop; kb = anon() {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d holds %d KiB of anonymous memory 10 s after its last hash, %d right after it; want %d less", pid, kb, held, drop)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if workerPID(hr) != pid {
		t.Fatal("the worker exited instead")
	}
}

// TestWorkerDoesNotStart: when the executable cannot be started, hashes
// run in the server's process, and the failure is logged once, not per
// hash.
func TestWorkerDoesNotStart(t *testing.T) {
	logs := &logtest.Buffer{}
	hr := NewHasher(2, 2)
	hr.UseWorkerProcess(t.Context(), slog.New(slog.NewTextHandler(logs, nil)))
	hr.worker.exe = filepath.Join(t.TempDir(), "no-such-roster")
	for range 3 {
		hashAndVerify(t, hr)
	}
	if pid := workerPID(hr); pid != 0 {
		t.Errorf("worker %d running", pid)
	}
	if n := strings.Count(logs.String(), "password hash worker did not start"); n != 1 {
		t.Errorf("the failed start logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "hashing a password in the server's process") {
		t.Errorf("each hash logged the missing worker:\n%s", logs)
	}
}

// workerPID is the process id of hr's running worker, or 0.
func workerPID(hr *Hasher) int {
	hr.worker.mu.Lock()
	defer hr.worker.mu.Unlock()
	if hr.worker.cur == nil {
		return 0
	}
	return hr.worker.cur.cmd.Process.Pid
}

// runningWorker is workerPID for a test that goes on to signal the worker
// or read its /proc entries: it fails the test rather than return 0, which
// kill(2) would take for the test's own process group.
func runningWorker(t *testing.T, hr *Hasher) int {
	t.Helper()
	pid := workerPID(hr)
	if pid <= 0 {
		t.Fatal("no hash worker is running")
	}
	return pid
}

// waitExited waits until pid has exited and been reaped.
func waitExited(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return
		}
	}
	t.Fatalf("worker %d still there after 10s", pid)
}

// hashAndVerify hashes a password with hr and checks it against an
// in-process Hasher both ways: the worker computes the same keys.
func hashAndVerify(t *testing.T, hr *Hasher) {
	t.Helper()
	local := NewHasher(1, 0)
	const pw = "correct horse battery staple"
	for _, pair := range [][2]*Hasher{{hr, local}, {local, hr}} {
		phc, err := pair[0].Hash(t.Context(), pw)
		if err != nil {
			t.Fatal(err)
		}
		for guess, want := range map[string]bool{pw: true, pw + "!": false} {
			if ok, err := pair[1].Verify(t.Context(), guess, phc); err != nil || ok != want {
				t.Fatalf("Verify(%q) = %v, %v; want %v", guess, ok, err, want)
			}
		}
	}
}

// TestWorkerProcess: the worker runs at workerNice on every thread, knows
// nothing of the server's environment, and computes the keys the server
// would.
func TestWorkerProcess(t *testing.T) {
	t.Setenv("ROSTER_SESSION_KEY", "a secret the worker must not see")
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hashAndVerify(t, hr)
	pid := runningWorker(t, hr)
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		// After "pid (comm) ", fields from 3 (state); field 19 is nice.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if f[16] != strconv.Itoa(workerNice) {
			t.Errorf("thread %s of the worker has nice %s, want %d", task, f[16], workerNice)
		}
	}
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if string(env) != workerEnv+"=1\x00" {
		t.Errorf("worker environment %q, want only %s=1", env, workerEnv)
	}
	if logs.String() != "" {
		t.Errorf("log: %s", logs)
	}
}

// TestWorkerKilled: a worker killed between hashes is replaced by the
// next one, and a hash it had in hand is done in the server's process,
// with a warning; neither caller sees an error.
func TestWorkerKilled(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hashAndVerify(t, hr)
	first := runningWorker(t, hr)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, first)
	hashAndVerify(t, hr)
	second := runningWorker(t, hr)
	if second == first {
		t.Fatalf("worker after the kill: %d, the killed one", second)
	}

	// A hash slow enough to kill the worker while it has it in hand.
	slow := hash{params: params{memory: 256 * 1024, time: 8, threads: 1}, salt: []byte("saltsaltsaltsalt")}
	slow.key = argon2.IDKey([]byte("pw"), slow.salt, slow.time, slow.memory, slow.threads, keyLen)
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := hr.Verify(t.Context(), "pw", slow.String())
		done <- result{ok, err}
	}()
	for {
		hr.worker.mu.Lock()
		inHand := hr.worker.cur != nil && len(hr.worker.cur.pending) > 0
		hr.worker.mu.Unlock()
		if inHand {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := syscall.Kill(second, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := <-done; !r.ok || r.err != nil {
		t.Fatalf("Verify with the worker killed = %v, %v; want true", r.ok, r.err)
	}
	for _, want := range []string{"password hash worker stopped", "hashing a password in the server's process"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestWorkerIdle: a worker with nothing to do exits, and the next hash
// starts another.
func TestWorkerIdle(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), 300*time.Millisecond)
	hashAndVerify(t, hr)
	first := runningWorker(t, hr)
	waitExited(t, first)
	hashAndVerify(t, hr)
	if second := workerPID(hr); second == first {
		t.Fatalf("the idle worker %d was used again", first)
	}
	if logs.String() != "" {
		t.Errorf("an idle worker's exit was logged: %s", logs)
	}
}

// TestWorkerClosed: when the server's context ends its worker exits, and
// hashes after that run in the server's process without a warning.
func TestWorkerClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	hr, logs := workerHasher(t, ctx, time.Minute)
	hashAndVerify(t, hr)
	pid := runningWorker(t, hr)
	cancel()
	waitExited(t, pid)
	hashAndVerify(t, hr)
	if pid := workerPID(hr); pid != 0 {
		t.Errorf("worker %d started after the context ended", pid)
	}
	if logs.String() != "" {
		t.Errorf("log: %s", logs)
	}
}
