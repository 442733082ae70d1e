package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// runes returns the first n code points of s, failing the test if s is shorter.
func runes(t *testing.T, s string, n int) string {
	t.Helper()
	r := []rune(s)
	if len(r) < n {
		t.Fatalf("fixture has %d code points, want at least %d", len(r), n)
	}
	return string(r[:n])
}

func TestCheck(t *testing.T) {
	prose := "Zoë bakes crème brûlée at dawn 🍮, the señor's piñata sings 🎶; " +
		"東京の夜は静かで、猫が屋根を歩く 🐈‍⬛ — żółw płynie przez rzekę, " +
		"and a naïve façade of Ünïcödé hides 42 lanterns 🏮 under the old bridge " +
		"where Ørjan keeps his bicycle, a blue kettle and three Ελληνικά books."
	phrase := strings.Repeat("correct horse battery staple ", 9)

	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"11 characters", "tv-gown-lam", ErrTooShort},
		{"12 characters", "tv-gown-lamp", nil},
		{"12 code points in more bytes", "ñandú-café-ü", nil},
		{"11 code points in 22 bytes", "ääääääääääb", ErrTooShort},
		{"256 characters", runes(t, phrase, 256), nil},
		{"257 characters", runes(t, phrase, 257), ErrTooLong},
		{"200-character Unicode passphrase", runes(t, prose, 200), nil},
		{"phrase of words", "correct horse battery staple", nil},
		{"random characters", "Kx9!vR2#mQ7z", nil},
		{"invalid UTF-8", "tv-gown-lamp\xff", ErrInvalidUTF8},
		{"on the list", "films+pic+galeries", ErrCommon},
		{"listed word with digits", "password1234", ErrCommon},
		{"listed word, capitals and symbols", "Password1234!", ErrCommon},
		{"listed words with spaces", "I love you 2024", ErrCommon},
		{"listed word with year", "iloveyou2024!", ErrCommon},
		{"digits only", "123456789012", ErrCommon},
		{"symbols only", "!!!!!!!!!!!!", ErrCommon},
		{"spaces only", "            ", ErrCommon},
		{"listed word repeated", "passwordpassword", ErrCommon},
		{"listed word repeated with spaces", "horse horse horse", ErrCommon},
		{"one character repeated", "aaaaaaaaaaaa", ErrCommon},
		{"short unit repeated", "abcabcabcabc", ErrCommon},
		{"ascending", "abcdefghijkl", ErrCommon},
		{"descending digits wrapping", "987654321098", ErrCommon},
		{"ascending inside padding", "2024abcdefgh!", ErrCommon},
		{"keyboard row", "qwertyuiopas", ErrCommon},
		{"keyboard columns", "1qaz2wsx3edc", ErrCommon},
		{"keyboard row with punctuation", "asdfghjkl;'z", ErrCommon},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.pw); !errors.Is(got, tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

func TestPolicyErrorMessages(t *testing.T) {
	tests := []struct {
		err  PolicyError
		want string // must appear in the message
	}{
		{ErrTooShort, strconv.Itoa(MinLength)},
		{ErrTooLong, strconv.Itoa(MaxLength)},
		{ErrCommon, "common"},
		{ErrInvalidUTF8, "characters"},
	}
	for _, tt := range tests {
		msg := tt.err.Error()
		t.Run(msg, func(t *testing.T) {
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message does not mention %q", tt.want)
			}
			first, _ := utf8.DecodeRuneInString(msg)
			if !unicode.IsUpper(first) || !strings.HasSuffix(msg, ".") {
				t.Errorf("got %q, want a full sentence", msg)
			}
		})
	}

	var pe PolicyError
	if err := Check("password1234"); !errors.As(err, &pe) {
		t.Errorf("errors.As(%v, *PolicyError) = false, want true", err)
	}
}

