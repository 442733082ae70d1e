package e2e

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
)

// TestBrowserPreferences: the browser's time zone is offered and saved when
// taken; theme and page size are changed with htmx (saved on change,
// "Saved" in place);
// after a reload the theme is on <html> before any script and the activity
// log has the chosen length; the chart's range switches in place. No
// console errors or CSP violations on the way.
func TestBrowserPreferences(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)

	const (
		name, email = "Ada Lovelace", "ada@example.com"
		password    = "lantern orbit velvet quarry 42"
	)
	createBrowserUser(t, store, name, email, password)
	u, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		ev := db.Event{UserID: u.ID, Kind: db.EventProfileUpdated, Detail: map[string]any{"name": "Ada " + strconv.Itoa(i)}}
		if err := store.AddEvent(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}

	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	if _, err := chromedp.Call(ada.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Paris"}); err != nil {
		t.Fatalf("time zone: %v", err)
	}
	ada.signIn(t, base, email, password)
	if got := ada.eval(t, `String(document.documentElement.getAttribute('data-theme'))`); got != "null" {
		ada.fatalf(t, "data-theme %q before choosing a theme, want none (Pico follows the system)", got)
	}

	// The zone the browser is in is offered, and saved when taken.
	ada.submit(t, "open Preferences from the user menu", "/preferences",
		openUserMenu, chromedp.Click(chromedp.Search(`//nav[@id="user-menu"]//a[normalize-space()="Preferences"]`)))
	ada.do(t, "take the browser's zone", chromedp.Click(chromedp.CSS("#zone-offer button")),
		// The answer is the whole section: its controls listen once htmx has settled it.
		chromedp.WaitVisible(chromedp.CSS("#status-timezone .saved")), htmxSettled)
	ada.wantHTMX(t)

	// Theme and page size, each saved on change with htmx.
	ada.markPage(t)
	for _, c := range []struct{ field, value string }{{"theme", "dark"}, {"page_size", "10"}} {
		ada.eval(t, `(function () {
			var s = document.getElementById('pref-`+c.field+`');
			s.value = '`+c.value+`';
			s.dispatchEvent(new Event('change', { bubbles: true }));
			return 'ok';
		})()`)
		ada.do(t, "save "+c.field, chromedp.WaitVisible(chromedp.CSS("#status-"+c.field+" .saved")))
		ada.wantText(t, "#status-"+c.field, "Saved")
	}
	if got := ada.eval(t, `document.documentElement.getAttribute('data-theme')`); got != "dark" {
		ada.fatalf(t, "data-theme %q after choosing dark, want dark at once", got)
	}
	ada.wantSamePage(t, "/preferences")

	// Reloaded, the page shows what was saved, the theme set by the server.
	ada.navigate(t, base+"/preferences", "#pref-theme")
	for sel, want := range map[string]string{"#pref-theme": "dark", "#pref-page_size": "10", "#pref-timezone": "Europe/Paris"} {
		if got := ada.eval(t, `document.querySelector('`+sel+`').value`); got != want {
			ada.fatalf(t, "%s is %q after a reload, want %q", sel, got, want)
		}
	}
	if got := ada.eval(t, `document.documentElement.getAttribute('data-theme')`); got != "dark" {
		ada.fatalf(t, "data-theme %q after a reload, want dark", got)
	}
	if got := ada.eval(t, `getComputedStyle(document.body).colorScheme`); got != "dark" {
		ada.fatalf(t, "color-scheme %q, want dark: Pico's dark theme does not apply", got)
	}

	// The activity log has 10 rows, its times in Paris, and the chart.
	ada.navigate(t, base+"/profile/activity", "#signin-chart-totals")
	ada.wantCount(t, `//section[@id="activity"]//tbody/tr`, 10)
	ada.wantTextAt(t, `//nav[contains(@class, "pager")]//li[@aria-current="page"]`, "Newest events")
	if got := ada.eval(t, `document.querySelector('#activity tbody time').textContent`); !endsWithAny(got, " CET", " CEST") {
		ada.fatalf(t, "the log shows %q, want a time in Paris", got)
	}
	ada.wantTextAt(t, `//*[@id="signin-chart-title"]`, "Sign-ins per day, last 7 days")

	// The range switches in place.
	ada.markPage(t)
	ada.do(t, "show 30 days",
		chromedp.Click(chromedp.Search(`//section[@id="signin-chart"]//a[normalize-space()="30 days"]`)),
		// An SVG <title> is never "visible": wait for it to be there.
		chromedp.WaitReady(chromedp.Search(`//*[@id="signin-chart-title"][normalize-space()="Sign-ins per day, last 30 days"]`)),
	)
	ada.wantSamePage(t, "/profile/activity")
	ada.wantCount(t, `//section[@id="activity"]//tbody/tr`, 10)
	if got := ada.eval(t, `document.querySelector('#activity-pager a[rel=next]').getAttribute('href')`); !regexp.MustCompile(`^/profile/activity\?before=\d+&range=30d$`).MatchString(got) {
		ada.fatalf(t, "after switching the range the pager's next link is %q, want it to keep range=30d", got)
	}

	// `make screenshot` keeps pictures of both pages next to the profile's.
	if dir := browserShotDir(); dir != "" {
		ada.fullScreenshot(t, 1200, base+"/profile/activity?range=30d", "#signin-chart-totals", filepath.Join(dir, "screenshot-activity.png"))
		ada.fullScreenshot(t, 1200, base+"/preferences", "#pref-theme", filepath.Join(dir, "screenshot-preferences.png"))
	}

	ada.wantCleanConsole(t)
	t.Logf("browser preferences scenario took %s", time.Since(start).Round(time.Millisecond))
}

