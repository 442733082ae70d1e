package handlers_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// menuBadge is the invite badge with n pending invites, as the menu shows it.
func menuBadge(n, words string) string {
	return `<span id="invite-badge"><a href="/profile#account-invites"><span aria-hidden="true">` + n +
		`</span><span class="sr-only">` + words + `</span></a></span>`
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
			`<span id="invite-badge"></span>`,
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
		if !strings.Contains(menu, menuBadge("1", "1 pending invite")) {
			t.Errorf("1 invite: badge wrong in\n%s", menu)
		}
		if strings.Index(menu, `id="invite-badge"`) > strings.Index(menu, "<details") {
			t.Errorf("the badge is inside the drop-down, hidden while it is closed:\n%s", menu)
		}
		a.seedInvite(t, a.seedAccount(t, bob, "Globex"), bob, annEmail, db.RoleReadOnly)
		if menu = userMenu(t, c.get("/profile").body); !strings.Contains(menu, menuBadge("2", "2 pending invites")) {
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
