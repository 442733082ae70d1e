package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/twiliotest"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/views"
)

// withTwilio gives the app's worker the fake Twilio API as its phone.
func withTwilio(t *testing.T) (*twiliotest.Server, func(*appConfig)) {
	fake := twiliotest.Start(t)
	return fake, func(ac *appConfig) {
		ac.phone = &notify.Twilio{AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken, From: twiliotest.From, BaseURL: fake.URL}
	}
}

// methods returns the user's contact methods.
func (a *app) methods(t *testing.T, u db.User) []db.ContactMethod {
	t.Helper()
	list, err := a.store.ContactMethods(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// seedMethod adds a verified method directly in the store.
func (a *app) seedMethod(t *testing.T, u db.User, kind, address string) db.ContactMethod {
	t.Helper()
	ctx := context.Background()
	var code string
	m, err := a.store.AddContactMethod(ctx, u.ID, db.NewContactMethod{Kind: kind, Address: address, Secret: "whsec_x"},
		func(_ db.ContactMethod, c string) (db.Notice, error) {
			code = c
			return db.Notice{Subject: "code " + c}, nil
		}, db.Event{Kind: db.EventContactAdded})
	if err != nil {
		t.Fatalf("add %s: %v", address, err)
	}
	if m, err = a.store.VerifyContactMethod(ctx, u.ID, m.ID, code, db.Event{Kind: db.EventContactVerified}); err != nil {
		t.Fatalf("verify %s: %v", address, err)
	}
	return m
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// esc is text as html/template writes it, which escapes + too.
func esc(text string) string { return strings.ReplaceAll(html.EscapeString(text), "+", "&#43;") }

// fieldErr is fieldError for messages html/template escapes more of.
func fieldErr(message string) string {
	return `<small class="field-error" role="alert">` + esc(message) + `</small>`
}

func TestContactInfoSection(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	list := a.methods(t, ann)
	if len(list) != 1 || !list[0].IsAccount || list[0].Address != annEmail {
		t.Fatalf("a new user's methods: %+v, want the account email alone", list)
	}
	rules, _ := a.store.Rules(context.Background(), ann.ID)
	if len(rules) != 8 {
		t.Errorf("a new user has %d rules, want 8 (alerts 1-5, account, billing, security to the account email)", len(rules))
	}
	res := c.get("/profile")
	for _, want := range []string{`id="contact-methods-table"`, `<td class="address" data-label="Address">` + annEmail + `</td>`, `id="add-contact"`,
		`id="change-email"`, `<a href="/profile/notifications" id="notifications-link">`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("GET /profile: no %s", want)
		}
	}
	if strings.Contains(res.body, fmt.Sprintf(`/profile/contacts/%d/delete`, list[0].ID)) {
		t.Error("GET /profile: the account email has a Delete button, want none")
	}
	res = c.postHTMX(fmt.Sprintf("/profile/contacts/%d/delete", list[0].ID), nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "The account email cannot be deleted.") {
		t.Errorf("delete the account email: got %d, want 409 with the rule; body:\n%s", res.status, res.body)
	}
	if len(a.methods(t, ann)) != 1 {
		t.Error("the account email was deleted")
	}
}

// TestAddContactBadInput: each bad input is answered 422 with a message by
// the field, and nothing is stored.
func TestAddContactBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		seed        func(t *testing.T, a *app, u db.User)
		kind, addr  string
		label       string
		field, want string
	}{
		{name: "malformed phone", kind: "sms", addr: "555-1234", field: "address",
			want: "Enter the number in international format: + and the country code, such as +1 415 555 0100."},
		{name: "impossible phone", kind: "voice", addr: "+1 555", field: "address",
			want: "This is not a valid phone number. Enter the number in international format: + and the country code, such as +1 415 555 0100."},
		{name: "malformed email", kind: "email", addr: "ann@", field: "address", want: "Enter one email address, such as ann@example.com."},
		{name: "email with a name", kind: "email", addr: "Ann <ann@example.com>", field: "address", want: "Enter one email address, such as ann@example.com."},
		{name: "email with the Kelvin sign, which lowercases to k", kind: "email", addr: "\u212Aarl@example.com", field: "address",
			want: "Enter an email address without accented letters or other alphabets, such as ann@example.com."},
		{name: "email with an accent", kind: "email", addr: "zoë@example.com", field: "address",
			want: "Enter an email address without accented letters or other alphabets, such as ann@example.com."},
		{name: "malformed URL", kind: "webhook", addr: "hooks example", field: "address", want: "Enter the full URL, such as https://hooks.example.com/roster."},
		{name: "plain http URL", kind: "slack", addr: "http://hooks.slack.com/services/x", field: "address",
			want: "Use an https URL: notifications must not travel unencrypted."},
		{name: "unknown kind", kind: "pigeon", addr: "roof", field: "kind", want: "Choose email, SMS, voice call, Slack or webhook."},
		{name: "long label", kind: "email", addr: "x@example.com", label: strings.Repeat("a", 51), field: "label", want: "Use at most 50 characters, on one line."},
		{name: "the 11th method", kind: "email", addr: "eleven@example.com", field: "address",
			want: "You can have at most 10 contact methods. Delete one first.",
			seed: func(t *testing.T, a *app, u db.User) {
				for i := range 9 {
					a.seedMethod(t, u, "email", "m"+strconv.Itoa(i)+"@example.com")
				}
			}},
		{name: "the 4th phone", kind: "sms", addr: "+14155550199", field: "address",
			want: "You can have at most 3 phone numbers (SMS and voice calls together). Delete one first.",
			seed: func(t *testing.T, a *app, u db.User) {
				for i := range 3 {
					a.seedMethod(t, u, "voice", "+1415555010"+strconv.Itoa(i))
				}
			}},
		{name: "the same address twice", kind: "sms", addr: "+1 415 555 0100", field: "address", want: "You already have this contact method.",
			seed: func(t *testing.T, a *app, u db.User) { a.seedMethod(t, u, "sms", "+14155550100") }},
		{name: "the account email again", kind: "email", addr: "ANN@example.com", field: "address", want: "You already have this contact method."},
	}
	for _, tt := range tests {
		for _, htmx := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, htmx %v", tt.name, htmx), func(t *testing.T) {
				t.Parallel()
				_, phone := withTwilio(t) // SMS and calls are offered
				a := newApp(t, phone)
				c := a.client(t)
				ann := a.seedUser(t, annName, annEmail, annPassword)
				c.adopt(ann.ID)
				if tt.seed != nil {
					tt.seed(t, a, ann)
				}
				before := len(a.methods(t, ann))
				form := url.Values{"kind": {tt.kind}, "address": {tt.addr}, "label": {tt.label}}
				var res *response
				if htmx {
					res = c.postHTMX("/profile/contacts", form)
				} else {
					res = c.postForm("/profile/contacts", form)
				}
				if res.status != http.StatusUnprocessableEntity {
					t.Errorf("got %d, want 422", res.status)
				}
				if !strings.Contains(res.body, fieldErr(tt.want)) {
					t.Errorf("no message %q by the %s field; body:\n%s", tt.want, tt.field, res.body)
				}
				if htmx == strings.Contains(res.body, "<html") {
					t.Errorf("htmx %v: got a whole page %v", htmx, !htmx)
				}
				if after := len(a.methods(t, ann)); after != before {
					t.Errorf("%d methods after the refusal, want %d: something was stored", after, before)
				}
			})
		}
	}
}

