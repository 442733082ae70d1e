package handlers_test

import (
	"context"
	"crypto/sha256"
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
	// moveMail claims the mails due after more time than now (taken when
	// the step runs: the mail is queued by the step before) and marks them
	// as mark says.
	moveMail := func(after time.Duration, mark func(db.Delivery) error) func() {
		return func() {
			claimed, err := a.store.ClaimDeliveries(ctx, "w", time.Now().Add(after), time.Minute, 10)
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
	var totpKey string
	var recovery []string
	var passkey db.Passkey
	steps := []struct {
		name   string
		path   string
		change func()
	}{
		// While the account email is not verified: the confirmation link's
		// mail, as it is queued, fails once, is sent.
		{"confirmation link sent for", "/profile", htmx("/profile/verify-email", nil)},
		{"confirmation link failing", "/profile", moveMail(0, func(d db.Delivery) error {
			return a.store.MarkFailed(ctx, d.ID, "w", "mail.example.com answered 451", time.Now().Add(time.Hour), false)
		})},
		{"confirmation link sent", "/profile", moveMail(2*time.Hour, func(d db.Delivery) error {
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
		{"notification sent", "/profile/notifications", moveMail(3*time.Hour, func(d db.Delivery) error { return a.store.MarkSent(ctx, d.ID, "w", time.Now()) })},
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
		// The two-factor panel: setting up (the key on the page: never
		// kept), on, a recovery code used, off.
		{"two-factor setting up", "/profile", htmx("/profile/two-factor", nil)},
		{"two-factor on", "/profile", func() {
			secret := totpSecretRE.FindStringSubmatch(c.get("/profile").body)
			if secret == nil {
				t.Fatal("no key on the page while setting up")
			}
			totpKey = strings.ReplaceAll(secret[1], " ", "")
			res := c.postHTMX("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, totpKey, time.Now())}})
			for _, m := range recoveryCodeRE.FindAllStringSubmatch(res.body, -1) {
				recovery = append(recovery, m[1])
			}
			if len(recovery) != 10 {
				t.Fatalf("confirm: %d recovery codes, want 10; body %s", len(recovery), res.body)
			}
		}},
		{"recovery codes left changing", "/profile", func() {
			second := a.client(t)
			passwordStep(t, second, annEmail, annPassword)
			if res := second.postForm("/login/two-factor", url.Values{"code": {recovery[0]}}); res.status != http.StatusSeeOther {
				t.Fatalf("recovery code: got %d", res.status)
			}
			second.postForm("/logout", nil)
		}},
		{"two-factor off", "/profile", func() { htmx("/profile/two-factor/disable", url.Values{"code": {recovery[1]}})() }},
		// The passkeys panel: added, renamed, used, removed.
		{"passkey added", "/profile", func() {
			c.addPasskey(rosterAuthenticator(), "Ann's key")
			c.get("/profile") // its flash, shown once
		}},
		{"passkey renamed", "/profile", func() {
			keys, err := a.store.PasskeysForUser(ctx, ann.ID, "roster.test")
			must(err)
			passkey = keys[0]
			htmx("/profile/passkeys/"+strconv.FormatInt(passkey.ID, 10)+"/name", url.Values{"passkey_name": {"Ann's phone"}})()
		}},
		{"passkey last used", "/profile", func() { must(a.store.UsePasskey(ctx, ann.ID, passkey.ID, passkey.Credential)) }},
		{"passkey removed", "/profile", func() { htmx("/profile/passkeys/"+strconv.FormatInt(passkey.ID, 10)+"/delete", nil)() }},
		// The Your data panel names the account email: an email change
		// asked, then confirmed (last: the steps above log in with it).
		{"email change asked", "/profile", func() {
			asker := sha256.Sum256([]byte(c.cookie(sessCookie)))
			must(a.store.RequestEmailChange(ctx, db.EmailChangeAsk{UserID: ann.ID, SessionHash: asker[:], NewEmail: "ann.new@example.com",
				TokenHash: []byte("memo-change-token"), CancelHash: []byte("memo-cancel-token"), TTL: time.Hour,
				Confirm: &db.Mail{Subject: "Confirm", Body: "Confirm"}}, db.Event{Kind: db.EventEmailChangeAsked}))
		}},
		{"email changed (Your data)", "/profile", func() {
			// Confirmed in c's browser, whose session the change keeps
			// (it logs out the others).
			keep := sha256.Sum256([]byte(c.cookie(sessCookie)))
			_, err := a.store.ConfirmEmailChange(ctx, []byte("memo-change-token"), keep[:],
				func(_, _ string) (db.Notice, error) {
					return db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Changed"}, nil
				},
				db.Event{Kind: db.EventEmailChanged})
			must(err)
		}},
	}
	// Pages showing a secret once (the key being set up) are never kept:
	// after such a change, the page is not the memo's however often asked.
	secretAfter := map[string]bool{"two-factor setting up": true}
	prevSecret := false
	for _, s := range steps {
		// The page before the change, kept: the second GET is the memo's.
		before, _ := memoGet(t, a, c, s.path)
		if _, hit := memoGet(t, a, c, s.path); hit == prevSecret {
			if prevSecret {
				t.Fatalf("%s: GET %s twice, showing a secret: the memo kept it", s.name, s.path)
			}
			t.Fatalf("%s: GET %s twice, unchanged: the second was not the memo's", s.name, s.path)
		}
		prevSecret = secretAfter[s.name]
		s.change()
		// It may be the memo's: a change that undoes an earlier one
		// (leaving the account joined) brings back data seen before.
		after, _ := memoGet(t, a, c, s.path)
		if withoutNonce(after) == withoutNonce(before) {
			t.Errorf("%s: GET %s after the change is the page from before it", s.name, s.path)
		}
		if s.name == "email changed (Your data)" && !strings.Contains(after, "Type your email, <strong>ann.new@example.com</strong>") {
			t.Errorf("%s: the Your data panel does not name the new email", s.name)
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

// TestMemoKeepsNoSecret: the pages that show a secret once (the
// authenticator key and its QR code while setting up, recovery codes just
// made, as pages without htmx) never go through the memo: none is kept,
// not even under its own key.
func TestMemoKeepsNoSecret(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	c := a.client(t)
	c.adopt(ann.ID)
	secret := startEnrolment(t, c)
	hits, misses := a.views.MemoStats()
	for range 2 {
		if body := c.get("/profile").body; !strings.Contains(body, `id="totp-secret"`) {
			t.Fatal("GET /profile while setting up: no key shown")
		}
	}
	res := c.postForm("/profile/two-factor/confirm", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if res.status != http.StatusOK || len(recoveryCodeRE.FindAllString(res.body, -1)) != 10 || !strings.Contains(res.body, "<html") {
		t.Fatalf("confirm without htmx: got %d, want the page with 10 recovery codes", res.status)
	}
	res = c.postForm("/profile/two-factor/recovery-codes", nil)
	if res.status != http.StatusOK || len(recoveryCodeRE.FindAllString(res.body, -1)) != 10 {
		t.Fatalf("new recovery codes without htmx: got %d, want the page with 10 codes", res.status)
	}
	if h, m := a.views.MemoStats(); h != hits || m != misses {
		t.Errorf("pages with a secret went through the memo (hits %d -> %d, misses %d -> %d)", hits, h, misses, m)
	}
	// Without a secret on it, the profile is the memo's again.
	c.get("/profile")
	if _, hit := memoGet(t, a, c, "/profile"); !hit {
		t.Error("GET /profile with two-factor on, twice: the second was not the memo's")
	}
}
