package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/password"
)

// cli runs the roster command line against the database file dbPath.
type cli struct {
	t      *testing.T
	dbPath string
}

func newCLI(t *testing.T) cli {
	return cli{t: t, dbPath: filepath.Join(t.TempDir(), "roster.db")}
}

// run returns stdout, stderr and the error of `roster args...`.
func (c cli) run(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	err := testCommand.Run(c.t.Context(), args, proctest.Env(map[string]string{"ROSTER_DB": c.dbPath}), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustRun is run for commands that must succeed; it returns stdout.
func (c cli) mustRun(stdin string, args ...string) string {
	c.t.Helper()
	out, _, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("roster %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// store opens the CLI's database for checks, closed at the end of the test.
func (c cli) store() *db.Store {
	c.t.Helper()
	store, err := OpenStore(c.t.Context(), c.dbPath)
	if err != nil {
		c.t.Fatalf("open store: %v", err)
	}
	c.t.Cleanup(func() { store.Close() })
	return store
}

// createUser makes a verified user with `roster user create` and reads it
// back from store.
func (c cli) createUser(store *db.Store, email string) db.User {
	c.t.Helper()
	c.mustRun("", "user", "create", "-email", email, "-verified")
	u, err := store.UserByEmail(c.t.Context(), email)
	if err != nil {
		c.t.Fatalf("UserByEmail(%s): %v", email, err)
	}
	return u
}

var printedPassword = regexp.MustCompile(`(?m)^password: (\S+)$`)

// wantPassword checks that pw is the password of the user with email.
func wantPassword(t *testing.T, store *db.Store, email, pw string, want bool) {
	t.Helper()
	u, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("UserByEmail(%s): %v", email, err)
	}
	ok, err := password.NewHasher(1, 0).Verify(t.Context(), pw, u.PasswordHash)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if ok != want {
		t.Errorf("password %q of %s verifies: got %v, want %v", pw, email, ok, want)
	}
}

func TestRunVersion(t *testing.T) {
	out := newCLI(t).mustRun("", "version")
	if !regexp.MustCompile(`^roster \S+ go1\.\S+\n$`).MatchString(out) {
		t.Errorf("got %q, want \"roster VERSION GOVERSION\\n\"", out)
	}
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		out, errOut, err := newCLI(t).run("", arg)
		if err != nil || !strings.HasPrefix(out, "Roster: ") || errOut != "" {
			t.Errorf("roster %s: got stdout %q, stderr %q, %v, want the usage on stdout", arg, out, errOut, err)
		}
	}
	out := newCLI(t).mustRun("", "help")
	for _, o := range options {
		if !strings.Contains(out, o.env) || !strings.Contains(out, "-"+o.flag) {
			t.Errorf("help does not list %s and -%s", o.env, o.flag)
		}
	}
	for _, cmd := range []string{"[serve]", "migrate", "backup FILE", "user create", "user reset-password", "user verify-email", "user delete", "version"} {
		if !strings.Contains(out, "roster "+cmd) {
			t.Errorf("help does not list roster %s", cmd)
		}
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"user"}, "usage: roster user"},
		{[]string{"user", "remove", "-email", "a@example.com"}, "unknown command: user remove"},
		{[]string{"user", "delete", "-email", "nobody@example.com"}, "no user has the email nobody@example.com"},
		{[]string{"user", "create"}, "-email is required"},
		{[]string{"user", "create", "-email", "not an address"}, "is not an email address"},
		// The Kelvin sign, which Unicode lowercasing folds onto k: the forms
		// take ASCII addresses only, and so does the operator's command.
		{[]string{"user", "create", "-email", "\u212aim@example.com"}, "is not an email address in ASCII letters"},
		{[]string{"user", "reset-password", "-email", "nobody@example.com"}, "no user has the email nobody@example.com"},
		{[]string{"user", "verify-email", "-email", "nobody@example.com"}, "no user has the email nobody@example.com"},
		{[]string{"backup"}, "usage: roster backup FILE"},
		{[]string{"backup", "a", "b"}, "usage: roster backup FILE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := newCLI(t).run("", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	// Every command reads the configuration; a bad value stops each one
	// with the variable's name.
	for _, cmd := range []string{"serve", "migrate", "user"} {
		t.Run(cmd, func(t *testing.T) {
			env := map[string]string{"ROSTER_DB": filepath.Join(t.TempDir(), "roster.db"), "ROSTER_SIGNUP": "maybe"}
			err := testCommand.Run(t.Context(), []string{cmd}, proctest.Env(env), strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_SIGNUP") {
				t.Errorf("got %v, want an error starting with ROSTER_SIGNUP", err)
			}
		})
	}
	t.Run("serve on a bad address", func(t *testing.T) {
		env := map[string]string{"ROSTER_DB": filepath.Join(t.TempDir(), "roster.db"), "ROSTER_ADDR": "127.0.0.1:99999"}
		err := testCommand.Run(t.Context(), []string{"serve"}, proctest.Env(env), strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_ADDR") {
			t.Errorf("got %v, want an error starting with ROSTER_ADDR", err)
		}
	})
}

func TestUserCreate(t *testing.T) {
	c := newCLI(t)
	out := c.mustRun("", "user", "create", "-email", "a@example.com", "-name", "A")
	if !strings.HasPrefix(out, "created user 1 <a@example.com>\n") {
		t.Errorf("got %q, want it to start with \"created user 1 <a@example.com>\"", out)
	}
	m := printedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("got %q, want a generated password on a \"password: \" line", out)
	}
	if err := password.Check(m[1]); err != nil {
		t.Errorf("generated password %q breaks the policy: %v", m[1], err)
	}

	store := c.store()
	u, err := store.UserByEmail(t.Context(), "a@example.com")
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	if u.Name != "A" || u.EmailVerified() {
		t.Errorf("got name %q verified %v, want \"A\" and false", u.Name, u.EmailVerified())
	}
	wantPassword(t, store, "a@example.com", m[1], true)

	out = c.mustRun("", "user", "create", "-email", "b@example.com", "-verified")
	if u, err := store.UserByEmail(t.Context(), "b@example.com"); err != nil || !u.EmailVerified() {
		t.Errorf("-verified: got user %+v, %v, want a verified user", u, err)
	}
	if !printedPassword.MatchString(out) {
		t.Errorf("got %q, want a generated password", out)
	}
}

func TestUserCreatePasswordStdin(t *testing.T) {
	c := newCLI(t)
	const pw = "correct horse battery staple"
	out := c.mustRun(pw+"\n", "user", "create", "-email", "a@example.com", "-password-stdin")
	if strings.Contains(out, pw) || printedPassword.MatchString(out) {
		t.Errorf("got %q, want no password printed", out)
	}
	wantPassword(t, c.store(), "a@example.com", pw, true)

	// Without a final newline, as from `printf %s "$PW" | roster ...`.
	c.mustRun(pw, "user", "create", "-email", "b@example.com", "-password-stdin")
	wantPassword(t, c.store(), "b@example.com", pw, true)
}

func TestUserCreatePasswordPolicy(t *testing.T) {
	tests := []struct {
		pw   string
		want error
	}{
		{"short\n", password.ErrTooShort},
		{"password1234\n", password.ErrCommon},
		{"\n", password.ErrTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			c := newCLI(t)
			_, _, err := c.run(tt.pw, "user", "create", "-email", "a@example.com", "-password-stdin")
			if err == nil || !strings.Contains(err.Error(), tt.want.Error()) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if n, err := c.store().CountUsers(t.Context()); err != nil || n != 0 {
				t.Errorf("got %d users (%v), want 0", n, err)
			}
		})
	}
}

