package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/csrfmask"
)

// The render memo (views/memo.go) answers /profile and
// /profile/notifications with bytes kept from an earlier render whose data
// digested alike. These tests try the two ways it could go wrong: one
// person's page shown to another, and a page that does not show a change.

// nonceAttr is the per-request script nonce: the one part of two answers
// of the same page that must differ.
var nonceAttr = regexp.MustCompile(`nonce="[^"]*"`)

// maskedToken is a CSRF token as a page writes it, masked afresh in each
// place: the other part that differs (checkSlots checks it is this
// browser's).
var maskedToken = regexp.MustCompile(`(name="_csrf" value="|name="csrf-token" content="|"X-CSRF-Token": ")[A-Za-z0-9_-]{86}"`)

func withoutNonce(body string) string {
	return maskedToken.ReplaceAllString(nonceAttr.ReplaceAllString(body, `nonce=""`), `${1}masked"`)
}

// memoGet gets path with the memo on, then again with it off (a fresh
// render), and fails unless the two are the same bytes but for the nonce.
// It returns the memo's answer and whether the memo had it kept.
func memoGet(t *testing.T, a *app, c *client, path string) (string, bool) {
	t.Helper()
	hits, _ := a.views.MemoStats()
	res := c.get(path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", path, res.status)
	}
	after, _ := a.views.MemoStats()
	a.views.SetMemo(false)
	fresh := c.get(path)
	a.views.SetMemo(true)
	if fresh.status != http.StatusOK {
		t.Fatalf("GET %s without the memo: got %d, want 200", path, fresh.status)
	}
	if got, want := withoutNonce(res.body), withoutNonce(fresh.body); got != want {
		t.Errorf("GET %s: the memo's answer differs from a fresh render:\n%s", path, firstDiff(got, want))
	}
	checkSlots(t, c, path, res)
	return res.body, after > hits
}

// checkSlots: the page carries this browser's CSRF token in every form and
// the nonce of its own Content-Security-Policy on every script.
func checkSlots(t *testing.T, c *client, path string, res *response) {
	t.Helper()
	token := c.cookie(csrfCookie)
	for _, m := range regexp.MustCompile(`name="_csrf" value="([^"]*)"`).FindAllStringSubmatch(res.body, -1) {
		if !csrfmask.Matches(token, m[1]) || len(m[1]) != csrfmask.MaskedLen {
			t.Errorf("GET %s: a form's token is %q, want this browser's %q masked", path, m[1], token)
			break
		}
	}
	csp := cspNonce.FindStringSubmatch(res.header.Get("Content-Security-Policy"))
	tags := scriptNonce.FindAllStringSubmatch(res.body, -1)
	if csp == nil || len(tags) == 0 {
		t.Fatalf("GET %s: no nonce in the CSP or no script with one", path)
	}
	for _, tag := range tags {
		if tag[1] != csp[1] {
			t.Errorf("GET %s: <script nonce=%q>, want the header's %q", path, tag[1], csp[1])
		}
	}
}

// firstDiff shows where two pages part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("memo:  ...%s\nfresh: ...%s", got[from:min(i+200, len(got))], want[from:min(i+200, len(want))])
}

// TestMemoOnePersonsPageNeverAnothers: two people whose pages are alike in
// all but who they are (same name, same kind of contact method, members of
// the same account with the same role, the same preferences) each get
// their own page, and the memo answers each from their own kept page.
func TestMemoOnePersonsPageNeverAnothers(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	bob := a.seedUser(t, bobName, bobEmail, bobPassword)
	acc := a.seedAccount(t, bob, "Acme")
	// Not annEmail: the add form's placeholder shows it to everyone.
	emails := []string{"ann.one@example.com", "ann.two@example.com"}
	var clients []*client
	for _, email := range emails {
		u := a.verify(t, a.seedUser(t, annName, email, annPassword))
		a.join(t, acc, bob, u, db.RoleNormal)
		a.seedMethod(t, u, "sms", "+14155550123")
		c := a.client(t)
		c.adopt(u.ID)
		clients = append(clients, c)
	}
	for _, path := range []string{"/profile", "/profile/notifications"} {
		var first [2]string
		for i, c := range clients {
			body, hit := memoGet(t, a, c, path)
			if hit {
				t.Errorf("GET %s as %s the first time: the memo had a page for it", path, emails[i])
			}
			first[i] = body
		}
		for round := range 2 {
			for i, c := range clients {
				body, hit := memoGet(t, a, c, path)
				if !hit {
					t.Errorf("GET %s as %s again (round %d): not answered from the memo", path, emails[i], round)
				}
				if withoutNonce(body) != withoutNonce(first[i]) {
					t.Errorf("GET %s as %s again: not the page they got first", path, emails[i])
				}
				if path == "/profile" && (!strings.Contains(body, emails[i]) || strings.Contains(body, emails[1-i])) {
					t.Errorf("GET %s as %s: the page does not show their email, or shows the other's", path, emails[i])
				}
			}
		}
		if withoutNonce(first[0]) == withoutNonce(first[1]) {
			t.Errorf("GET %s: the two people got the same page", path)
		}
	}
}

