package e2e

import (
	"context"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// slow4G is Lighthouse's "slow 4G" (150 ms round trip, 1.6 Mbit/s down,
// 750 kbit/s up), applied by Chromium to every request of the tab
// (Network.emulateNetworkConditionsByRule with no pattern: cdproto v0.159
// has no Network.emulateNetworkConditions any more): each request takes at
// least Latency, and all bodies together come at DownloadThroughput.
// Connections to the loopback are not slowed: no handshake round trips.
var slow4G = network.Conditions{Latency: 150, DownloadThroughput: 1.6e6 / 8, UploadThroughput: 750e3 / 8}

// loadedRequest is one request of a page load, as the DevTools protocol
// saw it: Bytes is what came over the wire for it (Network.loadingFinished's
// encodedDataLength: status line, headers and body as encoded), 0 when it
// came from the cache unasked.
type loadedRequest struct {
	URL      string
	Status   int64
	Encoding string // the answer's Content-Encoding
	Bytes    float64
	Cached   bool // served from Chromium's memory or disk cache
	Done     bool // loadingFinished or loadingFailed seen
}

// pageLoad is one load of a page: every request it made, the bytes they
// cost on the wire, its First Contentful Paint (ms after the navigation
// started), and the page's own Resource Timing entries.
type pageLoad struct {
	Path     string
	Requests []*loadedRequest
	Bytes    float64
	FCP      float64
	Entries  []wireEntry
}

// static lists the load's requests for /static/ files.
func (l *pageLoad) static() []*loadedRequest {
	var out []*loadedRequest
	for _, r := range l.Requests {
		if u, err := url.Parse(r.URL); err == nil && strings.HasPrefix(u.Path, "/static/") {
			out = append(out, r)
		}
	}
	return out
}

// loadTab is a browser tab in its own browser context (its own cookies
// and cache) under slow4G, which records the requests of each load.
type loadTab struct {
	*browserTab

	mu      sync.Mutex
	byID    map[network.RequestID]*loadedRequest
	order   []*loadedRequest
	changed chan struct{} // closed and replaced on each event
}

// newLoadTab opens a loadTab under browserCtx.
func newLoadTab(t testing.TB, browserCtx context.Context, name string) *loadTab {
	t.Helper()
	lt := &loadTab{browserTab: newBrowserTab(t, browserCtx, name, browserUAChrome, true, true), changed: make(chan struct{})}
	if _, err := chromedp.Call(lt.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{&slow4G},
	}); err != nil {
		t.Fatalf("%s: network emulation: %v", name, err)
	}
	err := chromedp.Listen(lt.ctx, func(ev any) {
		lt.mu.Lock()
		defer lt.mu.Unlock()
		if lt.byID == nil {
			return // not measuring
		}
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasPrefix(ev.Request.URL, "data:") {
				return // in the page already: nothing goes over the network
			}
			if r := lt.byID[ev.RequestID]; r != nil { // a redirect: the same id again
				r.URL = ev.Request.URL
				break
			}
			r := &loadedRequest{URL: ev.Request.URL}
			lt.byID[ev.RequestID] = r
			lt.order = append(lt.order, r)
		case *network.EventRequestServedFromCache:
			if r := lt.byID[ev.RequestID]; r != nil {
				r.Cached = true
			}
		case *network.EventResponseReceived:
			if r := lt.byID[ev.RequestID]; r != nil {
				r.Status = ev.Response.Status
				r.Cached = r.Cached || ev.Response.FromDiskCache || ev.Response.FromPrefetchCache
				for k, v := range ev.Response.Headers {
					if strings.EqualFold(k, "Content-Encoding") {
						r.Encoding, _ = v.(string)
					}
				}
			}
		case *network.EventLoadingFinished:
			if r := lt.byID[ev.RequestID]; r != nil {
				r.Bytes, r.Done = ev.EncodedDataLength, true
			}
		case *network.EventLoadingFailed:
			if r := lt.byID[ev.RequestID]; r != nil {
				r.Done = true
			}
		default:
			return
		}
		close(lt.changed)
		lt.changed = make(chan struct{})
	})
	if err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	return lt
}

// close closes the tab and its browser context.
func (lt *loadTab) close() { chromedp.Cancel(lt.ctx) }

// clearCache empties the browser context's HTTP cache: the next load is cold.
func (lt *loadTab) clearCache(t testing.TB) {
	t.Helper()
	if _, err := chromedp.Call(lt.ctx, network.ClearBrowserCache, struct{}{}); err != nil {
		t.Fatalf("%s: clear the cache: %v", lt.name, err)
	}
}

