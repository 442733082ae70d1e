package password

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// A hash worker is a child process, this same executable started with
// workerEnv set, that computes Argon2id keys for the server at a low CPU
// priority. A storm of sign-ins, or a password-guessing attack, then takes
// only the CPU that pages leave idle: in the server's own process the
// hashes would hold every Go scheduler slot and pages would wait behind
// them (docs/BENCHMARKS.md, S3). A worker starts in idleClass; one that a
// waiting hash finds starved of CPU (workerPatience) is replaced by one in
// lowClass, which takes over its hashes.
const workerEnv = "ROSTER_HASH_WORKER"

// workerIdle is how long a hash worker with nothing to do lives on; the
// next hash starts a new one, which takes about as long as starting any
// process of this size (`roster version` in S6: 17 ms). After a worker
// fails to start, none is tried for as long.
const workerIdle = time.Minute

// workerRelease is how long a worker waits with no hash in hand before it
// returns its memory to the system: long enough that a storm's hashes,
// which follow each other closely, reuse it.
const workerRelease = time.Second

// workerTimeout is how long a hash may take in the worker before the
// worker is taken for stuck and killed: a hundred times what a hash takes
// at the worker's priority with every core busy.
const workerTimeout = 30 * time.Second

// workerPatience is how often a hash waiting in an idleClass worker looks
// at the CPU the worker had: with less than a fifth of a core since the
// last look, it is starved (pages, or other programs, keep every core
// busy) and a lowClass worker takes over its hashes. A hash takes 25-30 ms
// of CPU, so one that is not done after workerPatience has waited.
const workerPatience = 500 * time.Millisecond

// Limits of a request to the worker. The server sends parameters that
// parseHash or current allow, and passwords far below maxPasswordBytes.
const (
	maxPasswordBytes = 64 << 10
	maxSaltKeyBytes  = 64
)

// IsHashWorker reports whether this process was started as a hash worker;
// main then runs server.HashWorker (ServeHashWorker) and nothing else.
func IsHashWorker() bool { return os.Getenv(workerEnv) == "1" }

// request asks the worker for one key; its fixed part is requestHeader.
type request struct {
	id uint64
	params
	keyLen   uint32
	salt, pw []byte
}

type requestHeader struct {
	ID               uint64
	Time, Memory     uint32
	Threads          uint8
	KeyLen           uint32
	SaltLen, PassLen uint32
}

type responseHeader struct {
	ID     uint64
	KeyLen uint32
}

func writeRequest(w io.Writer, r request) error {
	h := requestHeader{ID: r.id, Time: r.time, Memory: r.memory, Threads: r.threads, KeyLen: r.keyLen,
		SaltLen: uint32(len(r.salt)), PassLen: uint32(len(r.pw))}
	b, err := binary.Append(nil, binary.LittleEndian, h)
	if err != nil {
		return err
	}
	b = append(append(b, r.salt...), r.pw...)
	_, err = w.Write(b)
	return err
}

// readRequest reads one request and refuses one outside the limits a
// server would send, so that a damaged stream cannot make the worker
// allocate without bound.
func readRequest(r io.Reader) (request, error) {
	var h requestHeader
	if err := binary.Read(r, binary.LittleEndian, &h); err != nil {
		return request{}, err
	}
	if h.Time < 1 || h.Time > maxTime || h.Memory > maxMemory || h.Threads < 1 || h.Memory < 8*uint32(h.Threads) ||
		h.KeyLen < 1 || h.KeyLen > maxSaltKeyBytes || h.SaltLen > maxSaltKeyBytes || h.PassLen > maxPasswordBytes {
		return request{}, fmt.Errorf("hash worker: request %d is out of bounds", h.ID)
	}
	buf := make([]byte, h.SaltLen+h.PassLen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return request{}, err
	}
	return request{id: h.ID, params: params{memory: h.Memory, time: h.Time, threads: h.Threads}, keyLen: h.KeyLen,
		salt: buf[:h.SaltLen], pw: buf[h.SaltLen:]}, nil
}

