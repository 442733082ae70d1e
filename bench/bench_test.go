package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/session"
	"github.com/rosterhq/roster/views"
)

// benchConns is the number of concurrent connections (and workers) of the
// load, as issue 2 asks.
const benchConns = 50

// benchWarmup requests open every keep-alive connection before timing.
const benchWarmup = 4 * benchConns

// benchMinLogged is the smallest b.N whose numbers are printed as a line.
const benchMinLogged = 1000

// benchDeadline bounds one load run, however large b.N grows.
const benchDeadline = 90 * time.Second

// BenchmarkProfile (S1) measures GET /profile of a signed-in user through
// the whole application over loopback HTTP, next to a bare Echo handler that
// returns the same bytes, in the same run. b.N is the number of requests sent
// to each of the two servers by benchConns workers, so a fixed count gives
// every machine the same sample size:
//
//	go test -run '^$' -bench '^BenchmarkProfile$' -benchtime 20000x ./bench/
func BenchmarkProfile(b *testing.B) {
	benchPage(b, "/profile", `id="sessions"`)
}

// BenchmarkNotifications (S1n) is S1's measurement of GET
// /profile/notifications, the page of the S1 user's 8 contact methods,
// their routing and the notifications sent, next to a bare Echo sending the
// same bytes:
//
//	go test -run '^$' -bench '^BenchmarkNotifications$' -benchtime 20000x ./bench/
func BenchmarkNotifications(b *testing.B) {
	benchPage(b, "/profile/notifications", "<title>Notifications · Roster</title>")
}

// benchPage loads path as the signed-in S1 user and as a bare Echo handler
// sending the same bytes, and reports both and their ratio. marker is a
// string only the signed-in page at path has.
func benchPage(b *testing.B, path, marker string) {
	var rosterURL, cookies, bareURL string
	// The labels name the server in a CPU profile: pprof -tagfocus server=roster.
	serverLabel("roster", func() { rosterURL, cookies = startRoster(b) })
	page := fetchPage(b, rosterURL+path, cookies, marker)
	serverLabel("bare", func() { bareURL = startBare(b, path, page) })

	wantPage := func(body []byte) error {
		if !bytes.Contains(body, []byte(marker)) {
			return fmt.Errorf("body has no %s: not the signed-in page", marker)
		}
		return nil
	}
	wantSame := func(body []byte) error {
		if len(body) != len(page) {
			return fmt.Errorf("got %d bytes, want %d", len(body), len(page))
		}
		return nil
	}
	results := runTargets(b, []namedTarget{
		{"roster", newLoadTarget(rosterURL+path, cookies, wantPage)},
		{"bare", newLoadTarget(bareURL+path, "", wantSame)},
	})
	roster, bare := results[0], results[1]
	ratio := roster.perSecond() / bare.perSecond()
	b.ReportMetric(ratio, "ratio")
	// Time per op mixes the two loads and says nothing on its own.
	b.ReportMetric(0, "ns/op")
	// The framework's probing runs (b.N = 1, 100) are too small for a p99
	// worth reading; say only what the measuring runs found.
	if b.N >= benchMinLogged {
		b.Logf("GET %s (%d requests, %d connections): %.0f req/s p50 %.2fms p99 %.2fms | bare echo, same %d bytes: %.0f req/s p50 %.2fms p99 %.2fms | roster/bare throughput %.3f",
			path, b.N, benchConns, roster.perSecond(), millis(roster.quantile(0.50)), millis(roster.quantile(0.99)),
			len(page), bare.perSecond(), millis(bare.quantile(0.50)), millis(bare.quantile(0.99)), ratio)
	}
}

// namedTarget is a load with the name its metrics carry.
type namedTarget struct {
	name string
	load loadTarget
}

