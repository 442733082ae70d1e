package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBusy is returned (as a *BusyError) when a caller would wait too long
// for a worker; handlers answer 503 with Retry-After.
var ErrBusy = errors.New("password: too many password hashes in progress")

// ErrMalformedHash is returned by Verify for a stored hash it cannot read.
var ErrMalformedHash = errors.New("password: malformed password hash")

// current holds the Argon2id parameters of new hashes: OWASP's minimum
// (m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte key.
var current = params{memory: 19 * 1024, time: 2, threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Sanity limits for parameters read from a stored hash, far above anything
// an interactive login would use; they keep a damaged row from exhausting
// memory or CPU.
const (
	maxMemory = 1 << 20 // KiB, 1 GiB
	maxTime   = 64
)

type params struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// hash is an Argon2id hash in PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, salt and key in standard
// base64 without padding, as the reference implementation writes them.
type hash struct {
	params
	salt, key []byte
}

func (h hash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parseHash reads a PHC string strictly: fields in the specified order,
// decimal numbers without leading zeros, canonical base64. Its errors never
// quote the string, which is secret enough to keep out of logs.
func parseHash(s string) (hash, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return hash{}, fmt.Errorf("%w: want 5 fields", ErrMalformedHash)
	}
	if f[1] != "argon2id" {
		return hash{}, fmt.Errorf("%w: algorithm is not argon2id", ErrMalformedHash)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return hash{}, fmt.Errorf("%w: unsupported version", ErrMalformedHash)
	}
	p, err := parseParams(f[3])
	if err != nil {
		return hash{}, err
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return hash{}, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return hash{}, fmt.Errorf("%w: bad key", ErrMalformedHash)
	}
	return hash{params: p, salt: salt, key: key}, nil
}

func parseParams(s string) (params, error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return params{}, fmt.Errorf("%w: want m, t and p", ErrMalformedHash)
	}
	m, errM := parseParam(f[0], "m", maxMemory)
	t, errT := parseParam(f[1], "t", maxTime)
	p, errP := parseParam(f[2], "p", 255)
	if err := errors.Join(errM, errT, errP); err != nil {
		return params{}, err
	}
	if m < 8*p {
		return params{}, fmt.Errorf("%w: m below 8*p", ErrMalformedHash)
	}
	return params{memory: uint32(m), time: uint32(t), threads: uint8(p)}, nil
}

// parseParam reads "name=value" with 1 <= value <= limit.
func parseParam(field, name string, limit uint64) (uint64, error) {
	v, ok := strings.CutPrefix(field, name+"=")
	if ok && len(v) > 1 && v[0] == '0' {
		ok = false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if !ok || err != nil || n < 1 || n > limit {
		return 0, fmt.Errorf("%w: bad %s", ErrMalformedHash, name)
	}
	return n, nil
}

// NeedsRehash reports whether phc is weaker than a hash made now: less
// memory or fewer passes, or a shorter salt or key. A string that cannot be
// parsed needs rehashing too (it cannot verify, so this only matters to
// callers that ask before verifying).
func NeedsRehash(phc string) bool {
	h, err := parseHash(phc)
	if err != nil {
		return true
	}
	return h.memory < current.memory || h.time < current.time ||
		len(h.salt) < saltLen || len(h.key) < keyLen
}

// Hasher computes Argon2id hashes, at most workers at once. Callers that
// find every worker busy wait in arrival order (the arrival a caller gives
// with WithArrival, else the moment it asked), holding no hashing memory
// while they wait. A caller is refused with a *BusyError (ErrBusy) at once
// when its expected wait, the callers ahead of it times the measured hash
// time over the workers, would pass the budget (SetBudget), or when queue
// callers wait already, so a burst cannot pile up without bound.
type Hasher struct {
	workers, queue int

	mu      sync.Mutex
	running int       // callers hashing now
	waiters []*waiter // callers waiting for a worker, earliest arrival first
	budget  time.Duration
	avg     time.Duration // moving average of one hash's time
	seq     uint64        // breaks ties between equal arrivals, first come first

	// compute derives a key once the caller holds a worker; tests replace
	// it to see who got the worker, in what order.
	compute func(pw []byte, p params, salt []byte, n uint32) []byte
	worker  *workerProcess
}

// waiter is one caller waiting for a worker; ready is closed when a worker
// is handed to it.
type waiter struct {
	arrival time.Time
	seq     uint64
	ready   chan struct{}
	granted bool
}

func (w *waiter) before(o *waiter) bool {
	if !w.arrival.Equal(o.arrival) {
		return w.arrival.Before(o.arrival)
	}
	return w.seq < o.seq
}

// BusyError is the refusal of a caller that would wait too long: RetryAfter
// is its expected wait, when asking again (with the same arrival) should
// find a worker. It is an ErrBusy.
type BusyError struct {
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v (expected wait %v)", ErrBusy, e.RetryAfter)
}

func (e *BusyError) Unwrap() error { return ErrBusy }

// initialHashTime is the hash time assumed before any is measured: about
// one hash of the current parameters on a slow core.
const initialHashTime = 50 * time.Millisecond

// NewHasher returns a Hasher with the given number of workers (at least 1)
// and at most queue callers waiting (at least 0), with no wait budget (see
// SetBudget). runtime.GOMAXPROCS(0) workers is a good start; each uses
// 19 MiB while it runs, and a waiting caller none.
func NewHasher(workers, queue int) *Hasher {
	hr := &Hasher{workers: max(workers, 1), queue: max(queue, 0), avg: initialHashTime}
	hr.compute = hr.key
	return hr
}

// SetBudget refuses callers whose expected wait is longer than d; 0 (the
// default) sets no budget, only the queue's length.
func (hr *Hasher) SetBudget(d time.Duration) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	hr.budget = max(d, 0)
}