// ServeHashWorker answers the requests on r, each in its own goroutine (the
// server bounds how many it sends at once), until r ends; it then finishes
// the hashes in hand and returns.
func ServeHashWorker(r io.Reader, w io.Writer) error {
	// The heap is the hashes' memory and little else: collect it when it
	// has grown by a quarter rather than doubled, which holds a worker
	// with two hashes at once to about 50 MiB instead of 80. Argon2's
	// blocks hold no pointers, so collecting more often costs little.
	debug.SetGCPercent(25)
	// A worker idle for workerRelease gives its hashes' memory back to the
	// system instead of holding it until it exits.
	release := time.AfterFunc(time.Hour, debug.FreeOSMemory)
	release.Stop()
	br := bufio.NewReader(r)
	var (
		hashing sync.WaitGroup
		mu      sync.Mutex // guards w, werr and inHand
		werr    error
		inHand  int
	)
	defer hashing.Wait()
	for {
		req, err := readRequest(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		inHand++
		release.Stop()
		mu.Unlock()
		hashing.Go(func() {
			key := argon2.IDKey(req.pw, req.salt, req.time, req.memory, req.threads, req.keyLen)
			b, _ := binary.Append(nil, binary.LittleEndian, responseHeader{ID: req.id, KeyLen: uint32(len(key))})
			mu.Lock()
			defer mu.Unlock()
			if werr == nil {
				_, werr = w.Write(append(b, key...))
			}
			if inHand--; inHand == 0 {
				release.Reset(workerRelease)
			}
		})
	}
}

// workerProcess runs hash workers for a Hasher: one at a time, started on
// the first hash and stopped after workerIdle without one.
type workerProcess struct {
	exe                     string
	log                     *slog.Logger
	idle, timeout, patience time.Duration // workerIdle, workerTimeout and workerPatience but in tests
	class                   class         // of a new worker: idleClass but in tests

	mu       sync.Mutex
	cur      *worker   // nil until a hash needs one
	failedAt time.Time // the last start that failed
	closed   bool
}

// worker is one child process and the requests it has not answered.
type worker struct {
	cmd      *exec.Cmd
	class    class
	stdin    io.WriteCloser
	next     uint64
	pending  map[uint64]*inHand // each closes its answer without a key if the worker dies
	idle     *time.Timer
	replaced bool // by a lowClass worker that took its hashes

	// The CPU time the worker had used when it was last looked at, with
	// hashes in hand (starved).
	lookedAt time.Time
	cpuThen  time.Duration
}

// inHand is a request a worker has not answered yet, kept to be sent
// again if the worker is replaced.
type inHand struct {
	request
	answer chan []byte
	w      *worker // the worker that has it now
}

// derive's answers when the Hasher should hash in its own process:
// errNoWorker when the worker could not take or finish the request, which
// the Hasher logs; errNotNow while the server shuts down or after a worker
// failed to start, which was logged when it happened.
var (
	errNoWorker = errors.New("password: hash worker process unavailable")
	errNotNow   = errors.New("password: no hash worker for now")
)

// derive has the worker compute a key and waits for it. The caller holds a
// Hasher worker slot, so the workers never have more hashes in hand than
// the Hasher has workers.
func (wp *workerProcess) derive(p params, salt, pw []byte, keyLen uint32) ([]byte, error) {
	wp.mu.Lock()
	w, err := wp.worker()
	if err != nil {
		wp.mu.Unlock()
		return nil, err
	}
	h := &inHand{request: request{id: w.next, params: p, keyLen: keyLen, salt: salt, pw: pw}, answer: make(chan []byte, 1), w: w}
	w.next++
	if len(w.pending) == 0 {
		w.look(time.Now())
	}
	w.pending[h.id] = h
	w.idle.Stop()
	err = writeRequest(w.stdin, h.request)
	if err != nil {
		delete(w.pending, h.id)
		wp.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", errNoWorker, err)
	}
	wp.mu.Unlock()
	look := time.NewTicker(wp.patience)
	defer look.Stop()
	stuck := time.NewTimer(wp.timeout)
	defer stuck.Stop()
	for {
		select {
		case key, ok := <-h.answer:
			if !ok {
				return nil, fmt.Errorf("%w: it exited with request %d in hand", errNoWorker, h.id)
			}
			return key, nil
		case <-look.C:
			wp.mu.Lock()
			if h.w == wp.cur && h.w.class == idleClass && wp.starved(h.w) {
				wp.replace(h.w)
			}
			wp.mu.Unlock()
		case <-stuck.C:
			// Its end closes the answer, and every other request's, in read.
			wp.mu.Lock()
			holder := h.w
			wp.mu.Unlock()
			holder.cmd.Process.Kill()
			if key, ok := <-h.answer; ok { // its holder answered just before
				return key, nil
			}
			return nil, fmt.Errorf("%w: killed it after %s without an answer to request %d", errNoWorker, wp.timeout, h.id)
		}
	}
}

// worker returns the running worker, starting one in wp.class if there is
// none. wp.mu is held.
func (wp *workerProcess) worker() (*worker, error) {
	if wp.closed || time.Since(wp.failedAt) < wp.idle {
		return nil, errNotNow
	}
	if wp.cur != nil {
		return wp.cur, nil
	}
	w, err := wp.start(wp.class)
	if err != nil {
		return nil, err
	}
	wp.cur = w
	return w, nil
}

// start starts a worker in class c. wp.mu is held.
func (wp *workerProcess) start(c class) (*worker, error) {
	cmd := exec.Command(wp.exe)
	// Nothing of the server's configuration or secrets: the worker needs
	// only to know what it is.
	cmd.Env = []string{workerEnv + "=1"}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoWorker, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		return nil, fmt.Errorf("%w: %v", errNoWorker, err)
	}
	c, err = startLowPriority(cmd, c)
	if err != nil {
		wp.failedAt = time.Now()
		stdin.Close()
		stdout.Close()
		wp.log.Warn("password hash worker did not start: hashing in the server's process", "for", wp.idle, "err", err)
		return nil, errNotNow
	}
	w := &worker{cmd: cmd, class: c, stdin: stdin, pending: map[uint64]*inHand{}}
	w.idle = time.AfterFunc(wp.idle, func() { wp.retire(w) })
	go wp.read(w, stdout)
	return w, nil
}

