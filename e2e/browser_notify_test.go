package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/twiliotest"
)

// TestBrowserNotify drives the issue-5 scenario through Chromium with
// JavaScript on, against the application wired as serve wires it, its
// worker sending SMS through a fake Twilio API on loopback: add a phone
// number, receive its code, verify it, route severity-1 alerts to it, call
// the notify API, and see the SMS arrive and the entry in the delivery
// history of /profile/notifications.
func TestBrowserNotify(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	twilio := twiliotest.Start(t)
	const (
		name, email = "Ada Lovelace", "ada@example.com"
		password    = "lantern orbit velvet quarry 42"
		token       = "browser-notify-token-of-32-characters"
		phone       = "+14155550123"
	)
	base, store := startBrowserApp(t, map[string]string{
		"ROSTER_TWILIO_ACCOUNT_SID": twiliotest.AccountSID,
		"ROSTER_TWILIO_AUTH_TOKEN":  twiliotest.AuthToken,
		"ROSTER_TWILIO_FROM":        twiliotest.From,
		"ROSTER_TWILIO_API_BASE":    twilio.URL,
		"ROSTER_API_TOKEN":          token,
	})
	createBrowserUser(t, store, name, email, password)
	browserCtx := startChromium(t, ctx)
	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	ada.signIn(t, base, email, password)

	// 1. Add a phone number for SMS; htmx swaps #contact-info in place.
	ada.markPage(t)
	ada.do(t, "add a phone number",
		chromedp.SetValue(chromedp.CSS("#contact-kind"), db.KindSMS),
		chromedp.SendKeys(chromedp.CSS("#contact-address"), "+1 415 555 0123"),
		chromedp.SendKeys(chromedp.CSS("#contact-label"), "Mobile"),
		chromedp.Click(chromedp.CSS("#add-contact button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#contact-info > p.flash.success")),
	)
	ada.wantText(t, "#contact-info > p.flash.success", "SMS "+phone+" is added. We sent it a 6-digit code by SMS: type it below to verify the number.")
	ada.wantSamePage(t, "/profile")

	// Its row: a badge, the code field as its one action, the rest under
	// More (closed until clicked).
	row := `#contact-methods-table tbody tr:nth-child(2)`
	visible := `(function (r) { return ['input[name=code]', 'input[name=label]', 'button.danger'].map(function (s) {
		return r.querySelector(s).checkVisibility(); }).join('|'); })(document.querySelector('` + row + `'))`
	ada.wantText(t, row+" td.status .badge", "Not verified")
	if got := ada.eval(t, visible); got != "true|false|false" {
		ada.fatalf(t, "the new number's row shows code, label, delete: %s, want only the code field", got)
	}
	ada.do(t, "open More", chromedp.Click(chromedp.CSS(row+` details.more > summary[aria-label="More actions for `+phone+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+" input[name=label]")))

	// 2. The code arrives at the fake SMS API; type it back.
	sms := twilio.Wait(t, "sms", phone, "verification code")
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(sms.Text)
	ada.do(t, "verify the number",
		// Enter submits the code's form, as a person would.
		chromedp.SendKeys(chromedp.CSS(row+" input[name=code]"), code+"\r"),
		chromedp.WaitVisible(chromedp.CSS(row+" .flash.success")),
	)
	ada.wantText(t, row+" td.status", "Verified")
	ada.wantText(t, row+" .flash.success", "SMS "+phone+" is verified. Choose what it receives on the Notifications page.")

	// 3. Route severity-1 alerts to it on /profile/notifications, linked
	// from Contact information: ticking the box saves in place.
	ada.do(t, "open the notifications page", chromedp.Click(chromedp.CSS("#notifications-link")),
		chromedp.WaitVisible(chromedp.CSS("#routing-form")))
	ada.wantPath(t, "/profile/notifications")
	ada.markPage(t)
	ada.do(t, "route alerts of severity 1 to the phone",
		htmxSettled,
		chromedp.Click(chromedp.CSS(`#routing-form tr[data-route="alerts:1"] td:nth-of-type(2) input`)),
		chromedp.WaitVisible(chromedp.Search(`//section[@id="notification-routing"]//p[contains(@class, "flash") and normalize-space()="Notification routing is saved."]`)),
	)
	ada.wantSamePage(t, "/profile/notifications")
	if v := ada.eval(t, `String(document.querySelector('#routing-form tr[data-route="alerts:1"] td:nth-of-type(2) input').checked)`); v != "true" {
		ada.fatalf(t, "the severity-1 box for the phone is not checked after saving")
	}

	// 4. Another part of the product calls the notify API.
	body := `{"user": "` + email + `", "circumstance": "alerts", "severity": 1, "subject": "web-1 is down", "body": "No answer since 12:00."}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/notify", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Queued []int64 }
	json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || len(out.Queued) != 2 {
		t.Fatalf("notify API: got %d with %v, want 202 with two ids (the account email and the phone)", res.StatusCode, out.Queued)
	}

	// 5. The SMS arrives, and the delivery history says so (the number
	// masked).
	if got := twilio.Wait(t, "sms", phone, "web-1 is down"); !strings.Contains(got.Text, "No answer since 12:00.") {
		t.Errorf("alert SMS %q, want the body too", got.Text)
	}
	waitSent(t, store, out.Queued)
	ada.navigate(t, base+"/profile/notifications", "#notifications-table")
	ada.wantTextAt(t, `//table[@id="notifications-table"]//tr[td[2][normalize-space()="web-1 is down"] and td[3][normalize-space()="SMS •••0123"] and td[4][starts-with(normalize-space(), "Sent")]]/td[5]`, "1")
	if dir := browserShotDir(); dir != "" {
		ada.fullScreenshot(t, 1200, base+"/profile", "#contact-methods-table", filepath.Join(dir, "screenshot-notify.png"))
		ada.fullScreenshot(t, 1200, base+"/profile/notifications", "#notifications-table", filepath.Join(dir, "screenshot-notifications.png"))
	}
	ada.wantCleanConsole(t)
	t.Logf("browser notify scenario took %s", time.Since(start).Round(time.Millisecond))
}

// waitSent waits until the worker recorded each delivery as sent: the
// message reaches the fake API a moment before its row is marked.
func waitSent(t *testing.T, store *db.Store, ids []int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			d, err := store.DeliveryByID(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if d.State == db.DeliverySent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery %d: state %q (%s), want sent", id, d.State, d.LastError)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