func TestHookURLUnderHTTPS(t *testing.T) {
	t.Parallel()
	// The check itself (the test client cannot keep __Host- cookies over
	// http): under an https base URL only https is taken, even to loopback.
	for _, tt := range []struct {
		base, addr string
		ok         bool
	}{
		{"http://roster.test", "http://127.0.0.1:9/x", true},
		{"http://roster.test", "http://localhost:9/x", true},
		{"http://roster.test", "http://10.0.0.1/x", false},
		{"https://roster.test", "http://127.0.0.1:9/x", false},
		{"https://roster.test", "https://hooks.example.com/x", true},
	} {
		if got := handlers.CheckHookURLForTest(tt.base, tt.addr); got != tt.ok {
			t.Errorf("base %s, URL %s: accepted %v, want %v", tt.base, tt.addr, got, tt.ok)
		}
	}
}

// TestVerifyBySMSCode: the code arrives at the fake Twilio API; four wrong
// codes are refused, the fifth locks the code (the right one is refused
// then too); a new code unlocks, and verifies the number.
func TestVerifyBySMSCode(t *testing.T) {
	t.Parallel()
	fake, phone := withTwilio(t)
	a := newApp(t, phone)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)

	res := c.postHTMX("/profile/contacts", url.Values{"kind": {"sms"}, "address": {"+1 (415) 555-0123"}, "label": {"Work phone"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, esc("SMS +14155550123 is added.")) {
		t.Fatalf("add a phone: got %d; body:\n%s", res.status, res.body)
	}
	sms := fake.Wait(t, "sms", "+14155550123", "Your Roster verification code is")
	code := codeRE.FindString(sms.Text)
	m := a.methods(t, ann)[1]
	if m.Address != "+14155550123" || m.Label != "Work phone" || m.Verified() {
		t.Fatalf("stored method %+v, want the E.164 number, its label, unverified", m)
	}
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	verify := fmt.Sprintf("/profile/contacts/%d/verify", m.ID)
	for i := 1; i <= 5; i++ {
		res := c.postHTMX(verify, url.Values{"code": {wrong}})
		want := "That code is not right. Check the last message and try again."
		if i == 5 {
			want = "Too many wrong codes: this code is locked. Send a new code."
		}
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldErr(want)) {
			t.Fatalf("wrong code %d: got %d, want 422 with %q; body:\n%s", i, res.status, want, res.body)
		}
	}
	res = c.postForm(verify, url.Values{"code": {code}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldErr("Too many wrong codes: this code is locked. Send a new code.")) {
		t.Fatalf("the right code once locked: got %d, want 422 locked; body:\n%s", res.status, res.body)
	}
	if m := a.methods(t, ann)[1]; m.Verified() || !m.Locked() {
		t.Fatalf("after 5 wrong codes: verified %v, locked %v; want locked, unverified", m.Verified(), m.Locked())
	}
	if !strings.Contains(c.get("/profile").body, "Locked: send a new code") {
		t.Error("the profile does not show the method as locked")
	}

	res = c.postForm(fmt.Sprintf("/profile/contacts/%d/resend", m.ID), nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("send a new code: got %d, want 303", res.status)
	}
	// (Should the new code equal the old by chance, it is still the one
	// that works now.)
	second := codeRE.FindString(fake.WaitN(t, 2)[1].Text)
	res = c.postHTMX(verify, url.Values{"code": {second}})
	if res.status != http.StatusOK || !strings.Contains(res.body, esc("SMS +14155550123 is verified.")) {
		t.Fatalf("the new code: got %d; body:\n%s", res.status, res.body)
	}
	if m := a.methods(t, ann)[1]; !m.Verified() {
		t.Error("the method is not verified")
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("code %q: %v", s, err)
	}
	return n
}

// TestVerifyEmailByLink: an email method's message has a link that
// verifies it; a verified email contact method then matches invites.
func TestVerifyEmailByLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	res := c.postForm("/profile/contacts", url.Values{"kind": {"email"}, "address": {"ann.work@example.com"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("add an email: got %d, want 303; body:\n%s", res.status, res.body)
	}
	msg := a.mail.waitFor(t, "ann.work@example.com", "Confirm this email address for Roster")
	u := regexp.MustCompile(`http://roster\.test(/profile/contacts/\d+/verify\?code=\d{6})`).FindStringSubmatch(msg.Text)
	if u == nil {
		t.Fatalf("no verification link in %q", msg.Text)
	}
	// Opening the link shows a page and changes nothing (TestContactLinkOnlyShows);
	// its button verifies.
	res = c.get(u[1])
	action, form := formOf(t, res.body[strings.Index(res.body, "<main"):])
	if res.status != http.StatusOK || action != strings.TrimSuffix(u[1], "?code="+form.Get("code")) || form.Get("code") == "" {
		t.Fatalf("GET the link: got %d, want 200 with a form posting its code to the method; body %s", res.status, res.body)
	}
	res = c.postForm(action, url.Values{"code": {form.Get("code")}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("post the link's form: got %d, want 303; body %s", res.status, res.body)
	}
	checkFlash(t, c, res, "Email ann.work@example.com is verified. Choose what it receives on the Notifications page.")
	if m := a.methods(t, ann)[1]; !m.Verified() {
		t.Error("the email method is not verified after its link")
	}

	bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
	acme := a.seedAccount(t, bob, "Acme")
	a.seedInvite(t, acme, bob, "ann.work@example.com", db.RoleNormal)
	if n, _ := a.store.CountInvitesForUser(context.Background(), ann.ID); n != 1 {
		t.Errorf("invites for a verified email contact method: %d, want 1", n)
	}
}

// TestRoutingMatrix saves in place, keeps security on the account email,
// and refuses an unverified method.
func TestRoutingMatrix(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	phone := a.seedMethod(t, ann, "sms", "+14155550123")
	unverified, err := a.store.AddContactMethod(context.Background(), ann.ID, db.NewContactMethod{Kind: "voice", Address: "+14155550124"},
		func(db.ContactMethod, string) (db.Notice, error) { return db.Notice{Subject: "code"}, nil }, db.Event{Kind: db.EventContactAdded})
	if err != nil {
		t.Fatal(err)
	}
	alert1 := fmt.Sprintf("alerts:1:%d", phone.ID)
	res := c.postHTMX("/profile/notifications", url.Values{"route": {alert1}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Notification routing is saved.") {
		t.Fatalf("save routing: got %d; body:\n%s", res.status, res.body)
	}
	if !strings.Contains(res.body, `value="`+alert1+`" aria-label="`+esc("Alerts, severity 1 to SMS •••0123")+`" checked`) {
		t.Errorf("the saved box is not checked in the answer:\n%s", res.body)
	}
	rules, _ := a.store.Rules(context.Background(), ann.ID)
	if len(rules) != 2 {
		t.Errorf("rules %+v, want alerts 1 to the phone and security to the account email", rules)
	}
	res = c.postHTMX("/profile/notifications", url.Values{"route": {fmt.Sprintf("alerts:2:%d", unverified.ID)}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "That routing choice is not available any more.") {
		t.Errorf("route to an unverified method: got %d; body:\n%s", res.status, res.body)
	}
	if after, _ := a.store.Rules(context.Background(), ann.ID); len(after) != 2 {
		t.Errorf("rules after the refusal %+v, want them unchanged", after)
	}
}

// TestNotifyAPI queues per the rules and answers with the ids.
func TestNotifyAPI(t *testing.T) {
	t.Parallel()
	const token = "api-token-for-tests"
	a := newApp(t, func(ac *appConfig) { ac.APIToken = token })
	ann := a.seedUser(t, annName, annEmail, annPassword)
	call := func(auth, body string) *response {
		h := http.Header{"Content-Type": {"application/json"}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		return a.rawPost(t, "/api/v1/notify", h, body)
	}
	good := `{"user": "` + annEmail + `", "circumstance": "alerts", "severity": 3, "subject": "CPU high", "body": "load 12"}`
	for _, tt := range []struct {
		name, auth, body string
		status           int
		want             string
	}{
		{"no token", "", good, 401, "a valid bearer token"},
		{"wrong token", "Bearer nope", good, 401, "a valid bearer token"},
		{"not JSON", "Bearer " + token, "user=1", 400, "JSON object"},
		{"bad circumstance", "Bearer " + token, `{"user": 1, "circumstance": "gossip", "subject": "x"}`, 422, "circumstance must be"},
		{"alert without severity", "Bearer " + token, `{"user": 1, "circumstance": "alerts", "subject": "x"}`, 422, "severity from 1 to 5"},
		{"no subject", "Bearer " + token, `{"user": 1, "circumstance": "billing"}`, 422, "subject must be"},
		{"unknown user", "Bearer " + token, `{"user": "nobody@example.com", "circumstance": "billing", "subject": "x"}`, 404, "no such user"},
	} {
		if res := call(tt.auth, tt.body); res.status != tt.status || !strings.Contains(res.body, tt.want) {
			t.Errorf("%s: got %d %s, want %d with %q", tt.name, res.status, res.body, tt.status, tt.want)
		}
	}
	res := call("Bearer "+token, good)
	var out struct{ Queued []int64 }
	if res.status != http.StatusAccepted || json.Unmarshal([]byte(res.body), &out) != nil || len(out.Queued) != 1 {
		t.Fatalf("notify: got %d %s, want 202 with one queued id", res.status, res.body)
	}
	if msg := a.mail.waitFor(t, annEmail, "CPU high"); msg.Text != "load 12" {
		t.Errorf("alert mail text %q, want the body", msg.Text)
	}
	res = call("Bearer "+token, `{"user": `+strconv.FormatInt(ann.ID, 10)+`, "circumstance": "security", "subject": "By id"}`)
	if res.status != http.StatusAccepted {
		t.Errorf("notify by id: got %d %s, want 202", res.status, res.body)
	}
	// With no token configured the API is off.
	off := newApp(t)
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer "}}
	if res := off.rawPost(t, "/api/v1/notify", h, good); res.status != http.StatusUnauthorized {
		t.Errorf("API without ROSTER_API_TOKEN: got %d, want 401", res.status)
	}
}

// TestSendTestAndRecent: Send test says how it went, and the delivery
// history of /profile/notifications lists it.
func TestSendTestAndRecent(t *testing.T) {
	t.Parallel()
	fake, phone := withTwilio(t)
	a := newApp(t, phone)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	m := a.seedMethod(t, ann, "sms", "+14155550123")
	res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/test", m.ID), nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, esc("The test message was sent to +14155550123.")) {
		t.Fatalf("send test: got %d; body:\n%s", res.status, res.body)
	}
	fake.Wait(t, "sms", "+14155550123", "Roster test message")
	// "was sent" above: the row is already marked sent.
	body := c.get("/profile/notifications").body
	if !regexp.MustCompile(`<td data-label="What">Roster test message</td>\s*<td data-label="Where">SMS •••0123</td>\s*<td class="state-sent" data-label="State">Sent<br>`).MatchString(body) {
		t.Errorf("the delivery history does not list the sent test; body:\n%s", body)
	}
}

// TestSendTestLimit: "Send test" stops at MaxTestsPerMethodHour to one
// method, with 429 and the reason in the method's row, and queues nothing
// more; another method still gets its own.
func TestSendTestLimit(t *testing.T) {
	t.Parallel()
	fake, phone := withTwilio(t)
	a := newApp(t, phone)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	m := a.seedMethod(t, ann, "sms", "+14155550123")
	other := a.seedMethod(t, ann, "sms", "+14155550124")
	for i := range db.MaxTestsPerMethodHour {
		if res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/test", m.ID), nil); res.status != http.StatusOK {
			t.Fatalf("test %d: got %d, want 200", i+1, res.status)
		}
	}
	res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/test", m.ID), nil)
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, esc(views.RuleText(db.ErrTestsMethod))) {
		t.Fatalf("one test over the limit: got %d, want 429 with %q; body:\n%s", res.status, views.RuleText(db.ErrTestsMethod), res.body)
	}
	wantRetryAfter(t, "test limit", res, time.Hour)
	if res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/test", other.ID), nil); res.status != http.StatusOK {
		t.Errorf("a test to another method: got %d, want 200", res.status)
	}
	fake.Wait(t, "sms", "+14155550124", "Roster test message")
	list, err := a.store.Deliveries(context.Background(), ann.ID, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := 0
	for _, d := range list {
		if d.Circumstance == db.CircumstanceTest && d.Address == m.Address {
			tests++
		}
	}
	if tests != db.MaxTestsPerMethodHour {
		t.Errorf("queued %d tests to %s, want %d", tests, m.Address, db.MaxTestsPerMethodHour)
	}
}

// TestChangeAccountEmail: the new address is confirmed before it replaces
// the old one, and the old one is told.
func TestChangeAccountEmail(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for _, tt := range []struct{ email, want string }{
		{"", "Enter an email address."},
		{annEmail, "This is your account email already."},
	} {
		res := c.postHTMX("/profile/email", url.Values{"new_email": {tt.email}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldErr(tt.want)) {
			t.Errorf("new_email %q: got %d, want 422 with %q", tt.email, res.status, tt.want)
		}
	}
	a.seedUser(t, "Bob", bobEmail, bobPassword)
	if res := c.postHTMX("/profile/email", url.Values{"new_email": {bobEmail}}); !strings.Contains(res.body, fieldErr("Another profile uses this email address.")) {
		t.Errorf("a taken address: got %d; body:\n%s", res.status, res.body)
	}

	res := c.postHTMX("/profile/email", url.Values{"new_email": {"ann.new@example.com"}})
	// Where its mail stands (sending, or already sent) depends on the worker.
	if res.status != http.StatusOK || !strings.Contains(res.body, `id="pending-email-status"`) || !strings.Contains(res.body, "Cancel the change to ann.new@example.com") {
		t.Fatalf("ask for the change: got %d; body:\n%s", res.status, res.body)
	}
	if u, _ := a.store.UserByID(context.Background(), ann.ID); u.Email != annEmail {
		t.Fatalf("the email changed to %s before the link was followed", u.Email)
	}
	msg := a.mail.waitFor(t, "ann.new@example.com", "Confirm your new Roster account email")
	res = a.client(t).confirmLink(link(t, msg, "http://roster.test/email-change/")[len("http://roster.test"):])
	if res.status != http.StatusOK || !strings.Contains(res.body, "Your new account email is confirmed and in use.") {
		t.Fatalf("follow the link: got %d; body:\n%s", res.status, res.body)
	}
	u, _ := a.store.UserByID(context.Background(), ann.ID)
	if u.Email != "ann.new@example.com" || !u.EmailVerified() {
		t.Errorf("after the link: %s verified %v, want ann.new@example.com verified", u.Email, u.EmailVerified())
	}
	if m := a.methods(t, ann)[0]; !m.IsAccount || m.Address != "ann.new@example.com" || !m.Verified() {
		t.Errorf("the account-email method is %+v, want the new address, verified", m)
	}
	if old := a.mail.waitFor(t, annEmail, "Security notice: account email changed"); !strings.Contains(old.Text, "ann.new@example.com") {
		t.Errorf("the old address's notice: %q", old.Text)
	}
	if res := a.client(t).get(link(t, msg, "http://roster.test/email-change/")[len("http://roster.test"):]); res.status != http.StatusNotFound {
		t.Errorf("the link a second time: got %d, want 404", res.status)
	}
}

// TestEmailChangeSendLimit: asking again and again for the same new address
// stops at 3 links an hour to that address, with the reason by the field,
// Retry-After, and nothing more queued.
func TestEmailChangeSendLimit(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.manualWorker = true })
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for i := range 3 {
		if res := c.postHTMX("/profile/email", url.Values{"new_email": {"target@example.com"}}); res.status != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200", i+1, res.status)
		}
	}
	res := c.postHTMX("/profile/email", url.Values{"new_email": {"target@example.com"}})
	want := `<small class="field-error" role="alert">We sent 3 confirmation links to target@example.com in the last hour. Try again in `
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, want) {
		t.Fatalf("one request over the limit: got %d, want 429 with %q; body:\n%s", res.status, want, res.body)
	}
	wantRetryAfter(t, "email change limit", res, time.Hour)
	list, err := a.store.Deliveries(context.Background(), ann.ID, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Each request also told the old address (with its cancel link).
	sent := map[string]int{}
	for _, d := range list {
		sent[d.Address]++
	}
	if len(list) != 6 || sent["target@example.com"] != 3 || sent[annEmail] != 3 {
		t.Errorf("queued %v, want 3 links to target@example.com and 3 notices to %s", sent, annEmail)
	}
}

// TestSecurityNoticeQueuedWithTheChange: the password change's notice is
// in the outbox, for the account email, even when the routing sends
// security nowhere else.
func TestSecurityNoticeQueuedWithTheChange(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.manualWorker = true })
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	if err := a.store.SetRules(context.Background(), ann.ID, nil, db.Event{Kind: db.EventRoutingChanged}); err != nil {
		t.Fatal(err)
	}
	res := c.postForm("/profile/password", url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("change password: got %d", res.status)
	}
	list, err := a.store.RecentDeliveries(context.Background(), ann.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Subject != "Security notice: password changed" || list[0].Address != annEmail || list[0].State != db.DeliveryQueued {
		t.Fatalf("outbox after the change: %+v, want the queued notice to %s", list, annEmail)
	}
	if n, err := a.worker.RunOnce(context.Background()); n != 1 || err != nil {
		t.Fatalf("run once: %d, %v", n, err)
	}
	a.mail.waitFor(t, annEmail, "Security notice: password changed")
}

