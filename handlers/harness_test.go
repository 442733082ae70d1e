package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/csrfmask"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/session"
	"github.com/rosterhq/roster/views"
)

// The tests drive the real router, middleware, templates, session store and
// a SQLite file in t.TempDir(). Only outgoing mail is replaced, by a recorder.

const (
	annName     = "Ann Example"
	annEmail    = "ann@example.com"
	annPassword = "correct horse battery staple"
	newPassword = "tangerine kettle under the bridge"
	bobEmail    = "bob@example.com"
	bobPassword = "seven quiet lanterns in the harbour"
	firefoxUA   = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	safariUA    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
	csrfCookie  = "roster_csrf"
	sessCookie  = "roster_session"
)

// app is one Roster instance on its own database.
type app struct {
	store    *db.Store
	sessions *session.Store
	echo     *echo.Echo
	handler  *handlers.Handler
	views    *views.Renderer
	server   *httptest.Server
	mail     *recordingMailer
	logs     *logtest.Buffer
	worker   *notify.Worker
	hasher   *password.Hasher
}

// appConfig is what a test may change before an app is built.
type appConfig struct {
	handlers.Config
	workers, queue int           // of the password hasher
	budget         time.Duration // the hasher's wait budget; 0 is none
	// The notification worker: phone is its SMS and voice sender (none by
	// default); manualWorker leaves it stopped, for tests that drive it
	// with RunOnce.
	phone        notify.Phone
	manualWorker bool
	// smtp, when set, is the mail server the worker delivers to (instead
	// of the recorder); now is the clock of the store and the worker; poll
	// is how often the running worker looks for work nobody kicked it for.
	smtp *smtptest.Server
	now  func() time.Time
	poll time.Duration
}

// newApp builds an app with an http base URL and open sign-up; opts adjust
// the configuration before anything is wired.
func newApp(t *testing.T, opts ...func(*appConfig)) *app {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, t.TempDir()+"/roster.db")
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { store.Close() }) // a test may have closed it already
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	v, err := views.New()
	if err != nil {
		t.Fatalf("views: %v", err)
	}
	store.SetBillingComposer(v.BillingNotice) // as newServer does
	base, _ := url.Parse("http://roster.test")
	ac := appConfig{
		Config: handlers.Config{
			BaseURL:         base,
			Signup:          handlers.SignupOpen,
			Secret:          bytes.Repeat([]byte("k"), 32),
			SessionIdle:     7 * 24 * time.Hour,
			SessionAbsolute: 30 * 24 * time.Hour,
		},
		workers: 2, queue: 8,
	}
	for _, o := range opts {
		o(&ac)
	}
	cfg := ac.Config
	cfg.Phone = ac.phone != nil // SMS and calls are offered when the worker can send them
	a := &app{store: store, mail: newRecordingMailer(), logs: &logtest.Buffer{}}
	a.echo = echo.New()
	a.echo.HideBanner, a.echo.HidePort = true, true
	a.sessions = session.New(store, session.Config{
		Secure: cfg.Secure(), Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute,
		ClientIP: func(r *http.Request) string { return a.echo.IPExtractor(r) },
	})
	log := slog.New(slog.NewTextHandler(a.logs, nil))
	var mailer notify.Mailer = a.mail
	if ac.smtp != nil {
		m, err := mail.NewSMTP("smtp://"+ac.smtp.Addr, "Roster <roster@localhost>")
		if err != nil {
			t.Fatal(err)
		}
		mailer = m
	}
	if ac.now != nil {
		store.SetClock(ac.now)
	}
	a.worker = notify.New(store, notify.Config{Mail: mailer, Phone: ac.phone, HTTP: notify.HTTPClient(true), Log: log, Now: ac.now, Poll: ac.poll})
	if !ac.manualWorker {
		cfg.Queued = a.worker.Kick
		workerCtx, stop := context.WithCancel(ctx)
		var delivering sync.WaitGroup
		delivering.Go(func() { a.worker.Run(workerCtx) })
		t.Cleanup(func() { stop(); delivering.Wait() })
	}
	a.hasher = password.NewHasher(ac.workers, ac.queue)
	a.hasher.SetBudget(ac.budget)
	h := handlers.New(cfg, store, v, a.sessions, a.hasher, log)
	if err := h.Routes(a.echo, os.DirFS("../static")); err != nil {
		t.Fatalf("routes: %v", err)
	}
	a.handler, a.views = h, v
	a.server = httptest.NewServer(a.echo)
	t.Cleanup(a.server.Close)
	return a
}

