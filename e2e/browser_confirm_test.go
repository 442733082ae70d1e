package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/views"
)

// TestBrowserConfirmFirst: a person whose email is not confirmed is told
// so on Create Account, with the button that sends the link again; after
// following the link the form is there. A pending change of the account
// email is cancelled from the profile in place, and its mailed link is
// then dead. The notice to the current address stops another from its
// link, in a browser logged in to nothing.
func TestBrowserConfirmFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	mailbox := startBrowserMailbox(t)
	base, store := startBrowserApp(t, map[string]string{"ROSTER_SMTP_URL": "smtp://" + mailbox.Addr})
	browserCtx := startChromium(t, ctx)

	const name, email, pw = "Eve Newcomer", "eve@example.com", "willow gadget harbor plume 31"
	hash, err := password.NewHasher(1, 1).Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateUser(t.Context(), db.NewUser{Email: email, Name: name, PasswordHash: hash}, db.Event{Kind: db.EventSignUp, IP: "test"}); err != nil {
		t.Fatal(err)
	}
	eve := newBrowserTab(t, browserCtx, "Eve (Chrome)", browserUAChrome, true, true)
	eve.signIn(t, base, email, pw)

	// 1. Create Account waits for the confirmed email, and says so.
	eve.navigate(t, base+"/accounts/new", ".confirm-first")
	eve.wantText(t, ".confirm-first p", views.RuleText(db.ErrUnconfirmedEmail))
	eve.wantCount(t, `//form[@id="account-form"]`, 0)
	eve.submit(t, "send the confirmation link again", "/profile",
		chromedp.Click(chromedp.Search(`//div[contains(@class,"confirm-first")]//button[normalize-space()="Send the verification link again"]`)))
	eve.wantText(t, "main > .flash.success", "A new confirmation link is on its way to "+email+".")
	link := mailbox.take(t, email, "Confirm your email for Roster").link(t, base, "/verify/")
	eve.navigate(t, link, "main form button[type=submit]")
	eve.submitAny(t, "confirm the email", chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	eve.navigate(t, base+"/accounts/new", "#account-form #name")
	eve.wantCount(t, `//div[contains(@class,"confirm-first")]`, 0)

	// 2. A pending email change is cancelled in place; its link is dead.
	eve.navigate(t, base+"/profile", "#change-email #new_email")
	eve.markPage(t)
	eve.do(t, "ask to change the account email, giving the password again",
		chromedp.SendKeys(chromedp.CSS("#change-email #new_email"), "eve.new@example.com"),
		chromedp.Click(chromedp.CSS("#change-email button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#sudo_password")), htmxSettled,
		chromedp.SendKeys(chromedp.CSS("#sudo_password"), pw),
		chromedp.Click(chromedp.CSS(".sudo-prompt button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#pending-email button")), htmxSettled)
	changeLink := mailbox.take(t, "eve.new@example.com", "Confirm your new Roster account email").link(t, base, "/email-change/")
	mailbox.take(t, email, "Security notice: a change of your account email was asked for")
	eve.do(t, "cancel the change",
		chromedp.Click(chromedp.Search(`//div[@id="pending-email"]//button[normalize-space()="Cancel the change to eve.new@example.com"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "The change to eve.new@example.com is cancelled")]`)), htmxSettled)
	eve.wantSamePage(t, "/profile")
	eve.wantCount(t, `//div[@id="pending-email"]`, 0)
	eve.navigate(t, changeLink, "main h1")
	eve.wantText(t, "main h1", "This link does not work")

	// 3. The notice to the current address stops a change from its link,
	// in a browser logged in to nothing (the owner may be locked out).
	eve.navigate(t, base+"/profile", "#change-email #new_email")
	eve.do(t, "ask to change the account email again",
		chromedp.SetValue(chromedp.CSS("#change-email #new_email"), "eve.other@example.com"),
		chromedp.Click(chromedp.CSS("#change-email button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#pending-email button")), htmxSettled)
	changeLink = mailbox.take(t, "eve.other@example.com", "Confirm your new Roster account email").link(t, base, "/email-change/")
	notice := mailbox.take(t, email, "Security notice: a change of your account email was asked for")
	stop := regexp.MustCompile(regexp.QuoteMeta(base+"/email-change/cancel/") + `[A-Za-z0-9_-]{20,}`).FindString(notice.Text)
	if stop == "" || !strings.Contains(notice.Text, "eve.other@example.com") {
		t.Fatalf("the notice to %s: no cancel link, or no new address:\n%s", email, notice.Text)
	}
	old := newBrowserTab(t, browserCtx, "Eve's mailbox (Chrome)", browserUAChrome, true, true)
	old.navigate(t, stop, "main form button[type=submit]")
	old.wantText(t, "main form button[type=submit]", "Stop the change to eve.other@example.com")
	old.submitAny(t, "stop the change", chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	old.wantText(t, "main h1", "Email change cancelled")
	old.navigate(t, changeLink, "main h1")
	old.wantText(t, "main h1", "This link does not work")
	mailbox.wantAllTaken(t)
}