// Budget is the wait budget SetBudget set; 0 is none.
func (hr *Hasher) Budget() time.Duration {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return hr.budget
}

// SetHashTime replaces the measured hash time, as if every hash so far had
// taken d; the next hashes move it again.
func (hr *Hasher) SetHashTime(d time.Duration) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	hr.avg = max(d, time.Microsecond)
}

// HashTime is the moving average of one hash's time.
func (hr *Hasher) HashTime() time.Duration {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return hr.avg
}

// UseWorkerProcess makes hr compute keys in a hash worker, this program
// started again as a child at a low CPU priority, until ctx ends. Call it
// before the first hash. Where no worker can be started (or on systems
// other than Linux) hr hashes in its own process, and logs why. The
// program's main must call ServeHashWorker when IsHashWorker.
func (hr *Hasher) UseWorkerProcess(ctx context.Context, log *slog.Logger) {
	if !lowPriorityWorks {
		return
	}
	hr.worker = &workerProcess{exe: selfExe, log: log, idle: workerIdle, timeout: workerTimeout, patience: workerPatience, class: idleClass}
	context.AfterFunc(ctx, hr.worker.close)
}

// Depth reports how many callers are hashing now and how many wait for a
// worker.
func (hr *Hasher) Depth() (running, waiting int) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return hr.running, len(hr.waiters)
}

// ExpectedWait is how long a caller arriving now would wait for a worker.
func (hr *Hasher) ExpectedWait() time.Duration {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	return hr.waitFor(len(hr.waiters))
}

// waitFor is the expected wait of a caller with ahead callers waiting
// before it: none while a worker is free; else its place in the queue
// (ahead+1) times the hash time, shared by the workers. hr.mu is held.
func (hr *Hasher) waitFor(ahead int) time.Duration {
	if hr.running < hr.workers {
		return 0
	}
	return time.Duration(ahead+1) * hr.avg / time.Duration(hr.workers)
}

type arrivalKey struct{}

// WithArrival returns a context whose hashes wait in line as if they had
// asked at t: a caller refused before and asking again keeps its place.
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