// httpsBase configures an app as if served at https://roster.test.
func httpsBase(ac *appConfig) {
	ac.BaseURL, _ = url.Parse("https://roster.test")
}

// seedHashes caches one real Argon2id hash per password, so that users a
// test only needs to exist cost no hashing after the first.
var seedHashes sync.Map

// seedUser creates a user directly in the database, with a password that
// signs in. Tests of sign-up itself go through POST /signup instead.
func (a *app) seedUser(t *testing.T, name, email, pw string) db.User {
	t.Helper()
	hash, ok := seedHashes.Load(pw)
	if !ok {
		h, err := password.NewHasher(1, 0).Hash(context.Background(), pw)
		if err != nil {
			t.Fatalf("hash: %v", err)
		}
		hash, _ = seedHashes.LoadOrStore(pw, h)
	}
	u, err := a.store.CreateUser(context.Background(), db.NewUser{Email: email, Name: name, PasswordHash: hash.(string)}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// recordingMailer keeps every message sent, for tests to read the links.
type recordingMailer struct {
	mu      sync.Mutex
	msgs    []mail.Message
	changed chan struct{} // closed and replaced at every Send
}

func newRecordingMailer() *recordingMailer {
	return &recordingMailer{changed: make(chan struct{})}
}

func (m *recordingMailer) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

// sentTo returns the messages sent to address so far.
func (m *recordingMailer) sentTo(address string) []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mail.Message
	for _, msg := range m.msgs {
		if msg.To == address {
			out = append(out, msg)
		}
	}
	return out
}

// waitFor returns the first message to address whose subject contains
// subject, waiting for it when it is sent in the background.
func (m *recordingMailer) waitFor(t *testing.T, address, subject string) mail.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		for _, msg := range m.msgs {
			if msg.To == address && strings.Contains(msg.Subject, subject) {
				m.mu.Unlock()
				return msg
			}
		}
		changed, n := m.changed, len(m.msgs)
		m.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no mail to %s about %q after 10s; got %d other messages", address, subject, n)
		}
	}
}

// link finds the first URL starting with prefix in a message.
func link(t *testing.T, msg mail.Message, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]+`).FindString(msg.Text)
	if m == "" {
		t.Fatalf("mail %q: no link starting with %s in %q", msg.Subject, prefix, msg.Text)
	}
	return m
}

// client is one browser: its own cookie jar, never following redirects.
type client struct {
	t   *testing.T
	app *app
	hc  *http.Client
	ua  string
}

func (a *app) client(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, app: a, ua: firefoxUA, hc: &http.Client{
		Jar: jar,
		// Its own connections: httptest.Server.Close closes the idle
		// connections of http.DefaultTransport, which would break the
		// requests of tests running in parallel.
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a request got back, body read.
type response struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie
}

// cookie returns the Set-Cookie named name, or nil.
func (r *response) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (c *client) do(method, path string, form url.Values, header http.Header) *response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.app.server.URL+path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", c.ua)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if host := req.Header.Get("Host"); host != "" {
		// Sent as a client may send it. The jar would look the cookies up
		// by that host, so add the server's ones here.
		req.Host = host
		req.Header.Del("Host")
		for _, ck := range c.hc.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: string(b), cookies: res.Cookies()}
}

func (c *client) get(path string) *response { return c.do(http.MethodGet, path, nil, nil) }

// getHTMX asks for path the way htmx does.
func (c *client) getHTMX(path string) *response {
	return c.do(http.MethodGet, path, nil, http.Header{"Hx-Request": {"true"}})
}

// postForm posts a plain form, with the _csrf field added.
func (c *client) postForm(path string, v url.Values) *response {
	c.t.Helper()
	form := url.Values{"_csrf": {c.csrf()}}
	for k, vs := range v {
		form[k] = vs
	}
	return c.do(http.MethodPost, path, form, nil)
}

// postHTMX posts a form the way htmx does: HX-Request and the token in
// X-CSRF-Token, from <body hx-headers>.
func (c *client) postHTMX(path string, v url.Values) *response {
	c.t.Helper()
	if v == nil {
		v = url.Values{}
	}
	return c.do(http.MethodPost, path, v, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.csrf()}})
}

// maskedTokenRE finds the CSRF tokens an answer writes: the forms' fields,
// the meta tag and htmx's header.
var maskedTokenRE = regexp.MustCompile(`(name="_csrf" value="|name="csrf-token" content="|"X-CSRF-Token": ")([A-Za-z0-9_-]{86})"`)

// unmasked is body with each masked CSRF token replaced by the token it
// carries: two answers that must look the same (to someone probing which
// emails exist) differ only in their pads, which are new every time.
func unmasked(body string) string {
	return maskedTokenRE.ReplaceAllStringFunc(body, func(m string) string {
		sub := maskedTokenRE.FindStringSubmatch(m)
		raw, ok := csrfmask.Unmask(sub[2])
		if !ok {
			return m
		}
		return sub[1] + "unmasked:" + raw + `"`
	})
}

