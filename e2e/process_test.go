package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/csrfmask"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// The crash and backup tests run the real binary as child processes on
// loopback, as an operator would: build it, start it, kill it.

// buildRoster compiles the roster command (the module's root, main.go)
// into a temporary directory.
func buildRoster(t *testing.T) string {
	t.Helper()
	// The go command running the tests puts its own bin directory first on
	// PATH, so this finds the same toolchain.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "roster")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "github.com/rosterhq/roster")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// rosterEnv is the environment of a child roster on dbPath: the test's own
// minus any ROSTER_* setting it may carry.
func rosterEnv(dbPath string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	return append(env, "ROSTER_DB="+dbPath, "ROSTER_ADDR=127.0.0.1:0", "ROSTER_BASE_URL=http://127.0.0.1")
}

// child is one `roster serve` process.
type child struct {
	cmd    *exec.Cmd
	stderr *logtest.Buffer
	base   string // http://127.0.0.1:port
	exited chan struct{}
}

// startServer starts `roster serve` on dbPath, with env's KEY=value
// settings added, and waits for /healthz.
func startServer(t *testing.T, bin, dbPath string, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, "serve"), stderr: &logtest.Buffer{}, exited: make(chan struct{})}
	c.cmd.Env = append(rosterEnv(dbPath), env...)
	c.cmd.Stdout = io.Discard
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start roster: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.signal(syscall.SIGKILL); <-c.exited })
	var addr string
	proctest.WaitFor(t, "the child's listening log line", func() bool {
		select {
		case <-c.exited:
			t.Fatalf("roster exited early: %v\n%s", c.cmd.ProcessState, c.stderr.String())
		default:
		}
		addr = proctest.ListenAddr(c.stderr.String())
		return addr != ""
	})
	c.base = "http://" + addr
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	proctest.WaitFor(t, "the child's /healthz", func() bool {
		res, err := hc.Get(c.base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return c
}

func (c *child) signal(sig os.Signal) {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Signal(sig)
	}
}

// stop ends the server with SIGTERM, as an operator would, and waits.
func (c *child) stop(t *testing.T) {
	t.Helper()
	c.signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("roster did not stop within 15s of SIGTERM\n%s", c.stderr.String())
	}
}

