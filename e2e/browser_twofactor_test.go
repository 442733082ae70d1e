package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserTwoFactor: in Chromium, a person turns on two-factor
// authentication from the profile with the key read off the page (an
// authenticator app's job, done here by pquerna/otp), keeps the recovery
// codes, logs out, and logs in with the password and then a code; the
// panel with the codes passes axe.
func TestBrowserTwoFactor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const (
		email = "tess@example.com"
		pw    = "lantern orbit velvet quarry 42"
	)
	base, store := startBrowserApp(t, nil)
	createBrowserUser(t, store, "Tess Two", email, pw)
	browserCtx := startChromium(t, ctx)
	tess := newBrowserTab(t, browserCtx, "Tess", browserUAChrome, true, true)
	tess.do(t, "size the window as the accessibility test does", chromedp.EmulateViewport(1200, 900))
	tess.signIn(t, base, email, pw)

	// Set up: the QR code and the key, in place (htmx).
	tess.markPage(t)
	// Setting up is a sensitive action: the panel turns into the
	// re-authentication prompt first.
	tess.do(t, "set up an authenticator app",
		chromedp.Click(chromedp.CSS(`#two-factor form[action="/profile/two-factor"] button`)),
		confirmItIsYou("two-factor", pw),
		chromedp.WaitVisible(chromedp.CSS("#two-factor svg.qr")), htmxSettled)
	secret := strings.ReplaceAll(tess.eval(t, `document.querySelector('#totp-secret').textContent`), " ", "")
	if len(secret) != 32 {
		tess.fatalf(t, "key on the page: %q, want 32 base32 letters", secret)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tess.do(t, "confirm with the app's code",
		chromedp.SendKeys(chromedp.CSS("#confirm_code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-factor/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")), htmxSettled)
	tess.wantSamePage(t, "/profile")
	tess.wantText(t, "#two-factor .flash.success", "Two-factor authentication is on.")
	codes := strings.Fields(tess.eval(t, `Array.from(document.querySelectorAll('#recovery-codes li code')).map(function (c) { return c.textContent; }).join(' ')`))
	if len(codes) != 10 {
		tess.fatalf(t, "recovery codes shown: %d, want 10", len(codes))
	}
	file, err := url.PathUnescape(strings.TrimPrefix(tess.eval(t, `document.querySelector('#recovery-codes a[download]').getAttribute('href')`), "data:text/plain;charset=utf-8,"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if !strings.Contains(file, c+"\n") {
			tess.fatalf(t, "the download lacks the code %s: %q", c, file)
		}
	}
	if _, err := chromedp.Run(tess.ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatal(err)
	}
	if problems := tess.runAxe(t, "profile with new recovery codes"); len(problems) > 0 {
		t.Errorf("accessibility problems:\n%s", strings.Join(problems, "\n"))
	}

	// Log out, and back in: the password, then the app's next code.
	tess.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tess.navigate(t, base+"/login", "#login-form")
	tess.submit(t, "log in with the password", "/login/two-factor",
		chromedp.SendKeys(chromedp.CSS("#login-form #email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-form #password"), pw),
		chromedp.Click(chromedp.CSS("#login-form button[type=submit]")),
	)
	tess.wantSignedOutBehind(t, base)
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tess.navigate(t, base+"/login/two-factor", "#second-step-form")
	tess.submit(t, "log in with the code", "/profile",
		chromedp.SendKeys(chromedp.CSS("#second-step-form #code"), next),
		chromedp.Click(chromedp.CSS("#second-step-form button[type=submit]")),
	)
	tess.wantText(t, "main > .flash.success", "You are logged in.")
	tess.wantText(t, "#two-factor p", "On Logging in asks for a code from your authenticator app. 10 recovery codes are left.")
	tess.wantCleanConsole(t)
}

// confirmItIsYou answers with pw the re-authentication prompt that took
// the place of the section with id section (htmx), and submits it.
func confirmItIsYou(section, pw string) chromedp.Action[chromedp.Void] {
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.CSS("#" + section + " #sudo_password")),
		htmxSettled,
		chromedp.SendKeys(chromedp.CSS("#"+section+" #sudo_password"), pw),
		chromedp.Click(chromedp.CSS("#" + section + " form button[type=submit]")),
	}
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for _, step := range steps {
			if _, err := step(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}

// wantSignedOutBehind checks, at the second step, that the profile is not
// open to this browser yet: it goes to the login page.
func (tb *browserTab) wantSignedOutBehind(t *testing.T, base string) {
	t.Helper()
	tb.navigate(t, base+"/profile", "#login-form")
	if loc := tb.location(t); loc.Path != "/login" {
		tb.fatalf(t, "opening /profile at the second step went to %s, want /login", loc)
	}
}