// csrf returns the token of the roster_csrf cookie masked afresh, as a
// page carries it, loading the sign-in page first when the jar has none
// yet.
func (c *client) csrf() string {
	c.t.Helper()
	if v := c.cookie(csrfCookie); v != "" {
		return csrfmask.Mask(v)
	}
	res := c.get("/login")
	if v := c.cookie(csrfCookie); v != "" {
		return csrfmask.Mask(v)
	}
	if m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindStringSubmatch(res.body); m != nil {
		return m[1]
	}
	c.t.Fatalf("GET /login: no CSRF token in the cookie or the page")
	return ""
}

// cookie is the value the jar would send for name.
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.app.server.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// signup creates a profile and leaves this client signed in to it.
func (c *client) signup(name, email, password string) {
	c.t.Helper()
	res := c.postForm("/signup", url.Values{"name": {name}, "email": {email}, "password": {password}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		c.t.Fatalf("sign up %s: got %d to %q, want 303 to /profile; body %s", email, res.status, res.header.Get("Location"), res.body)
	}
}

// login signs this client in.
func (c *client) login(email, password string) {
	c.t.Helper()
	res := c.postForm("/login", url.Values{"email": {email}, "password": {password}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		c.t.Fatalf("log in %s: got %d to %q, want 303 to /profile; body %s", email, res.status, res.header.Get("Location"), res.body)
	}
}

// adopt signs this client in as userID through the session store, as a
// sign-in would but without checking a password, and re-authenticates the
// session (sudo.go) as its prompt would: the tests of the sensitive
// actions test the action, and sudo_test.go the prompt, with signInOnly.
func (c *client) adopt(userID int64) {
	c.t.Helper()
	c.signInOnly(userID)
	c.reauthenticate()
}

// reauthenticate marks this client's session re-authenticated now, as the
// prompt does after the right password or code.
func (c *client) reauthenticate() {
	c.t.Helper()
	sum := sha256.Sum256([]byte(c.cookie(sessCookie)))
	in, err := c.app.store.ActiveSession(context.Background(), sum[:], time.Now().Add(-time.Hour))
	if err != nil {
		c.t.Fatalf("re-authenticate: the client's session: %v", err)
	}
	if err := c.app.store.Reauthenticate(context.Background(), in.User.ID, sum[:], db.Event{Kind: db.EventSudo}); err != nil {
		c.t.Fatalf("re-authenticate user %d: %v", in.User.ID, err)
	}
}

// signInOnly signs this client in as userID through the session store, as
// a sign-in would but without checking a password: the session is not
// re-authenticated.
func (c *client) signInOnly(userID int64) {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/login", nil)
	req.Header.Set("User-Agent", c.ua)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	if err := c.app.sessions.SignIn(rec, req, userID); err != nil {
		c.t.Fatalf("log in user %d: %v", userID, err)
	}
	u, _ := url.Parse(c.app.server.URL)
	c.hc.Jar.SetCookies(u, rec.Result().Cookies())
}

// signedIn reports whether GET /profile shows the profile rather than
// sending the client to sign in.
func (c *client) signedIn() bool {
	c.t.Helper()
	res := c.get("/profile")
	switch {
	case res.status == http.StatusOK:
		return true
	case res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), "/login?next="):
		return false
	}
	c.t.Fatalf("GET /profile: got %d to %q, want 200 or 303 to /login", res.status, res.header.Get("Location"))
	return false
}