func TestCommonListLoaded(t *testing.T) {
	list := commonPasswords()
	if len(list) < 7000 {
		t.Errorf("got %d common passwords, want the zxcvbn list of 7141", len(list))
	}
	for _, w := range []string{"password", "iloveyou", "qwertyuiop", "1qaz2wsx"} {
		if _, ok := list[w]; !ok {
			t.Errorf("%q not on the list", w)
		}
	}
	if _, ok := list["correct horse battery staple"]; ok {
		t.Error(`"correct horse battery staple" is on the list; the policy test needs another phrase`)
	}
}

// phcPattern is a hash made with the current parameters.
var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerify(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(2, 2)
	const pw = "correct horse battery staple"

	phc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !phcPattern.MatchString(phc) {
		t.Errorf("got %q, want a match for %s", phc, phcPattern)
	}
	parsed, err := parseHash(phc)
	if err != nil {
		t.Fatalf("parseHash(%q): %v", phc, err)
	}
	if parsed.params != current || len(parsed.salt) != saltLen || len(parsed.key) != keyLen {
		t.Errorf("got %+v with %d-byte salt and %d-byte key, want %+v, %d and %d",
			parsed.params, len(parsed.salt), len(parsed.key), current, saltLen, keyLen)
	}
	if NeedsRehash(phc) {
		t.Error("NeedsRehash(new hash) = true, want false")
	}
	again, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if again == phc {
		t.Error("two hashes of one password are equal, want different salts")
	}

	tests := []struct {
		name string
		pw   string
		phc  string
		want bool
	}{
		{"right password", pw, phc, true},
		{"wrong password", pw + "!", phc, false},
		{"no stored hash", pw, "", false},
		{"no stored hash, empty password", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tt.pw, tt.phc)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Hashes from the Argon2 reference implementation's tests (phc-winner-argon2
// src/test.c), password "password", salt "somesalt". Their parameters differ
// from ours, so they also show that Verify reads m, t and p from the string.
func TestVerifyReferenceHashes(t *testing.T) {
	h := NewHasher(1, 0)
	tests := []struct {
		name string
		phc  string
	}{
		{"m=256 p=1", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{"m=256 p=2", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for pw, want := range map[string]bool{"password": true, "passwore": false} {
				got, err := h.Verify(t.Context(), pw, tt.phc)
				if err != nil {
					t.Fatalf("Verify(%q): %v", pw, err)
				}
				if got != want {
					t.Errorf("Verify(%q) = %v, want %v", pw, got, want)
				}
			}
		})
	}
}

// cheapHash returns a PHC string of pw with parameters p, cheap enough for tests.
func cheapHash(t *testing.T, pw string, p params) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key, err := NewHasher(1, 0).derive(t.Context(), pw, p, salt, keyLen)
	if err != nil {
		t.Fatalf("derive: %v", err)
	}
	return hash{params: p, salt: salt, key: key}.String()
}

func TestNeedsRehash(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(1, 0)
	stronger := params{memory: 2 * current.memory, time: 3, threads: 2}
	tests := []struct {
		name string
		phc  string
		want bool
	}{
		{"less memory", cheapHash(t, "pw", params{memory: 4096, time: 2, threads: 1}), true},
		{"fewer passes", cheapHash(t, "pw", params{memory: 19456, time: 1, threads: 1}), true},
		{"stronger", cheapHash(t, "pw", stronger), false},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", true},
		{"malformed", "$2a$10$abcdefghijklmnopqrstuu", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.phc); got != tt.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", tt.phc, got, tt.want)
			}
		})
	}

	// Weaker and stronger hashes both still verify.
	for _, p := range []params{{memory: 4096, time: 2, threads: 1}, stronger} {
		ok, err := h.Verify(ctx, "pw", cheapHash(t, "pw", p))
		if err != nil || !ok {
			t.Errorf("Verify with %+v = %v, %v, want true, nil", p, ok, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHQ"
		key  = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	)
	tests := []struct {
		name string
		phc  string
	}{
		{"not PHC", "s3cr3t"},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012"},
		{"argon2i", "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + key},
		{"no version", "$argon2id$m=256,t=2,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + key},
		{"missing key", "$argon2id$v=19$m=256,t=2,p=1$" + salt},
		{"extra field", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "$x"},
		{"params out of order", "$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + key},
		{"missing p", "$argon2id$v=19$m=256,t=2$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + key},
		{"sign", "$argon2id$v=19$m=+256,t=2,p=1$" + salt + "$" + key},
		{"zero passes", "$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + key},
		{"zero lanes", "$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + key},
		{"memory below 8*p", "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key},
		{"memory too large", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key},
		{"salt padded", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "=$" + key},
		{"salt not base64", "$argon2id$v=19$m=256,t=2,p=1$c29t-XNhbHQ$" + key},
		{"salt too short", "$argon2id$v=19$m=256,t=2,p=1$c29tZQ$" + key},
		{"key too short", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$c29tZXNhbHQ"},
	}
	h := NewHasher(1, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(t.Context(), "password", tt.phc)
			if !errors.Is(err, ErrMalformedHash) || ok {
				t.Errorf("got %v, %v, want false, ErrMalformedHash", ok, err)
			}
			if err != nil && strings.Contains(err.Error(), tt.phc) {
				t.Errorf("error %q quotes the stored hash", err)
			}
		})
	}
}

// fill takes n places in h as if other callers held them: hashing, up to
// the number of workers, then waiting.
func fill(h *Hasher, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for range n {
		if h.running < h.workers {
			h.running++
			continue
		}
		h.seq++
		h.waiters = append(h.waiters, &waiter{arrival: time.Now(), seq: h.seq, ready: make(chan struct{})})
	}
}

func TestBusy(t *testing.T) {
	tests := []struct {
		workers, queue int
	}{
		{1, 0},
		{2, 3},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.workers)+"+"+strconv.Itoa(tt.queue), func(t *testing.T) {
			h := NewHasher(tt.workers, tt.queue)
			fill(h, tt.workers+tt.queue)
			if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
				t.Errorf("Hash: got %v, want ErrBusy", err)
			}
			if _, err := h.Verify(t.Context(), "pw", ""); !errors.Is(err, ErrBusy) {
				t.Errorf("Verify: got %v, want ErrBusy", err)
			}
		})
	}
}

func TestDepth(t *testing.T) {
	tests := []struct {
		workers, queue, callers int
		running, waiting        int
	}{
		{2, 3, 0, 0, 0},
		{2, 3, 1, 1, 0},
		{2, 3, 2, 2, 0},
		{2, 3, 5, 2, 3},
	}
	for _, tt := range tests {
		h := NewHasher(tt.workers, tt.queue)
		fill(h, tt.callers)
		if running, waiting := h.Depth(); running != tt.running || waiting != tt.waiting {
			t.Errorf("%d callers on %d workers: got %d running, %d waiting; want %d, %d",
				tt.callers, tt.workers, running, waiting, tt.running, tt.waiting)
		}
	}
}

// waitQueued returns once n callers are admitted to h.
func waitQueued(h *Hasher, n int) {
	for {
		running, waiting := h.Depth()
		if running+waiting >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestQueuedCallerCancelled(t *testing.T) {
	h := NewHasher(1, 1)
	fill(h, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := h.Hash(ctx, "pw")
		done <- err
	}()
	waitQueued(h, 2)

	if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with full queue: got %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("queued Hash: got %v, want context.Canceled", err)
	}
	if running, waiting := h.Depth(); running+waiting != 1 {
		t.Errorf("got %d callers admitted after cancel, want 1", running+waiting)
	}
}

func TestQueuedCallerRuns(t *testing.T) {
	h := NewHasher(1, 1)
	fill(h, 1)
	const phc = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result)
	go func() {
		ok, err := h.Verify(t.Context(), "password", phc)
		done <- result{ok, err}
	}()
	waitQueued(h, 2)

	h.release(0) // the worker in progress finishes
	if r := <-done; r.err != nil || !r.ok {
		t.Errorf("queued Verify: got %v, %v, want true, nil", r.ok, r.err)
	}
	if running, waiting := h.Depth(); running+waiting != 0 {
		t.Errorf("got %d callers held after all callers returned, want 0", running+waiting)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	h := NewHasher(1, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(1, 0)
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	for b.Loop() {
		_ = Check("correct horse battery staple")
	}
}
