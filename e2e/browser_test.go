package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"maps"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/server"
)

// The browser test drives Debian's Chromium through the issue-2 scenario
// against the real application: once with JavaScript (htmx answering with
// fragments) and once without (plain POST, 303, flash).

// User agents the tabs present, so that the #sessions table tells them apart
// and the README screenshot shows ordinary browsers, not HeadlessChrome.
const (
	browserUAChrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	browserUAFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
	browserUASafari  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15"
)

// browserCSPWatch reports every CSP violation as a console error, which the
// tab's console collector then sees. DevTools injects it, so the page's own CSP
// does not apply to it.
const browserCSPWatch = `document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP violation: ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
}, true);`

// browserConsoleEnd is logged to a tab's console at the end: once the
// collector has seen it, it has seen everything logged before it.
const browserConsoleEnd = "roster-browser-test: end of console"

func TestBrowser(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, _ := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)

	// Each tab after the first lives in its own BrowserContext: its own cookie
	// jar, as a second browser would have.
	ada := newBrowserTab(t, browserCtx, "tab 1 (Chrome)", browserUAChrome, true, false)
	other := newBrowserTab(t, browserCtx, "tab 2 (Firefox)", browserUAFirefox, true, true)
	third := newBrowserTab(t, browserCtx, "tab 3 (Safari)", browserUASafari, true, true)

	const (
		name      = "Ada Lovelace"
		email     = "ada@example.com"
		password1 = "lantern orbit velvet quarry 42"
		password2 = "harbor quince tundra mosaic 7"
		password3 = "meadow circuit falcon ember 19"
	)

	// A. With JavaScript: sign up, and land on the profile with a welcome.
	ada.navigate(t, base+"/signup", "#signup-form")
	ada.submit(t, "sign up", "/profile",
		chromedp.SendKeys(chromedp.CSS("#signup-form #name"), name),
		chromedp.SendKeys(chromedp.CSS("#signup-form #email"), email),
		chromedp.SendKeys(chromedp.CSS("#signup-form #password"), password1),
		chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")),
	)
	ada.wantText(t, "main > .flash.success", "Welcome to Roster! A link to confirm your email is on its way to "+email+".")
	ada.wantHTMX(t)

	// A second browser signs in as the same person.
	other.signIn(t, base, email, password1)
	ada.navigate(t, base+"/profile", "section#sessions")
	ada.wantRows(t, 2)

	// Change the password with htmx: the section asks for the password
	// again (re-authentication) and, once given, is swapped in place with
	// the change made; the sessions table (out of band) shrinks to this
	// browser alone.
	ada.markPage(t)
	ada.do(t, "change the password",
		chromedp.SendKeys(chromedp.CSS("#change-password #current_password"), password1),
		chromedp.SendKeys(chromedp.CSS("#change-password #new_password"), password2),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#change-password #sudo_password")),
		htmxSettled,
		chromedp.SendKeys(chromedp.CSS("#change-password #sudo_password"), password1),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#change-password .flash.success")),
	)
	ada.wantText(t, "#change-password .flash.success", "Your password is changed. 1 other session was logged out.")
	ada.wantRows(t, 1)
	ada.wantSamePage(t, "/profile")

	// The other browser was signed out.
	other.wantSignedOut(t, base)

	// Log out from the user menu, and back in with the new password.
	ada.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	ada.wantText(t, "main > .flash.success", "You are logged out.")
	ada.signIn(t, base, email, password2)

	// Two more browsers sign in; the screenshot shows all three.
	other.signIn(t, base, email, password2)
	third.signIn(t, base, email, password2)
	ada.do(t, "open the profile at 1200px",
		chromedp.EmulateViewport(1200, 900),
		chromedp.Navigate(base+"/profile"),
		chromedp.WaitVisible(chromedp.CSS("section#sessions")),
	)
	ada.wantRows(t, 3)
	ada.wantStyled(t)
	shot, err := chromedp.Run(ada.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot: got %d bytes that are not a PNG: %v", len(shot), err)
	}
	// `make screenshot` refreshes the README's picture; an ordinary test run
	// leaves the work tree alone.
	if file := os.Getenv("ROSTER_SCREENSHOT"); file != "" {
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Revoke the Firefox session with its button (htmx): its row goes, the
	// others stay, and that browser is signed out on its next request.
	ada.markPage(t)
	firefoxRow := chromedp.Search(`//section[@id="sessions"]//tbody/tr[contains(., "Firefox")]`)
	ada.do(t, "revoke the Firefox session",
		chromedp.Click(firefoxRow+"//button[normalize-space()='Revoke']"),
		chromedp.WaitVisible(chromedp.CSS("#sessions .flash.success")),
		chromedp.WaitNotPresent(firefoxRow),
	)
	ada.wantText(t, "#sessions .flash.success", "The session is logged out.")
	ada.wantRows(t, 2)
	ada.wantSamePage(t, "/profile")
	other.wantSignedOut(t, base)
	third.navigate(t, base+"/profile", "section#sessions")
	third.wantPath(t, "/profile")

	// B. Without JavaScript: the same forms work as plain POST -> 303 -> page.
	nojs := newBrowserTab(t, browserCtx, "tab 4 (no JavaScript)", browserUAFirefox, false, true)
	nojs.signIn(t, base, email, password2)
	if v := nojs.eval(t, `typeof window.htmx`); v != "undefined" {
		t.Fatalf("%s: typeof window.htmx = %q, want undefined: JavaScript is not off", nojs.name, v)
	}
	nojs.submit(t, "change the password without JavaScript", "/profile/password",
		chromedp.SendKeys(chromedp.CSS("#change-password #current_password"), password2),
		chromedp.SendKeys(chromedp.CSS("#change-password #new_password"), password3),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
	)
	nojs.submit(t, "give the password again without JavaScript", "/profile",
		chromedp.SendKeys(chromedp.CSS("main #sudo_password"), password2),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
	)
	nojs.wantText(t, "main > .flash.success", "Your password is changed. 2 other sessions were logged out.")
	nojs.wantRows(t, 1)
	nojs.submit(t, "log out without JavaScript", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	nojs.wantText(t, "main > .flash.success", "You are logged out.")
	nojs.signIn(t, base, email, password3)
	ada.wantSignedOut(t, base)
	third.wantSignedOut(t, base)

	// No console errors and no CSP violations anywhere with JavaScript on.
	for _, tb := range []*browserTab{ada, other, third} {
		tb.wantCleanConsole(t)
	}
	// And the watch works: an inline style breaks the CSP and is reported.
	ada.wantCSPReported(t)
	t.Logf("browser scenario took %s", time.Since(start).Round(time.Millisecond))
}

// startChromium starts Debian's Chromium, headless, for the test: its first
// tab is the returned context. It stops when ctx ends or the test does.
func startChromium(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser test needs Debian's Chromium on PATH: %v\n"+
			"install it with `make deps` or `apt-get install -y --no-install-recommends chromium`", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		// Chromium leaves its singleton socket in TMPDIR when it is stopped.
		chromedp.Env("TMPDIR="+t.TempDir()),
	)
	// Registered after t.TempDir's cleanups, so these run first: Chromium
	// has exited before its directories are removed.
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(allocCancel)
	browserCtx, browserCancel := chromedp.NewContext(allocCtx)
	t.Cleanup(browserCancel)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}

