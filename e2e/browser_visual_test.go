package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
)

// TestBrowserVisualSystem reads the computed styles of the Manage console in
// Chromium, as issue 15 measures them against GitHub and Gitea settings:
// 16 px body text, section titles of 18-20 px over a divider, selects as wide
// as their options, a red danger button whose white text passes WCAG AA in
// the light and the dark theme, and the owner's Delete and Transfer in a
// Danger zone. At 375 px the members table is a stack of cards, each cell
// labelled, and no button leaves the screen.
func TestBrowserVisualSystem(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)
	const pw = "lantern orbit velvet quarry 42"
	console := fmt.Sprintf("%s/accounts/%d/manage", base, visualAccount(t, store, pw))
	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	ada.signIn(t, base, "ada@example.com", pw)

	ada.do(t, "open the console at 1200px", chromedp.EmulateViewport(1200, 900),
		chromedp.Navigate(console), chromedp.WaitVisible(chromedp.CSS("#danger-zone")))
	ada.wantStyled(t)
	var wide struct {
		Body, H1, H2, H3 float64
		H2Border         string
		Rem, Main        float64
		Selects          map[string]float64
		Zone             []string
		ZoneBorder       string
	}
	ada.evalJSON(t, `(function () {
		var px = function (el) { return parseFloat(getComputedStyle(el).fontSize); };
		var h2 = document.querySelector('#members h2'), cs = getComputedStyle(h2);
		var selects = {};
		document.querySelectorAll('main select').forEach(function (s) {
			selects[s.id || s.getAttribute('aria-label')] = s.getBoundingClientRect().width;
		});
		var main = document.querySelector('main').getBoundingClientRect().width;
		var zone = document.querySelector('section#danger-zone');
		return JSON.stringify({
			body: px(document.body), h1: px(document.querySelector('main h1')), h2: px(h2),
			h3: px(document.querySelector('#danger-zone h3')),
			h2Border: cs.borderBottomStyle + ' ' + cs.borderBottomWidth,
			rem: px(document.documentElement), main: main, selects: selects,
			zone: Array.from(zone.querySelectorAll('button')).map(function (b) { return b.textContent.trim(); }),
			zoneBorder: getComputedStyle(zone).borderTopStyle
		});
	})()`, &wide)
	if wide.Body < 15 || wide.Body > 16 {
		t.Errorf("body text is %v px, want 15-16", wide.Body)
	}
	if wide.H1 < 24 || wide.H1 > 28 {
		t.Errorf("h1 is %v px, want 24-28", wide.H1)
	}
	if wide.H2 < 18 || wide.H2 > 20 {
		t.Errorf("h2 (Members) is %v px, want 18-20", wide.H2)
	}
	if wide.H3 < 16 || wide.H3 > 17.5 {
		t.Errorf("h3 (Transfer ownership) is %v px, want 16-17", wide.H3)
	}
	if style, width, _ := strings.Cut(wide.H2Border, " "); style != "solid" || width == "0px" {
		t.Errorf("h2's bottom border is %q, want a divider", wide.H2Border)
	}
	// Every select of the console is as wide as its options, none stretched
	// across the page; those of roles are short.
	if len(wide.Selects) < 5 {
		t.Errorf("console selects %v, want the members' roles, the invite's, the SAML connection's and the new owner", wide.Selects)
	}
	for name, w := range wide.Selects {
		short := name == "invite-role" || strings.HasPrefix(name, "Role of ")
		if w <= 0 || w >= wide.Main/2 || (short && w >= 20*wide.Rem) {
			t.Errorf("select %s is %.0f px wide in a %.0f px page, want as wide as its options (roles under 20rem)", name, w, wide.Main)
		}
	}
	if strings.Join(wide.Zone, "|") != "Transfer ownership|Delete this account" || wide.ZoneBorder != "solid" {
		t.Errorf("danger zone holds %q, border %q; want Transfer ownership and Delete this account, bordered", wide.Zone, wide.ZoneBorder)
	}

	// The danger button, in both themes, chosen (data-theme) or the device's
	// (no data-theme, prefers-color-scheme): white text on red >= 4.5:1, and
	// the button against the page >= 3:1 (WCAG 1.4.3 and 1.4.11).
	for _, theme := range []string{"light", "dark", "system dark"} {
		system := strings.HasPrefix(theme, "system ")
		if system {
			if _, err := chromedp.Call(ada.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
				t.Fatalf("prefer a dark scheme: %v", err)
			}
		}
		var c struct{ Text, Button, Page string }
		ada.evalJSON(t, `(function () {
			var button = document.querySelector('#danger button.danger');
			button.style.transition = 'none'; // read the theme's colours, not a transition's start
			if (`+strconv.FormatBool(system)+`) document.documentElement.removeAttribute('data-theme');
			else document.documentElement.setAttribute('data-theme', '`+theme+`');
			var b = getComputedStyle(button);
			return JSON.stringify({text: b.color, button: b.backgroundColor,
				page: getComputedStyle(document.documentElement).backgroundColor});
		})()`, &c)
		text, button, page := parseRGB(t, c.Text), parseRGB(t, c.Button), parseRGB(t, c.Page)
		if luminance(page) > 0.5 == (theme != "light") {
			t.Errorf("%s theme: the page is %s", theme, c.Page)
		}
		if r := contrast(text, button); r < 4.5 {
			t.Errorf("%s theme: danger button text %s on %s is %.2f:1, want >= 4.5", theme, c.Text, c.Button, r)
		}
		if r := contrast(button, page); r < 3 {
			t.Errorf("%s theme: danger button %s on the page's %s is %.2f:1, want >= 3", theme, c.Button, c.Page, r)
		}
	}

	// The preferences' page-size select is as wide as its options too.
	ada.navigate(t, base+"/preferences", "select[name=page_size]")
	if w := ada.eval(t, `String(document.querySelector('select[name=page_size]').getBoundingClientRect().width)`); mustFloat(t, w) >= 20*wide.Rem {
		t.Errorf("the page-size select is %s px wide, want less than 20rem", w)
	}

	// 375 px: the members are cards, each cell labelled; the confirmation of
	// Remove opens within the screen.
	ada.do(t, "open the console at 375px", chromedp.EmulateViewport(375, 800),
		chromedp.Navigate(console), chromedp.WaitVisible(chromedp.CSS("#members")))
	ada.do(t, "open Remove of Carol", chromedp.Click(chromedp.Search(browserRow("members", "Carol Herschel")+`//summary`)),
		chromedp.WaitVisible(chromedp.Search(browserRow("members", "Carol Herschel")+`//button[contains(., "Remove Carol")]`)))
	var narrow struct {
		Rows, Head, Cells []string
		Out               []string
		Width             float64
	}
	ada.evalJSON(t, `(function () {
		var rows = document.querySelectorAll('#members tbody tr');
		var cells = [];
		document.querySelectorAll('#members tbody td:not(.actions):not(:empty)').forEach(function (td) {
			var label = getComputedStyle(td, '::before').content;
			if (label !== JSON.stringify(td.dataset.label)) cells.push(td.textContent.trim() + ' shows ' + label);
		});
		var out = [];
		document.querySelectorAll('main :is(button, [role=button], summary, select, input:not([type=hidden]))').forEach(function (b) {
			var r = b.getBoundingClientRect();
			if (r.width > 0 && (r.right > 375 || r.left < 0)) out.push(b.textContent.trim() || b.name || b.id);
		});
		return JSON.stringify({
			rows: Array.from(rows).map(function (r) { return getComputedStyle(r).display + ' ' + Math.round(r.getBoundingClientRect().width); }),
			head: [getComputedStyle(document.querySelector('#members thead')).position],
			cells: cells, out: out, width: document.documentElement.scrollWidth
		});
	})()`, &narrow)
	if len(narrow.Rows) != 3 {
		t.Fatalf("members at 375px: %d rows, want 3", len(narrow.Rows))
	}
	for _, r := range narrow.Rows {
		display, w, _ := strings.Cut(r, " ")
		if n := mustFloat(t, w); display != "block" || n > 375 || n < 300 {
			t.Errorf("a member's row at 375px is %q, want a block card as wide as the screen", r)
		}
	}
	if narrow.Head[0] != "absolute" {
		t.Errorf("the members' header row at 375px is positioned %q, want hidden (absolute)", narrow.Head[0])
	}
	if len(narrow.Cells) > 0 {
		t.Errorf("cells without their label at 375px: %q", narrow.Cells)
	}
	if len(narrow.Out) > 0 || narrow.Width > 375 {
		t.Errorf("at 375px the page is %v px wide; controls past the edge: %q", narrow.Width, narrow.Out)
	}
	t.Logf("1200px: body %v px, h1 %v, h2 %v, h3 %v; selects %v; 375px: rows %q, page %v px wide",
		wide.Body, wide.H1, wide.H2, wide.H3, wide.Selects, narrow.Rows, narrow.Width)
	ada.wantCleanConsole(t)
	t.Logf("visual system checked in %v", time.Since(start).Round(time.Millisecond))
}

