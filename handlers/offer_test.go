package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Offer only what works: contact kinds that need a provider, and Credit
// Cards, appear only when the operator configured them; no page shows an
// environment variable name.

const phoneRefusal = "This server cannot send SMS messages. Choose email, Slack or webhook."

// TestPhoneKindsWithoutTwilio: without Twilio the add form offers no SMS
// or voice call, and a hand-made POST of one is refused by the kind field
// with nothing stored or sent.
func TestPhoneKindsWithoutTwilio(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for _, path := range []string{"/profile", "/profile/notifications"} {
		page := c.get(path)
		if page.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, page.status)
		}
		for _, unwanted := range []string{`<option value="sms"`, `<option value="voice"`} {
			if strings.Contains(page.body, unwanted) {
				t.Errorf("GET %s without Twilio offers %s", path, unwanted)
			}
		}
		if strings.Contains(page.body, `id="contact-kind"`) && !strings.Contains(page.body, `<option value="slack"`) {
			t.Errorf("GET %s: the add form lost Slack:\n%s", path, page.body)
		}
	}
	for _, tt := range []struct{ kind, want string }{
		{"sms", phoneRefusal},
		{"voice", "This server cannot send voice calls. Choose email, Slack or webhook."},
	} {
		for _, htmx := range []bool{false, true} {
			form := url.Values{"kind": {tt.kind}, "address": {"+1 415 555 0100"}}
			res := c.postForm("/profile/contacts", form)
			if htmx {
				res = c.postHTMX("/profile/contacts", form)
			}
			if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldErr(tt.want)) {
				t.Errorf("POST %s without Twilio (htmx %v): got %d, want 422 with %q by the field; body:\n%s", tt.kind, htmx, res.status, tt.want, res.body)
			}
			if strings.Contains(res.body, "6-digit code") {
				t.Errorf("POST %s without Twilio says a code was sent:\n%s", tt.kind, res.body)
			}
		}
	}
	if n := len(a.methods(t, ann)); n != 1 {
		t.Errorf("%d contact methods after the refusals, want only the account email", n)
	}
	// Unknown kinds are told what this server offers.
	res := c.postForm("/profile/contacts", url.Values{"kind": {"pigeon"}, "address": {"roof"}})
	if want := "Choose email, Slack or webhook."; !strings.Contains(res.body, fieldErr(want)) {
		t.Errorf("POST pigeon: no %q by the field; body:\n%s", want, res.body)
	}
}

// TestPhoneKindsWithTwilio: with Twilio both are offered and a number is
// added and sent its code.
func TestPhoneKindsWithTwilio(t *testing.T) {
	t.Parallel()
	fake, phone := withTwilio(t)
	a := newApp(t, phone)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	page := c.get("/profile")
	if w := missing(page.body, `<option value="sms">SMS</option>`, `<option value="voice">Voice call</option>`); w != "" {
		t.Errorf("GET /profile with Twilio: %q missing", w)
	}
	res := c.postHTMX("/profile/contacts", url.Values{"kind": {"sms"}, "address": {"+1 415 555 0100"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "We sent it a 6-digit code by SMS") {
		t.Fatalf("POST sms with Twilio: got %d; body:\n%s", res.status, res.body)
	}
	fake.Wait(t, "sms", "+14155550100", "verification code")
}

// TestSlackIncomingWebhooksOnly: a Slack method takes Slack's incoming
// webhook URLs; anything else is refused by the address field.
func TestSlackIncomingWebhooksOnly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	const want = "Enter the incoming-webhook URL Slack gave you: it starts with https://hooks.slack.com/services/. For another service, choose Webhook."
	for _, addr := range []string{
		"https://example.com/services/T0/B0/x", "https://hooks.slack.com/", "https://hooks.slack.com/services/",
		"https://hooks.slack.com/workflows/T0/A0/1/x", "https://hooks.slack.com.evil.com/services/T0/B0/x",
		"https://hooks.slack.com:8443/services/T0/B0/x", "http://127.0.0.1:9/services/T0/B0/x",
	} {
		res := c.postForm("/profile/contacts", url.Values{"kind": {"slack"}, "address": {addr}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldErr(want)) {
			t.Errorf("Slack %s: got %d, want 422 with the message by the field; body:\n%s", addr, res.status, res.body)
		}
	}
	if n := len(a.methods(t, ann)); n != 1 {
		t.Fatalf("%d contact methods after the refusals, want 1", n)
	}
	res := c.postHTMX("/profile/contacts", url.Values{"kind": {"slack"}, "address": {"https://hooks.slack.com/services/T0/B0/xyz"}})
	if res.status != http.StatusOK || len(a.methods(t, ann)) != 2 {
		t.Errorf("Slack incoming webhook: got %d, want it added; body:\n%s", res.status, res.body)
	}
}

// TestNoEnvironmentVariableNames renders every page people see, signed out
// and in, with and without the providers, and a refused form of each
// kind: none names an environment variable (those are for the operator's
// log and README).
func TestNoEnvironmentVariableNames(t *testing.T) {
	t.Parallel()
	for _, providers := range []bool{false, true} {
		t.Run(fmt.Sprintf("providers %v", providers), func(t *testing.T) {
			t.Parallel()
			var opts []func(*appConfig)
			if providers {
				_, phone := withTwilio(t)
				opts = append(opts, phone, withCards(newFakeStripe()))
			} else {
				// Served at an IP address: no passkeys, which the panel
				// says without naming the setting.
				opts = append(opts, func(ac *appConfig) { ac.BaseURL, _ = url.Parse("http://127.0.0.1:8080") })
			}
			a := newApp(t, opts...)
			check := func(what string, res *response) {
				t.Helper()
				if i := strings.Index(res.body, "ROSTER_"); i >= 0 {
					t.Errorf("%s (%d) shows %q", what, res.status, res.body[i:min(len(res.body), i+40)])
				}
			}
			anon := a.client(t)
			for _, path := range []string{"/login", "/signup", "/password/forgot", "/login/saml", "/password/reset/nope",
				"/verify/nope", "/invites/nope", "/email-change/nope", "/no-such-page", "/cards", "/profile"} {
				check("signed out GET "+path, anon.get(path))
			}
			check("API without a token", anon.get("/api/v1/me/preferences"))
			check("API with a wrong token", anon.do(http.MethodPost, "/api/v1/notify", nil, http.Header{"Authorization": {"Bearer wrong"}}))
			c := a.client(t)
			ann := a.seedUser(t, annName, annEmail, annPassword)
			c.adopt(ann.ID)
			acme := a.seedAccount(t, ann, "Acme")
			for _, path := range []string{"/profile", "/profile/activity", "/profile/notifications", "/preferences", "/accounts/new",
				fmt.Sprintf("/accounts/%d", acme.ID), fmt.Sprintf("/accounts/%d/manage", acme.ID), fmt.Sprintf("/accounts/%d/saml", acme.ID),
				"/cards", "/no-such-page"} {
				check("GET "+path, c.get(path))
			}
			for _, kind := range []string{"email", "sms", "voice", "slack", "webhook", "pigeon"} {
				check("POST contact "+kind, c.postForm("/profile/contacts", url.Values{"kind": {kind}, "address": {"x"}}))
			}
			check("POST billing", c.postForm(fmt.Sprintf("/accounts/%d/billing", acme.ID), url.Values{"payment_method_id": {"x"}}))
			check("POST /cards/setup", c.postForm("/cards/setup", nil))
		})
	}
}