// startBrowserApp serves the application, wired as serve wires it, on a loopback
// port, with a fresh database. env adds ROSTER_* settings, such as
// ROSTER_SMTP_URL. It returns the base URL and the store, for setting up users.
func startBrowserApp(t testing.TB, env map[string]string) (string, *db.Store) {
	t.Helper()
	base, app := serveBrowserApp(t, env)
	return base, app.Store
}

// serveBrowserApp is startBrowserApp returning the whole application, for
// a test that reads its route table too.
func serveBrowserApp(t testing.TB, env map[string]string) (string, *server.App) {
	t.Helper()
	return serveBrowserAppAt(t, env, "127.0.0.1")
}

// serveBrowserAppAt is serveBrowserApp with host in the base URL (it
// listens on 127.0.0.1 whatever the host): "localhost" for passkeys,
// whose relying-party id cannot be an IP address.
func serveBrowserAppAt(t testing.TB, env map[string]string, host string) (string, *server.App) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["ROSTER_DB"] = filepath.Join(t.TempDir(), "roster.db")
	env["ROSTER_BASE_URL"] = base
	ctx := t.Context() // ends the server's hash worker with the test
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := roster.Open(ctx, func(k string) string { return env[k] }, log)
	if err != nil {
		t.Fatal(err)
	}
	store, worker := app.Store, app.Notifier
	t.Cleanup(func() { store.Close() })
	// The notification worker runs as serve runs it, and stops (its
	// delivery in hand finished) before the database closes.
	workerCtx, stopWorker := context.WithCancel(ctx)
	var delivering sync.WaitGroup
	delivering.Go(func() { worker.Run(workerCtx) })
	t.Cleanup(func() { stopWorker(); delivering.Wait() })
	srv := httptest.NewUnstartedServer(app.Echo)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close) // before store.Close: cleanups run last-in first-out
	return base, app
}