// rawPost sends body as it is, with no cookies: an API client.
func (a *app) rawPost(t *testing.T, path string, h http.Header, body string) *response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	res, err := a.client(t).hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestMembershipNotice: a role change and a removal are account notices
// to the member, routed like any other.
func TestMembershipNotice(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
	acme := a.seedAccount(t, ann, "Acme")
	a.join(t, acme, ann, bob, db.RoleNormal)
	c.adopt(ann.ID)
	res := c.postForm(fmt.Sprintf("/accounts/%d/members/%d/role", acme.ID, bob.ID), url.Values{"role": {db.RoleReadOnly}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("set role: got %d; body:\n%s", res.status, res.body)
	}
	if msg := a.mail.waitFor(t, bobEmail, "Your membership of Acme changed"); !strings.Contains(msg.Text, "Ann Example made you Read-Only in Acme.") {
		t.Errorf("role notice text %q", msg.Text)
	}
	if n := len(a.mail.sentTo(annEmail)); n != 0 {
		t.Errorf("the acting Admin got %d mails, want none", n)
	}
}

// TestWebhookSecretAndCode: the webhook's secret is shown once, its test
// message carries the code and a signature that verifies with the secret.
func TestWebhookSecretAndCode(t *testing.T) {
	t.Parallel()
	posts := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- r
		bodies <- b
	}))
	t.Cleanup(hook.Close)
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)

	res := c.postForm("/profile/contacts", url.Values{"kind": {"webhook"}, "address": {hook.URL + "/roster"}, "label": {"Ops"}})
	secret := regexp.MustCompile(`<code>(whsec_[A-Z0-9]+)</code>`).FindStringSubmatch(res.body)
	if res.status != http.StatusOK || secret == nil {
		t.Fatalf("add a webhook without JavaScript: got %d, want 200 with the secret; body:\n%s", res.status, res.body)
	}
	if strings.Contains(c.get("/profile").body, secret[1]) {
		t.Error("the profile shows the secret again, want it shown once")
	}
	req, body := <-posts, <-bodies
	if !notify.Verify(secret[1], body, req.Header.Get(notify.SignatureHeader)) {
		t.Errorf("the test message's signature %q does not verify", req.Header.Get(notify.SignatureHeader))
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Circumstance != "verify" {
		t.Fatalf("payload %s: %v", body, err)
	}
	m := a.methods(t, ann)[1]
	res = c.postHTMX(fmt.Sprintf("/profile/contacts/%d/verify", m.ID), url.Values{"code": {codeRE.FindString(p.Body)}})
	if res.status != http.StatusOK || !a.methods(t, ann)[1].Verified() {
		t.Errorf("verify with the code from the test message: got %d; body:\n%s", res.status, res.body)
	}
}