func TestUserCreateDuplicate(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	for _, email := range []string{"a@example.com", "A@Example.COM"} {
		_, _, err := c.run("", "user", "create", "-email", email)
		want := "a user with email " + email + " already exists"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("create %s again: got %v, want %q", email, err, want)
		}
	}
	if n, err := c.store().CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("got %d users (%v), want 1", n, err)
	}
}

func TestUserCreateBadEmail(t *testing.T) {
	c := newCLI(t)
	for _, email := range []string{"foo", "Ann <a@example.com>", "a@"} {
		_, _, err := c.run("", "user", "create", "-email", email)
		if err == nil || !strings.Contains(err.Error(), "is not an email address") {
			t.Errorf("create %q: got %v, want an error naming the bad address", email, err)
		}
	}
	if n, err := c.store().CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("got %d users (%v), want 0", n, err)
	}
}

func TestUserResetPassword(t *testing.T) {
	c := newCLI(t)
	const old, next = "correct horse battery staple", "a different long passphrase"
	c.mustRun(old+"\n", "user", "create", "-email", "a@example.com", "-password-stdin")
	store := c.store()
	u, err := store.UserByEmail(t.Context(), "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.CreateSession(t.Context(), db.Session{IDHash: []byte("session-hash"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	out := c.mustRun(next+"\n", "user", "reset-password", "-email", "a@example.com", "-password-stdin")
	if !strings.Contains(out, "1 sessions signed out") {
		t.Errorf("got %q, want it to say 1 session was signed out", out)
	}
	wantPassword(t, store, "a@example.com", old, false)
	wantPassword(t, store, "a@example.com", next, true)
	if ss, err := store.SessionsForUser(t.Context(), u.ID, time.Now().Add(-time.Hour)); err != nil || len(ss) != 0 {
		t.Errorf("got sessions %v (%v), want none after a reset", ss, err)
	}

	out = c.mustRun("", "user", "reset-password", "-email", "A@example.com")
	m := printedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("got %q, want a generated password", out)
	}
	wantPassword(t, store, "a@example.com", m[1], true)

	_, _, err = c.run("short\n", "user", "reset-password", "-email", "a@example.com", "-password-stdin")
	if err == nil || !strings.Contains(err.Error(), password.ErrTooShort.Error()) {
		t.Errorf("too short: got %v, want %q", err, password.ErrTooShort)
	}
	wantPassword(t, store, "a@example.com", m[1], true)
}

