package password

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// gate replaces h's key computation with one that records who got a
// worker, in order, and holds the worker until the test lets one go.
type gate struct {
	mu      sync.Mutex
	order   []string
	inside  int // computations in progress
	most    int // the most ever in progress at once
	entered chan string
	leave   chan struct{}
}

func newGate(h *Hasher) *gate {
	g := &gate{entered: make(chan string, 100), leave: make(chan struct{})}
	h.compute = func(pw []byte, _ params, _ []byte, n uint32) []byte {
		g.mu.Lock()
		g.order = append(g.order, string(pw))
		g.inside++
		g.most = max(g.most, g.inside)
		g.mu.Unlock()
		g.entered <- string(pw)
		<-g.leave
		g.mu.Lock()
		g.inside--
		g.mu.Unlock()
		return make([]byte, n)
	}
	return g
}

// hashAsync starts a Hash of pw with arrival t (zero: now) and returns
// once it waits in h's queue or holds a worker.
func hashAsync(t *testing.T, h *Hasher, pw string, at time.Time, errs chan<- error) {
	t.Helper()
	running, waiting := h.Depth()
	ctx := t.Context()
	if !at.IsZero() {
		ctx = WithArrival(ctx, at)
	}
	go func() {
		_, err := h.Hash(ctx, pw)
		errs <- err
	}()
	waitQueued(h, running+waiting+1)
}

// TestQueueFIFO: callers that find the worker busy get it in the order
// they asked, not in the order the scheduler wakes them.
func TestQueueFIFO(t *testing.T) {
	h := NewHasher(1, 100)
	g := newGate(h)
	errs := make(chan error, 100)
	names := []string{"first", "a", "b", "c", "d", "e", "f", "g", "h", "i"}
	for _, n := range names {
		hashAsync(t, h, n, time.Time{}, errs)
	}
	for range names {
		<-g.entered
		g.leave <- struct{}{}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := g.order; !equal(got, names) {
		t.Errorf("got the worker in order %v, want %v", got, names)
	}
}

// TestQueueArrival: a caller asking again with its first arrival
// (WithArrival) goes before callers that arrived after it, and after the
// ones that arrived before.
func TestQueueArrival(t *testing.T) {
	h := NewHasher(1, 100)
	g := newGate(h)
	errs := make(chan error, 100)
	t0 := time.Now().Add(-time.Minute)
	hashAsync(t, h, "running", time.Time{}, errs)
	<-g.entered
	hashAsync(t, h, "late", t0.Add(3*time.Second), errs)
	hashAsync(t, h, "early", t0.Add(1*time.Second), errs)
	hashAsync(t, h, "fresh", time.Time{}, errs)
	hashAsync(t, h, "middle", t0.Add(2*time.Second), errs)
	for i := range 5 {
		if i > 0 {
			<-g.entered
		}
		g.leave <- struct{}{}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"running", "early", "middle", "late", "fresh"}
	if got := g.order; !equal(got, want) {
		t.Errorf("got the worker in order %v, want %v", got, want)
	}
}

// TestQueueBudget: a caller whose expected wait (callers ahead of it times
// the hash time over the workers) passes the budget is refused at once,
// with that wait as its RetryAfter; within it, it waits.
func TestQueueBudget(t *testing.T) {
	h := NewHasher(2, 1000)
	h.SetBudget(2 * time.Second)
	h.SetHashTime(800 * time.Millisecond)
	fill(h, 2) // both workers busy
	// Waits of the callers: 1 x 0.8 / 2 = 0.4 s, then 0.8, 1.2, 1.6, 2.0
	// (within the budget), 2.4 s (past it).
	errs := make(chan error, 10)
	for i := range 5 {
		if w := h.ExpectedWait(); w != time.Duration(i+1)*400*time.Millisecond {
			t.Errorf("with %d waiting: expected wait %v, want %v", i, w, time.Duration(i+1)*400*time.Millisecond)
		}
		hashAsync(t, h, "pw", time.Time{}, errs)
	}
	_, err := h.Hash(t.Context(), "pw")
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("the sixth waiter: got %v, want a BusyError", err)
	}
	if busy.RetryAfter != 2400*time.Millisecond {
		t.Errorf("RetryAfter: got %v, want 2.4s", busy.RetryAfter)
	}
	if _, waiting := h.Depth(); waiting != 5 {
		t.Errorf("got %d waiting after the refusal, want 5", waiting)
	}
	// One that arrived before all of them (a refused caller asking again)
	// is ahead of everyone, within the budget: it waits, first.
	early := time.Now().Add(-time.Hour)
	hashAsync(t, h, "pw", early, errs)
	h.mu.Lock()
	head := h.waiters[0].arrival
	h.mu.Unlock()
	if _, waiting := h.Depth(); waiting != 6 || !head.Equal(early) {
		t.Errorf("got %d waiting, the first arrived at %v; want 6, the first at %v", waiting, head, early)
	}
}

// TestQueueMeasures: the hash time is a moving average of the hashes
// measured.
func TestQueueMeasures(t *testing.T) {
	h := NewHasher(1, 0)
	h.SetHashTime(time.Second)
	h.running = 1
	h.release(2 * time.Second)
	if got, want := h.HashTime(), time.Second+time.Second/8; got != want {
		t.Errorf("hash time after one of 2s: got %v, want %v", got, want)
	}
}

// TestQueueHoldsNoWorkers: 50 callers waiting never hold more than the
// workers' number of hashes at once: waiting holds no hash, and so no
// Argon2 memory.
func TestQueueHoldsNoWorkers(t *testing.T) {
	h := NewHasher(2, 100)
	g := newGate(h)
	errs := make(chan error, 100)
	for range 52 {
		hashAsync(t, h, "pw", time.Time{}, errs)
	}
	if running, waiting := h.Depth(); running != 2 || waiting != 50 {
		t.Errorf("got %d running and %d waiting, want 2 and 50", running, waiting)
	}
	for range 52 {
		<-g.entered
		g.leave <- struct{}{}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if g.most != 2 {
		t.Errorf("got %d hashes at once, want 2 (the workers)", g.most)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