// look notes the CPU time w has used by now.
func (w *worker) look(now time.Time) {
	w.lookedAt = now
	w.cpuThen, _ = cpuTime(w.cmd.Process.Pid)
}

// starved reports whether w has had less than a fifth of a core since it
// was last looked at, at least half of wp.patience ago, and looks again.
// wp.mu is held.
func (wp *workerProcess) starved(w *worker) bool {
	now := time.Now()
	since, before := now.Sub(w.lookedAt), w.cpuThen
	if since < wp.patience/2 {
		return false
	}
	w.look(now)
	return w.cpuThen-before < since/5
}

// replace replaces w, an idleClass worker that is starved, by a lowClass
// worker that takes over every hash w has in hand, and kills w. The
// lowClass worker then serves until it retires or dies; the next one
// starts in wp.class again. wp.mu is held.
func (wp *workerProcess) replace(w *worker) {
	next, err := wp.start(lowClass)
	if err != nil {
		return // w goes on; a hash it keeps past wp.timeout is killed
	}
	wp.log.Info("password hash worker starved: hashing at nice 10 for now", "hashes", len(w.pending))
	wp.cur = next
	next.idle.Stop()
	next.next = w.next
	next.pending, w.pending = w.pending, next.pending
	w.replaced = true
	w.cmd.Process.Kill()
	for _, h := range next.pending {
		h.w = next
		if err := writeRequest(next.stdin, h.request); err != nil {
			// Its end, seen in read, tells every request it holds.
			next.cmd.Process.Kill()
			return
		}
	}
}

// read hands the worker's answers to the requests waiting for them. When
// the worker's output ends, every request still waiting is told, and the
// next hash starts a new worker.
func (wp *workerProcess) read(w *worker, stdout io.Reader) {
	br := bufio.NewReader(stdout)
	for {
		var h responseHeader
		err := binary.Read(br, binary.LittleEndian, &h)
		var key []byte
		if err == nil && h.KeyLen <= maxSaltKeyBytes {
			key = make([]byte, h.KeyLen)
			_, err = io.ReadFull(br, key)
		} else if err == nil {
			err = fmt.Errorf("answer %d has a %d-byte key", h.ID, h.KeyLen)
		}
		wp.mu.Lock()
		if err != nil {
			if wp.cur == w {
				wp.cur = nil
			}
			for id, in := range w.pending {
				close(in.answer)
				delete(w.pending, id)
			}
			replaced := w.replaced
			wp.mu.Unlock()
			w.stdin.Close()
			w.idle.Stop()
			// Its output ends cleanly (EOF) when it exits; anything else
			// is a broken answer, and the worker was told to stop above.
			werr := w.cmd.Wait()
			switch {
			case replaced:
			case !errors.Is(err, io.EOF):
				wp.log.Warn("password hash worker stopped", "pid", w.cmd.Process.Pid, "exit", w.cmd.ProcessState.String(), "err", err)
			case werr != nil:
				wp.log.Warn("password hash worker stopped", "pid", w.cmd.Process.Pid, "exit", w.cmd.ProcessState.String())
			}
			return
		}
		in, ok := w.pending[h.ID]
		delete(w.pending, h.ID)
		if len(w.pending) == 0 && !w.replaced {
			w.idle.Reset(wp.idle)
		}
		wp.mu.Unlock()
		if ok {
			in.answer <- key
		}
	}
}

// retire stops w once it has nothing in hand: its input ends and it
// exits.
func (wp *workerProcess) retire(w *worker) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if wp.cur != w || len(w.pending) > 0 {
		return
	}
	wp.cur = nil
	w.stdin.Close()
}

// close stops the worker for good when the server shuts down: it finishes
// the hashes in hand and exits, and hashes after that run in the Hasher's
// own process.
func (wp *workerProcess) close() {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	wp.closed = true
	if w := wp.cur; w != nil {
		wp.cur = nil
		w.stdin.Close()
	}
}