// TestNewDeviceNotice: a sign-in from a browser that never signed in
// before is a security notice; the first sign-in ever and a known browser
// are not.
func TestNewDeviceNotice(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.seedUser(t, annName, annEmail, annPassword)
	a.client(t).login(annEmail, annPassword) // the first: nothing to tell
	a.client(t).login(annEmail, annPassword) // the same browser again
	safari := a.client(t)
	safari.ua = safariUA
	safari.login(annEmail, annPassword)
	msg := a.mail.waitFor(t, annEmail, "Security notice: sign-in from a new device")
	if !strings.Contains(msg.Text, "Safari 17 on Mac OS X") {
		t.Errorf("notice text %q, want the device named", msg.Text)
	}
	safari.login(annEmail, annPassword)
	list, err := a.store.RecentDeliveries(context.Background(), a.userIDOf(t, annEmail), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("%d notices queued, want 1 (the new Safari only)", len(list))
	}
}

func (a *app) userIDOf(t *testing.T, email string) int64 {
	t.Helper()
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestJoinedNotice: the inviter hears that the invite was accepted.
func TestJoinedNotice(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	acme := a.seedAccount(t, ann, "Acme")
	inv, _ := a.seedInvite(t, acme, ann, bobEmail, db.RoleNormal)
	c := a.client(t)
	c.adopt(bob.ID)
	if res := c.postForm(fmt.Sprintf("/invites/%d/accept", inv.ID), nil); res.status != http.StatusSeeOther {
		t.Fatalf("accept: got %d; body:\n%s", res.status, res.body)
	}
	if msg := a.mail.waitFor(t, annEmail, "Bob joined Acme"); !strings.Contains(msg.Text, "Bob (bob@example.com) accepted your invite and joined Acme as Normal.") {
		t.Errorf("joined notice text %q", msg.Text)
	}
}

// TestCodeSendLimit: codes to one number stop at 5 an hour, whether asked
// for by "Send a new code" or by deleting and adding the number again; the
// refusal is a 429 by the field and nothing more is queued.
func TestCodeSendLimit(t *testing.T) {
	t.Parallel()
	_, phone := withTwilio(t)
	a := newApp(t, phone, func(ac *appConfig) { ac.manualWorker = true })
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	add := url.Values{"kind": {"sms"}, "address": {"+14155550123"}}
	if res := c.postHTMX("/profile/contacts", add); res.status != http.StatusOK {
		t.Fatalf("add a phone: got %d; body:\n%s", res.status, res.body)
	}
	m := a.methods(t, ann)[1]
	resend := fmt.Sprintf("/profile/contacts/%d/resend", m.ID)
	for i := 2; i <= db.MaxCodesPerAddressHour; i++ {
		if res := c.postHTMX(resend, nil); res.status != http.StatusOK {
			t.Fatalf("code %d: got %d, want 200", i, res.status)
		}
	}
	sent := func() int {
		t.Helper()
		list, err := a.store.RecentDeliveries(context.Background(), ann.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	res := c.postHTMX(resend, nil)
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, fieldErr(views.RuleText(db.ErrCodesAddress))) {
		t.Fatalf("code 6: got %d, want 429 with the limit by the field; body:\n%s", res.status, res.body)
	}
	wantRetryAfter(t, "code limit", res, time.Hour)
	if n := sent(); n != db.MaxCodesPerAddressHour {
		t.Errorf("outbox after the refusal: %d rows, want %d", n, db.MaxCodesPerAddressHour)
	}
	if res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/delete", m.ID), nil); res.status != http.StatusOK {
		t.Fatalf("delete: got %d", res.status)
	}
	res = c.postHTMX("/profile/contacts", add)
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, fieldErr(views.RuleText(db.ErrCodesAddress))) {
		t.Fatalf("add again: got %d, want 429 with the limit by the field; body:\n%s", res.status, res.body)
	}
	wantRetryAfter(t, "code limit on add", res, time.Hour)
	if n, list := sent(), a.methods(t, ann); n != db.MaxCodesPerAddressHour || len(list) != 1 {
		t.Errorf("after the refused add: %d outbox rows, %d methods; want %d and 1", n, len(list), db.MaxCodesPerAddressHour)
	}
}

