package views

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// TestRowsWorkedOutInGo: the rows the profile and notifications pages build
// in Go (ContactRow, AccountLines, LoginLines, SessionLines, Grid, History,
// SettingsNav) write each form's action and hx-post from its own id, the
// outcome of a form on its own row only, and every value people typed
// escaped wherever it stands.
func TestRowsWorkedOutInGo(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p := s1Profile()
	odd := `x"<b>&'@example.com`
	p.Notify.Methods[6].Address = odd // not verified
	p.Notify.MethodID, p.Notify.MethodForm = 8, Form{Values: map[string]string{"code": `1"<`, "label": "new"},
		Errors: map[string]string{"code": "Wrong code.", "label": "Too long."}}
	p.Accounts[2].Account.OwnerID = 99 // not owned: Leave is offered
	var out bytes.Buffer
	if err := r.Page(&out, "profile.html", p); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	post := func(path string) string { return fmt.Sprintf(`action="%s" hx-post="%s"`, path, path) }
	for _, want := range []string{
		`<tr id="contact-2">`, post("/profile/contacts/2/test"), post("/profile/contacts/2/label"), post("/profile/contacts/2/delete"),
		post("/profile/contacts/7/verify"), `id="code-7"`, post("/profile/contacts/7/resend"),
		`aria-label="Code for x&#34;&lt;b&gt;&amp;&#39;@example.com"`, `<td class="address" data-label="Address">x&#34;&lt;b&gt;&amp;&#39;@example.com</td>`,
		`<small class="field-error" role="alert">Wrong code.</small>`, `value="1&#34;&lt;"`, `value="new"`, `<details class="more" open>`, `Wrong code.`, `Too long.`,
		`<a href="/accounts/3">Account 2</a>`, `<a href="/accounts/3/manage" role="button"`, post("/accounts/3/leave"),
		post("/profile/logins/2/delete"), post("/profile/sessions/3/revoke"),
		`<a href="/profile" aria-current="page">Profile</a>`, `<summary><span class="sr-only">Settings: </span>Profile</summary>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("profile: no %s", want)
		}
	}
	for _, unwanted := range []string{odd, post("/profile/contacts/1/delete"), post("/profile/contacts/2/verify"),
		post("/profile/sessions/0/revoke"), `value="1&#34;&lt;" maxlength="50"`} {
		if strings.Contains(page, unwanted) {
			t.Errorf("profile: has %s", unwanted)
		}
	}
	if n := strings.Count(page, `<details class="more" open>`); n != 1 {
		t.Errorf("%d expanders open, want the one of the refused label", n)
	}
	if n := strings.Count(page, "Wrong code."); n != 1 {
		t.Errorf("the code's error shows %d times, want once, on its row", n)
	}

	n := s1Notifications(p)
	n.Deliveries[1].State, n.Deliveries[1].LastError, n.Deliveries[1].NextAttemptAt = db.DeliveryQueued, "dial tcp: connection refused", time.Now()
	n.Deliveries[2].Subject = "<b>Invite</b>"
	n.Deliveries[2].Circumstance = db.CircumstanceAccount
	out.Reset()
	if err := r.Page(&out, "notifications.html", n); err != nil {
		t.Fatal(err)
	}
	page = out.String()
	for _, want := range []string{`<tr data-route="alerts:5">`, `<th scope="row">Alerts, severity 5</th>`, `<tr data-route="billing:0">`,
		`value="alerts:1:1" aria-label="Route contact-0@example.com" checked>`, `<small>Next attempt <time`, "The receiving server refused the connection.",
		"&lt;b&gt;Invite&lt;/b&gt;", `<a href="/profile/notifications" aria-current="page">Notifications</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("notifications: no %s", want)
		}
	}
	if strings.Contains(page, "<b>Invite") {
		t.Error("notifications: a subject written unescaped")
	}

	for key, name := range map[string]string{"activity": "Security activity", "preferences": "Preferences", "cards": "Settings", "nope": "Settings"} {
		out.Reset()
		if err := r.Fragment(&out, "profile.html", "settings-nav", p.SettingsNav(key)); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.Contains(s, "</span>"+name+"</summary>") || strings.Contains(s, "/cards") ||
			strings.Count(s, `aria-current="page"`) != map[bool]int{true: 1, false: 0}[name != "Settings"] {
			t.Errorf("settings menu of %q without cards:\n%s", key, s)
		}
	}
	p.CardsOffered = true
	out.Reset()
	if err := r.Fragment(&out, "profile.html", "settings-nav", p.SettingsNav("cards")); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `<a href="/cards" aria-current="page">Credit Cards</a>`) || !strings.Contains(s, "</span>Credit Cards</summary>") {
		t.Errorf("settings menu of cards with cards:\n%s", s)
	}
}
