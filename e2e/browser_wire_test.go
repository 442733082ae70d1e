package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// wireEntry is one Resource Timing entry: what Chromium fetched and how
// many bytes came over the wire for it.
type wireEntry struct {
	Name     string  `json:"name"`
	Encoded  float64 `json:"enc"`
	Decoded  float64 `json:"dec"`
	Transfer float64 `json:"transfer"`
	Blocking bool    `json:"blocking"` // render-blocking, as Chromium decided
}

const wireEntriesJS = `performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map(e => ({name: e.name, enc: e.encodedBodySize, dec: e.decodedBodySize, transfer: e.transferSize, blocking: e.renderBlockingStatus === 'blocking'}))`

// resourceTiming reads the page's Resource Timing entries, the page's own
// (navigation) first.
func (tb *browserTab) resourceTiming(t testing.TB) []wireEntry {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	list, err := chromedp.Run(ctx, chromedp.Evaluate[[]wireEntry](wireEntriesJS))
	if err != nil {
		tb.fatalf(t, "read resource timing: %v", err)
	}
	return list
}

// wantStaticCached checks a page's Resource Timing entries: no static
// file came over the network (transferSize 0: from the cache, not even
// revalidated, which would cost a 304's headers).
func wantStaticCached(t testing.TB, what, base string, entries []wireEntry) {
	t.Helper()
	for _, e := range entries {
		if strings.HasPrefix(e.Name, base+"/static/") && e.Transfer != 0 {
			t.Errorf("%s: %s: transferSize %v, want 0 (from the cache, not revalidated)", what, strings.TrimPrefix(e.Name, base), e.Transfer)
		}
	}
}

// fingerprinted matches a static file's fingerprinted URL: its name and
// extension are the submatches.
var fingerprinted = regexp.MustCompile(`/static/([^/]+)\.[0-9a-f]{16}\.(js|css|svg)$`)

// TestBrowserCompressedAndCached (issue 19 items 2 and 3): Chromium gets
// /login and its static files compressed (fewer bytes encoded than
// decoded), names them by fingerprinted URLs, runs htmx from them, and on
// the next visit fetches no static file at all (immutable); a form posted
// with htmx, carrying the page's masked token, is accepted.
func TestBrowserCompressedAndCached(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, _ := startBrowserApp(t, nil)
	tab := newBrowserTab(t, startChromium(t, ctx), "tab", browserUAChrome, true, false)

	tab.navigate(t, base+"/login", "#login-form")
	tab.wantHTMX(t)
	list := tab.resourceTiming(t)
	// The files the layout links are all fetched before load; the favicon
	// is fetched when Chromium gets to it (sometimes after the check), so
	// it is checked when it is there but not required.
	want := map[string]bool{"pico.min.css": false, "app.css": false, "htmx.min.js": false, "app.js": false}
	for i, e := range list {
		if i == 0 {
			if e.Encoded <= 0 || e.Encoded >= e.Decoded {
				t.Errorf("/login: %v bytes encoded for %v decoded: not compressed", e.Encoded, e.Decoded)
			}
			continue
		}
		if !strings.HasPrefix(e.Name, base+"/static/") {
			continue
		}
		if m := fingerprinted.FindStringSubmatch(e.Name); m != nil {
			want[m[1]+"."+m[2]] = true
		} else {
			t.Errorf("%s: not a fingerprinted URL", e.Name)
		}
		if e.Decoded > 2048 && e.Encoded*2 > e.Decoded {
			t.Errorf("%s: %v bytes encoded for %v decoded: not compressed", e.Name, e.Encoded, e.Decoded)
		}
		t.Logf("cold %s: %v bytes on the wire (%v decoded)", e.Name[len(base):], e.Transfer, e.Decoded)
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("/login did not load %s: %+v", name, list)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Another visit: the static files come from the cache, unasked.
	tab.navigate(t, base+"/signup", "#signup-form")
	tab.wantHTMX(t)
	wantStaticCached(t, "warm /signup", base, tab.resourceTiming(t))

	// The sign-up form posts with htmx and the page's masked token.
	tab.submit(t, "sign up", "/profile",
		chromedp.SendKeys(chromedp.CSS("#signup-form #name"), "Wire Test"),
		chromedp.SendKeys(chromedp.CSS("#signup-form #email"), "wire@example.com"),
		chromedp.SendKeys(chromedp.CSS("#signup-form #password"), "lantern orbit velvet quarry 42"),
		chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")),
	)
	token, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`document.querySelector('meta[name="csrf-token"]').content`))
	if err != nil || len(token) != 86 {
		t.Errorf("the profile's meta token is %d characters (%v), want a masked one (86)", len(token), err)
	}
}