// TestAccountChangeNotices: leaving tells the Admins, a transfer the new
// owner, a deletion every former member but the owner; never the one who
// acted. Each is queued with the change (the worker is not running).
func TestAccountChangeNotices(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.manualWorker = true })
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
	cat := a.seedUser(t, "Cat", "cat@example.com", bobPassword)
	dan := a.seedUser(t, "Dan", "dan@example.com", bobPassword)
	acme := a.seedAccount(t, ann, "Acme")
	a.join(t, acme, ann, bob, db.RoleAdmin)
	a.join(t, acme, ann, cat, db.RoleNormal)
	a.join(t, acme, ann, dan, db.RoleReadOnly)
	subjects := func(u db.User) []string {
		t.Helper()
		list, err := a.store.RecentDeliveries(context.Background(), u.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, d := range list {
			if d.Circumstance == db.CircumstanceAccount {
				s = append(s, d.Subject)
			}
		}
		return s
	}
	check := func(step string, want map[db.User][]string) {
		t.Helper()
		for u, w := range want {
			if got := subjects(u); !slices.Equal(got, w) {
				t.Errorf("%s: %s has account notices %q, want %q", step, u.Email, got, w)
			}
		}
	}
	post := func(u db.User, path string, form url.Values) {
		t.Helper()
		c := a.client(t)
		c.adopt(u.ID)
		if res := c.postForm(path, form); res.status != http.StatusSeeOther {
			t.Fatalf("%s as %s: got %d; body:\n%s", path, u.Email, res.status, res.body)
		}
	}

	post(cat, fmt.Sprintf("/accounts/%d/leave", acme.ID), nil)
	left := []string{"Cat left Acme"}
	check("leave", map[db.User][]string{ann: left, bob: left, cat: nil, dan: nil})

	post(ann, fmt.Sprintf("/accounts/%d/owner", acme.ID), url.Values{"user_id": {strconv.FormatInt(bob.ID, 10)}})
	owner := []string{"Your membership of Acme changed", "Cat left Acme"}
	check("transfer", map[db.User][]string{ann: left, bob: owner, dan: nil})

	post(bob, fmt.Sprintf("/accounts/%d/delete", acme.ID), url.Values{"confirm_name": {"Acme"}})
	deleted := "Acme was deleted"
	check("delete", map[db.User][]string{ann: {deleted, "Cat left Acme"}, bob: owner, cat: nil, dan: {deleted}})
}
