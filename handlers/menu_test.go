package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// menuBadge is the invite badge with n pending invites, as the menu shows
// it: polling for a change of n, with words for screen readers.
func menuBadge(n int) string {
	return badgeTag(n, "") + badgeWords(n)
}

// oobBadge is the badge swapped out of band by an answer.
func oobBadge(n int) string { return badgeTag(n, ` hx-swap-oob="true"`) + badgeWords(n) }

func badgeTag(n int, extra string) string {
	return fmt.Sprintf(`<span id="invite-badge" hx-get="/profile/invite-badge?n=%d" hx-trigger="every 60s" hx-target="this" hx-swap="outerHTML"%s>`, n, extra)
}

func badgeWords(n int) string {
	switch n {
	case 0:
		return `</span>`
	case 1:
		return `<a href="/profile#account-invites"><span aria-hidden="true">1</span><span class="sr-only">1 pending invite</span></a></span>`
	}
	return fmt.Sprintf(`<a href="/profile#account-invites"><span aria-hidden="true">%d</span><span class="sr-only">%d pending invites</span></a></span>`, n, n)
}

// userMenu is the header's user menu of a page.
func userMenu(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<nav id="user-menu" aria-label="User menu">.*?</details></li>\s*</ul>\s*</nav>`).FindString(body)
	if m == "" {
		t.Fatalf("no user menu in:\n%s", body)
	}
	return m
}

// TestUserMenu: a <details> drop-down named by the person's name and
// initials, with its entries in order, Credit Cards only with Stripe, and
// the invite badge beside the summary (so it shows while the menu is
// closed), linking to the invites with words for screen readers.
func TestUserMenu(t *testing.T) {
	t.Parallel()
	for _, stripe := range []bool{false, true} {
		var opts []func(*appConfig)
		if stripe {
			opts = append(opts, withCards(newFakeStripe()))
		}
		a := newApp(t, opts...)
		c := a.client(t)
		ann := a.seedUser(t, annName, annEmail, annPassword)
		c.adopt(ann.ID)

		menu := userMenu(t, c.get("/profile").body)
		want := []string{
			menuBadge(0),
			`<details class="dropdown">`,
			`<summary><span class="avatar" aria-hidden="true">AE</span>` + annName + `</summary>`,
			`<li><a href="/profile">User Profile</a></li>`,
			`<li><a href="/preferences">Preferences</a></li>`,
			`<li><a href="/accounts/new">Create Account</a></li>`,
			`<form method="post" action="/logout"`, `name="_csrf"`, `>Log out</button>`,
			`</details>`,
		}
		if stripe {
			want = append(want[:5:5], append([]string{`<li><a href="/cards">Credit Cards</a></li>`}, want[5:]...)...)
		}
		at := 0
		for _, w := range want {
			i := strings.Index(menu[at:], w)
			if i < 0 {
				t.Fatalf("stripe %v: %q missing (or out of order) in the user menu:\n%s", stripe, w, menu)
			}
			at += i + len(w)
		}
		if !stripe && strings.Contains(menu, "Credit Cards") {
			t.Errorf("without Stripe the menu offers Credit Cards:\n%s", menu)
		}

		// Invites: the badge counts them in words.
		bob := a.seedUser(t, "Bob", bobEmail, annPassword)
		acme := a.seedAccount(t, bob, "Acme")
		a.seedInvite(t, acme, bob, annEmail, db.RoleNormal)
		a.verify(t, ann)
		menu = userMenu(t, c.get("/preferences").body)
		if !strings.Contains(menu, menuBadge(1)) {
			t.Errorf("1 invite: badge wrong in\n%s", menu)
		}
		if strings.Index(menu, `id="invite-badge"`) > strings.Index(menu, "<details") {
			t.Errorf("the badge is inside the drop-down, hidden while it is closed:\n%s", menu)
		}
		a.seedInvite(t, a.seedAccount(t, bob, "Globex"), bob, annEmail, db.RoleReadOnly)
		if menu = userMenu(t, c.get("/profile").body); !strings.Contains(menu, menuBadge(2)) {
			t.Errorf("2 invites: badge wrong in\n%s", menu)
		}
	}
}

// TestMenuInitials: initials from the first and last words of the name,
// or the email without one.
func TestMenuInitials(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for name, want := range map[string]string{"ada lovelace": "AL", "Émile Zola Jr": "ÉJ", "Plato": "P", "": "A"} {
		c := a.client(t)
		u := a.seedUser(t, name, "a"+strings.ReplaceAll(strings.ToLower(want), "é", "e")+"@example.com", annPassword)
		c.adopt(u.ID)
		if menu := userMenu(t, c.get("/profile").body); !strings.Contains(menu, `<span class="avatar" aria-hidden="true">`+want+`</span>`) {
			t.Errorf("name %q: want initials %q in\n%s", name, want, menu)
		}
	}
}

// TestInviteBadgePoll: the badge's poll answers 204 (htmx swaps nothing)
// while the count is the one shown, the new badge alone when it changed,
// 204 without a redirect once signed out (no jump to the sign-in page
// while someone types), and takes no flash meant for the next page.
func TestInviteBadgePoll(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c.adopt(ann.ID)

	res := c.getHTMX("/profile/invite-badge?n=0")
	if res.status != http.StatusNoContent || res.body != "" {
		t.Fatalf("unchanged count: got %d %q, want 204 and nothing", res.status, res.body)
	}
	bob := a.seedUser(t, "Bob", bobEmail, annPassword)
	a.seedInvite(t, a.seedAccount(t, bob, "Acme"), bob, annEmail, db.RoleNormal)
	res = c.getHTMX("/profile/invite-badge?n=0")
	if res.status != http.StatusOK || res.body != menuBadge(1) {
		t.Fatalf("count changed: got %d %q, want 200 %q", res.status, res.body, menuBadge(1))
	}
	if res = c.getHTMX("/profile/invite-badge?n=1"); res.status != http.StatusNoContent {
		t.Fatalf("new count unchanged: got %d, want 204", res.status)
	}
	if res = c.get("/profile/invite-badge?n=1"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile#account-invites" {
		t.Fatalf("without htmx: got %d to %q, want 303 to the invites", res.status, res.header.Get("Location"))
	}

	// A flash waiting for the next page survives the poll.
	wantStatus(t, "POST /profile/name", c.postForm("/profile/name", url.Values{"name": {"Ann Other"}}), http.StatusSeeOther)
	c.getHTMX("/profile/invite-badge?n=0")
	if body := c.get("/profile").body; !strings.Contains(body, `<div class="flash success" role="status">`) {
		t.Errorf("the poll took the flash meant for the profile")
	}

	anon := a.client(t)
	res = anon.getHTMX("/profile/invite-badge?n=1")
	if res.status != http.StatusNoContent || res.header.Get("HX-Redirect") != "" {
		t.Errorf("signed out: got %d, HX-Redirect %q; want 204 and none", res.status, res.header.Get("HX-Redirect"))
	}
}
