package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/internal/samltest"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/sso"
)

// The primary's name as LiteFS writes it in .primary on the replicas.
const testPrimary = "primary-node"

// replicaFixture is a database at the current schema, as the primary
// leaves it: a user with a signed-in session (and one whose last-seen time
// is due), a verification link, a queued notification and a SAML
// connection.
type replicaFixture struct {
	dir, dbPath       string
	cookie, dueCookie string
	verifyToken       string
	samlMetadata      string // the path of a SAML connection's metadata
	delivery          int64
}

func newReplicaFixture(t *testing.T) replicaFixture {
	t.Helper()
	ctx := t.Context()
	f := replicaFixture{dir: t.TempDir()}
	f.dbPath = filepath.Join(f.dir, "roster.db")
	store, err := OpenStore(ctx, f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// What the primary's first start writes.
	if _, err := secret(ctx, store, ""); err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(ctx, db.NewUser{Email: "ada@example.com", Name: "Ada", PasswordHash: "x", Verified: true}, db.Event{Kind: db.EventSignUp, IP: "test"})
	if err != nil {
		t.Fatal(err)
	}
	newSession := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		v := base64.RawURLEncoding.EncodeToString(b)
		sum := sha256.Sum256([]byte(v))
		if _, err := store.CreateSession(ctx, db.Session{IDHash: sum[:], UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour), IP: "test"}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	f.cookie = newSession()
	// A session last seen five minutes ago: its touch is due.
	store.SetClock(func() time.Time { return time.Now().Add(-5 * time.Minute) })
	f.dueCookie = newSession()
	store.SetClock(time.Now)
	f.verifyToken = rand.Text()
	sum := sha256.Sum256([]byte(f.verifyToken))
	if err := store.CreateEmailToken(ctx, sum[:], u.ID, db.TokenVerify, u.Email, time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	ids, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Queued on the primary", Body: "hello"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("enqueue: %v, %v", ids, err)
	}
	f.delivery = ids[0]
	// A SAML connection, before the first SAML use made the service
	// provider's key pair.
	acc, err := store.CreateAccount(ctx, u.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	idpKey, err := sso.NewSPKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := store.CreateSAMLConnection(ctx, acc.ID, u.ID, db.NewSAMLConnection{
		Name: "Okta", IdPMetadataXML: samltest.Metadata(t, idpKey), IdPEntityID: "https://idp.example.com/metadata", EmailDomains: []string{"example.com"},
	}, db.Event{Kind: db.EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	f.samlMetadata = fmt.Sprintf("/saml/%d/metadata", conn.ID)
	return f
}

// markReplica writes .primary beside the database, as LiteFS does on a
// replica.
func (f replicaFixture) markReplica(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, ".primary"), []byte(testPrimary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serveLiteFS runs serve with ROSTER_LITEFS=1 on f's database until the
// test ends, mailing through smtp; queryOnly makes every write fail.
func (f replicaFixture) serveLiteFS(t *testing.T, smtp *smtptest.Server, queryOnly bool) (done chan error, log *logtest.Buffer) {
	t.Helper()
	cfg, err := parseConfig(nil, proctest.Env(map[string]string{
		"ROSTER_DB": f.dbPath, "ROSTER_ADDR": "127.0.0.1:0", "ROSTER_LITEFS": "1",
		"ROSTER_SMTP_URL": "smtp://" + smtp.Addr,
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.queryOnly = queryOnly
	ctx, cancel := context.WithCancel(context.Background())
	log = &logtest.Buffer{}
	done = make(chan error, 1)
	go func() { done <- testCommand.serve(ctx, cfg, &logtest.Buffer{}, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return done, log
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// routeTable is every route of Roster, as handlers.Routes registers it.
func routeTable(t *testing.T) []struct{ Method, Path string } {
	t.Helper()
	app, err := testCommand.Open(t.Context(), proctest.Env(map[string]string{"ROSTER_DB": filepath.Join(t.TempDir(), "routes.db")}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Store.Close()
	var routes []struct{ Method, Path string }
	for _, r := range app.Echo.Routes() {
		if strings.Contains(r.Path, "*") {
			continue // static files
		}
		routes = append(routes, struct{ Method, Path string }{r.Method, r.Path})
	}
	return routes
}

// fill puts a value in every :param of a route's path.
func fill(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "1"
		}
	}
	return strings.Join(parts, "/")
}

// TestReplicaNeverWrites serves a database whose writes all fail, as on a
// LiteFS replica, with .primary naming the primary: pages are served to a
// session signed in before, every request that writes is answered with
// Fly-Replay naming the primary before any work, no worker runs, and the
// database file is not changed.
func TestReplicaNeverWrites(t *testing.T) {
	f := newReplicaFixture(t)
	f.markReplica(t)
	before, beforeWAL := fileHash(t, f.dbPath), fileHash(t, f.dbPath+"-wal")
	smtp := smtptest.Start(t)
	done, log := f.serveLiteFS(t, smtp, true)
	base := "http://" + waitListening(t, done, log)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	const csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	do := func(method, path, cookie string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader("_csrf="+csrf))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", csrf)
		c := "roster_csrf=" + csrf
		if cookie != "" {
			c += "; roster_session=" + cookie
		}
		req.Header.Set("Cookie", c)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	replayed := func(resp *http.Response) bool {
		return resp.StatusCode == http.StatusTemporaryRedirect && resp.Header.Get("Fly-Replay") == "instance="+testPrimary
	}

	if !strings.Contains(log.String(), "litefs: this node is a replica") {
		t.Errorf("the log does not say this is a replica:\n%s", log)
	}
	// Pages, signed in with the session made on the primary.
	for _, p := range []string{"/profile", "/profile/activity", "/profile/notifications", "/preferences", "/accounts/new", "/verify/" + f.verifyToken} {
		if resp := do(http.MethodGet, p, f.cookie); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s on a replica: got %d, want 200", p, resp.StatusCode)
		}
	}
	// A session whose last-seen time is due goes to the primary, to be
	// touched there.
	if resp := do(http.MethodGet, "/profile", f.dueCookie); !replayed(resp) {
		t.Errorf("GET /profile with a session due for its touch: got %d, Fly-Replay %q; want 307 to %s", resp.StatusCode, resp.Header.Get("Fly-Replay"), testPrimary)
	}
	// Every route: the unsafe ones and the GETs that write are replayed;
	// no other GET fails.
	writing := map[string]bool{"/auth/:provider/callback": true}
	unsafe := 0
	for _, r := range routeTable(t) {
		resp := do(r.Method, fill(r.Path), f.cookie)
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead || writing[r.Path]:
			unsafe++
			if !replayed(resp) {
				t.Errorf("%s %s on a replica: got %d, Fly-Replay %q; want 307 to %s", r.Method, r.Path, resp.StatusCode, resp.Header.Get("Fly-Replay"), testPrimary)
			}
		case r.Path == "/saml/:conn/metadata":
			// Replayed until the SAML key pair is made: below.
		case resp.StatusCode >= 500 || replayed(resp):
			t.Errorf("%s %s on a replica: got %d (Fly-Replay %q), want it served here", r.Method, r.Path, resp.StatusCode, resp.Header.Get("Fly-Replay"))
		}
	}
	if unsafe < 40 {
		t.Errorf("only %d routes write: the route table was not read", unsafe)
	}
	// The API's preferences: read here for a signed-in browser; a bearer
	// token's throttle writes, so that call is the primary's.
	if resp := do(http.MethodGet, "/api/v1/me/preferences", f.cookie); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1/me/preferences signed in on a replica: got %d, want 200", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me/preferences?user=1", nil)
	req.Header.Set("Authorization", "Bearer not-the-token")
	if resp, err := client.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); !replayed(resp) {
		t.Errorf("GET /api/v1/me/preferences with a bearer token on a replica: got %d, want 307 to %s", resp.StatusCode, testPrimary)
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if resp := do(m, "/profile", f.cookie); !replayed(resp) {
			t.Errorf("%s /profile on a replica: got %d, want 307 to %s", m, resp.StatusCode, testPrimary)
		}
	}

	// No worker: the queued notification stays queued and unclaimed.
	time.Sleep(2 * roleEvery)
	store, err := db.OpenQueryOnly(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := store.DeliveryByID(t.Context(), f.delivery)
	store.CloseReadOnly()
	if err != nil {
		t.Fatal(err)
	}
	if d.State != db.DeliveryQueued || d.Attempts != 0 {
		t.Errorf("on a replica the outbox row is %s after %d attempts, want queued and never claimed", d.State, d.Attempts)
	}
	if n := len(smtp.Mails()); n != 0 {
		t.Errorf("a replica sent %d mails", n)
	}
	for _, bad := range []string{"readonly", "read-only", "disk I/O", `"level":"ERROR"`} {
		if strings.Contains(log.String(), bad) {
			t.Errorf("the replica's log has %q:\n%s", bad, log)
		}
	}
	if fileHash(t, f.dbPath) != before || fileHash(t, f.dbPath+"-wal") != beforeWAL {
		t.Error("the database file changed on a replica")
	}

	// The SAML key pair is made by the primary only; once it is, the
	// replica serves the metadata.
	if resp := do(http.MethodGet, f.samlMetadata, ""); !replayed(resp) {
		t.Errorf("GET %s on a replica before the SAML key pair is made: got %d, want 307 to %s", f.samlMetadata, resp.StatusCode, testPrimary)
	}
	primary, err := db.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	spKey, err := sso.NewSPKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := primary.SettingOrInit(t.Context(), "saml_sp_key_cert", spKey); err != nil {
		t.Fatal(err)
	}
	if resp := do(http.MethodGet, f.samlMetadata, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s on a replica once the primary made the SAML key pair: got %d, want 200", f.samlMetadata, resp.StatusCode)
	}
}

// TestReplicaWaitsForPrimary starts a replica before its primary has made
// the database, then before it has migrated it: the replica says in the
// log that it waits, and serves once the schema (and the cookie secret)
// are there, without having written anything itself.
func TestReplicaWaitsForPrimary(t *testing.T) {
	dir := t.TempDir()
	f := replicaFixture{dir: dir, dbPath: filepath.Join(dir, "roster.db")}
	f.markReplica(t)
	done, log := f.serveLiteFS(t, smtptest.Start(t), true)
	notServing := func(what string) {
		t.Helper()
		time.Sleep(3 * awaitPoll)
		select {
		case err := <-done:
			t.Fatalf("serve returned while %s: %v\n%s", what, err, log)
		default:
		}
		if proctest.ListenAddr(log.String()) != "" {
			t.Fatalf("the replica listens while %s:\n%s", what, log)
		}
	}
	proctest.WaitFor(t, "the replica to wait for the database", func() bool {
		return strings.Contains(log.String(), "replica: waiting for the primary ("+testPrimary+") to create the database")
	})
	notServing("the database does not exist")

	// The primary creates the database, and has not migrated it yet.
	store, err := db.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, want, err := store.SchemaVersion(t.Context())
	if err != nil || want < 17 {
		t.Fatalf("SchemaVersion: want %d, %v", want, err)
	}
	waitLine := fmt.Sprintf("replica: waiting for the primary (%s) to migrate to %05d", testPrimary, want)
	proctest.WaitFor(t, "the replica to wait for the schema", func() bool { return strings.Contains(log.String(), waitLine) })
	notServing("the schema is not there")

	if _, err := store.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	notServing("the cookie secret is not there")
	if _, err := secret(t.Context(), store, ""); err != nil {
		t.Fatal(err)
	}
	waitListening(t, done, log)
	if have, _, _ := store.SchemaVersion(t.Context()); have != want {
		t.Errorf("schema %d after the primary migrated, want %d", have, want)
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) {
		t.Errorf("errors in the replica's log:\n%s", log)
	}
}

// TestReplicaPromotion: a replica's workers start when its .primary goes
// (LiteFS promoted it), without a restart, and deliver what waits; they
// stop when .primary comes back (demoted).
func TestReplicaPromotion(t *testing.T) {
	f := newReplicaFixture(t)
	f.markReplica(t)
	smtp := smtptest.Start(t)
	done, log := f.serveLiteFS(t, smtp, false)
	waitListening(t, done, log)
	time.Sleep(2 * roleEvery)
	if n := len(smtp.Mails()); n != 0 {
		t.Fatalf("a replica sent %d mails", n)
	}

	if err := os.Remove(filepath.Join(f.dir, ".primary")); err != nil {
		t.Fatal(err)
	}
	smtp.Wait(t, "ada@example.com", "Queued on the primary")
	proctest.WaitFor(t, "the log to say the node was promoted", func() bool {
		return strings.Contains(log.String(), "litefs: promoted to primary")
	})

	f.markReplica(t)
	proctest.WaitFor(t, "the log to say the node was demoted", func() bool {
		return strings.Contains(log.String(), "litefs: demoted to replica")
	})
	store, err := db.Open(t.Context(), f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.UserByEmail(t.Context(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Enqueue(t.Context(), u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Queued after the demotion", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	// Stopped: the boot was ended (its row gone), so no worker of this
	// process holds or claims anything.
	boots := func() int {
		t.Helper()
		raw, err := sql.Open("sqlite3", "file:"+f.dbPath+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM boots`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := boots(); n != 0 {
		t.Errorf("%d boots recorded after the demotion, want the boot ended", n)
	}
	if n := len(smtp.Mails()); n != 1 {
		t.Errorf("%d mails sent, want only the one sent while primary", n)
	}

	// Promoted again: the same process records its boot again and
	// delivers what was queued meanwhile.
	if err := os.Remove(filepath.Join(f.dir, ".primary")); err != nil {
		t.Fatal(err)
	}
	smtp.Wait(t, "ada@example.com", "Queued after the demotion")
	if n := boots(); n != 1 {
		t.Errorf("%d boots recorded after the second promotion, want 1", n)
	}
}

// TestReplicaAdminCommands: on a LiteFS replica the commands that write
// refuse in one line naming ROSTER_LITEFS and the primary, without touching
// the database; a backup, which only reads, runs.
func TestReplicaAdminCommands(t *testing.T) {
	f := newReplicaFixture(t)
	f.markReplica(t)
	before := fileHash(t, f.dbPath)
	env := proctest.Env(map[string]string{"ROSTER_DB": f.dbPath, "ROSTER_LITEFS": "1"})
	for _, args := range [][]string{
		{"migrate"},
		{"user", "create", "-email", "bob@example.com"},
		{"user", "verify-email", "-email", "ada@example.com"},
		{"saml", "verify-domain", "-connection", "1", "-domain", "example.com"},
	} {
		var stdout, stderr strings.Builder
		err := testCommand.Run(t.Context(), args, env, strings.NewReader(""), &stdout, &stderr)
		if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_LITEFS: ") || !strings.Contains(err.Error(), "("+testPrimary+")") || strings.Contains(err.Error(), "\n") {
			t.Errorf("roster %s on a replica: got %v, want one line naming ROSTER_LITEFS and the primary", strings.Join(args, " "), err)
		}
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	var stdout strings.Builder
	if err := testCommand.Run(t.Context(), []string{"backup", backup}, env, strings.NewReader(""), &stdout, &stdout); err != nil {
		t.Fatalf("roster backup on a replica: %v", err)
	}
	if _, err := os.Stat(backup); err != nil {
		t.Error(err)
	}
	if fileHash(t, f.dbPath) != before {
		t.Error("the commands changed the database on a replica")
	}
}

// TestReplicaLosesItsPrimary: a LiteFS replica that loses its primary (the
// primary died, LiteFS is reconnecting, or the lease changes hands) has no
// .primary file, but LiteFS still shows its database read-only. It stays a
// replica: it serves pages (a session due for its last-seen touch too,
// untouched), refuses writes with 503 and Retry-After (there is no
// primary to replay them on), starts no worker and writes nothing; once
// .primary is back, writes and due touches are replayed on the primary.
func TestReplicaLosesItsPrimary(t *testing.T) {
	f := newReplicaFixture(t)
	f.markReplica(t)
	// LiteFS's mode for the database on a replica (0666 on the primary).
	if err := os.Chmod(f.dbPath, 0o444); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, f.dbPath)
	smtp := smtptest.Start(t)
	done, log := f.serveLiteFS(t, smtp, true)
	base := "http://" + waitListening(t, done, log)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	do := func(method, path string, cookie ...string) *http.Response {
		t.Helper()
		const csrf = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
		req, _ := http.NewRequest(method, base+path, strings.NewReader("name=Ada+Lovelace"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Cookie", "roster_csrf="+csrf+"; roster_session="+append(cookie, f.cookie)[0])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	if err := os.Remove(filepath.Join(f.dir, ".primary")); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, "the log to say the replica has no primary", func() bool {
		return strings.Contains(log.String(), "litefs: this node is a replica and has no primary now")
	})
	// The workers' promotion check runs every roleEvery: give it two.
	time.Sleep(2 * roleEvery)
	if resp := do(http.MethodGet, "/profile"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /profile on a replica without a primary: got %d, want 200", resp.StatusCode)
	}
	// A session due for its last-seen touch: there is no primary to
	// touch it on, so the page is served and the touch waits.
	if resp := do(http.MethodGet, "/profile", f.dueCookie); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /profile with a session due for its touch, on a replica without a primary: got %d, want 200", resp.StatusCode)
	}
	if resp := do(http.MethodPost, "/profile/name"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Fly-Replay") != "" {
		t.Errorf("POST /profile/name on a replica without a primary: got %d, Retry-After %q, Fly-Replay %q; want 503 with Retry-After and no Fly-Replay",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Fly-Replay"))
	}

	f.markReplica(t)
	proctest.WaitFor(t, "a write to be replayed on the primary again", func() bool {
		resp := do(http.MethodPost, "/profile/name")
		return resp.StatusCode == http.StatusTemporaryRedirect && resp.Header.Get("Fly-Replay") == "instance="+testPrimary
	})
	if resp := do(http.MethodGet, "/profile", f.dueCookie); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Fly-Replay") != "instance="+testPrimary {
		t.Errorf("GET /profile with a session due for its touch, the primary back: got %d, Fly-Replay %q; want 307 to %s", resp.StatusCode, resp.Header.Get("Fly-Replay"), testPrimary)
	}
	if n := len(smtp.Mails()); n != 0 {
		t.Errorf("a replica without a primary sent %d mails", n)
	}
	for _, bad := range []string{"promoted", "now the primary", `"level":"ERROR"`} {
		if strings.Contains(log.String(), bad) {
			t.Errorf("the replica's log has %s:\n%s", bad, log)
		}
	}
	if fileHash(t, f.dbPath) != before {
		t.Errorf("the database file changed on a replica without a primary")
	}
}