// load opens u, waits for the first contentful paint and for every request
// the page made (its favicon too, if it links one) to finish, and returns
// what the load cost.
func (lt *loadTab) load(t testing.TB, u, waitFor string) *pageLoad {
	t.Helper()
	lt.mu.Lock()
	lt.byID, lt.order = map[network.RequestID]*loadedRequest{}, nil
	lt.mu.Unlock()
	defer func() {
		lt.mu.Lock()
		lt.byID = nil
		lt.mu.Unlock()
	}()
	ctx, cancel := lt.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(waitFor))); err != nil {
		lt.fatalf(t, "load %s: %v", u, err)
	}
	fcp, err := chromedp.Run(ctx, chromedp.Poll[float64](`(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime`))
	if err != nil {
		lt.fatalf(t, "load %s: first contentful paint: %v", u, err)
	}
	icon, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('link[rel~="icon"]') || {}).href || ''`))
	if err != nil {
		lt.fatalf(t, "load %s: favicon: %v", u, err)
	}
	if strings.HasPrefix(icon, "data:") {
		icon = "" // no request
	}
	// Everything asked for has arrived (or failed), the favicon included.
	for {
		lt.mu.Lock()
		done, iconSeen := true, icon == ""
		for _, r := range lt.order {
			done = done && r.Done
			iconSeen = iconSeen || r.URL == icon
		}
		changed := lt.changed
		lt.mu.Unlock()
		if done && iconSeen {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			lt.fatalf(t, "load %s: requests still open: %v", u, lt.summary())
		}
	}
	entries := lt.resourceTiming(t)
	p, _ := url.Parse(u)
	load := &pageLoad{Path: p.Path, FCP: fcp, Entries: entries}
	lt.mu.Lock()
	for _, r := range lt.order {
		c := *r
		load.Requests = append(load.Requests, &c)
		load.Bytes += r.Bytes
	}
	lt.mu.Unlock()
	return load
}

func (lt *loadTab) summary() string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	var b strings.Builder
	for _, r := range lt.order {
		b.WriteString("\n  ")
		b.WriteString(r.URL)
		if !r.Done {
			b.WriteString(" (open)")
		}
	}
	return b.String()
}

// logLoad shows a load, request by request.
func logLoad(t testing.TB, what, base string, l *pageLoad) {
	t.Helper()
	var b strings.Builder
	for _, r := range l.Requests {
		from := "network"
		if r.Cached {
			from = "cache"
		}
		b.WriteString("\n  " + strings.TrimPrefix(r.URL, base) + ": " + ftoa(r.Bytes) + " B, " + from)
		if r.Encoding != "" {
			b.WriteString(", " + r.Encoding)
		}
	}
	var timing float64
	for _, e := range l.Entries {
		timing += e.Transfer
	}
	t.Logf("%s %s: %.1f KB on the wire (Resource Timing's transferSize, headers counted as 300 B each: %.1f KB), FCP %.0f ms (under slow 4G)%s",
		what, l.Path, l.Bytes/1000, timing/1000, l.FCP, b.String())
}

// firstLoadProfile sets up a person as one looks after a while: two more
// contact methods and an account they own with a colleague in it. The
// password is pw.
func firstLoadProfile(t testing.TB, store *db.Store, email, pw string) {
	t.Helper()
	ctx := t.Context()
	createBrowserUser(t, store, "Ada Lovelace", email, pw)
	createBrowserUser(t, store, "Bob Babbage", "bob."+email, pw)
	ada, err := store.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	compose := func(m db.ContactMethod, code string) (db.Notice, error) {
		return db.Notice{Subject: "Your code", Body: "Your code is " + code}, nil
	}
	for _, m := range []db.NewContactMethod{
		{Kind: db.KindEmail, Address: "ada.work@example.com", Label: "Work"},
		{Kind: db.KindEmail, Address: "ada.home@example.com", Label: "Home"},
	} {
		if _, err := store.AddContactMethod(ctx, ada.ID, m, compose, db.Event{Kind: db.EventContactAdded}); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := store.CreateAccount(ctx, ada.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := store.UserByEmail(ctx, "bob."+email)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := store.CreateInvite(ctx, acc.ID, ada.ID, bob.Email, db.RoleNormal, []byte("firstload invite hash 0123456789"), nil, db.Event{Kind: db.EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AcceptInvite(ctx, inv.ID, bob.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserFirstLoad (issue 19 item 4): under slow 4G, /login loads
// cold in at most 60 KB on the wire; the page and its static files come
// compressed (br) and only the style sheets hold the first paint back; a
// second visit to /login or /profile asks for no static file at all (not
// even to revalidate it). FCP is reported, not asserted: timings belong to
// BenchmarkFirstLoad.
func TestBrowserFirstLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// localhost, so the login page offers passkeys (and loads passkey.js)
	// as a deployment over HTTPS does.
	base, app := serveBrowserAppAt(t, nil, "localhost")
	const email, pw = "ada@example.com", "lantern orbit velvet quarry 42"
	firstLoadProfile(t, app.Store, email, pw)
	browserCtx := startChromium(t, ctx)

	// A person who has never been here.
	tab := newLoadTab(t, browserCtx, "first visit")
	cold := tab.load(t, base+"/login", "#login-form")
	logLoad(t, "cold", base, cold)
	const budget = 60_000
	if cold.Bytes > budget {
		t.Errorf("cold /login: %.0f bytes on the wire, want at most %d", cold.Bytes, budget)
	}
	wantCold(t, base, cold, "pico.min.css", "app.css", "htmx.min.js", "app.js", "passkey.js", "favicon.svg")
	warm := tab.load(t, base+"/login", "#login-form")
	logLoad(t, "warm", base, warm)
	wantWarm(t, base, warm)

	// The same person signs in; their profile, first with an empty cache,
	// then again.
	tab.signIn(t, base, email, pw)
	tab.clearCache(t)
	cold = tab.load(t, base+"/profile", "section#sessions")
	logLoad(t, "cold", base, cold)
	wantCold(t, base, cold, "pico.min.css", "app.css", "htmx.min.js", "app.js", "passkey.js", "favicon.svg")
	warm = tab.load(t, base+"/profile", "section#sessions")
	logLoad(t, "warm", base, warm)
	wantWarm(t, base, warm)
}

// wantCold checks a load with an empty cache: every request, each file
// named among them, went over the network and was answered 200; the page
// and its static files came br; Chromium counted only the two style sheets
// render-blocking (Resource Timing's renderBlockingStatus).
func wantCold(t *testing.T, base string, l *pageLoad, files ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range l.Requests {
		name := strings.TrimPrefix(r.URL, base)
		if r.Cached || r.Bytes <= 0 {
			t.Errorf("cold %s: %s came from the cache", l.Path, name)
		}
		if r.Status != 200 {
			t.Errorf("cold %s: %s answered %d", l.Path, name, r.Status)
		}
		// The page and its static files are text above 1 KB: compressed
		// (the favicon, 211 bytes, is when that pays; a small JSON answer,
		// passkey.js asking for a challenge, need not be).
		if r.Encoding != "br" && (r == l.Requests[0] || strings.HasPrefix(name, "/static/") && !strings.HasPrefix(name, "/static/favicon.")) {
			t.Errorf("cold %s: %s came with Content-Encoding %q, want br", l.Path, name, r.Encoding)
		}
		if m := fingerprinted.FindStringSubmatch(name); m != nil {
			seen[m[1]+"."+m[2]] = true
		}
	}
	for _, f := range files {
		if !seen[f] {
			t.Errorf("cold %s did not fetch %s", l.Path, f)
		}
	}
	if len(l.Entries) == 0 || l.Entries[0].Encoded <= 0 {
		t.Errorf("cold %s: no navigation entry with a body: %+v", l.Path, l.Entries)
	}
	// Only the style sheets hold the first paint back: scripts are
	// deferred, so a person sees the page while htmx still arrives.
	var blocking []string
	for _, e := range l.Entries {
		if m := fingerprinted.FindStringSubmatch(e.Name); e.Blocking && m != nil {
			blocking = append(blocking, m[1]+"."+m[2])
		} else if e.Blocking {
			blocking = append(blocking, e.Name)
		}
	}
	slices.Sort(blocking)
	if want := []string{"app.css", "pico.min.css"}; !slices.Equal(blocking, want) {
		t.Errorf("cold %s: render-blocking: %v, want only the style sheets %v", l.Path, blocking, want)
	}
}

// wantWarm checks a second visit: the page itself is asked for again (it
// is never cached), and no static file is, neither fetched nor revalidated.
func wantWarm(t *testing.T, base string, l *pageLoad) {
	t.Helper()
	if len(l.Requests) == 0 || l.Requests[0].Cached || l.Requests[0].Status != 200 {
		t.Errorf("warm %s: the page itself was not fetched: %+v", l.Path, l.Requests)
	}
	if len(l.static()) == 0 {
		t.Errorf("warm %s: the page used no static file at all", l.Path)
	}
	for _, r := range l.static() {
		if !r.Cached || r.Bytes != 0 {
			t.Errorf("warm %s: %s went to the network (%v bytes, status %d), want it from the cache unasked",
				l.Path, strings.TrimPrefix(r.URL, base), r.Bytes, r.Status)
		}
	}
	wantStaticCached(t, "warm "+l.Path, base, l.Entries)
}

// firstLoadReference is the page the reference serves: a few hundred
// bytes of HTML with no subresource (its icon is inline, so Chromium asks
// for no /favicon.ico), the least a page can cost under the same network.
const firstLoadReference = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Log in · Roster</title>
</head>
<body>
<main>
<h1>Log in</h1>
<p>A bare page with no style sheet, no script and no image: the first paint the network allows.</p>
</main>
</body>
</html>
`