// otherSessionIDs are the ids in the Revoke buttons of this client's
// profile page: every session of the user but this one.
func (c *client) otherSessionIDs() []string {
	c.t.Helper()
	res := c.get("/profile")
	if res.status != http.StatusOK {
		c.t.Fatalf("GET /profile: got %d, want 200", res.status)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`action="/profile/sessions/(\d+)/revoke"`).FindAllStringSubmatch(res.body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// flashHTML is how the layout shows a success flash message.
func flashHTML(message string) string {
	return `<div class="flash success" role="status">` + html.EscapeString(message) + `</div>`
}

// fieldError is how a form shows a message next to its field.
func fieldError(message string) string {
	return `<small class="field-error" role="alert">` + html.EscapeString(message) + `</small>`
}

// csrfMode says how a scenario sends its CSRF token.
type csrfMode int

const (
	csrfAuto    csrfMode = iota // form field for plain posts, header for htmx
	csrfMissing                 // cookie present, token not sent
	csrfWrong                   // a well-formed token that is not the cookie's
	csrfHeader                  // a plain post with the token in X-CSRF-Token
)

// scenario is one HTTP exchange against a fresh app, in the manner of
// PocketBase's ApiScenario.
type scenario struct {
	name   string
	method string     // GET, or POST when empty and form is set
	path   string     // {key} is replaced with state.vars[key] after setup
	form   url.Values // values expanded as path is
	htmx   bool
	config func(*appConfig) // adjusts the app before it is built
	csrf   csrfMode
	header map[string]string
	// setup prepares the app and the client; it may fill state.vars.
	setup           func(t *testing.T, s *state)
	wantStatus      int
	wantContains    []string
	wantNotContains []string
	wantHeader      map[string]string // "" means the header must be absent; values expanded as path is
	// wantFlash is the message that the page the response redirects to
	// (Location or HX-Redirect) shows once.
	wantFlash string
	after     func(t *testing.T, s *state, res *response)
}

// state is what a scenario's functions share.
type state struct {
	app     *app
	c       *client
	vars    map[string]string
	clients map[string]*client // more browsers a setup opened
}

func runScenarios(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			sc.run(t)
		})
	}
}

func (sc scenario) run(t *testing.T) {
	t.Helper()
	var opts []func(*appConfig)
	if sc.config != nil {
		opts = append(opts, sc.config)
	}
	a := newApp(t, opts...)
	s := &state{app: a, c: a.client(t), vars: map[string]string{}, clients: map[string]*client{}}
	if sc.setup != nil {
		sc.setup(t, s)
	}
	expand := func(x string) string {
		for k, v := range s.vars {
			x = strings.ReplaceAll(x, "{"+k+"}", v)
		}
		return x
	}
	path := expand(sc.path)
	method := sc.method
	if method == "" {
		method = http.MethodGet
		if sc.form != nil {
			method = http.MethodPost
		}
	}

	form := url.Values{}
	for k, vs := range sc.form {
		for _, v := range vs {
			form.Add(k, expand(v))
		}
	}
	header := http.Header{}
	for k, v := range sc.header {
		header.Set(k, v)
	}
	if sc.htmx {
		header.Set("HX-Request", "true")
	}
	if method != http.MethodGet {
		token := s.c.csrf()
		switch sc.csrf {
		case csrfAuto:
			if sc.htmx {
				header.Set("X-CSRF-Token", token)
			} else {
				form.Set("_csrf", token)
			}
		case csrfWrong:
			wrong := strings.Repeat("A", len(token))
			if sc.htmx {
				header.Set("X-CSRF-Token", wrong)
			} else {
				form.Set("_csrf", wrong)
			}
		case csrfHeader:
			header.Set("X-CSRF-Token", token)
		}
	} else {
		form = nil
	}
	res := s.c.do(method, path, form, header)

	if res.status != sc.wantStatus {
		t.Errorf("%s %s: got status %d, want %d; body:\n%s", method, path, res.status, sc.wantStatus, res.body)
	}
	for _, want := range sc.wantContains {
		if want = expand(want); !strings.Contains(res.body, want) {
			t.Errorf("%s %s: body does not contain %q; body:\n%s", method, path, want, res.body)
		}
	}
	for _, unwanted := range sc.wantNotContains {
		if unwanted = expand(unwanted); strings.Contains(res.body, unwanted) {
			t.Errorf("%s %s: body contains %q, want it absent", method, path, unwanted)
		}
	}
	for k, want := range sc.wantHeader {
		if got := res.header.Get(k); got != expand(want) {
			t.Errorf("%s %s: got header %s %q, want %q", method, path, k, got, want)
		}
	}
	if sc.htmx && strings.Contains(res.body, "<html") {
		t.Errorf("%s %s with HX-Request: got a whole page, want a fragment:\n%s", method, path, res.body)
	}
	if sc.wantFlash != "" {
		checkFlash(t, s.c, res, sc.wantFlash)
	}
	if sc.after != nil {
		sc.after(t, s, res)
	}
}