// evalJSON evaluates js, which returns a JSON string, into v.
func (tb *browserTab) evalJSON(t *testing.T, js string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(tb.eval(t, js)), v); err != nil {
		tb.fatalf(t, "evaluate %s: %v", js, err)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return f
}

var rgbColor = regexp.MustCompile(`^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$`)

// parseRGB reads a computed colour, "rgb(r, g, b)"; a transparent one fails.
func parseRGB(t *testing.T, s string) [3]float64 {
	t.Helper()
	m := rgbColor.FindStringSubmatch(s)
	if m == nil || (m[4] != "" && m[4] != "1") {
		t.Fatalf("colour %q: want an opaque rgb()", s)
	}
	var c [3]float64
	for i := range c {
		c[i] = mustFloat(t, m[i+1])
	}
	return c
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

// luminance is the WCAG 2 relative luminance of an sRGB colour.
func luminance(c [3]float64) float64 {
	var lin [3]float64
	for i, v := range c {
		v /= 255
		if v <= 0.04045 {
			lin[i] = v / 12.92
		} else {
			lin[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2]
}

// visualAccount sets up an account whose console has something in every
// table: Ada owns Acme, Bob is an Admin (so ownership can go to him), Carol
// a Normal member, and an invite to Dave is pending. It returns the
// account's id; everyone's password is pw.
func visualAccount(t *testing.T, store *db.Store, pw string) int64 {
	t.Helper()
	ctx := t.Context()
	createBrowserUser(t, store, "Ada Lovelace", "ada@example.com", pw)
	createBrowserUser(t, store, "Bob Babbage", "bob@example.com", pw)
	createBrowserUser(t, store, "Carol Herschel", "carol@example.com", pw)
	ada, err := store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := store.CreateAccount(ctx, ada.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ email, role string }{
		{"bob@example.com", db.RoleAdmin}, {"carol@example.com", db.RoleNormal}, {"dave@example.com", db.RoleNormal},
	} {
		sum := sha256.Sum256([]byte(m.email))
		inv, err := store.CreateInvite(ctx, acc.ID, ada.ID, m.email, m.role, sum[:], nil, db.Event{Kind: db.EventInviteSent})
		if err != nil {
			t.Fatal(err)
		}
		u, err := store.UserByEmail(ctx, m.email)
		if err != nil {
			continue // Dave has no profile: his invite stays pending
		}
		if _, err := store.AcceptInvite(ctx, inv.ID, u.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	return acc.ID
}
