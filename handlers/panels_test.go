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

// sectionIDs are the ids of the <section>s of a page, in order.
func sectionIDs(body string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`<section id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestProfilePanels: the profile's six panels, Account invites first while
// invites are pending and in its place saying there are none otherwise;
// the routing grid and the delivery history are not on it, but linked.
func TestProfilePanels(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c.adopt(ann.ID)

	body := c.get("/profile").body
	want := "contact-info my-accounts account-invites change-password sso-logins two-factor passkeys sessions leave"
	if got := strings.Join(sectionIDs(body), " "); got != want {
		t.Errorf("sections without invites: %q, want %q", got, want)
	}
	if !strings.Contains(body, "<p>No pending invites.</p>") {
		t.Error("Account invites without invites: want it to say there are none")
	}
	for _, gone := range []string{`id="routing-form"`, `id="notification-routing"`, `id="notifications-table"`, "Recent notifications"} {
		if strings.Contains(body, gone) {
			t.Errorf("GET /profile: has %s, want it on /profile/notifications only", gone)
		}
	}
	if !strings.Contains(body, `<a href="/profile/notifications" id="notifications-link">Notification routing and history</a>`) {
		t.Error("Contact information: no link to /profile/notifications")
	}
	if !strings.Contains(body, `<div class="panels">`) {
		t.Error("GET /profile: the panels are not in their grid")
	}

	bob := a.seedUser(t, bobName, bobEmail, bobPassword)
	a.seedInvite(t, a.seedAccount(t, bob, "Acme"), bob, annEmail, db.RoleNormal)
	body = c.get("/profile").body
	want = "account-invites contact-info my-accounts change-password sso-logins two-factor passkeys sessions leave"
	if got := strings.Join(sectionIDs(body), " "); got != want {
		t.Errorf("sections with a pending invite: %q, want %q", got, want)
	}
	if !strings.Contains(body, `<td data-label="Account">Acme</td>`) {
		t.Error("Account invites: the pending invite is not listed")
	}
}

// TestNotificationsPage: /profile/notifications holds the routing grid
// and the delivery history; POST /profile/notifications answers with the
// routing section for htmx, a 303 back to the page with a flash without
// JavaScript, and the whole page with the message on a refusal.
func TestNotificationsPage(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	phone := a.seedMethod(t, ann, "sms", "+14155550123")

	res := c.get("/profile/notifications")
	if res.status != http.StatusOK {
		t.Fatalf("GET /profile/notifications: got %d, want 200", res.status)
	}
	if got, want := strings.Join(sectionIDs(res.body), " "), "notification-routing notifications"; got != want {
		t.Errorf("sections: %q, want %q", got, want)
	}
	for _, want := range []string{`<form id="routing-form" method="post" action="/profile/notifications" hx-post="/profile/notifications"`,
		`<th scope="col">SMS<br><small>•••0123</small></th>`, `<td data-label="SMS •••0123"><input type="checkbox"`,
		`<table id="notifications-table" class="stack">`, `<a href="/profile#contact-info">`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("GET /profile/notifications: no %s", want)
		}
	}
	if strings.Contains(res.body, "+14155550123") {
		t.Error("GET /profile/notifications: shows the phone number in full, want it masked as in the history")
	}

	alert1 := fmt.Sprintf("alerts:1:%d", phone.ID)
	res = c.postHTMX("/profile/notifications", url.Values{"route": {alert1}})
	if res.status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(res.body), `<section id="notification-routing">`) ||
		strings.Contains(res.body, "<html") || strings.Contains(res.body, `id="notifications-table"`) {
		t.Errorf("htmx save: got %d, want 200 with the routing section alone; body:\n%s", res.status, res.body)
	}
	if !strings.Contains(res.body, "Notification routing is saved.") || !strings.Contains(res.body, `value="`+alert1+`"`) {
		t.Errorf("htmx save: no message or no box; body:\n%s", res.body)
	}

	res = c.postForm("/profile/notifications", url.Values{"route": {alert1}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile/notifications" {
		t.Fatalf("plain save: got %d to %q, want 303 to /profile/notifications", res.status, res.header.Get("Location"))
	}
	if body := c.get("/profile/notifications").body; !strings.Contains(body, "Notification routing is saved.") {
		t.Error("plain save: the page after the redirect does not say it is saved")
	}

	res = c.postForm("/profile/notifications", url.Values{"route": {"alerts:x:1"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "<html") ||
		!strings.Contains(res.body, "That routing choice is not available any more.") || !strings.Contains(res.body, `class="settings-nav"`) {
		t.Errorf("plain refused save: got %d, want 422 with the whole page and the message; body:\n%s", res.status, res.body)
	}
}

// TestSettingsNav: the profile-area pages carry the settings side menu,
// the page shown marked aria-current and named by the phone summary;
// Credit Cards only when Stripe is set up.
func TestSettingsNav(t *testing.T) {
	t.Parallel()
	entries := []struct{ path, name string }{
		{"/profile", "Profile"}, {"/profile/notifications", "Notifications"}, {"/profile/activity", "Security activity"},
		{"/preferences", "Preferences"}, {"/cards", "Credit Cards"},
	}
	navRE := regexp.MustCompile(`(?s)<nav class="settings-nav" aria-label="Settings">.*?</nav>`)
	for _, stripe := range []bool{false, true} {
		var opts []func(*appConfig)
		if stripe {
			opts = append(opts, withCards(newFakeStripe()))
		}
		a := newApp(t, opts...)
		c := a.client(t)
		c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
		shown := entries[:4]
		if stripe {
			shown = entries
		}
		for _, page := range shown {
			t.Run(fmt.Sprintf("stripe=%v%s", stripe, page.path), func(t *testing.T) {
				res := c.get(page.path)
				if res.status != http.StatusOK {
					t.Fatalf("GET %s: got %d, want 200", page.path, res.status)
				}
				if !strings.Contains(res.body, `<div class="settings">`) || !strings.Contains(res.body, `<div class="settings-body">`) {
					t.Errorf("GET %s: not in the settings shell", page.path)
				}
				nav := navRE.FindString(res.body)
				if nav == "" {
					t.Fatalf("GET %s: no settings menu", page.path)
				}
				var got []string
				for _, m := range regexp.MustCompile(`<li><a href="([^"]+)"( aria-current="page")?>([^<]+)</a></li>`).FindAllStringSubmatch(nav, -1) {
					e := m[1] + " " + m[3]
					if m[2] != "" {
						e += " (current)"
					}
					got = append(got, e)
				}
				var want []string
				for _, e := range shown {
					w := e.path + " " + e.name
					if e.path == page.path {
						w += " (current)"
					}
					want = append(want, w)
				}
				if strings.Join(got, ", ") != strings.Join(want, ", ") {
					t.Errorf("menu entries %q, want %q", got, want)
				}
				if summary := `<summary><span class="sr-only">Settings: </span>` + page.name + `</summary>`; !strings.Contains(nav, summary) {
					t.Errorf("menu summary: want %s in\n%s", summary, nav)
				}
			})
		}
	}
}