// runTargets warms each target up with benchWarmup requests, then sends b.N
// requests to each in turn, timed, and reports each one's req/s, p50 and p99.
func runTargets(b *testing.B, targets []namedTarget) []loadResult {
	b.Helper()
	for _, t := range targets {
		if _, err := t.load.run(b.Context(), benchWarmup); err != nil {
			b.Fatalf("%s warm-up: %v", t.name, err)
		}
	}
	b.ResetTimer()
	results := make([]loadResult, len(targets))
	for i, t := range targets {
		r, err := t.load.run(b.Context(), b.N)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		results[i] = r
	}
	b.StopTimer()
	for i, t := range targets {
		r := results[i]
		b.ReportMetric(r.perSecond(), t.name+"-req/s")
		b.ReportMetric(millis(r.quantile(0.50)), t.name+"-p50-ms")
		b.ReportMetric(millis(r.quantile(0.99)), t.name+"-p99-ms")
	}
	return results
}

// benchApp wires the application as serve wires it, on the database at path
// (which may be seeded already; "" is a new temporary one) and a loopback
// listener that the caller serves once its routes are set.
func benchApp(b *testing.B, path string) (net.Listener, string, *db.Store, *echo.Echo, *session.Store) {
	b.Helper()
	ln, base, app := openApp(b, path)
	return ln, base, app.Store, app.Echo, app.Sessions
}

// openApp is benchApp's application whole.
func openApp(b *testing.B, path string) (net.Listener, string, *server.App) {
	b.Helper()
	ctx := b.Context()
	if path == "" {
		path = b.TempDir() + "/roster.db"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"ROSTER_DB":       path,
		"ROSTER_BASE_URL": base,
		"ROSTER_ADDR":     ln.Addr().String(),
	}
	app, err := roster.Open(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Store.Close() })
	return ln, base, app
}

// benchPassword is the password of every user the benchmarks sign in.
const benchPassword = "correct horse battery staple"

// startRoster serves the application on a new database with the S1 user
// signed in through the login form, and returns the base URL and the Cookie
// header of the signed-in browser.
func startRoster(b *testing.B) (string, string) {
	b.Helper()
	hash, err := password.NewHasher(1, 0).Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	s := startS1(b, "", hash)
	// ROSTER_BENCH_MEMO=off measures the pages rendered on every request,
	// as before the render memo, for a comparison under the same load.
	if os.Getenv("ROSTER_BENCH_MEMO") == "off" {
		s.views.SetMemo(false)
		b.Log("render memo off")
	}
	return s.base, s.cookies
}

// s1Server is the application on one database, with the S1 user signed in.
type s1Server struct {
	base, cookies string
	store         *db.Store
	views         *views.Renderer
	handler       http.Handler // the router itself, for requests without a network
}