// acquire waits for a worker in arrival order, or refuses.
func (hr *Hasher) acquire(ctx context.Context) error {
	arrival, ok := ctx.Value(arrivalKey{}).(time.Time)
	if !ok {
		arrival = time.Now()
	}
	hr.mu.Lock()
	if hr.running < hr.workers && len(hr.waiters) == 0 {
		hr.running++
		hr.mu.Unlock()
		return nil
	}
	hr.seq++
	w := &waiter{arrival: arrival, seq: hr.seq, ready: make(chan struct{})}
	at := sort.Search(len(hr.waiters), func(i int) bool { return w.before(hr.waiters[i]) })
	wait := hr.waitFor(at)
	if len(hr.waiters) >= hr.queue || (hr.budget > 0 && wait > hr.budget) {
		hr.mu.Unlock()
		return &BusyError{RetryAfter: max(wait, time.Second)}
	}
	hr.waiters = slices.Insert(hr.waiters, at, w)
	hr.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	hr.mu.Lock()
	defer hr.mu.Unlock()
	if w.granted { // handed a worker while giving up: pass it on
		hr.releaseLocked()
	} else if i := slices.Index(hr.waiters, w); i >= 0 {
		hr.waiters = slices.Delete(hr.waiters, i, i+1)
	}
	return ctx.Err()
}

// release gives the worker back after a hash that took d (0: none
// measured), to the earliest waiter if any.
func (hr *Hasher) release(d time.Duration) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	if d > 0 {
		hr.avg += (d - hr.avg) / 8 // moving average over about the last 8 hashes
	}
	hr.releaseLocked()
}

func (hr *Hasher) releaseLocked() {
	if len(hr.waiters) == 0 {
		hr.running--
		return
	}
	w := hr.waiters[0]
	hr.waiters = slices.Delete(hr.waiters, 0, 1)
	w.granted = true
	close(w.ready)
}

// Hash returns the PHC string of pw with the current parameters and a new
// random salt. It returns ErrBusy when the Hasher is full, or ctx's error if
// ctx ends while waiting for a worker.
func (hr *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	h := hash{params: current, salt: make([]byte, saltLen)}
	rand.Read(h.salt) // never fails since Go 1.24: it crashes the program instead
	key, err := hr.derive(ctx, pw, h.params, h.salt, keyLen)
	if err != nil {
		return "", err
	}
	h.key = key
	return h.String(), nil
}

// Verify reports whether pw matches phc, using the parameters written in
// phc so that hashes made with other parameters keep working. An empty phc
// (no such user, or a user without a password) costs one hash all the same
// and reports false, so that timing does not tell whether an account exists.
// A phc that cannot be read is an ErrMalformedHash. Like Hash, Verify may
// return ErrBusy or ctx's error.
func (hr *Hasher) Verify(ctx context.Context, pw, phc string) (bool, error) {
	want := hash{params: current, salt: make([]byte, saltLen), key: make([]byte, keyLen)}
	if phc != "" {
		var err error
		if want, err = parseHash(phc); err != nil {
			return false, err
		}
	}
	got, err := hr.derive(ctx, pw, want.params, want.salt, uint32(len(want.key)))
	if err != nil {
		return false, err
	}
	match := subtle.ConstantTimeCompare(got, want.key) == 1
	return match && phc != "", nil
}

// derive computes the Argon2id key once a worker is free.
func (hr *Hasher) derive(ctx context.Context, pw string, p params, salt []byte, n uint32) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := hr.acquire(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	key := hr.compute([]byte(pw), p, salt, n)
	hr.release(time.Since(start))
	return key, nil
}

// key computes the Argon2id key, in the worker process if there is one.
func (hr *Hasher) key(pw []byte, p params, salt []byte, n uint32) []byte {
	if hr.worker != nil {
		key, err := hr.worker.derive(p, salt, pw, n)
		if err == nil {
			return key
		}
		if !errors.Is(err, errNotNow) {
			hr.worker.log.Warn("hashing a password in the server's process", "err", err)
		}
	}
	return argon2.IDKey(pw, salt, p.time, p.memory, p.threads, n)
}

// Occupy takes a worker as a hash would, waiting in line like one, until
// release is called. Callers that must keep hashes waiting for a while use
// it; the handlers' tests use it to see the queue without timing.
func (hr *Hasher) Occupy(ctx context.Context) (release func(), err error) {
	if err := hr.acquire(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { hr.release(0) }) }, nil
}