func TestUserVerifyEmail(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	out := c.mustRun("", "user", "verify-email", "-email", "a@example.com")
	if out != "marked <a@example.com> as verified\n" {
		t.Errorf("got %q", out)
	}
	u, err := c.store().UserByEmail(t.Context(), "a@example.com")
	if err != nil || !u.EmailVerified() {
		t.Errorf("got %+v, %v, want a verified user", u, err)
	}
	// Again: still fine, still verified.
	c.mustRun("", "user", "verify-email", "-email", "a@example.com")

	// A first verification ends the logins linked while the email was
	// unverified, and says so.
	ext := db.External{Provider: "oidc:Acme", Subject: "m1", Email: "b@example.com"}
	b, _, err := c.store().ResolveLogin(t.Context(), ext, true, db.Event{Kind: db.EventSignIn}, db.LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	out = c.mustRun("", "user", "verify-email", "-email", "b@example.com")
	if want := "marked <b@example.com> as verified\n" +
		"removed the oidc:Acme login \"m1\" (b@example.com): it was linked before the email was verified\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if ids, err := c.store().IdentitiesForUser(t.Context(), b.ID); err != nil || len(ids) != 0 {
		t.Errorf("logins after verify-email: got %+v, %v; want none", ids, err)
	}
}

func TestMigrate(t *testing.T) {
	c := newCLI(t)
	out := c.mustRun("", "migrate")
	if want := c.dbPath + " is up to date\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := os.Stat(c.dbPath); err != nil {
		t.Fatalf("database file: %v", err)
	}
	c.mustRun("", "migrate") // idempotent
	store, err := db.Open(t.Context(), c.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	applied, err := store.Migrate(t.Context())
	if err != nil || len(applied) != 0 {
		t.Errorf("after roster migrate, Migrate applied %v (%v), want nothing", applied, err)
	}
	if n, err := store.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("CountUsers: got %d, %v, want 0 and no error", n, err)
	}
}

