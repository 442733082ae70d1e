package password

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestMain lets the test binary serve as the hash worker of the Hashers
// these tests start, as the roster binary does for its server.
func TestMain(m *testing.M) {
	if IsHashWorker() {
		if err := ServeHashWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "hash worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServeHashWorker sends a slow request and then a quick one: the quick
// one is answered first, each answer carries its request's id and the key
// x/crypto/argon2 computes, and the worker returns once its input ends and
// every hash in hand is answered.
func TestServeHashWorker(t *testing.T) {
	reqs := []request{
		{id: 7, params: params{memory: 64 * 1024, time: 4, threads: 1}, keyLen: 32, salt: []byte("saltsaltsaltsalt"), pw: []byte("slow password")},
		{id: 9, params: params{memory: 64, time: 1, threads: 2}, keyLen: 16, salt: []byte("pepperpepper"), pw: []byte("quick ünïcödé")},
	}
	var in bytes.Buffer
	for _, r := range reqs {
		if err := writeRequest(&in, r); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := ServeHashWorker(&in, &out); err != nil {
		t.Fatalf("ServeHashWorker: %v", err)
	}
	for i, want := range []request{reqs[1], reqs[0]} {
		var h responseHeader
		if err := binary.Read(&out, binary.LittleEndian, &h); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		key := make([]byte, h.KeyLen)
		if _, err := io.ReadFull(&out, key); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		wantKey := argon2.IDKey(want.pw, want.salt, want.time, want.memory, want.threads, want.keyLen)
		if h.ID != want.id || !bytes.Equal(key, wantKey) {
			t.Errorf("answer %d: id %d key %x, want id %d key %x", i, h.ID, key, want.id, wantKey)
		}
	}
	if out.Len() != 0 {
		t.Errorf("%d bytes after the answers", out.Len())
	}
}

// TestServeHashWorkerRefuses: a request outside the limits a server sends
// ends the worker with an error, before it allocates anything for it.
func TestServeHashWorkerRefuses(t *testing.T) {
	ok := request{id: 1, params: params{memory: 64, time: 1, threads: 1}, keyLen: 32, salt: []byte("saltsalt"), pw: []byte("pw")}
	for name, bad := range map[string]func(*request){
		"no passes":       func(r *request) { r.time = 0 },
		"too many passes": func(r *request) { r.time = maxTime + 1 },
		"too much memory": func(r *request) { r.memory = maxMemory + 1 },
		"no threads":      func(r *request) { r.threads = 0 },
		"memory below 8p": func(r *request) { r.threads = 9 },
		"long key":        func(r *request) { r.keyLen = maxSaltKeyBytes + 1 },
		"long salt":       func(r *request) { r.salt = make([]byte, maxSaltKeyBytes+1) },
		"long password":   func(r *request) { r.pw = make([]byte, maxPasswordBytes+1) },
	} {
		t.Run(name, func(t *testing.T) {
			r := ok
			bad(&r)
			var in, out bytes.Buffer
			if err := writeRequest(&in, r); err != nil {
				t.Fatal(err)
			}
			err := ServeHashWorker(&in, &out)
			if err == nil || !strings.Contains(err.Error(), "out of bounds") {
				t.Errorf("ServeHashWorker = %v, want out of bounds", err)
			}
			if out.Len() != 0 {
				t.Errorf("answered %d bytes", out.Len())
			}
		})
	}
	// A stream cut inside a request is an error too, not a clean end.
	var in bytes.Buffer
	if err := writeRequest(&in, ok); err != nil {
		t.Fatal(err)
	}
	cut := bytes.NewReader(in.Bytes()[:in.Len()-1])
	if err := ServeHashWorker(cut, io.Discard); err == nil {
		t.Error("a request cut short ended the worker without an error")
	}
}