// startFirstLoadReference serves firstLoadReference at / from a bare Echo
// handler and returns its base URL.
func startFirstLoadReference(t testing.TB) string {
	t.Helper()
	e := echo.New()
	e.HideBanner = true
	e.GET("/", func(c echo.Context) error { return c.HTML(200, firstLoadReference) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkFirstLoad (issue 19 item 4) measures what a person on slow 4G
// waits for and pays: bytes on the wire and First Contentful Paint of
// /login and of a signed-in /profile, each cold (a new browser context:
// empty cache, new connections; the profile's cache emptied after
// signing in) and warm (the same page again in the same context), next to
// the reference (a bare Echo page of a few hundred bytes, cold and warm,
// under the same emulation, in the same rounds). Each iteration is one
// round of all six loads; the figures are the medians over the rounds
// (run it with -benchtime 5x). Target: /login cold FCP <= 1200 ms.
func BenchmarkFirstLoad(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base, app := serveBrowserAppAt(b, nil, "localhost")
	const email, pw = "ada@example.com", "lantern orbit velvet quarry 42"
	firstLoadProfile(b, app.Store, email, pw)
	ref := startFirstLoadReference(b)
	browserCtx := startChromium(b, ctx)

	bytes, fcp := map[string][]float64{}, map[string][]float64{}
	add := func(key string, l *pageLoad) {
		bytes[key] = append(bytes[key], l.Bytes)
		fcp[key] = append(fcp[key], l.FCP)
	}
	for b.Loop() {
		tab := newLoadTab(b, browserCtx, "reference")
		add("ref-cold", tab.load(b, ref+"/", "h1"))
		add("ref-warm", tab.load(b, ref+"/", "h1"))
		tab.close()

		tab = newLoadTab(b, browserCtx, "login")
		add("login-cold", tab.load(b, base+"/login", "#login-form"))
		add("login-warm", tab.load(b, base+"/login", "#login-form"))
		tab.close()

		tab = newLoadTab(b, browserCtx, "profile")
		tab.signIn(b, base, email, pw)
		tab.clearCache(b)
		add("profile-cold", tab.load(b, base+"/profile", "section#sessions"))
		add("profile-warm", tab.load(b, base+"/profile", "section#sessions"))
		tab.close()
	}
	b.StopTimer()

	for _, state := range []string{"cold", "warm"} {
		refFCP := median(fcp["ref-"+state])
		b.ReportMetric(median(bytes["ref-"+state])/1000, "ref-"+state+"-KB")
		b.ReportMetric(refFCP, "ref-"+state+"-fcp-ms")
		for _, page := range []string{"login", "profile"} {
			key := page + "-" + state
			f := median(fcp[key])
			b.ReportMetric(median(bytes[key])/1000, key+"-KB")
			b.ReportMetric(f, key+"-fcp-ms")
			b.ReportMetric(f/refFCP, key+"-fcp/ref")
			b.Logf("%s: %.1f KB, FCP %.0f ms (%v), reference %.0f ms: %.2fx, +%.0f ms",
				key, median(bytes[key])/1000, f, fcp[key], refFCP, f/refFCP, f-refFCP)
		}
	}
	const target = 1200
	if f := median(fcp["login-cold"]); f <= target {
		b.Logf("/login cold FCP %.0f ms: within the target (%d ms)", f, target)
	} else {
		b.Logf("/login cold FCP %.0f ms: misses the target (%d ms)", f, target)
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