// browserTab is one browser tab and, for a JavaScript tab, what its console said.
type browserTab struct {
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	changed chan struct{} // closed and replaced on each message
}

// newBrowserTab opens a tab under parent, in a new BrowserContext when isolated.
func newBrowserTab(t testing.TB, parent context.Context, name, userAgent string, js, isolated bool) *browserTab {
	t.Helper()
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	tb := &browserTab{name: name, ctx: ctx, changed: make(chan struct{})}
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: userAgent}); err != nil {
		t.Fatalf("%s: user agent: %v", name, err)
	}
	if !js {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("%s: disable JavaScript: %v", name, err)
		}
		return tb
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browserCSPWatch}); err != nil {
		t.Fatalf("%s: CSP watch: %v", name, err)
	}
	messages := chromedp.Console(ctx) // subscribes now, before any page loads
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			close(tb.changed)
			tb.changed = make(chan struct{})
			tb.mu.Unlock()
		}
	}()
	return tb
}

// step bounds one step, so a page that never shows what we wait for fails
// with the step's name rather than at the overall deadline.
func (tb *browserTab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, 20*time.Second)
}

// htmxSettled waits until htmx has finished swapping and settling: an
// element that just arrived can be visible before htmx has wired up its
// triggers, and a click in that moment would be lost.
var htmxSettled = chromedp.Poll[chromedp.Void](`!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`)

func (tb *browserTab) do(t testing.TB, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.fatalf(t, "%s: %v", what, err)
	}
}

// submit runs steps that end in a form submission which loads a new page:
// directly (a plain POST, 303, GET) or through htmx's HX-Redirect. It waits
// for that page, which must be wantPath answered with 200; waiting for an
// element instead could match one still on the old page.
func (tb *browserTab) submit(t testing.TB, what, wantPath string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		tb.fatalf(t, "%s: %v", what, err)
	}
	u, err := url.Parse(resp.URL)
	if err != nil || resp.Status != 200 || u.Path != wantPath {
		tb.fatalf(t, "%s: got %d %s, want 200 %s", what, resp.Status, resp.URL, wantPath)
	}
}

func (tb *browserTab) eval(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		tb.fatalf(t, "evaluate %s: %v", js, err)
	}
	return v
}

// fatalf fails the test and shows where the tab was and what it showed.
func (tb *browserTab) fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main"), chromedp.NodeReady))
	t.Fatalf("%s: %s\nlocation: %s\n%s", tb.name, fmt.Sprintf(format, args...), loc, html)
}

func (tb *browserTab) navigate(t testing.TB, u, waitFor string) {
	t.Helper()
	tb.do(t, "open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (tb *browserTab) signIn(t testing.TB, base, email, password string) {
	t.Helper()
	tb.navigate(t, base+"/login", "#login-form")
	tb.submit(t, "log in as "+email, "/profile",
		chromedp.SendKeys(chromedp.CSS("#login-form #email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-form #password"), password),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	tb.do(t, "wait for the profile", chromedp.WaitVisible(chromedp.CSS("section#sessions")))
}

// wantSignedOut opens the profile and expects the sign-in page instead.
func (tb *browserTab) wantSignedOut(t *testing.T, base string) {
	t.Helper()
	tb.navigate(t, base+"/profile", "#login-form")
	loc := tb.location(t)
	if loc.Path != "/login" || loc.Query().Get("next") != "/profile" {
		tb.fatalf(t, "opening /profile logged out went to %s, want /login?next=%%2Fprofile", loc)
	}
}

func (tb *browserTab) location(t *testing.T) *url.URL {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		tb.fatalf(t, "location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		tb.fatalf(t, "location %q: %v", loc, err)
	}
	return u
}

func (tb *browserTab) wantPath(t *testing.T, want string) {
	t.Helper()
	if got := tb.location(t).Path; got != want {
		tb.fatalf(t, "path %q, want %q", got, want)
	}
}

func (tb *browserTab) wantText(t *testing.T, sel, want string) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.fatalf(t, "text of %s: %v", sel, err)
	}
	if got = strings.Join(strings.Fields(got), " "); got != want {
		tb.fatalf(t, "text of %s is %q, want %q", sel, got, want)
	}
}

