package password

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"golang.org/x/crypto/argon2"
	"golang.org/x/sys/unix"
)

// workerHasher is a Hasher hashing in a worker process (this test binary,
// see TestMain) until ctx ends, with its log. Its workers start at nice 10
// (lowClass): in idleClass a busy machine, as under make test, would have
// them replaced at any time, which only TestWorkerStarved is about.
func workerHasher(t *testing.T, ctx context.Context, idle time.Duration) (*Hasher, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	hr := NewHasher(2, 2)
	hr.UseWorkerProcess(ctx, slog.New(slog.NewTextHandler(logs, nil)))
	hr.worker.idle = idle
	hr.worker.class = lowClass
	return hr, logs
}

// TestWorkerStarved: a worker in idleClass that gets no CPU (stopped
// here, as when every core is busy) is replaced, after about
// workerPatience, by one at nice 10 that takes over its hash; the hash is
// answered by the worker, not the server's process, and the starved one
// is killed without a warning. The next worker after that one retires is
// in idleClass again.
func TestWorkerStarved(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hr.worker.class = idleClass
	starved := startWorker(t, hr)
	wantClass(t, starved, unix.SCHED_IDLE)
	if err := syscall.Kill(starved, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := hr.Hash(t.Context(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	waitExited(t, starved)
	if took < workerPatience/2 {
		t.Errorf("the hash took %v with its worker stopped; it was not answered by that worker", took)
	}
	low := runningWorker(t, hr)
	if low == starved {
		t.Fatal("the stopped worker is still the current one")
	}
	wantClass(t, low, unix.SCHED_NORMAL)
	if !strings.Contains(logs.String(), "password hash worker starved") {
		t.Errorf("log lacks the replacement:\n%s", logs)
	}
	for _, noise := range []string{"level=WARN", "server's process"} {
		if strings.Contains(logs.String(), noise) {
			t.Errorf("log has %q: the hash was not taken over quietly:\n%s", noise, logs)
		}
	}
	hashAndVerify(t, hr)
	if workerPID(hr) != low {
		t.Error("the next hash did not go to the nice-10 worker")
	}

	hr.worker.mu.Lock()
	cur := hr.worker.cur
	hr.worker.mu.Unlock()
	hr.worker.retire(cur) // as its idle timer does
	waitExited(t, low)
	wantClass(t, startWorker(t, hr), unix.SCHED_IDLE)
}

// TestWorkerStarvedByBusyCores: with a thread at normal priority busy on
// every core, a worker in idleClass gets next to no CPU; it is taken for
// starved and the hash is done at nice 10.
func TestWorkerStarvedByBusyCores(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hr.worker.class = idleClass
	idle := startWorker(t, hr)
	var stop atomic.Bool
	var busy sync.WaitGroup
	for range runtime.NumCPU() {
		busy.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !stop.Load() {
			}
		})
	}
	_, err := hr.Hash(t.Context(), "correct horse battery staple")
	stop.Store(true)
	busy.Wait()
	if err != nil {
		t.Fatal(err)
	}
	waitExited(t, idle)
	wantClass(t, runningWorker(t, hr), unix.SCHED_NORMAL)
	if !strings.Contains(logs.String(), "password hash worker starved") {
		t.Errorf("log lacks the replacement:\n%s", logs)
	}
}

// TestWorkerStuck: a worker that stops answering and cannot be replaced
// (it is at nice 10) is killed after the timeout, the hash it had
// in hand is done in the server's process, and the next hash starts a new
// worker.
func TestWorkerStuck(t *testing.T) {
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	hashAndVerify(t, hr)
	// Shortened only now: under -race on a busy machine (make test) a
	// hash can take longer than 2 s, and this worker must not be killed
	// before it is stopped below.
	hr.worker.timeout = 2 * time.Second
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

// wantClass checks the scheduling policy of every thread of worker pid,
// and its nice.
func wantClass(t *testing.T, pid int, policy int) {
	t.Helper()
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
	if len(tasks) == 0 {
		t.Fatalf("no threads of worker %d", pid)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(task)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if f[16] != strconv.Itoa(workerNice) || f[38] != strconv.Itoa(policy) {
			t.Errorf("thread %s: nice %s, policy %s; want nice %d, policy %d", task, f[16], f[38], workerNice, policy)
		}
	}
}

// startWorker starts hr's worker without a hash and returns its pid.
func startWorker(t *testing.T, hr *Hasher) int {
	t.Helper()
	hr.worker.mu.Lock()
	w, err := hr.worker.worker()
	hr.worker.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return w.cmd.Process.Pid
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

// TestWorkerProcess: a worker starts in idleClass (SCHED_IDLE at nice 10)
// on every thread, as every worker runs in its class, knows nothing of the
// server's environment, and computes the keys the server would.
func TestWorkerProcess(t *testing.T) {
	t.Setenv("ROSTER_SESSION_KEY", "a secret the worker must not see")
	hr, logs := workerHasher(t, t.Context(), time.Minute)
	production := NewHasher(1, 0)
	production.UseWorkerProcess(t.Context(), slog.New(slog.DiscardHandler))
	if production.worker.class != idleClass {
		t.Errorf("workers start in %v, want idle", production.worker.class)
	}
	hr.worker.class = idleClass
	wantClass(t, startWorker(t, hr), unix.SCHED_IDLE)
	hashAndVerify(t, hr)
	// On a busy machine (make test) the worker may have been starved and
	// replaced by now: every thread of the current one runs in its class.
	hr.worker.mu.Lock()
	w := hr.worker.cur
	hr.worker.mu.Unlock()
	wantClass(t, w.cmd.Process.Pid, map[class]int{idleClass: unix.SCHED_IDLE, lowClass: unix.SCHED_NORMAL}[w.class])
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(w.cmd.Process.Pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if string(env) != workerEnv+"=1\x00" {
		t.Errorf("worker environment %q, want only %s=1", env, workerEnv)
	}
	if logs.String() != "" && !strings.Contains(logs.String(), "password hash worker starved") {
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