// startS1 serves the application on the database at path (a new temporary
// one when path is ""), gives a new user the S1 profile and signs them in.
func startS1(b *testing.B, path, hash string) s1Server {
	b.Helper()
	ln, base, app := openApp(b, path)
	store, e := app.Store, app.Echo
	serveOn(b, ln, e)
	const email = "s1@example.com"
	u, err := store.CreateUser(b.Context(), db.NewUser{Email: email, Name: "Bench User", PasswordHash: hash, Verified: true},
		db.Event{Kind: db.EventSignUp, IP: "bench", UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	seedS1Profile(b, store, u)
	cookies := dropCookie(formSignIn(b, base, email, benchPassword), "roster_flash")
	return s1Server{base: base, cookies: cookies, store: store, views: app.Views, handler: e}
}

// dropCookie drops one cookie from a Cookie header. The sign-in leaves a
// one-time flash message that a browser shows on the first page and then
// drops; a load that sent it on every request would decode it every time.
func dropCookie(header, name string) string {
	var kept []string
	for pair := range strings.SplitSeq(header, "; ") {
		if !strings.HasPrefix(pair, name+"=") {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "; ")
}

// cookieValue returns the value of the cookie name in a Cookie header.
func cookieValue(header, name string) string {
	for pair := range strings.SplitSeq(header, "; ") {
		if v, ok := strings.CutPrefix(pair, name+"="); ok {
			return v
		}
	}
	return ""
}

// seedS1Profile gives u the profile of scenario S1: 5 accounts (3 owned, 2
// joined through an invite as a Normal and a Read-only member), 8 contact
// methods (the account email and 7 more, 5 of them verified), alerts routed
// to three of them, 3 linked logins, and 3 other sessions, so that with the
// session of the sign-in that follows there are 4.
func seedS1Profile(b testing.TB, store *db.Store, u db.User) {
	b.Helper()
	ctx := context.Background()
	ev := db.Event{IP: "bench", UserAgent: "bench"}
	fail := func(what string, err error) {
		if err != nil {
			b.Fatalf("seed S1 profile: %s: %v", what, err)
		}
	}
	for _, name := range []string{"Acme Corp", "Bench Labs", "Roster Demo"} {
		_, err := store.CreateAccount(ctx, u.ID, name, ev)
		fail("create account", err)
	}
	other, err := store.CreateUser(ctx, db.NewUser{Email: "other-" + u.Email, Name: "Other Owner", PasswordHash: u.PasswordHash, Verified: true}, ev)
	fail("create other owner", err)
	for i, role := range []string{db.RoleNormal, db.RoleReadOnly} {
		a, err := store.CreateAccount(ctx, other.ID, fmt.Sprintf("Partner %d", i+1), ev)
		fail("create partner account", err)
		inv, err := store.CreateInvite(ctx, a.ID, other.ID, u.Email, role, []byte(fmt.Sprintf("bench-invite-%d-%d", u.ID, i)), nil, ev)
		fail("invite", err)
		_, err = store.AcceptInvite(ctx, inv.ID, u.ID, ev)
		fail("accept invite", err)
	}

	methods := []db.NewContactMethod{
		{Kind: db.KindEmail, Address: "work-" + u.Email, Label: "Work"},
		{Kind: db.KindEmail, Address: "home-" + u.Email, Label: "Home"},
		{Kind: db.KindSMS, Address: "+15555550101", Label: "Mobile"},
		{Kind: db.KindSMS, Address: "+15555550102", Label: "Work mobile"},
		{Kind: db.KindVoice, Address: "+15555550103", Label: "Desk phone"},
		{Kind: db.KindSlack, Address: "https://hooks.slack.com/services/T000/B000/bench", Label: "Team channel"},
		{Kind: db.KindWebhook, Address: "https://hooks.example.com/roster", Label: "Pager", Secret: "bench-secret"},
	}
	var verified []int64
	for i, nm := range methods {
		var code string
		m, err := store.AddContactMethod(ctx, u.ID, nm, func(_ db.ContactMethod, c string) (db.Notice, error) {
			code = c
			return db.Notice{Subject: "Confirm", Body: "Your code is " + c}, nil
		}, ev)
		fail("add contact method", err)
		if i < 5 {
			_, err := store.VerifyContactMethod(ctx, u.ID, m.ID, code, ev)
			fail("verify contact method", err)
			verified = append(verified, m.ID)
		}
	}
	rules := []db.Rule{
		{Circumstance: db.CircumstanceAlerts, Severity: 1, MethodID: verified[2]},
		{Circumstance: db.CircumstanceAlerts, Severity: 2, MethodID: verified[2]},
		{Circumstance: db.CircumstanceAlerts, Severity: 3, MethodID: verified[0]},
		{Circumstance: db.CircumstanceBilling, MethodID: verified[1]},
	}
	fail("set rules", store.SetRules(ctx, u.ID, rules, ev))

	for _, ext := range []db.External{
		{Provider: "google", Subject: "bench-google", Email: u.Email, EmailVerified: true, DisplayName: "Bench User"},
		{Provider: "github", Subject: "4242", Email: u.Email, EmailVerified: true, DisplayName: "bench"},
		{Provider: "slack", Subject: "U0BENCH", Email: u.Email, EmailVerified: true, DisplayName: "Bench User"},
	} {
		fail("link "+ext.Provider, store.LinkIdentity(ctx, u.ID, ext, ev))
	}

	now := time.Now()
	for i, ua := range []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
	} {
		_, err := store.CreateSession(ctx, db.Session{
			IDHash: []byte(fmt.Sprintf("bench-session-%d-%d-0123456789abcdef", u.ID, i)), UserID: u.ID,
			CreatedAt: now.Add(-time.Duration(i+1) * time.Hour), LastSeenAt: now.Add(-time.Duration(i+1) * time.Minute),
			ExpiresAt: now.Add(24 * time.Hour), IP: fmt.Sprintf("192.0.2.%d", i+10), UserAgent: ua,
		})
		fail("create session", err)
	}
}

// formSignIn gets the CSRF cookie from GET /login, posts the form and returns the
// cookies the browser now holds.
func formSignIn(b *testing.B, base, email, password string) string {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	u, _ := url.Parse(base)

	resp, err := client.Get(base + "/login")
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	csrf := ""
	for _, c := range jar.Cookies(u) {
		if c.Name == "roster_csrf" {
			csrf = c.Value
		}
	}
	if resp.StatusCode != http.StatusOK || csrf == "" {
		b.Fatalf("GET /login: got status %d and CSRF cookie %q, want 200 and a cookie", resp.StatusCode, csrf)
	}

	resp, err = client.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}, "_csrf": {csrf}})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		b.Fatalf("POST /login: got %d to %q, want 303 to /profile; body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var pairs []string
	signedIn := false
	for _, c := range jar.Cookies(u) {
		pairs = append(pairs, c.Name+"="+c.Value)
		signedIn = signedIn || c.Name == "roster_session"
	}
	if !signedIn {
		b.Fatalf("POST /login set no session cookie; cookies: %v", pairs)
	}
	return strings.Join(pairs, "; ")
}

