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
// priority (workerNice). A storm of sign-ins, or a password-guessing
// attack, then takes only the CPU that pages leave idle: in the server's
// own process the hashes would hold every Go scheduler slot and pages
// would wait behind them (docs/BENCHMARKS.md, S3).
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
	exe           string
	log           *slog.Logger
	idle, timeout time.Duration // workerIdle and workerTimeout but in tests

	mu       sync.Mutex
	cur      *worker   // nil until a hash needs one
	failedAt time.Time // the last start that failed
	closed   bool
}

// worker is one child process and the requests it has not answered.
type worker struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	next    uint64
	pending map[uint64]chan []byte // closed without a key if the worker dies
	idle    *time.Timer
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
// Hasher worker slot, so the worker never has more hashes in hand than the
// Hasher has workers.
func (wp *workerProcess) derive(p params, salt, pw []byte, keyLen uint32) ([]byte, error) {
	wp.mu.Lock()
	w, err := wp.worker()
	if err != nil {
		wp.mu.Unlock()
		return nil, err
	}
	id := w.next
	w.next++
	answer := make(chan []byte, 1)
	w.pending[id] = answer
	w.idle.Stop()
	err = writeRequest(w.stdin, request{id: id, params: p, keyLen: keyLen, salt: salt, pw: pw})
	if err != nil {
		delete(w.pending, id)
		wp.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", errNoWorker, err)
	}
	wp.mu.Unlock()
	stuck := time.NewTimer(wp.timeout)
	defer stuck.Stop()
	select {
	case key, ok := <-answer:
		if !ok {
			return nil, fmt.Errorf("%w: it exited with request %d in hand", errNoWorker, id)
		}
		return key, nil
	case <-stuck.C:
		// Its end closes answer, and every other request's, in read.
		w.cmd.Process.Kill()
		<-answer
		return nil, fmt.Errorf("%w: killed it after %s without an answer to request %d", errNoWorker, wp.timeout, id)
	}
}

// worker returns the running worker, starting one if there is none.
// wp.mu is held.
func (wp *workerProcess) worker() (*worker, error) {
	if wp.closed || time.Since(wp.failedAt) < wp.idle {
		return nil, errNotNow
	}
	if wp.cur != nil {
		return wp.cur, nil
	}
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
	if err := startLowPriority(cmd); err != nil {
		wp.failedAt = time.Now()
		stdin.Close()
		stdout.Close()
		wp.log.Warn("password hash worker did not start: hashing in the server's process", "for", wp.idle, "err", err)
		return nil, errNotNow
	}
	w := &worker{cmd: cmd, stdin: stdin, pending: map[uint64]chan []byte{}}
	w.idle = time.AfterFunc(wp.idle, func() { wp.retire(w) })
	wp.cur = w
	go wp.read(w, stdout)
	return w, nil
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
			for id, answer := range w.pending {
				close(answer)
				delete(w.pending, id)
			}
			wp.mu.Unlock()
			w.stdin.Close()
			w.idle.Stop()
			// Its output ends cleanly (EOF) when it exits; anything else
			// is a broken answer, and the worker was told to stop above.
			werr := w.cmd.Wait()
			switch {
			case !errors.Is(err, io.EOF):
				wp.log.Warn("password hash worker stopped", "pid", w.cmd.Process.Pid, "exit", w.cmd.ProcessState.String(), "err", err)
			case werr != nil:
				wp.log.Warn("password hash worker stopped", "pid", w.cmd.Process.Pid, "exit", w.cmd.ProcessState.String())
			}
			return
		}
		answer, ok := w.pending[h.ID]
		delete(w.pending, h.ID)
		if len(w.pending) == 0 {
			w.idle.Reset(wp.idle)
		}
		wp.mu.Unlock()
		if ok {
			answer <- key
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