// TestMemoShowsEveryChange: after each kind of change that /profile or
// /profile/notifications shows, the next answer shows it: it differs from
// the page kept before the change, and is byte for byte what a fresh
// render without the memo sends.
func TestMemoShowsEveryChange(t *testing.T) {
	t.Parallel()
	// No background worker: the test moves the mails' states itself.
	a := newApp(t, func(ac *appConfig) { ac.manualWorker = true })
	ctx := context.Background()
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	c.adopt(ann.ID)
	bob := a.seedUser(t, bobName, bobEmail, bobPassword)
	acc := a.seedAccount(t, bob, "Acme")
	other := a.client(t)

	htmx := func(path string, form url.Values) func() {
		return func() {
			if res := c.postHTMX(path, form); res.status != http.StatusOK {
				t.Fatalf("POST %s: got %d; body %s", path, res.status, res.body)
			}
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// moveMail claims the mails due at a time and marks them as mark says.
	moveMail := func(at time.Time, mark func(db.Delivery) error) func() {
		return func() {
			claimed, err := a.store.ClaimDeliveries(ctx, "w", at, time.Minute, 10)
			must(err)
			if len(claimed) == 0 {
				t.Fatal("no mail queued to move")
			}
			for _, d := range claimed {
				must(mark(d))
			}
		}
	}
	var method db.ContactMethod
	var invite db.Invite
	steps := []struct {
		name   string
		path   string
		change func()
	}{
		// While the account email is not verified: the confirmation link's
		// mail, as it is queued, fails once, is sent.
		{"confirmation link sent for", "/profile", htmx("/profile/verify-email", nil)},
		{"confirmation link failing", "/profile", moveMail(time.Now(), func(d db.Delivery) error {
			return a.store.MarkFailed(ctx, d.ID, "w", "mail.example.com answered 451", time.Now().Add(time.Hour), false)
		})},
		{"confirmation link sent", "/profile", moveMail(time.Now().Add(2*time.Hour), func(d db.Delivery) error {
			return a.store.MarkSent(ctx, d.ID, "w", time.Now())
		})},
		{"email verified", "/profile", func() { a.verify(t, ann) }},
		{"name changed", "/profile", htmx("/profile/name", url.Values{"name": {"Ann Other"}})},
		{"contact method added", "/profile", func() { method = a.seedMethod(t, ann, "sms", "+14155550123") }},
		{"contact method added (notifications)", "/profile/notifications", func() { a.seedMethod(t, ann, "voice", "+14155550124") }},
		{"routing changed", "/profile/notifications", func() {
			htmx("/profile/notifications", url.Values{"route": {fmt.Sprintf("alerts:1:%d", method.ID)}})()
		}},
		{"notification queued", "/profile/notifications", func() {
			_, err := a.store.Enqueue(ctx, ann.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Something happened"})
			must(err)
		}},
		{"notification sent", "/profile/notifications", moveMail(time.Now().Add(3*time.Hour), func(d db.Delivery) error { return a.store.MarkSent(ctx, d.ID, "w", time.Now()) })},
		{"contact method removed", "/profile", func() { htmx("/profile/contacts/"+strconv.FormatInt(method.ID, 10)+"/delete", nil)() }},
		{"invite arrived", "/profile", func() { invite, _ = a.seedInvite(t, acc, bob, annEmail, db.RoleNormal) }},
		{"invite accepted", "/profile", func() {
			htmx("/invites/"+strconv.FormatInt(invite.ID, 10)+"/accept", nil)()
		}},
		{"account renamed by its admin", "/profile", func() {
			must(a.store.RenameAccount(ctx, acc.ID, bob.ID, "Acme Renamed", db.Event{Kind: db.EventAccountRenamed}))
		}},
		{"account left", "/profile", func() {
			htmx("/accounts/"+strconv.FormatInt(acc.ID, 10)+"/leave", nil)()
		}},
		{"new session", "/profile", func() { other.adopt(ann.ID) }},
		{"session revoked", "/profile", func() {
			ids := c.otherSessionIDs()
			if len(ids) != 1 {
				t.Fatalf("other sessions %v, want 1", ids)
			}
			htmx("/profile/sessions/"+ids[0]+"/revoke", nil)()
		}},
		{"login linked", "/profile", func() {
			must(a.store.LinkIdentity(ctx, ann.ID, db.External{Provider: "github", Subject: "4242", Email: annEmail, EmailVerified: true},
				db.Event{Kind: db.EventLoginLinked}))
		}},
		{"login unlinked", "/profile", func() {
			ids, err := a.store.IdentitiesForUser(ctx, ann.ID)
			must(err)
			htmx("/profile/logins/"+strconv.FormatInt(ids[0].ID, 10)+"/delete", nil)()
		}},
		{"date format", "/profile", htmx("/preferences", url.Values{"date_format": {"us"}})},
		{"clock", "/profile", htmx("/preferences", url.Values{"clock": {"12"}})},
		{"time zone", "/profile", htmx("/preferences", url.Values{"timezone": {"America/New_York"}})},
		{"time zone (notifications)", "/profile/notifications", htmx("/preferences", url.Values{"timezone": {"Asia/Tokyo"}})},
		{"theme", "/profile", htmx("/preferences", url.Values{"theme": {"dark"}})},
		{"many notifications", "/profile/notifications", func() {
			for i := range 25 {
				_, err := a.store.Enqueue(ctx, ann.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i)})
				must(err)
			}
		}},
		{"page size (notifications)", "/profile/notifications", htmx("/preferences", url.Values{"page_size": {"10"}})},
		// The notifications page shows invites only as the menu's badge,
		// which the page data holds as a Count the digest asks.
		{"invite arrived (the badge)", "/profile/notifications", func() {
			a.seedInvite(t, a.seedAccount(t, bob, "Beta"), bob, annEmail, db.RoleNormal)
		}},
	}
	for _, s := range steps {
		// The page before the change, kept: the second GET is the memo's.
		before, _ := memoGet(t, a, c, s.path)
		if _, hit := memoGet(t, a, c, s.path); !hit {
			t.Fatalf("%s: GET %s twice, unchanged: the second was not the memo's", s.name, s.path)
		}
		s.change()
		// It may be the memo's: a change that undoes an earlier one
		// (leaving the account joined) brings back data seen before.
		after, _ := memoGet(t, a, c, s.path)
		if withoutNonce(after) == withoutNonce(before) {
			t.Errorf("%s: GET %s after the change is the page from before it", s.name, s.path)
		}
	}
}

// TestMemoNotForRelativeTimes: a person who reads times as "3 minutes
// ago" gets them counted from each request: their pages never come from
// the memo, nor go into it.
func TestMemoNotForRelativeTimes(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	if res := c.postHTMX("/preferences", url.Values{"date_format": {"relative"}}); res.status != http.StatusOK {
		t.Fatalf("date format relative: got %d", res.status)
	}
	for _, path := range []string{"/profile", "/profile/notifications", "/profile", "/profile/notifications"} {
		hits, misses := a.views.MemoStats()
		res := c.get(path)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: got %d", path, res.status)
		}
		if h, m := a.views.MemoStats(); h != hits || m != misses {
			t.Errorf("GET %s with relative times went through the memo (hits %d -> %d, misses %d -> %d)", path, hits, h, misses, m)
		}
	}
	if body := c.get("/profile").body; !strings.Contains(body, ">just now</time>") {
		t.Error("GET /profile: the session's times are not relative")
	}
}

// TestMemoConcurrent: two people loading their pages at once, many times
// over, each always get their own (run it with -race too).
func TestMemoConcurrent(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	emails := []string{"ann.one@example.com", "ann.two@example.com"}
	var clients []*client
	for _, email := range emails {
		u := a.seedUser(t, annName, email, annPassword)
		c := a.client(t)
		c.adopt(u.ID)
		c.csrf() // the browser's token cookie, before its requests race
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		for range 4 {
			wg.Go(func() {
				for range 10 {
					res := c.get("/profile")
					if res.status != http.StatusOK || !strings.Contains(res.body, emails[i]) || strings.Contains(res.body, emails[1-i]) {
						t.Errorf("GET /profile as %s: got %d, not their page", emails[i], res.status)
						return
					}
					if m := regexp.MustCompile(`name="_csrf" value="([^"]*)"`).FindStringSubmatch(res.body); m == nil || !csrfmask.Matches(c.cookie(csrfCookie), m[1]) || len(m[1]) != csrfmask.MaskedLen {
						t.Errorf("GET /profile as %s: not this browser's CSRF token", emails[i])
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if hits, _ := a.views.MemoStats(); hits == 0 {
		t.Error("80 GETs of two unchanged pages: none from the memo")
	}
}