func endsWithAny(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if len(s) >= len(x) && s[len(s)-len(x):] == x {
			return true
		}
	}
	return false
}

// postWatch counts the POSTs a tab sends to one path, from the network
// events of the browser (so a request made by any script counts).
type postWatch struct {
	mu sync.Mutex
	n  int
}

func watchPosts(t *testing.T, tb *browserTab, path string) *postWatch {
	t.Helper()
	w := &postWatch{}
	requests := chromedp.Events(tb.ctx, network.RequestWillBeSent) // subscribed now
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			if u, err := url.Parse(ev.Request.URL); err == nil && ev.Request.Method == "POST" && u.Path == path {
				w.mu.Lock()
				w.n++
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *postWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// wantPosts wants exactly n POSTs: it waits (up to a step's time) for the
// network events of n to arrive, then a moment more for stray ones.
func (w *postWatch) wantPosts(t *testing.T, tb *browserTab, what string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.count() < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	tb.do(t, "let htmx settle", htmxSettled)
	if got := w.count(); got != n {
		tb.fatalf(t, "%s: %d POSTs to /preferences, want %d", what, got, n)
	}
}

// TestBrowserPreferencesSave: loading /preferences posts nothing and says
// no "Saved"; changing a select saves it and says "Saved" once, next to
// it; choosing the value it already has says nothing; a reload shows what
// was saved. The browser's zone, when it is not the saved one, is offered
// and saved only by its button; with the browser in yet another zone it
// is offered again. Without JavaScript the form has its Save button, whose
// flash names what changed.
func TestBrowserPreferencesSave(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)
	const (
		name, email = "Grace Hopper", "grace@example.com"
		password    = "compiler anchor meadow 1906"
	)
	createBrowserUser(t, store, name, email, password)
	u, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}

	tab := newBrowserTab(t, browserCtx, "Grace (Chrome)", browserUAChrome, true, true)
	setZone := func(zone string) {
		t.Helper()
		if _, err := chromedp.Call(tab.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
			t.Fatalf("time zone %s: %v", zone, err)
		}
	}
	setZone("Europe/Paris")
	tab.signIn(t, base, email, password)
	posts := watchPosts(t, tab, "/preferences")

	// Loaded: no POST, no "Saved", the zone offered.
	tab.navigate(t, base+"/preferences", "#zone-offer")
	tab.wantHTMX(t)
	posts.wantPosts(t, tab, "loading the page", 0)
	if n := tab.eval(t, `String(document.querySelectorAll('#preferences .saved').length)`); n != "0" {
		tab.fatalf(t, "%s Saved on a page just loaded, want none", n)
	}
	tab.wantText(t, "#zone-offer p", "Your browser is in Europe/Paris. Use it? Use Europe/Paris")
	// Save on change, so no Save button: never both.
	if got := tab.eval(t, `String(document.getElementById('prefs-save-on-change').hidden) + ' ' + String(document.querySelector('#preferences-form button'))`); got != "false null" {
		tab.fatalf(t, "with JavaScript: save-on-change note hidden, Save button = %q, want false null", got)
	}
	if p, err := store.Preferences(t.Context(), u.ID); err != nil || p.Timezone != "" {
		t.Fatalf("the zone was saved without a click: %q, %v", p.Timezone, err)
	}

	// A select changed: one POST, "Saved" once, next to it.
	tab.markPage(t)
	change := func(field, value string) {
		t.Helper()
		tab.eval(t, `(function () {
			var s = document.getElementById('pref-`+field+`');
			s.value = '`+value+`';
			s.dispatchEvent(new Event('change', { bubbles: true }));
			return 'ok';
		})()`)
	}
	change("date_format", "eu")
	tab.do(t, "save the date format", chromedp.WaitVisible(chromedp.CSS("#status-date_format .saved")))
	tab.wantText(t, "#status-date_format", "Saved")
	posts.wantPosts(t, tab, "changing the date format", 1)
	if n := tab.eval(t, `String(document.querySelectorAll('#preferences .saved').length)`); n != "1" {
		tab.fatalf(t, "%s Saved after one change, want 1", n)
	}
	// The value it already has: a POST, and no "Saved".
	change("date_format", "eu")
	posts.wantPosts(t, tab, "choosing the same date format", 2)
	tab.wantText(t, "#status-date_format", "")
	tab.wantSamePage(t, "/preferences")

	// The offer's button saves the zone; the offer goes.
	tab.do(t, "take the browser's zone", chromedp.Click(chromedp.CSS("#zone-offer button")),
		chromedp.WaitVisible(chromedp.CSS("#status-timezone .saved")), htmxSettled)
	posts.wantPosts(t, tab, "taking the zone", 3)
	if got := tab.eval(t, `[document.getElementById('pref-timezone').value, document.getElementById('zone-offer').hidden, document.activeElement.id].join(' ')`); got != "Europe/Paris true pref-timezone" {
		tab.fatalf(t, "after taking the zone: field, offer hidden and focus are %q, want Europe/Paris true pref-timezone", got)
	}
	if p, err := store.Preferences(t.Context(), u.ID); err != nil || p.Timezone != "Europe/Paris" || p.DateFormat != "eu" {
		t.Fatalf("stored: zone %q, date format %q, %v; want Europe/Paris and eu", p.Timezone, p.DateFormat, err)
	}

	// Reloaded: what was saved, no offer, no "Saved", no POST.
	tab.navigate(t, base+"/preferences", "#pref-date_format")
	tab.do(t, "let htmx settle", htmxSettled)
	if got := tab.eval(t, `[document.getElementById('pref-date_format').value, document.getElementById('pref-timezone').value,
		document.getElementById('zone-offer').hidden, document.querySelectorAll('#preferences .saved').length].join(' ')`); got != "eu Europe/Paris true 0" {
		tab.fatalf(t, "after a reload: %q, want eu Europe/Paris, the offer hidden and no Saved", got)
	}
	posts.wantPosts(t, tab, "reloading", 3)

	// The browser now elsewhere: offered again, still not saved.
	setZone("Asia/Tokyo")
	tab.navigate(t, base+"/preferences", "#zone-offer")
	tab.wantText(t, "#zone-offer p", "Your browser is in Asia/Tokyo. Use it? Use Asia/Tokyo")
	posts.wantPosts(t, tab, "loading in another zone", 3)
	// A zone typed and confirmed with Enter: saved once by htmx, the form
	// not posted a second time, the page not reloaded.
	tab.markPage(t)
	tab.eval(t, `document.getElementById('pref-timezone').value = '', 'ok'`)
	tab.do(t, "type a zone and press Enter",
		chromedp.SendKeys(chromedp.CSS("#pref-timezone"), "America/New_York\r"),
		chromedp.WaitVisible(chromedp.CSS("#status-timezone .saved")))
	posts.wantPosts(t, tab, "typing a zone and pressing Enter", 4)
	tab.wantSamePage(t, "/preferences")
	if p, err := store.Preferences(t.Context(), u.ID); err != nil || p.Timezone != "America/New_York" {
		t.Fatalf("stored zone %q, %v; want America/New_York", p.Timezone, err)
	}
	if got := tab.eval(t, `String(document.getElementById('zone-offer').hidden)`); got != "false" {
		tab.fatalf(t, "the browser's Asia/Tokyo is no longer offered after saving another zone")
	}
	if dir := browserShotDir(); dir != "" {
		tab.fullScreenshot(t, 1200, base+"/preferences", "#zone-offer", filepath.Join(dir, "screenshot-preferences-zone-offer.png"))
	}
	tab.wantCleanConsole(t)

	// Without JavaScript: the Save button, and a flash naming the change.
	plain := newBrowserTab(t, browserCtx, "Grace (no JavaScript)", browserUAFirefox, false, true)
	plain.signIn(t, base, email, password)
	plain.navigate(t, base+"/preferences", "#preferences-form button[type=submit]")
	if got := plain.eval(t, `document.querySelector('main hgroup p').innerText`); got != "How lists, times and charts look to you. Make your choices, then Save preferences." {
		plain.fatalf(t, "without JavaScript the page says %q", got)
	}
	plain.submit(t, "save the clock", "/preferences",
		chromedp.SetValue(chromedp.CSS("#pref-clock"), "12"),
		chromedp.Click(chromedp.CSS("#preferences-form button[type=submit]")))
	plain.wantText(t, ".flash", "Saved: Clock.")
	plain.submit(t, "save again unchanged", "/preferences", chromedp.Click(chromedp.CSS("#preferences-form button[type=submit]")))
	plain.wantText(t, ".flash", "No changes to save.")
	if p, err := store.Preferences(t.Context(), u.ID); err != nil || p.Clock != "12" || p.Timezone != "America/New_York" {
		t.Fatalf("stored after the plain form: clock %q zone %q, %v", p.Clock, p.Timezone, err)
	}
}