// fetchPage returns the signed-in page at url, which must hold marker: the
// bytes the bare server will send.
func fetchPage(b *testing.B, url, cookies, marker string) []byte {
	b.Helper()
	req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, url, nil)
	req.Header.Set("Cookie", cookies)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(marker)) {
		b.Fatalf("GET %s: got %d, want 200 and the signed-in page with %s; body:\n%s", url, resp.StatusCode, marker, body)
	}
	return body
}

// startBare serves page at path from a bare Echo with one route and no
// middleware.
func startBare(b *testing.B, path string, page []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET(path, func(c echo.Context) error {
		return c.HTMLBlob(http.StatusOK, page)
	})
	serveOn(b, ln, e)
	return "http://" + ln.Addr().String()
}

// serveOn serves h on ln until the benchmark ends.
func serveOn(b *testing.B, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// loadTarget is one kind of request, sent by benchConns workers over
// keep-alive connections: build makes request i, check judges its answer.
type loadTarget struct {
	what   string // names it in errors
	client *http.Client
	build  func(ctx context.Context, i int) (*http.Request, error)
	check  func(resp *http.Response, body []byte) error
}

// newLoadTarget GETs url with the Cookie header cookies; an answer must be
// 200 and pass check.
func newLoadTarget(url, cookies string, check func([]byte) error) loadTarget {
	return loadTarget{
		what:   url,
		client: newLoadClient(),
		build: func(ctx context.Context, _ int) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err == nil && cookies != "" {
				req.Header.Set("Cookie", cookies)
			}
			return req, err
		},
		check: func(resp *http.Response, body []byte) error {
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("got status %d, want 200", resp.StatusCode)
			}
			return check(body)
		},
	}
}

// newLoadClient is an HTTP client for benchConns workers on loopback.
func newLoadClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		MaxIdleConns:        benchConns,
		MaxIdleConnsPerHost: benchConns,
		MaxConnsPerHost:     benchConns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// loadResult holds the latency of every request and the wall time of a run.
