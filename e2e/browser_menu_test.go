package e2e

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/rosterhq/roster/db"
)

// openUserMenu opens the header's user-menu drop-down (closed on every
// page load), as a person clicking its summary does.
var openUserMenu = chromedp.Click(chromedp.CSS("nav#user-menu details > summary"))

// TestBrowserUserMenu: the user menu is a closed drop-down showing the
// person's initials and name, with the invite badge beside it; a click
// opens it, the keyboard walks its entries, and Escape closes it and puts
// focus back on the summary.
func TestBrowserUserMenu(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)

	const (
		name, email = "Ada Lovelace", "ada@example.com"
		password    = "lantern orbit velvet quarry 42"
	)
	createBrowserUser(t, store, name, email, password)
	createBrowserUser(t, store, "Grace Hopper", "grace@example.com", password)
	grace, err := store.UserByEmail(t.Context(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{"Acme", "Globex"} {
		acc, err := store.CreateAccount(t.Context(), grace.ID, account, db.Event{Kind: db.EventAccountCreated})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(account))
		if _, err := store.CreateInvite(t.Context(), acc.ID, grace.ID, email, db.RoleNormal, sum[:], nil, db.Event{Kind: db.EventInviteSent}); err != nil {
			t.Fatal(err)
		}
	}

	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	ada.signIn(t, base, email, password)

	// Closed: the summary shows initials and name; the entries are hidden;
	// the badge shows beside it, with words, and links to the invites.
	state := `(function () {
		var d = document.querySelector('nav#user-menu details');
		var a = document.activeElement;
		return [d.open, d.querySelector('a[href="/preferences"]').checkVisibility(),
			a.tagName + (a.getAttribute('href') || a.textContent.trim())].join('|');
	})()`
	if got := ada.eval(t, state); !strings.HasPrefix(got, "false|false|") {
		ada.fatalf(t, "menu on page load: %q, want closed with its entries hidden", got)
	}
	if got := ada.eval(t, `document.querySelector('nav#user-menu summary').textContent.trim()`); got != "AL"+name {
		ada.fatalf(t, "summary says %q, want initials AL and %q", got, name)
	}
	badge := ada.eval(t, `(function () {
		var b = document.querySelector('nav#user-menu #invite-badge');
		var a = b.querySelector('a');
		return [b.checkVisibility(), a.getAttribute('href'), a.querySelector('[aria-hidden=true]').textContent,
			a.querySelector('.sr-only').textContent].join('|');
	})()`)
	if want := "true|/profile#account-invites|2|2 pending invites"; badge != want {
		ada.fatalf(t, "invite badge on the closed menu: %q, want %q", badge, want)
	}

	// A click opens it, with all its entries.
	ada.do(t, "open the user menu", openUserMenu,
		chromedp.WaitVisible(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	entries := ada.eval(t, `Array.from(document.querySelectorAll('nav#user-menu details li')).map(function (li) {
		return li.checkVisibility() ? li.textContent.trim() : '(hidden) ' + li.textContent.trim(); }).join(', ')`)
	if want := "User Profile, Preferences, Create Account, Log out"; entries != want {
		ada.fatalf(t, "menu entries %q, want %q (no Credit Cards without Stripe)", entries, want)
	}
	// `make screenshot`: the open menu, its badge beside it.
	if dir := browserShotDir(); dir != "" {
		ada.do(t, "size the window for the picture", chromedp.EmulateViewport(1000, 560))
		ada.screenshot(t, chromedp.CaptureScreenshot(), filepath.Join(dir, "screenshot-menu.png"))
	}

	// Escape closes it and puts focus on the summary.
	ada.do(t, "press Escape", chromedp.KeyEvent(kb.Escape))
	if got, want := ada.eval(t, state), "false|false|SUMMARY"+"AL"+name; got != want {
		ada.fatalf(t, "after Escape: %q, want %q", got, want)
	}

	// The keyboard alone: Enter on the summary opens it, Tab walks the
	// entries in order, Escape closes it again.
	ada.do(t, "open the menu with Enter", chromedp.KeyEvent(kb.Enter))
	if got := ada.eval(t, state); !strings.HasPrefix(got, "true|true|") {
		ada.fatalf(t, "after Enter on the summary: %q, want the menu open", got)
	}
	for _, want := range []string{"A/profile", "A/preferences", "A/accounts/new", "BUTTONLog out"} {
		ada.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
		if got := ada.eval(t, state); got != "true|true|"+want {
			ada.fatalf(t, "Tab: focus and menu %q, want %q", got, "true|true|"+want)
		}
	}
	ada.do(t, "press Escape", chromedp.KeyEvent(kb.Escape))
	if got, want := ada.eval(t, state), "false|false|SUMMARY"+"AL"+name; got != want {
		ada.fatalf(t, "Escape from the Log out button: %q, want %q", got, want)
	}

	// And an entry leads where it says.
	ada.submit(t, "open Preferences from the user menu", "/preferences", openUserMenu,
		chromedp.Click(chromedp.Search(`//nav[@id="user-menu"]//a[normalize-space()="Preferences"]`)))
	ada.wantCleanConsole(t)
	t.Logf("user menu checked in %s", time.Since(start).Round(time.Millisecond))
}