func (tb *browserTab) wantRows(t *testing.T, want int) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.QueryNodeIDs(chromedp.CSSAll("#sessions tbody tr"), chromedp.AtLeast(0)))
	if err != nil {
		tb.fatalf(t, "sessions rows: %v", err)
	}
	if len(got) != want {
		tb.fatalf(t, "#sessions has %d rows, want %d", len(got), want)
	}
}

// wantHTMX checks that htmx 2 loaded and runs (the CSP nonce let it in).
func (tb *browserTab) wantHTMX(t *testing.T) {
	t.Helper()
	if v := tb.eval(t, `typeof htmx === 'object' && htmx.version ? htmx.version : 'missing'`); !strings.HasPrefix(v, "2.") {
		tb.fatalf(t, "htmx version %q, want 2.x: htmx did not load", v)
	}
}

// markPage sets a variable that only survives while no new page loads.
func (tb *browserTab) markPage(t *testing.T) {
	t.Helper()
	tb.eval(t, `window.rosterSamePage = 'yes'`)
}

// wantSamePage checks that the last action was an htmx swap: the URL is the
// same and the page's variables survived.
func (tb *browserTab) wantSamePage(t *testing.T, path string) {
	t.Helper()
	tb.wantPath(t, path)
	if v := tb.eval(t, `String(window.rosterSamePage)`); v != "yes" {
		tb.fatalf(t, "the page was reloaded: htmx did not swap the section in place")
	}
	tb.wantHTMX(t)
}

// wantStyled checks that Pico and app.css apply, for the screenshot.
func (tb *browserTab) wantStyled(t *testing.T) {
	t.Helper()
	v := tb.eval(t, `[getComputedStyle(document.querySelector('main')).maxWidth,
		getComputedStyle(document.querySelector('body > header')).borderBottomStyle].join(' ')`)
	if v == "none none" || !strings.HasSuffix(v, " solid") {
		tb.fatalf(t, "main max-width and header border are %q: Pico or app.css did not load", v)
	}
}

// waitConsole waits until a console message satisfies ok.
func (tb *browserTab) waitConsole(t *testing.T, what string, ok func(chromedp.ConsoleMessage) bool) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	for {
		tb.mu.Lock()
		for _, m := range tb.console {
			if ok(m) {
				tb.mu.Unlock()
				return
			}
		}
		changed := tb.changed
		tb.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%s: waiting for %s in the console: %v", tb.name, what, ctx.Err())
		}
	}
}

// wantCleanConsole fails on any error or exception the tab logged.
func (tb *browserTab) wantCleanConsole(t *testing.T) {
	t.Helper()
	tb.eval(t, `console.info('`+browserConsoleEnd+`'), 'ok'`)
	tb.waitConsole(t, "the end mark", func(m chromedp.ConsoleMessage) bool { return m.Text == browserConsoleEnd })
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var errs []string
	for _, m := range tb.console {
		// Chromium asks for /favicon.ico by itself; the app has none yet.
		if m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico") {
			continue
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			errs = append(errs, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
		}
	}
	if len(errs) > 0 {
		t.Errorf("%s: the console has errors or CSP violations:\n%s", tb.name, strings.Join(errs, "\n"))
	}
}

// wantCSPReported breaks the CSP on purpose, to show that wantCleanConsole
// would have seen a violation.
func (tb *browserTab) wantCSPReported(t *testing.T) {
	t.Helper()
	tb.eval(t, `document.head.appendChild(document.createElement('style')).textContent = 'body{}', 'ok'`)
	tb.waitConsole(t, "the deliberate CSP violation", func(m chromedp.ConsoleMessage) bool {
		return strings.HasPrefix(m.Text, "CSP violation: style-src")
	})
}
