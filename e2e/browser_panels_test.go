package e2e

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
)

// TestBrowserProfilePanels: at 1200 px the profile's panels sit side by
// side and the page is far shorter than the one long form it was (3,425 px
// for this user, 4,074 in the issue for a signed-up one); a pending invite
// puts its panel first; the settings
// menu is sticky beside the page on a wide screen and a closed summary on
// a phone; the routing grid saves on /profile/notifications.
func TestBrowserProfilePanels(t *testing.T) {
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
	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	ada.signIn(t, base, email, password)

	// Wide: two panels side by side, and a page much shorter than before.
	ada.do(t, "open the profile at 1200 px", chromedp.EmulateViewport(1200, 900),
		chromedp.Navigate(base+"/profile"), chromedp.WaitVisible(chromedp.CSS("section#sessions")))
	ada.wantStyled(t)
	side := ada.eval(t, `(function () {
		var a = document.querySelector('#my-accounts').getBoundingClientRect();
		var b = document.querySelector('#account-invites').getBoundingClientRect();
		return [Math.round(a.top) === Math.round(b.top), Math.round(a.left) < Math.round(b.left), Math.round(a.left), Math.round(b.left)].join('|');
	})()`)
	if !strings.HasPrefix(side, "true|true|") {
		ada.fatalf(t, "at 1200 px #my-accounts and #account-invites: %q, want the same top and different lefts", side)
	}
	height, _ := strconv.Atoi(ada.eval(t, `String(document.documentElement.scrollHeight)`))
	t.Logf("/profile of a new user at 1200 px: %d px tall (3,425 px before the panels)", height)
	if height == 0 || height > 2600 {
		ada.fatalf(t, "/profile is %d px tall at 1200 px, want at most 2,600 (3,425 before the panels)", height)
	}

	// The settings menu: its list shown without a summary, the profile
	// marked, and sticky: it stays at the top as the page scrolls.
	nav := `(function () {
		var n = document.querySelector('nav.settings-nav');
		var cur = n.querySelector('a[aria-current=page]');
		return [getComputedStyle(n).position, n.querySelector('summary').checkVisibility(),
			cur ? cur.textContent + ' ' + cur.checkVisibility() : 'none', Math.round(n.getBoundingClientRect().top)].join('|');
	})()`
	if got := ada.eval(t, nav); !strings.HasPrefix(got, "sticky|false|Profile true|") {
		ada.fatalf(t, "settings menu at 1200 px: %q, want sticky, no summary, Profile shown and current", got)
	}
	ada.eval(t, `window.scrollTo(0, 800); 'ok'`)
	got := ada.eval(t, nav)
	top, _ := strconv.Atoi(got[strings.LastIndexByte(got, '|')+1:])
	if scrolled := ada.eval(t, `String(window.scrollY)`); scrolled != "800" || top < 0 || top > 40 {
		ada.fatalf(t, "settings menu after scrolling %s px: %q, want it stuck near the top of the window", scrolled, got)
	}

	// A phone: one column, the menu a closed summary naming the page, so
	// the page's title comes soon after the header; a tap opens it.
	ada.do(t, "open the profile at 375 px", chromedp.EmulateViewport(375, 800),
		chromedp.Navigate(base+"/profile"), chromedp.WaitVisible(chromedp.CSS("section#sessions")))
	phone := ada.eval(t, `(function () {
		var n = document.querySelector('nav.settings-nav');
		return [n.querySelector('details').open, n.querySelector('summary').checkVisibility(), n.querySelector('summary').textContent,
			n.querySelector('a[href="/preferences"]').checkVisibility(),
			Math.round(document.querySelector('.settings-body h1').getBoundingClientRect().top) < 250,
			Math.round(document.querySelector('#my-accounts').getBoundingClientRect().left) === Math.round(document.querySelector('#account-invites').getBoundingClientRect().left)].join('|');
	})()`)
	if want := "false|true|Settings: Profile|false|true|true"; phone != want {
		ada.fatalf(t, "at 375 px: %q, want %q (closed menu naming the page, the title near the top, one column)", phone, want)
	}
	// The tables scroll inside their box (their hidden "Actions" headings
	// included): the page itself never scrolls sideways.
	if w := ada.eval(t, `String(document.documentElement.scrollWidth)`); w != "375" {
		ada.fatalf(t, "/profile at 375 px is %s px wide, want 375", w)
	}
	if dir := browserShotDir(); dir != "" {
		ada.fullScreenshot(t, 375, base+"/profile", "section#sessions", filepath.Join(dir, "screenshot-profile-phone.png"))
	}
	ada.do(t, "open the settings menu", chromedp.Click(chromedp.CSS("nav.settings-nav summary")),
		chromedp.WaitVisible(chromedp.CSS(`nav.settings-nav a[href="/preferences"]`)))

	// A pending invite: its panel comes first, across the width, and the
	// menu badge's link lands on it.
	createBrowserUser(t, store, "Grace Hopper", "grace@example.com", password)
	grace, err := store.UserByEmail(t.Context(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := store.CreateAccount(t.Context(), grace.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("Acme"))
	if _, err := store.CreateInvite(t.Context(), acc.ID, grace.ID, email, db.RoleNormal, sum[:], nil, db.Event{Kind: db.EventInviteSent}); err != nil {
		t.Fatal(err)
	}
	ada.do(t, "open the profile with an invite at 1200 px", chromedp.EmulateViewport(1200, 900),
		chromedp.Navigate(base+"/profile"), chromedp.WaitVisible(chromedp.CSS("section#account-invites table")))
	first := ada.eval(t, `(function () {
		var s = Array.from(document.querySelectorAll('.panels section')).sort(function (a, b) {
			return a.getBoundingClientRect().top - b.getBoundingClientRect().top || a.getBoundingClientRect().left - b.getBoundingClientRect().left; });
		return s[0].id + '|' + (document.querySelector('.panels section').id);
	})()`)
	if first != "account-invites|account-invites" {
		ada.fatalf(t, "first panel with a pending invite: %q, want account-invites first on screen and in the page", first)
	}
	ada.do(t, "follow the invite badge", chromedp.Click(chromedp.CSS(`#invite-badge a[href="/profile#account-invites"]`)),
		chromedp.WaitVisible(chromedp.CSS("section#account-invites")))
	if got := ada.eval(t, `(function () { var r = document.querySelector('#account-invites').getBoundingClientRect();
		return [r.top > -2 && r.top < window.innerHeight, r.top, window.scrollY].join('|'); })()`); !strings.HasPrefix(got, "true|") {
		ada.fatalf(t, "after the badge's link, #account-invites is not in view: %s", got)
	}
	// `make screenshot`: the profile with its invite first, in the dark theme.
	if dir := browserShotDir(); dir != "" {
		u, err := store.UserByEmail(t.Context(), email)
		if err != nil {
			t.Fatal(err)
		}
		prefs, err := store.Preferences(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		theme := prefs.Theme
		prefs.Theme = "dark"
		if err := store.SavePreferences(t.Context(), u.ID, prefs); err != nil {
			t.Fatal(err)
		}
		ada.fullScreenshot(t, 1200, base+"/profile", "section#account-invites table", filepath.Join(dir, "screenshot-dark.png"))
		prefs.Theme = theme
		if err := store.SavePreferences(t.Context(), u.ID, prefs); err != nil {
			t.Fatal(err)
		}
	}

	// Routing lives on /profile/notifications, and ticking a box saves it
	// in place.
	ada.do(t, "open Notifications from the settings menu",
		chromedp.Click(chromedp.CSS(`nav.settings-nav a[href="/profile/notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS("#routing-form")))
	ada.wantPath(t, "/profile/notifications")
	if got := ada.eval(t, `document.querySelector('nav.settings-nav a[aria-current=page]').textContent`); got != "Notifications" {
		ada.fatalf(t, "current entry on /profile/notifications: %q, want Notifications", got)
	}
	box := `#routing-form tr[data-route="alerts:1"] td:nth-of-type(1) input`
	if v := ada.eval(t, `String(document.querySelector('`+box+`').checked)`); v != "true" {
		ada.fatalf(t, "alerts of severity 1 to the account email: checked %s, want true for a new user", v)
	}
	ada.markPage(t)
	ada.do(t, "stop alerts of severity 1 to the account email", htmxSettled,
		chromedp.Click(chromedp.CSS(box)),
		chromedp.WaitVisible(chromedp.Search(`//section[@id="notification-routing"]//p[contains(@class, "flash") and normalize-space()="Notification routing is saved."]`)),
	)
	ada.wantSamePage(t, "/profile/notifications")
	ada.navigate(t, base+"/profile/notifications", "#routing-form")
	if v := ada.eval(t, `String(document.querySelector('`+box+`').checked)`); v != "false" {
		ada.fatalf(t, "after saving and reloading, the box is checked=%s, want false", v)
	}
	ada.wantCleanConsole(t)

	// Without JavaScript: the menu shows beside the page, and Save routing
	// posts the grid, back on the same page with a flash.
	plain := newBrowserTab(t, browserCtx, "Ada (no JavaScript)", browserUAFirefox, false, true)
	plain.signIn(t, base, email, password)
	plain.do(t, "open Notifications at 1200 px", chromedp.EmulateViewport(1200, 900),
		chromedp.Navigate(base+"/profile/notifications"), chromedp.WaitVisible(chromedp.CSS("#routing-form")))
	if got := plain.eval(t, `document.querySelector('nav.settings-nav a[aria-current=page]').checkVisibility() + '|' +
		document.querySelector('nav.settings-nav summary').checkVisibility()`); got != "true|false" {
		plain.fatalf(t, "settings menu without JavaScript at 1200 px: %q, want the list shown and no summary", got)
	}
	box2 := `#routing-form tr[data-route="alerts:2"] td:nth-of-type(1) input`
	plain.submit(t, "save routing without JavaScript", "/profile/notifications",
		chromedp.Click(chromedp.CSS(box2)), chromedp.Click(chromedp.CSS("#routing-form button[type=submit]")))
	plain.wantText(t, "main > .flash.success", "Notification routing is saved.")
	if v := plain.eval(t, `String(document.querySelector('`+box2+`').checked)`); v != "false" {
		plain.fatalf(t, "after saving without JavaScript, alerts of severity 2 to the account email: checked=%s, want false", v)
	}
	t.Logf("profile panels checked in %s", time.Since(start).Round(time.Millisecond))
}
