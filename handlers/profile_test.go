package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

var activityRow = regexp.MustCompile(`<tr>\s*<td[^>]*><time datetime="[^"]+" title="[^"]+">[^<]*</time></td>\s*<td[^>]*>([^<]*)</td>`)

// activity returns the "What" column of the first page of the client's
// activity log, newest first, and the page's body.
func activity(t *testing.T, c *client) ([]string, string) {
	t.Helper()
	return activityAt(t, c, "/profile/activity")
}

// activityAt is activity for the page at path, such as a pager's link.
func activityAt(t *testing.T, c *client, path string) ([]string, string) {
	t.Helper()
	res := c.get(path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", path, res.status)
	}
	var what []string
	for _, m := range activityRow.FindAllStringSubmatch(res.body, -1) {
		what = append(what, html.UnescapeString(m[1]))
	}
	return what, res.body
}

// activityText signs in from a new browser and returns the first page of
// the user's activity, one event a line.
func activityText(t *testing.T, a *app, email, password string) string {
	t.Helper()
	c := a.client(t)
	c.login(email, password)
	what, _ := activity(t, c)
	return strings.Join(what, "\n")
}

// TestProfilePage shows the sections this issue owns, in order, the user
// menu, and the sessions with this device marked.
func TestProfilePage(t *testing.T) {
	t.Parallel()
	a := newApp(t, withCards(newFakeStripe())) // the menu offers Credit Cards
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	other := a.client(t)
	other.ua = safariUA
	other.adopt(ann.ID)

	body := c.get("/profile").body
	var sections []string
	for _, m := range regexp.MustCompile(`<section id="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		sections = append(sections, m[1])
	}
	if got, want := strings.Join(sections, " "), "contact-info my-accounts account-invites change-password sso-logins two-factor passkeys sessions leave"; got != want {
		t.Errorf("got sections %q, want %q", got, want)
	}
	for _, want := range []string{
		`<nav id="user-menu" aria-label="User menu">`, `<a href="/profile">User Profile</a>`, ">Preferences</a>", ">Credit Cards</a>", ">Create Account</a>", "Log out",
		annName, `value="` + annEmail + `"`, "Not verified yet",
		`Firefox 128 on Linux <small class="muted">(this device)</small>`, "Safari 17 on Mac OS X", "127.0.0.1",
		"Log out other sessions",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /profile: missing %q", want)
		}
	}
	if got := strings.Count(body, "(this device)"); got != 1 {
		t.Errorf("got %d sessions marked this device, want 1", got)
	}
}

// TestChangePassword signs out every other session, keeps this one, and
// records the change.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	second := a.client(t)
	second.adopt(ann.ID)

	res := c.postForm("/profile/password", url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("POST /profile/password: got %d, want 303; body:\n%s", res.status, res.body)
	}
	if second.signedIn() {
		t.Error("second browser after the change: logged in, want logged out")
	}
	if !c.signedIn() {
		t.Error("this browser after the change: logged out, want logged in")
	}
	if res := a.client(t).postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("log in with the old password: got %d, want 422", res.status)
	}
	a.client(t).login(annEmail, newPassword)
	if notice := a.mail.waitFor(t, annEmail, "Security notice: password changed"); !strings.Contains(notice.Text, "every other session was logged out") {
		t.Errorf("password notice: got %q", notice.Text)
	}

	what, _ := activity(t, c)
	want := []string{"Logged in with password", "Changed the password; 1 other session logged out", "Failed sign-in attempt (wrong password)"}
	for _, w := range want {
		if !slices.Contains(what, w) {
			t.Errorf("activity: got %q, want an entry %q", what, w)
		}
	}
	if len(what) == 0 || what[0] != "Logged in with password" {
		t.Errorf("activity: got %q, want newest first", what)
	}
}

// TestRevokeSession ends one session by its id, refuses another user's
// session with 404, and "Sign out other sessions" ends all but this one.
func TestRevokeSession(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann1, ann2, ann3 := a.client(t), a.client(t), a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	ann1.adopt(ann.ID)
	ann2.adopt(ann.ID)
	ann3.adopt(ann.ID)
	bob := a.client(t)
	bob.adopt(a.seedUser(t, "Bob", bobEmail, bobPassword).ID)

	ids := ann1.otherSessionIDs()
	if len(ids) != 2 {
		t.Fatalf("Ann's profile: got %d other sessions, want 2", len(ids))
	}
	for _, path := range []string{"/profile/sessions/" + ids[0] + "/revoke", "/profile/sessions/nonsense/revoke", "/profile/sessions/999999/revoke"} {
		res := bob.postForm(path, nil)
		if res.status != http.StatusNotFound || !strings.Contains(res.body, "<html") {
			t.Errorf("Bob: POST %s: got %d, want 404 with the error page", path, res.status)
		}
		res = bob.postHTMX(path, nil)
		if res.status != http.StatusNotFound || strings.Contains(res.body, "<html") || res.header.Get("HX-Retarget") != "#toasts" {
			t.Errorf("Bob: htmx POST %s: got %d retargeted to %q, want 404 as a toast", path, res.status, res.header.Get("HX-Retarget"))
		}
	}
	if !ann2.signedIn() || !ann3.signedIn() {
		t.Fatal("Ann's sessions after Bob's attempts: logged out, want logged in")
	}

	res := ann1.postForm("/profile/sessions/"+ids[0]+"/revoke", nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("Ann revokes a session: got %d, want 303", res.status)
	}
	if res := ann1.postForm("/profile/sessions/"+ids[0]+"/revoke", nil); res.status != http.StatusNotFound || !strings.Contains(res.body, "That session has already ended.") {
		t.Errorf("revoke the same session again: got %d, want 404 saying it has ended", res.status)
	}
	if got := ann1.otherSessionIDs(); len(got) != 1 {
		t.Fatalf("after one revoke: got %d other sessions, want 1", len(got))
	}

	res = ann1.postHTMX("/profile/sessions/revoke-others", nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, "1 other session was logged out.") {
		t.Errorf("revoke others: got %d, want 200 saying 1 other session was logged out; body:\n%s", res.status, res.body)
	}
	if ann2.signedIn() || ann3.signedIn() {
		t.Error("Ann's other browsers: still logged in, want both logged out")
	}
	if !ann1.signedIn() || !bob.signedIn() {
		t.Error("Ann's own browser or Bob: logged out, want them kept")
	}
	what, _ := activity(t, ann1)
	for _, w := range []string{"Logged out a session", "Logged out 1 other session"} {
		if !slices.Contains(what, w) {
			t.Errorf("activity: got %q, want an entry %q", what, w)
		}
	}
}

// TestPasswordReset mails a link built from the base URL that works once,
// and answers an unknown email exactly as a known one.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.client(t)
	ann.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	c := a.client(t)

	// The Host header is the sender's to choose; links must not use it.
	const unknown = "nobody@example.com"
	req := func(email string) *response {
		t.Helper()
		return c.do(http.MethodPost, "/password/forgot", url.Values{"email": {email}},
			http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {c.csrf()}, "Host": {"evil.example"}})
	}
	unknownRes := req(unknown)
	knownRes := req(annEmail)
	if unknownRes.status != http.StatusOK || knownRes.status != http.StatusOK {
		t.Fatalf("forgot: got %d for an unknown and %d for a known email, want 200 for both", unknownRes.status, knownRes.status)
	}
	if got, want := strings.ReplaceAll(unmasked(unknownRes.body), unknown, "EMAIL"), strings.ReplaceAll(unmasked(knownRes.body), annEmail, "EMAIL"); got != want {
		t.Errorf("forgot: unknown email got\n%s\nwant the known email's answer\n%s", got, want)
	}

	msg := a.mail.waitFor(t, annEmail, "Reset")
	if got := a.mail.sentTo(unknown); len(got) != 0 {
		t.Errorf("got %d mails to an unknown address, want none", len(got))
	}
	resetURL := link(t, msg, "http://roster.test/password/reset/")
	if strings.Contains(msg.Text, "evil.example") {
		t.Errorf("reset mail uses the request's Host header:\n%s", msg.Text)
	}
	path := strings.TrimPrefix(resetURL, "http://roster.test")

	if res := c.get(path); res.status != http.StatusOK || !strings.Contains(res.body, `<form id="reset-form"`) {
		t.Fatalf("GET %s: got %d, want 200 with the form", path, res.status)
	}
	res := c.postForm(path, url.Values{"new_password": {newPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Fatalf("POST %s: got %d to %q, want 303 to /login", path, res.status, res.header.Get("Location"))
	}
	if ann.signedIn() {
		t.Error("Ann's browser after the reset: logged in, want every session logged out")
	}
	a.client(t).login(annEmail, newPassword)
	a.mail.waitFor(t, annEmail, "Security notice: password reset")

	// A second use of the link changes nothing and explains why.
	res = c.postForm(path, url.Values{"new_password": {bobPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != path {
		t.Fatalf("second POST %s: got %d to %q, want 303 back to the link", path, res.status, res.header.Get("Location"))
	}
	spent := c.get(path)
	if spent.status != http.StatusNotFound || !strings.Contains(spent.body, "This link has expired or has already been used.") {
		t.Errorf("GET %s after use: got %d, want 404 saying the link is spent; body:\n%s", path, spent.status, spent.body)
	}
	if strings.Contains(spent.body, `<form id="reset-form"`) {
		t.Error("spent link: got the reset form, want none")
	}
	a.client(t).login(annEmail, newPassword)
	if !strings.Contains(activityText(t, a, annEmail, newPassword), "Reset the password from an emailed link") {
		t.Error("activity: no password reset event")
	}
}

// TestVerifyEmail: the sign-up mail's link, built from the base URL, marks
// the email verified once.
func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.signup(annName, annEmail, annPassword)
	const verified = `<small id="email-status">Verified</small>`
	if body := c.get("/profile").body; strings.Contains(body, verified) || !strings.Contains(body, "Send the verification link again") {
		t.Fatal("profile before verifying: want not verified, with a resend button")
	}

	msg := a.mail.waitFor(t, annEmail, "Confirm")
	path := strings.TrimPrefix(link(t, msg, "http://roster.test/verify/"), "http://roster.test")
	res := c.confirmLink(path)
	if res.status != http.StatusOK || !strings.Contains(res.body, "your email address is confirmed") {
		t.Fatalf("confirm %s: got %d, want 200 saying the email is confirmed; body:\n%s", path, res.status, res.body)
	}
	body := c.get("/profile").body
	if !strings.Contains(body, verified) {
		t.Errorf("profile after verifying: missing %q", verified)
	}
	if strings.Contains(body, "Send the verification link again") {
		t.Error("profile after verifying: still offers to resend the link")
	}
	if res := c.get(path); res.status != http.StatusNotFound || !strings.Contains(res.body, "This link does not work") {
		t.Errorf("GET %s again: got %d, want 404 saying the link does not work", path, res.status)
	}
	if res := c.postForm(path, nil); res.status != http.StatusNotFound || !strings.Contains(res.body, "This link does not work") {
		t.Errorf("confirm %s again: got %d, want 404 saying the link does not work", path, res.status)
	}
	if res := a.client(t).get("/verify/not-a-token"); res.status != http.StatusNotFound {
		t.Errorf("GET /verify/not-a-token: got %d, want 404", res.status)
	}
	what, _ := activity(t, c)
	if !slices.Contains(what, "Confirmed the email address") {
		t.Errorf("activity: got %q, want the confirmation", what)
	}
}

// TestActivityPagination pages the log by keyset, 25 events a page (the
// default page size), newest first: Next and Last lead down, First and
// Previous back up, each link a bookmark that keeps showing the same events
// as new ones arrive, and a bad or stale position shows the first page.
func TestActivityPagination(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.signup(annName, annEmail, annPassword) // "Created the profile", "Logged in"
	revokeOthers := func() {
		t.Helper()
		if res := c.postForm("/profile/sessions/revoke-others", nil); res.status != http.StatusSeeOther {
			t.Fatalf("POST /profile/sessions/revoke-others: got %d, want 303", res.status)
		}
	}
	for range 24 {
		revokeOthers()
	}
	before, after := regexp.MustCompile(`^/profile/activity\?before=\d+$`), regexp.MustCompile(`^/profile/activity\?after=\d+$`)

	page1, body1 := activity(t, c)
	if len(page1) != 25 || page1[0] != "Logged out 0 other sessions" || page1[24] != "Logged in" {
		t.Fatalf("page 1: got %d rows %q, want 25, newest first", len(page1), page1)
	}
	links1 := pagerLinks(body1)
	if !before.MatchString(links1["next"]) || links1["last"] != "/profile/activity?after=0" || links1["first"] != "" || links1["prev"] != "" {
		t.Errorf("page 1: got links %v, want next ?before=<id> and last ?after=0 only", links1)
	}

	page2, body2 := activityAt(t, c, links1["next"])
	if want := []string{"Created the profile"}; !slices.Equal(page2, want) {
		t.Errorf("next page: got %q, want %q", page2, want)
	}
	links2 := pagerLinks(body2)
	if links2["first"] != "/profile/activity" || !after.MatchString(links2["prev"]) || links2["next"] != "" || links2["last"] != "" {
		t.Errorf("next page: got links %v, want first and prev ?after=<id> only", links2)
	}
	if back, _ := activityAt(t, c, links2["prev"]); !slices.Equal(back, page1) {
		t.Errorf("previous from the next page: got %q, want page 1", back)
	}

	last, bodyLast := activityAt(t, c, links1["last"])
	if len(last) != 25 || last[24] != "Created the profile" || last[23] != "Logged in" || !slices.Equal(last[:24], page1[1:]) {
		t.Errorf("last page: got %q, want the 25 oldest events, newest first", last)
	}
	linksLast := pagerLinks(bodyLast)
	if linksLast["first"] != "/profile/activity" || !after.MatchString(linksLast["prev"]) || linksLast["next"] != "" || linksLast["last"] != "" {
		t.Errorf("last page: got links %v, want first and prev only", linksLast)
	}
	if up, _ := activityAt(t, c, linksLast["prev"]); !slices.Equal(up, page1) {
		t.Errorf("previous from the last page: got %q, want page 1", up)
	}

	// A newer event moves the first page, not a bookmarked one.
	c.postForm("/profile/name", url.Values{"name": {"Ann Again"}})
	if again, _ := activityAt(t, c, links1["next"]); !slices.Equal(again, page2) {
		t.Errorf("bookmarked next page after a new event: got %q, want %q", again, page2)
	}
	if now, _ := activity(t, c); len(now) != 25 || now[0] != "Changed the name to Ann Again" {
		t.Errorf("page 1 after a new event: got %q, want it first", now)
	}

	for _, q := range []string{"?page=2", "?page=x", "?before=x", "?before=-3", "?before=0", "?after=-1", "?after=", "?after=1e3"} {
		rows, body := activityAt(t, c, "/profile/activity"+q)
		links := pagerLinks(body)
		if len(rows) != 25 || rows[0] != "Changed the name to Ann Again" || links["prev"] != "" || !before.MatchString(links["next"]) {
			t.Errorf("GET /profile/activity%s: got %q, links %v; want page 1, its links without the stale parameter", q, rows, links)
		}
	}
}

// TestActivityPagerKeepsRange: the pager's links keep the chart's range,
// on the page without JavaScript and out of band when htmx switches the
// range, and the switch keeps the log where it was.
func TestActivityPagerKeepsRange(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for i := range 30 {
		if err := a.store.AddEvent(context.Background(), db.Event{UserID: ann.ID, Kind: db.EventProfileUpdated, Detail: map[string]any{"name": "Ann " + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	_, body := activityAt(t, c, "/profile/activity?range=30d")
	next := pagerLinks(body)["next"]
	if !regexp.MustCompile(`^/profile/activity\?before=\d+&range=30d$`).MatchString(next) {
		t.Fatalf("?range=30d: next link %q, want ?before=<id>&range=30d", next)
	}
	res := c.do(http.MethodGet, strings.Replace(next, "30d", "24h", 1), nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"signin-chart"}})
	oob := regexp.MustCompile(`(?s)<div id="activity-pager" hx-swap-oob="true">(.*?)</div>`).FindStringSubmatch(res.body)
	if res.status != http.StatusOK || oob == nil {
		t.Fatalf("htmx range switch on page 2: got %d, want 200 with the pager out of band; body %s", res.status, res.body)
	}
	links := pagerLinks(oob[1])
	if links["first"] != "/profile/activity?range=24h" || !regexp.MustCompile(`^/profile/activity\?after=\d+&range=24h$`).MatchString(links["prev"]) ||
		links["next"] != "" || links["last"] != "" {
		t.Errorf("out-of-band pager on page 2: got %v, want first and prev with range=24h, no next (6 of 31 events left)", links)
	}
}
