package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/rosterhq/roster/db"
)

// TestBrowserRequireTwoFactor: in Chromium, an Admin with two-factor on
// makes Acme require it; a member without it sees Acme in My Accounts
// with "Two-factor required", is refused the account page with the way
// out, follows it, turns two-factor on (the code from pquerna/otp, from
// the key on the page) and then opens the account.
func TestBrowserRequireTwoFactor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const pw = "lantern orbit velvet quarry 42"
	base, store := startBrowserApp(t, nil)
	createBrowserUser(t, store, "Ann Admin", "ann@example.com", pw)
	createBrowserUser(t, store, "Bob Member", "bob@example.com", pw)
	ann, err := store.UserByEmail(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := store.UserByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	acme, err := store.CreateAccount(ctx, ann.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := store.CreateInvite(ctx, acme.ID, ann.ID, bob.Email, db.RoleNormal, []byte("require2fa-invite-hash-of-32-b!!"), nil, db.Event{Kind: db.EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AcceptInvite(ctx, inv.ID, bob.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
		t.Fatal(err)
	}
	accountPath := "/accounts/" + strconv.FormatInt(acme.ID, 10)

	browserCtx := startChromium(t, ctx)
	admin := newBrowserTab(t, browserCtx, "Ann", browserUAChrome, true, true)
	admin.signIn(t, base, ann.Email, pw)
	browserEnrol(t, admin, pw)
	admin.navigate(t, base+accountPath+"/manage", "#require-two-factor")
	admin.markPage(t)
	admin.do(t, "require two-factor of Acme's members",
		chromedp.Click(chromedp.CSS("#require-two-factor-check")),
		chromedp.Click(chromedp.CSS(`#require-two-factor button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#require-two-factor .flash.success")), htmxSettled)
	admin.wantSamePage(t, accountPath+"/manage")
	admin.wantText(t, "#require-two-factor .flash.success", "Members of Acme now need two-factor authentication to open it.")

	member := newBrowserTab(t, browserCtx, "Bob", browserUAChrome, true, true)
	member.signIn(t, base, bob.Email, pw)
	member.wantText(t, "#my-accounts .badge.warn", "Two-factor required")
	stepCtx, stepCancel := member.step()
	resp, err := chromedp.RunResponse(stepCtx, chromedp.Click(chromedp.CSS(`#my-accounts a[href="`+accountPath+`"]`)))
	stepCancel()
	if err != nil || resp.Status != http.StatusForbidden || !strings.HasSuffix(resp.URL, accountPath) {
		var status int64
		if resp != nil {
			status = resp.Status
		}
		member.fatalf(t, "open Acme from My Accounts: got %d (%v), want 403 at %s", status, err, accountPath)
	}
	member.do(t, "wait for the refusal", chromedp.WaitVisible(chromedp.CSS("#two-factor-required-page")))
	member.wantText(t, "#two-factor-required", "Acme requires two-factor authentication of its members. Turn it on in your profile to open the account.")
	member.submit(t, "follow the way out", "/profile",
		chromedp.Click(chromedp.CSS(`#two-factor-required-page a[role=button]`)))
	browserEnrol(t, member, pw)
	member.navigate(t, base+"/profile", "#my-accounts")
	if n := member.eval(t, `String(document.querySelectorAll('#my-accounts .badge.warn').length)`); n != "0" {
		member.fatalf(t, "My Accounts after enrolling: %s badges, want none", n)
	}
	member.submit(t, "open Acme after enrolling", accountPath,
		chromedp.Click(chromedp.CSS(`#my-accounts a[href="`+accountPath+`"]`)))
	member.wantText(t, "main h1", "Acme")
}

// browserEnrol turns two-factor on from the profile of the signed-in tab
// (a sensitive action: pw answers the re-authentication prompt), the key
// read off the page and its code computed as an app would.
func browserEnrol(t *testing.T, tb *browserTab, pw string) {
	t.Helper()
	tb.navigate(t, tb.base(t)+"/profile", "#two-factor")
	tb.do(t, "set up an authenticator app",
		chromedp.Click(chromedp.CSS(`#two-factor form[action="/profile/two-factor"] button`)),
		confirmItIsYou("two-factor", pw),
		chromedp.WaitVisible(chromedp.CSS("#two-factor svg.qr")), htmxSettled)
	secret := strings.ReplaceAll(tb.eval(t, `document.querySelector('#totp-secret').textContent`), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tb.do(t, "confirm with the app's code",
		chromedp.SendKeys(chromedp.CSS("#confirm_code"), code),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-factor/confirm"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")), htmxSettled)
	tb.wantText(t, "#two-factor .flash.success", "Two-factor authentication is on.")
}

// base is the scheme and host of the page the tab is on.
func (tb *browserTab) base(t *testing.T) string {
	t.Helper()
	u := tb.location(t)
	return u.Scheme + "://" + u.Host
}