type loadResult struct {
	latencies []time.Duration // sorted
	elapsed   time.Duration
}

func (r loadResult) perSecond() float64 {
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

// quantile is the nearest-rank quantile q of the latencies.
func (r loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// run sends n requests from benchConns workers and records each latency. The
// first failed request stops the run; so does benchDeadline.
func (t loadTarget) run(ctx context.Context, n int) (loadResult, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, benchDeadline, fmt.Errorf("%d requests took longer than %s", n, benchDeadline))
	defer cancel()
	latencies := make([]time.Duration, n)
	var (
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	start := time.Now()
	for range min(benchConns, n) {
		wg.Go(func() {
			var buf bytes.Buffer
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d, err := t.do(ctx, i, &buf)
				if err != nil {
					fail(fmt.Errorf("request %d: %w", i, err))
					return
				}
				latencies[i] = d
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return loadResult{}, err
	}
	slices.Sort(latencies)
	return loadResult{latencies: latencies, elapsed: elapsed}, nil
}

// do sends request i, reads the whole answer into buf and checks it.
func (t loadTarget) do(ctx context.Context, i int, buf *bytes.Buffer) (time.Duration, error) {
	req, err := t.build(ctx, i)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	return d, t.check(resp, buf.Bytes())
}

// BenchmarkPageHandler sends S1's and S1n's requests straight to the
// application's handler, one at a time, without a network or a load
// generator, next to a bare Echo handler sending the same bytes the same
// way: their time, process CPU time and allocations per request are those
// of the server's own work, which a busy shared machine disturbs least (the
// allocation count not at all). cpu-ratio is bare over roster CPU time
// (roster answering from the render memo); roster-nomemo is the same
// request with the memo off, rendering every time.
//
//	go test -run '^$' -bench PageHandler -benchmem ./bench/
func BenchmarkPageHandler(b *testing.B) {
	hash, err := password.NewHasher(1, 0).Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	s1 := startS1(b, "", hash)
	base, cookies, e := s1.base, s1.cookies, s1.handler
	for _, p := range []struct{ name, path, marker string }{
		{"profile", "/profile", `id="sessions"`},
		{"notifications", "/profile/notifications", "<title>Notifications · Roster</title>"},
	} {
		page := fetchPage(b, base+p.path, cookies, p.marker)
		bare := echo.New()
		bare.GET(p.path, func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, page) })
		// roster answers from the render memo (the same page again: a
		// hit); roster-nomemo renders every time, as a request whose data
		// changed does (a miss costs that and the digest, which roster's
		// figures include).
		var rosterCPU float64
		for _, side := range []struct {
			name    string
			h       http.Handler
			cookies string
			memo    bool
		}{{"roster", e, cookies, true}, {"roster-nomemo", e, cookies, false}, {"bare", bare, "", true}} {
			b.Run(p.name+"/"+side.name, func(b *testing.B) {
				s1.views.SetMemo(side.memo)
				defer s1.views.SetMemo(true)
				b.ReportAllocs()
				hits, _ := s1.views.MemoStats()
				cpu := processCPU()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, p.path, nil)
					if side.cookies != "" {
						req.Header.Set("Cookie", side.cookies)
					}
					rec := httptest.NewRecorder()
					side.h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(p.marker)) {
						b.Fatalf("GET %s: got %d, want 200 and the signed-in page with %s", p.path, rec.Code, p.marker)
					}
				}
				perOp := float64(processCPU()-cpu) / float64(b.N) / float64(time.Microsecond)
				b.ReportMetric(perOp, "cpu-us/op")
				after, _ := s1.views.MemoStats()
				if side.name != "bare" {
					b.ReportMetric(float64(after-hits)/float64(b.N), "memo-hits/op")
				}
				switch side.name {
				case "roster":
					rosterCPU = perOp
				case "bare":
					if rosterCPU > 0 {
						b.ReportMetric(perOp/rosterCPU, "cpu-ratio")
					}
				}
			})
		}
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