// TestBackupWhileWriting copies the database while another connection keeps
// writing, as a live server would, and checks that the copy is one
// consistent snapshot.
func TestBackupWhileWriting(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	store := c.store()

	ctx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	var writes atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		defer close(writeErr)
		for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
			// Each user and its audit event are written in one transaction.
			_, err := store.CreateUser(ctx, db.NewUser{Email: fmt.Sprintf("w%d@example.com", i), PasswordHash: "x"},
				db.Event{Kind: db.EventSignUp, IP: "test"})
			if err != nil && ctx.Err() == nil {
				writeErr <- err
				return
			}
			writes.Add(1)
		}
	}()
	proctest.WaitFor(t, "writes to start", func() bool { return writes.Load() >= 20 })

	backup := filepath.Join(t.TempDir(), "copy.db")
	before := writes.Load()
	out := c.mustRun("", "backup", backup)
	after := writes.Load()
	proctest.WaitFor(t, "writes to go on after the backup", func() bool { return writes.Load() >= after+20 })
	stop()
	if err := <-writeErr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if !strings.Contains(out, "wrote a consistent copy") {
		t.Errorf("got %q", out)
	}

	copyDB, err := sql.Open("sqlite3", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: got %q, %v, want ok", check, err)
	}
	var users, events int64
	if err := copyDB.QueryRow("SELECT count(*) FROM users WHERE email LIKE 'w%'").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if err := copyDB.QueryRow("SELECT count(*) FROM audit_events WHERE ip = 'test'").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if users != events {
		t.Errorf("copy has %d users but %d of their sign-up events, want one snapshot", users, events)
	}
	if users < before || users > after+1 {
		t.Errorf("copy has %d written users, want between %d (before the backup) and %d (after)", users, before, after+1)
	}
	t.Logf("copied %d of the writer's users; %d were written before the backup, %d when it returned", users, before, after)

	copyStore, err := db.Open(t.Context(), backup)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer copyStore.Close()
	if u, err := copyStore.UserByEmail(t.Context(), "a@example.com"); err != nil || u.ID != 1 {
		t.Errorf("a@example.com in the copy: got %+v, %v", u, err)
	}

	// A second backup never overwrites a file.
	info, _ := os.Stat(backup)
	_, _, err = c.run("", "backup", backup)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup to an existing file: got %v, want \"already exists\"", err)
	}
	if info2, _ := os.Stat(backup); info2.Size() != info.Size() || !info2.ModTime().Equal(info.ModTime()) {
		t.Error("backup to an existing file changed it")
	}
}

var demoLine = regexp.MustCompile(`^Demo user created\. Log in as (\S+) with the password (\S+) \(shown only this once\)\.\n$`)

func TestSeedDemo(t *testing.T) {
	store := newCLI(t).store()
	var out bytes.Buffer
	if err := seedDemo(t.Context(), store, &out); err != nil {
		t.Fatalf("seedDemo: %v", err)
	}
	m := demoLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("got %q, want one line with the email and password", out.String())
	}
	wantPassword(t, store, m[1], m[2], true)
	if u, _ := store.UserByEmail(t.Context(), m[1]); !u.EmailVerified() {
		t.Error("demo user's email is not verified")
	}

	out.Reset()
	if err := seedDemo(t.Context(), store, &out); err != nil {
		t.Fatalf("seedDemo again: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("second seedDemo printed %q, want nothing", out.String())
	}
	if n, err := store.CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("got %d users (%v), want 1", n, err)
	}
}

func TestSeedDemoNotEmpty(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	var out bytes.Buffer
	if err := seedDemo(t.Context(), c.store(), &out); err != nil {
		t.Fatalf("seedDemo: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("seedDemo on a database with users printed %q, want nothing", out.String())
	}
}