// TestContactMethodRows: each contact method shows a status badge and one
// action (Verify with its code field, or Send test), and keeps the others
// (label, new code, delete) in an expander named after the address; the
// account email has no expander. A refused label opens it.
func TestContactMethodRows(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c.adopt(ann.ID)
	verified := a.seedMethod(t, ann, "email", "ann.work@example.com")
	pending, err := a.store.AddContactMethod(t.Context(), ann.ID, db.NewContactMethod{Kind: "email", Address: "ann.home@example.com"},
		func(db.ContactMethod, string) (db.Notice, error) { return db.Notice{Subject: "code"}, nil }, db.Event{Kind: db.EventContactAdded})
	if err != nil {
		t.Fatal(err)
	}
	body := c.get("/profile").body
	row := func(id int64) string {
		m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="contact-%d">.*?</tr>`, id)).FindString(body)
		if m == "" {
			t.Fatalf("no row for method %d in:\n%s", id, body)
		}
		return m
	}
	more := `<details class="more">`
	for _, tt := range []struct {
		name, row string
		want      []string
		notWant   []string
		outside   string // must come before the expander
	}{
		{"account email", row(a.methods(t, ann)[0].ID), []string{`<span class="badge ok">Verified</span>`, `>Send test</button>`}, []string{more, "/delete"}, ""},
		{"verified", row(verified.ID), []string{`<span class="badge ok">Verified</span>`, `>Send test</button>`, more,
			`<summary aria-label="More actions for ann.work@example.com">More</summary>`, `aria-label="Label of ann.work@example.com"`, `>Delete ann.work@example.com</button>`},
			[]string{`name="code"`, "/resend"}, "/test"},
		{"not verified", row(pending.ID), []string{`<span class="badge muted">Not verified</span>`, `name="code"`, `>Verify</button>`, more,
			`<summary aria-label="More actions for ann.home@example.com">More</summary>`, `>Send a new code</button>`, `>Delete ann.home@example.com</button>`},
			[]string{">Send test</button>"}, `name="code"`},
	} {
		for _, w := range tt.want {
			if !strings.Contains(tt.row, w) {
				t.Errorf("%s row: no %s in\n%s", tt.name, w, tt.row)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(tt.row, w) {
				t.Errorf("%s row: has %s, want none", tt.name, w)
			}
		}
		if tt.outside != "" && strings.Index(tt.row, tt.outside) > strings.Index(tt.row, more) {
			t.Errorf("%s row: %s is inside the expander, want it the row's one action", tt.name, tt.outside)
		}
	}
	res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/label", verified.ID), url.Values{"label": {strings.Repeat("x", 51)}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `<details class="more" open>`) {
		t.Errorf("refused label: got %d, want 422 with the expander open; body:\n%s", res.status, res.body)
	}
}
