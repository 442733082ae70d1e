package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
)

// TestBrowserPreferences: the time zone starts from the browser's; theme
// and page size are changed with htmx (saved on change, "Saved" in place);
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

	// The zone comes from the browser and is saved by itself.
	ada.submit(t, "open Preferences from the user menu", "/preferences",
		openUserMenu, chromedp.Click(chromedp.Search(`//nav[@id="user-menu"]//a[normalize-space()="Preferences"]`)))
	ada.do(t, "wait for the browser's zone to be saved", chromedp.WaitVisible(chromedp.CSS("#status-timezone .saved")))
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
	ada.navigate(t, base+"/profile/activity", "#signin-chart svg")
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
		ada.fullScreenshot(t, 1200, base+"/profile/activity?range=30d", "#signin-chart svg", filepath.Join(dir, "screenshot-activity.png"))
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