// checkFlash follows res's redirect and expects the flash message on that
// page, and not on the one after it.
func checkFlash(t *testing.T, c *client, res *response, message string) {
	t.Helper()
	to := res.header.Get("Location")
	if to == "" {
		to = res.header.Get("HX-Redirect")
	}
	if to == "" {
		t.Errorf("got status %d without Location or HX-Redirect, want a redirect to a page with the flash %q", res.status, message)
		return
	}
	page := c.get(to)
	if !strings.Contains(page.body, flashHTML(message)) {
		t.Errorf("GET %s after the redirect: flash %q missing; body:\n%s", to, message, page.body)
	}
	if again := c.get(to); strings.Contains(again.body, flashHTML(message)) {
		t.Errorf("GET %s a second time: flash %q shown again, want it once", to, message)
	}
}

// signedUp is a setup: Ann exists and the scenario's client is signed in
// as her.
func signedUp(t *testing.T, s *state) {
	s.c.adopt(s.app.seedUser(t, annName, annEmail, annPassword).ID)
}

// confirmedUser is signedUp with Ann's account email confirmed, as creating
// accounts and sending invites need.
func confirmedUser(t *testing.T, s *state) {
	s.c.adopt(s.app.verify(t, s.app.seedUser(t, annName, annEmail, annPassword)).ID)
}

// withSecondSession is signedUp plus a second browser signed in as Ann,
// kept as clients["second"], whose session id goes to vars["other"].
func withSecondSession(t *testing.T, s *state) {
	ann := s.app.seedUser(t, annName, annEmail, annPassword)
	s.c.adopt(ann.ID)
	second := s.app.client(t)
	second.ua = safariUA
	second.adopt(ann.ID)
	ids := s.c.otherSessionIDs()
	if len(ids) != 1 {
		t.Fatalf("got %d other sessions on the profile page, want 1", len(ids))
	}
	s.vars["other"] = ids[0]
	s.clients["second"] = second
}

// verify marks a user's email as confirmed, as following the link would.
func (a *app) verify(t *testing.T, u db.User) db.User {
	t.Helper()
	if _, err := a.store.MarkEmailVerified(context.Background(), u.ID, db.Event{Kind: db.EventEmailVerified}); err != nil {
		t.Fatalf("verify %s: %v", u.Email, err)
	}
	u, err := a.store.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// confirmed verifies u's account email unless it is already: creating
// accounts and sending invites need it (db.ErrUnconfirmedEmail).
func (a *app) confirmed(t *testing.T, u db.User) {
	t.Helper()
	now, err := a.store.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !now.EmailVerified() {
		a.verify(t, now)
	}
}

// seedAccount creates an account owned by owner, directly in the database.
func (a *app) seedAccount(t *testing.T, owner db.User, name string) db.Account {
	t.Helper()
	a.confirmed(t, owner)
	acc, err := a.store.CreateAccount(context.Background(), owner.ID, name, db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatalf("create account %s: %v", name, err)
	}
	return acc
}

// seedInvite invites email to the account as role on behalf of by, and
// returns the invite with the token of its link.
func (a *app) seedInvite(t *testing.T, acc db.Account, by db.User, email, role string) (db.Invite, string) {
	t.Helper()
	a.confirmed(t, by)
	token := rand.Text()
	sum := sha256.Sum256([]byte(token))
	inv, err := a.store.CreateInvite(context.Background(), acc.ID, by.ID, email, role, sum[:], nil, db.Event{Kind: db.EventInviteSent})
	if err != nil {
		t.Fatalf("invite %s to %s: %v", email, acc.Name, err)
	}
	return inv, token
}

// join makes u (whose email it verifies) a member of the account with
// role, through an invite from by, as the product does.
func (a *app) join(t *testing.T, acc db.Account, by, u db.User, role string) {
	t.Helper()
	u = a.verify(t, u)
	inv, _ := a.seedInvite(t, acc, by, u.Email, role)
	if _, err := a.store.AcceptInvite(context.Background(), inv.ID, u.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
		t.Fatalf("%s joins %s: %v", u.Email, acc.Name, err)
	}
}