// browser is one HTTP client with its own cookies, never following
// redirects, speaking to one child (or its successor on the same port
// family: cookies ignore ports).
type browser struct {
	hc   *http.Client
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{base: base, hc: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	t.Cleanup(b.hc.CloseIdleConnections)
	return b
}

// csrf is the roster_csrf cookie masked as a page writes it
// (internal/csrfmask), the cookie fetched with GET /login when missing.
func (b *browser) csrf() (string, error) {
	u, _ := url.Parse(b.base)
	for range 2 {
		for _, ck := range b.hc.Jar.Cookies(u) {
			if ck.Name == "roster_csrf" {
				return csrfmask.Mask(ck.Value), nil
			}
		}
		res, err := b.hc.Get(b.base + "/login")
		if err != nil {
			return "", err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return "", fmt.Errorf("no roster_csrf cookie from GET /login")
}

// post sends a form with the CSRF header and returns the status.
func (b *browser) post(path string, form url.Values) (int, error) {
	token, err := b.csrf()
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	res, err := b.hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// get returns the status and body of GET path.
func (b *browser) get(path string) (int, string, error) {
	res, err := b.hc.Get(b.base + path)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// acked is true for an answer that says the write was done.
func acked(status int) bool { return status >= 200 && status < 400 }

// writeLog records the writes a server acknowledged: names each user's
// browser saved (in order) and emails signed up.
type writeLog struct {
	mu       sync.Mutex
	names    map[string][]string // email -> acknowledged names, oldest first
	inFlight map[string]string   // email -> the name sent but not answered
	signups  []string
}

func newWriteLog() *writeLog {
	return &writeLog{names: map[string][]string{}, inFlight: map[string]string{}}
}

// snapshot copies what was acknowledged so far.
func (w *writeLog) snapshot() (names map[string][]string, signups []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	names = map[string][]string{}
	for k, v := range w.names {
		names[k] = append([]string(nil), v...)
	}
	return names, append([]string(nil), w.signups...)
}

// ready reports whether n writes were acknowledged, a sign-up among them:
// sign-ups hash a password at a low priority, so under the renamers' load
// they can lag far behind.
func (w *writeLog) ready(n int) bool {
	w.mu.Lock()
	signups := len(w.signups)
	w.mu.Unlock()
	return signups > 0 && w.count() >= n
}

func (w *writeLog) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.signups)
	for _, v := range w.names {
		n += len(v)
	}
	return n
}

// writeLoad signs up one browser per renamer, then runs renamers that
// save new names in a loop and signers that sign up new people, until
// stop is closed or the server goes away. newClient makes each browser;
// prefix starts every email, so that two loads on one database differ. It
// returns the signed-in browsers by email and a wait for the load's end.
func writeLoad(t *testing.T, newClient func() *browser, prefix string, renamers, signers int, log *writeLog, stop <-chan struct{}) (map[string]*browser, func()) {
	t.Helper()
	const password = "seven quiet lanterns in the harbour"
	browsers := map[string]*browser{}
	for i := range renamers {
		email := fmt.Sprintf("%srenamer%d@example.com", prefix, i)
		b := newClient()
		status, err := b.post("/signup", url.Values{"name": {"Renamer"}, "email": {email}, "password": {password}})
		if err != nil || status != http.StatusSeeOther {
			t.Fatalf("sign up %s: got %d, %v, want 303", email, status, err)
		}
		browsers[email] = b
	}
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for email, b := range browsers {
		wg.Go(func() {
			for i := 0; !stopped(); i++ {
				name := fmt.Sprintf("%s name %d.", strings.TrimSuffix(email, "@example.com"), i)
				log.mu.Lock()
				log.inFlight[email] = name
				log.mu.Unlock()
				status, err := b.post("/profile/name", url.Values{"name": {name}})
				if err != nil {
					return // the server is gone; this write's fate is unknown
				}
				log.mu.Lock()
				if acked(status) {
					log.names[email] = append(log.names[email], name)
				}
				delete(log.inFlight, email)
				log.mu.Unlock()
			}
		})
	}
	for s := range signers {
		wg.Go(func() {
			for i := 0; !stopped(); i++ {
				email := fmt.Sprintf("%ssigner%d-%d@example.com", prefix, s, i)
				b := newClient()
				status, err := b.post("/signup", url.Values{"name": {"Signer"}, "email": {email}, "password": {password}})
				b.hc.CloseIdleConnections()
				if err != nil {
					return
				}
				if acked(status) {
					log.mu.Lock()
					log.signups = append(log.signups, email)
					log.mu.Unlock()
				}
			}
		})
	}
	return browsers, wg.Wait
}

// openCopy opens a database file for checks, closed at the end of the test.
func openCopy(t *testing.T, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// checkIntegrity runs PRAGMA integrity_check.
func checkIntegrity(t *testing.T, conn *sql.DB) {
	t.Helper()
	var got string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&got); err != nil || got != "ok" {
		t.Errorf("PRAGMA integrity_check: got %q, %v, want ok", got, err)
	}
}

// checkWrites checks that every acknowledged write is in conn: each
// signed-up email, and each saved name in the user's audit log.
func checkWrites(t *testing.T, conn *sql.DB, names map[string][]string, signups []string) {
	t.Helper()
	for _, email := range signups {
		var n int
		if err := conn.QueryRow("SELECT count(*) FROM users WHERE email = ?", email).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged sign-up %s: got %d rows, %v, want 1", email, n, err)
		}
	}
	for email, want := range names {
		rows, err := conn.Query(`SELECT json_extract(e.detail_json, '$.name') FROM audit_events e JOIN users u ON u.id = e.user_id
			WHERE u.email = ? AND e.kind = 'profile_updated'`, email)
		if err != nil {
			t.Fatal(err)
		}
		saved := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			saved[name] = true
		}
		rows.Close()
		for _, name := range want {
			if !saved[name] {
				t.Errorf("acknowledged name %q of %s: not in the audit log", name, email)
			}
		}
	}
}