// TestBrowserSignInChartPhone: at 375 px wide the Security activity page
// shows the narrow drawing of the sign-in chart (the wide one hidden, so a
// screen reader meets one), as wide as the page and no wider, its axis
// labels (at least three) 11 px or more and apart from each other, the totals in words
// beside it, and nothing scrolls sideways; at 1200 px the wide drawing.
func TestBrowserSignInChartPhone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)
	const (
		name, email = "Katherine Johnson", "katherine@example.com"
		password    = "trajectory orbit langley 1953"
	)
	createBrowserUser(t, store, name, email, password)
	u, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := store.AddEvent(t.Context(), db.Event{UserID: u.ID, Kind: db.EventSignInFailed}); err != nil {
			t.Fatal(err)
		}
	}
	tab := newBrowserTab(t, browserCtx, "Katherine (Chrome)", browserUAChrome, true, true)
	tab.signIn(t, base, email, password)

	// What the page shows of the chart, measured in the browser.
	const measure = `(function () {
		var shown = Array.prototype.filter.call(document.querySelectorAll('#signin-chart figure svg'), function (s) {
			return getComputedStyle(s).display !== 'none';
		});
		if (shown.length !== 1) { return 'shown ' + shown.length; }
		var svg = shown[0], box = svg.getBoundingClientRect(), fig = svg.parentNode.getBoundingClientRect();
		var labels = Array.prototype.map.call(svg.querySelectorAll('.axis.x text'), function (t) { return t.getBoundingClientRect(); });
		var overlap = 0, small = 0, outside = 0;
		labels.forEach(function (r, i) {
			if (r.height < 11) { small++; }
			if (r.left < box.left - 0.5 || r.right > box.right + 0.5) { outside++; }
			if (i > 0 && r.left < labels[i - 1].right) { overlap++; }
		});
		return [svg.getAttribute('class'), Math.round(box.width) === Math.round(fig.width) ? 'fits' : 'width ' + box.width + ' of ' + fig.width,
			labels.length >= 3 ? 'labels ok' : 'labels ' + labels.length, 'overlap ' + overlap, 'small ' + small, 'outside ' + outside,
			'scroll ' + (document.documentElement.scrollWidth > window.innerWidth ? document.documentElement.scrollWidth : 'none')].join(', ');
	})()`
	tab.do(t, "a phone's width", chromedp.EmulateViewport(375, 800))
	tab.navigate(t, base+"/profile/activity", "#signin-chart figure")
	tab.wantText(t, "#signin-chart-totals", "1 successful, 3 failed in the last 7 days")
	for _, rng := range []string{"24h", "7d", "30d", "90d"} {
		tab.navigate(t, base+"/profile/activity?range="+rng, "#signin-chart figure")
		if got := tab.eval(t, measure); got != "chart chart-bar chart-narrow, fits, labels ok, overlap 0, small 0, outside 0, scroll none" {
			tab.fatalf(t, "range %s at 375 px: %s", rng, got)
		}
	}
	if dir := browserShotDir(); dir != "" {
		tab.fullScreenshot(t, 375, base+"/profile/activity", "#signin-chart figure", filepath.Join(dir, "screenshot-activity-phone.png"))
	}
	tab.do(t, "a desktop's width", chromedp.EmulateViewport(1200, 900))
	tab.navigate(t, base+"/profile/activity", "#signin-chart figure")
	if got := tab.eval(t, measure); !regexp.MustCompile(`^chart chart-bar chart-wide, fits, labels ok, overlap 0, small 0, outside 0, scroll none$`).MatchString(got) {
		tab.fatalf(t, "at 1200 px: %s", got)
	}
	tab.wantCleanConsole(t)
}
