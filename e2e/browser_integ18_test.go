package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserPasskeySecondFactor: in Chromium with the DevTools virtual
// authenticator, a person with two-factor on and a passkey logs in with
// the password, then passes the second step with the passkey ("Use a
// passkey", static/passkey.js's check); then a sensitive change (the
// password, sent with htmx) asks to confirm it is them, the prompt's "Use a
// passkey" passes it, and the change asked for is made in place.
func TestBrowserPasskeySecondFactor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A passkey, and two-factor on, from the profile.
	g := gracesPasskey(t, ctx, true)
	base, tab, email, pw := g.base, g.tab, graceEmail, gracePassword
	const pw2 = "meadow circuit falcon ember 19"
	// Re-authenticated for the passkey, the session is trusted for the
	// set-up too: no prompt.
	tab.do(t, "set up an authenticator app",
		chromedp.Click(chromedp.CSS(`#two-factor form[action="/profile/two-factor"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#two-factor svg.qr")), htmxSettled)
	secret := strings.ReplaceAll(tab.eval(t, `document.querySelector('#totp-secret').textContent`), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tab.do(t, "confirm with the app's code",
		chromedp.SendKeys(chromedp.CSS("#confirm_code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-factor/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")), htmxSettled)
	tab.wantSamePage(t, "/profile")

	// Log out; the password, then the passkey at the second step.
	tab.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tab.submit(t, "log in with the password", "/login/two-factor",
		chromedp.SendKeys(chromedp.CSS("#login-form #email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-form #password"), pw),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	tab.wantText(t, "#second-step-passkey button[type=submit]", "Use a passkey")
	tab.submit(t, "pass the second step with the passkey", "/profile",
		chromedp.Click(chromedp.CSS("#second-step-passkey button[type=submit]")))
	tab.wantText(t, "main > .flash.success", "You are logged in.")

	// A sensitive change: the prompt in place, passed with the passkey,
	// and the new password typed before it is the one set.
	tab.markPage(t)
	tab.do(t, "change the password",
		chromedp.SendKeys(chromedp.CSS("#change-password #current_password"), pw),
		chromedp.SendKeys(chromedp.CSS("#change-password #new_password"), pw2),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#change-password form[data-passkey="check"] button[type=submit]`)),
		htmxSettled,
	)
	tab.wantText(t, "#change-password h2", "Confirm it is you")
	tab.do(t, "confirm with the passkey",
		chromedp.Click(chromedp.CSS(`#change-password form[data-passkey="check"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#change-password .flash.success")),
		htmxSettled,
	)
	tab.wantText(t, "#change-password .flash.success", "Your password is changed.")
	tab.wantSamePage(t, "/profile")
	tab.wantCleanConsole(t)

	// The password set is the one typed before the prompt.
	other := newBrowserTab(t, g.browser, "Grace (Firefox)", browserUAFirefox, true, true)
	other.navigate(t, base+"/login", "#login-form")
	other.submit(t, "log in with the new password", "/login/two-factor",
		chromedp.SendKeys(chromedp.CSS("#login-form #email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-form #password"), pw2),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
}
