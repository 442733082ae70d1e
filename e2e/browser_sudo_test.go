package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSudo: changing the password is a sensitive action. Sent with
// htmx from a session that has not re-authenticated, its section turns into
// the re-authentication prompt in place; once the password is given there,
// the change the person asked for is made, without typing the form again,
// and the profile stays the same page. Without JavaScript the prompt is a
// page of its own and resumes the same way.
func TestBrowserSudo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)
	const (
		email = "ada@example.com"
		pw1   = "lantern orbit velvet quarry 42"
		pw2   = "harbor quince tundra mosaic 7"
		pw3   = "meadow circuit falcon ember 19"
	)
	createBrowserUser(t, store, "Ada Lovelace", email, pw1)
	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	ada.signIn(t, base, email, pw1)

	ada.navigate(t, base+"/profile", "#change-password #new_password")
	ada.markPage(t)
	ada.do(t, "change the password",
		chromedp.SendKeys(chromedp.CSS("#change-password #current_password"), pw1),
		chromedp.SendKeys(chromedp.CSS("#change-password #new_password"), pw2),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#change-password #sudo_password")),
		htmxSettled,
	)
	ada.wantText(t, "#change-password h2", "Confirm it is you")
	ada.wantCount(t, `//section[@id="change-password"]//input[@type="password" and @name="new_password"]`, 0)
	if got := ada.eval(t, `document.activeElement.id`); got != "sudo_password" {
		t.Errorf("focus after the prompt came: %q, want the password field", got)
	}
	ada.do(t, "give the password",
		chromedp.SendKeys(chromedp.CSS("#change-password #sudo_password"), pw1),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#change-password .flash.success")),
		htmxSettled,
	)
	ada.wantText(t, "#change-password .flash.success", "Your password is changed.")
	ada.wantSamePage(t, "/profile")
	ada.wantCleanConsole(t)

	// The new password is the one typed before the prompt.
	other := newBrowserTab(t, browserCtx, "Ada (Firefox)", browserUAFirefox, true, true)
	other.signIn(t, base, email, pw2)

	// Without JavaScript: the prompt is a page, and the change resumes.
	nojs := newBrowserTab(t, browserCtx, "Ada (no JavaScript)", browserUAFirefox, false, true)
	nojs.signIn(t, base, email, pw2)
	nojs.navigate(t, base+"/profile", "#change-password #new_password")
	nojs.submit(t, "change the password without JavaScript", "/profile/password",
		chromedp.SendKeys(chromedp.CSS("#change-password #current_password"), pw2),
		chromedp.SendKeys(chromedp.CSS("#change-password #new_password"), pw3),
		chromedp.Click(chromedp.CSS("#change-password button[type=submit]")),
	)
	nojs.wantText(t, "main h1", "Confirm it is you")
	nojs.submit(t, "give the password without JavaScript", "/profile",
		chromedp.SendKeys(chromedp.CSS("main #sudo_password"), pw2),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
	)
	nojs.wantText(t, "main > .flash.success", "Your password is changed. 2 other sessions were logged out.")
}

// TestBrowserDeleteProfile: Delete my profile, with htmx, asks for the
// password in place, then deletes the profile and lands signed out on the
// sign-in page, where the old password no longer works.
func TestBrowserDeleteProfile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, nil)
	browserCtx := startChromium(t, ctx)
	const email, pw = "kay@example.com", "lantern orbit velvet quarry 42"
	createBrowserUser(t, store, "Kay Leaving", email, pw)
	kay := newBrowserTab(t, browserCtx, "Kay (Chrome)", browserUAChrome, true, true)
	kay.signIn(t, base, email, pw)

	kay.navigate(t, base+"/profile", "#leave #confirm-email")
	kay.do(t, "ask to delete the profile",
		chromedp.SendKeys(chromedp.CSS("#leave #confirm-email"), email),
		chromedp.Click(chromedp.CSS("#leave button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#leave #sudo_password")),
		htmxSettled,
	)
	kay.submit(t, "give the password", "/login",
		chromedp.SendKeys(chromedp.CSS("#leave #sudo_password"), pw),
		chromedp.Click(chromedp.CSS("#leave button[type=submit]")),
	)
	kay.wantText(t, "main > .flash.success", "Your profile is deleted. Thank you for using Roster.")
	if _, err := store.UserByEmail(t.Context(), email); err == nil {
		t.Fatal("the profile is still in the database")
	}
	kay.wantSignedOut(t, base)
}
