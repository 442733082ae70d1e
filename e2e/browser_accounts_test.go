package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/password"
)

// TestBrowserAccounts drives the issue-3 scenario through Chromium with
// JavaScript on, against the real application sending real SMTP to a server
// in this test: an Admin creates an account and invites an existing user,
// whose menu badge shows the invite; the invitee accepts and later leaves,
// all with htmx swaps; then a person without a user follows the emailed
// link, signs up, confirms the email from the second mail and accepts.
func TestBrowserAccounts(t *testing.T) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	mailbox := startBrowserMailbox(t)
	base, store := startBrowserApp(t, map[string]string{"ROSTER_SMTP_URL": "smtp://" + mailbox.Addr})
	browserCtx := startChromium(t, ctx)

	const (
		adaName, adaEmail     = "Ada Lovelace", "ada@example.com"
		bobName, bobEmail     = "Bob Babbage", "bob@example.com"
		carolName, carolEmail = "Carol Herschel", "carol@example.com"
		adaPassword           = "lantern orbit velvet quarry 42"
		bobPassword           = "harbor quince tundra mosaic 7"
		carolPassword         = "meadow circuit falcon ember 19"
		account               = "Acme"
	)
	// Ada and Bob exist with verified emails, as after the issue-2 flows.
	createBrowserUser(t, store, adaName, adaEmail, adaPassword)
	createBrowserUser(t, store, bobName, bobEmail, bobPassword)

	ada := newBrowserTab(t, browserCtx, "Ada (Chrome)", browserUAChrome, true, true)
	bob := newBrowserTab(t, browserCtx, "Bob (Firefox)", browserUAFirefox, true, true)
	carol := newBrowserTab(t, browserCtx, "Carol (Safari)", browserUASafari, true, true)
	shots := browserShotDir()

	// 1. Ada creates Acme from the user menu and lands on its console.
	ada.signIn(t, base, adaEmail, adaPassword)
	ada.submit(t, "open Create Account from the user menu", "/accounts/new",
		openUserMenu, chromedp.Click(chromedp.Search(`//nav[@id="user-menu"]//a[normalize-space()="Create Account"]`)))
	ada.do(t, "wait for the account form", chromedp.WaitVisible(chromedp.CSS("#account-form #name")))
	consolePath := ada.submitAny(t, "create "+account, // the path has the new id
		chromedp.SendKeys(chromedp.CSS("#account-form #name"), "  "+account+" "),
		chromedp.Click(chromedp.CSS("#account-form button[type=submit]")),
	).Path
	accountPath, ok := strings.CutSuffix(consolePath, "/manage")
	if !ok || !regexp.MustCompile(`^/accounts/[0-9]+$`).MatchString(accountPath) {
		ada.fatalf(t, "creating the account went to %s, want /accounts/{id}/manage", consolePath)
	}
	ada.do(t, "wait for the console", chromedp.WaitVisible(chromedp.CSS("section#invite")))
	ada.wantText(t, "main > .flash.success", "The account "+account+" is created. Invite people to it below.")
	ada.wantText(t, "#account-heading h1", "Manage "+account)
	ada.wantText(t, `#members tbody tr`, adaName+" "+adaEmail+" Admin Owner")
	ada.wantHTMX(t)

	// 2. Bob signs in in his own browser; Ada invites him as Normal (htmx:
	// the form answers in place, the pending list is swapped out of band).
	bob.signIn(t, base, bobEmail, bobPassword)
	bob.wantText(t, "#account-invites p", "No pending invites.")
	ada.invite(t, bobEmail, "normal")
	ada.wantSamePage(t, consolePath)
	ada.wantTextAt(t, browserRow("invites", bobEmail)+"/td[2]", "Normal")
	ada.wantTextAt(t, browserRow("invites", bobEmail)+"/td[3]", adaName)

	bobMail := mailbox.take(t, bobEmail, "You are invited to join "+account+" on Roster")
	// The link's 7 days count from its delivery: once the mail went, the
	// console shows them instead of "sending…".
	ada.waitInviteSent(t, base+consolePath, bobEmail)
	ada.wantExpiresIn7Days(t, browserRow("invites", bobEmail)+"/td[4]/time")
	bobLink := bobMail.link(t, base, "/invites/")
	if !strings.Contains(bobMail.Text, adaName+" invited you to join the account "+account+" on Roster as Normal.") {
		t.Errorf("invite mail to %s says:\n%s\nwant who invited, to which account, as what", bobEmail, bobMail.Text)
	}

	// 3. Bob's menu shows the badge on every page: on the mailed link's page,
	// which offers him Accept, and on his profile, which lists the invite.
	bob.navigate(t, bobLink, "#invite h1")
	bob.wantText(t, "#invite h1", "Join "+account)
	bob.wantBadge(t, "1")
	bob.wantCount(t, `//article[@id="invite"]//button[normalize-space()="Accept"]`, 1)
	bob.navigate(t, base+"/profile", "section#account-invites")
	bob.wantBadge(t, "1")
	inviteRow := browserRow("account-invites", account)
	bob.wantTextAt(t, inviteRow+"/td[2]", "Normal")
	bob.wantTextAt(t, inviteRow+"/td[3]", adaName)
	bob.wantExpiresIn7Days(t, inviteRow+"/td[4]/time")
	bob.wantText(t, "#my-accounts p", "You are not a member of any account yet.")
	if shots != "" {
		bob.fullScreenshot(t, 1200, base+"/profile", "section#account-invites", filepath.Join(shots, "screenshot-invite.png"))
	}

	// Accept with htmx: the box, the badge and My Accounts change in place.
	bob.markPage(t)
	myAcme := browserRow("my-accounts", account)
	bob.do(t, "accept the invite",
		chromedp.Click(chromedp.Search(inviteRow+`//button[normalize-space()="Accept"]`)),
		chromedp.WaitVisible(chromedp.CSS("#account-invites .flash.success")),
		chromedp.WaitNotPresent(chromedp.Search(inviteRow)),
		chromedp.WaitVisible(chromedp.Search(myAcme)),
	)
	bob.wantSamePage(t, "/profile")
	bob.wantText(t, "#account-invites .flash.success", "You joined "+account+" as Normal.")
	bob.wantText(t, "#account-invites > p:not(.flash)", "No pending invites.")
	bob.wantBadge(t, "")
	bob.wantTextAt(t, myAcme+"/td[2]", "Normal")
	bob.wantCount(t, myAcme+`//a[normalize-space()="Manage"]`, 0) // Admins only
	bob.wantCount(t, `//section[@id="my-accounts"]//tbody/tr`, 1)

	// Ada invites Carol, who has no user yet; the console shows Bob and the
	// pending invite.
	ada.invite(t, carolEmail, "normal")
	carolMail := mailbox.take(t, carolEmail, "You are invited to join "+account+" on Roster")
	carolLink := carolMail.link(t, base, "/invites/")
	ada.navigate(t, base+consolePath, "section#members")
	ada.wantSelected(t, browserRow("members", bobName)+"//select", "normal")
	ada.wantCount(t, browserRow("invites", carolEmail), 1)
	ada.wantCount(t, browserRow("invites", bobEmail), 0) // accepted: no longer pending
	if shots != "" {
		ada.fullScreenshot(t, 1200, base+consolePath, "section#members", filepath.Join(shots, "screenshot-manage.png"))
	}

	// 4. Bob leaves Acme: the confirmation says he needs a new invite, and
	// the row goes in place.
	bob.navigate(t, base+"/profile", "section#my-accounts")
	bob.markPage(t)
	bob.do(t, "open Leave",
		chromedp.Click(chromedp.Search(myAcme+`//summary[normalize-space()="Leave"]`)),
		chromedp.WaitVisible(chromedp.Search(myAcme+`//details[@open]//button[normalize-space()="Leave `+account+`"]`)),
	)
	bob.wantTextAt(t, myAcme+"//details/p", "Leave "+account+"? You lose access at once, and you need a new invite to come back.")
	bob.do(t, "confirm Leave",
		chromedp.Click(chromedp.Search(myAcme+`//button[normalize-space()="Leave `+account+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#my-accounts .flash.success")),
		chromedp.WaitNotPresent(chromedp.Search(myAcme)),
	)
	bob.wantSamePage(t, "/profile")
	bob.wantText(t, "#my-accounts .flash.success", "You left "+account+". You need a new invite to come back.")
	bob.wantText(t, "#my-accounts > p:not(.flash)", "You are not a member of any account yet.")
	bob.wantBadge(t, "")
	ada.navigate(t, base+consolePath, "section#members")
	ada.wantCount(t, browserRow("members", bobName), 0)

	// 5. Carol follows the mailed link: no user yet, so the page offers to
	// create a profile, and the sign-up comes back to the invite.
	invitePath := strings.TrimPrefix(carolLink, base)
	carol.navigate(t, carolLink, "#invite h1")
	carol.wantText(t, "#invite h1", "Join "+account)
	carol.submit(t, "choose Create a profile", "/signup",
		chromedp.Click(chromedp.Search(`//article[@id="invite"]//a[normalize-space()="Create a profile"]`)))
	if next := carol.location(t).Query().Get("next"); next != invitePath {
		carol.fatalf(t, "the sign-up page has next=%q, want %q", next, invitePath)
	}
	carol.do(t, "wait for the sign-up form", chromedp.WaitVisible(chromedp.CSS("#signup-form #email")))
	carol.submit(t, "sign up", invitePath,
		chromedp.SendKeys(chromedp.CSS("#signup-form #name"), carolName),
		chromedp.SendKeys(chromedp.CSS("#signup-form #email"), carolEmail),
		chromedp.SendKeys(chromedp.CSS("#signup-form #password"), carolPassword),
		chromedp.Click(chromedp.CSS("#signup-form button[type=submit]")),
	)
	carol.wantText(t, "main > .flash.success", "Welcome to Roster! A link to confirm your email is on its way to "+carolEmail+".")
	carol.wantText(t, "#invite h1 ~ p + p", "Confirm your email first: follow the link we sent to "+carolEmail+", then come back to this page.")
	carol.wantBadge(t, "") // not verified yet: the invite is not hers to see

	verifyMail := mailbox.take(t, carolEmail, "Confirm your email for Roster")
	verifyLink := verifyMail.link(t, base, "/verify/")
	carol.navigate(t, verifyLink, "main h1")
	carol.wantText(t, "main h1", "Confirm "+carolEmail+" for your Roster profile?") // opening the link changes nothing
	carol.submit(t, "confirm the email", strings.TrimPrefix(verifyLink, base),
		chromedp.Click(chromedp.Search(`//main//form//button[normalize-space()="Confirm `+carolEmail+`"]`)))
	carol.wantText(t, "main h1", "Email confirmed")
	carol.wantBadge(t, "1")

	carol.navigate(t, carolLink, "#invite h1")
	carol.submit(t, "accept on the invite page", accountPath,
		chromedp.Click(chromedp.Search(`//article[@id="invite"]//button[normalize-space()="Accept"]`)))
	carol.wantText(t, "main > .flash.success", "You joined "+account+" as Normal.")
	carol.wantText(t, "main h1", account)
	carol.wantBadge(t, "")
	carol.navigate(t, base+"/profile", "section#my-accounts")
	carol.wantTextAt(t, browserRow("my-accounts", account)+"/td[2]", "Normal")
	carol.wantText(t, "#account-invites > p:not(.flash)", "No pending invites.")

	ada.navigate(t, base+consolePath, "section#members")
	ada.wantTextAt(t, browserRow("members", carolName)+"/td[2]", carolEmail)
	ada.wantText(t, "#invites > p:not(.flash)", "No pending invites.")

	// Ada, who sent both invites, was told of each acceptance.
	mailbox.take(t, adaEmail, bobName+" joined "+account)
	mailbox.take(t, adaEmail, carolName+" joined "+account)
	// and, as the account's Admin, of Bob's leaving.
	mailbox.take(t, adaEmail, bobName+" left "+account)

	// 6. No console errors and no CSP violations in any browser, and no mail
	// the test did not expect.
	for _, tb := range []*browserTab{ada, bob, carol} {
		tb.wantCleanConsole(t)
	}
	mailbox.wantAllTaken(t)
	t.Logf("accounts browser scenario took %s", time.Since(start).Round(time.Millisecond))
}

// createBrowserUser adds a user with a verified email and a password.
func createBrowserUser(t testing.TB, store *db.Store, name, email, pw string) {
	t.Helper()
	hash, err := password.NewHasher(1, 1).Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.CreateUser(t.Context(), db.NewUser{Email: email, Name: name, PasswordHash: hash, Verified: true},
		db.Event{Kind: db.EventSignUp, IP: "test"})
	if err != nil {
		t.Fatal(err)
	}
}

// browserShotDir is where the screenshots go: next to the profile's
// screenshot that ROSTER_SCREENSHOT names, or nowhere when it is unset.
func browserShotDir() string {
	if file := os.Getenv("ROSTER_SCREENSHOT"); file != "" {
		return filepath.Dir(file)
	}
	return ""
}

// browserRow is an XPath to the row of section #id's table whose first
// cell is first.
func browserRow(id, first string) string {
	return fmt.Sprintf(`//section[@id=%q]//tbody/tr[td[1][normalize-space()=%q]]`, id, first)
}

// invite sends the console's invite form with htmx and waits for its answer.
func (tb *browserTab) invite(t *testing.T, email, role string) {
	t.Helper()
	tb.markPage(t)
	tb.do(t, "invite "+email,
		chromedp.SendKeys(chromedp.CSS("#invite #invite-email"), email),
		chromedp.SetValue(chromedp.CSS("#invite #invite-role"), role),
		chromedp.Click(chromedp.CSS("#invite button[type=submit]")),
		// The message names the address: an earlier invite's message
		// may still be on the page.
		chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//section[@id="invite"]/p[contains(@class, "success")][normalize-space()=%q]`, "An invite is on its way to "+email+"."))),
		chromedp.WaitVisible(chromedp.Search(browserRow("invites", email))),
	)
	tb.wantText(t, "#invite .flash.success", "An invite is on its way to "+email+".")
	if v := tb.eval(t, `document.querySelector('#invite #invite-email').value`); v != "" {
		tb.fatalf(t, "the invite form kept %q after sending", v)
	}
	tb.wantSamePage(t, tb.location(t).Path)
}

// text is the text content of sel, with runs of white space made one space.
func (tb *browserTab) text(t *testing.T, sel chromedp.Search) string {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.TextContent(sel))
	if err != nil {
		tb.fatalf(t, "text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(got), " ")
}

// wantTextAt is wantText for an XPath.
func (tb *browserTab) wantTextAt(t *testing.T, xpath, want string) {
	t.Helper()
	if got := tb.text(t, chromedp.Search(xpath)); got != want {
		tb.fatalf(t, "text of %s is %q, want %q", xpath, got, want)
	}
}

// submitAny is submit for a page whose path the test does not know yet: it
// returns the URL of the page the submission loaded, which must answer 200.
func (tb *browserTab) submitAny(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) *url.URL {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		tb.fatalf(t, "%s: %v", what, err)
	}
	u, err := url.Parse(resp.URL)
	if err != nil || resp.Status != 200 {
		tb.fatalf(t, "%s: got %d %s, want 200", what, resp.Status, resp.URL)
	}
	return u
}

// wantCount checks how many elements an XPath finds now, without waiting.
func (tb *browserTab) wantCount(t *testing.T, xpath string, want int) {
	t.Helper()
	got := tb.eval(t, fmt.Sprintf(`String(document.evaluate(%q, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null).snapshotLength)`, xpath))
	if got != fmt.Sprint(want) {
		tb.fatalf(t, "%s finds %s elements, want %d", xpath, got, want)
	}
}

// wantBadge checks the menu's invite badge: its number, or hidden when "".
func (tb *browserTab) wantBadge(t *testing.T, want string) {
	t.Helper()
	got := tb.eval(t, `(function () {
		var b = document.querySelectorAll('nav#user-menu #invite-badge');
		if (b.length !== 1) return b.length + ' badges';
		var n = b[0].querySelector('[aria-hidden=true]');
		return (n ? n.textContent : b[0].textContent.trim()) + '|' + getComputedStyle(b[0]).display;
	})()`)
	num, display, _ := strings.Cut(got, "|")
	if num != want || (want == "") != (display == "none") {
		tb.fatalf(t, "#invite-badge is %q (display %q), want %q, shown only when not empty", num, display, want)
	}
}

// wantSelected checks the value of a select.
func (tb *browserTab) wantSelected(t *testing.T, xpath, want string) {
	t.Helper()
	got := tb.eval(t, fmt.Sprintf(`(function () {
		var s = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		return s ? s.value : 'missing';
	})()`, xpath))
	if got != want {
		tb.fatalf(t, "%s has %q selected, want %q", xpath, got, want)
	}
}

// waitInviteSent opens the Manage console at u until the pending invite to
// email shows its expiry, a <time>: its mail was sent (until then the cell
// says "sending…").
func (tb *browserTab) waitInviteSent(t *testing.T, u, email string) {
	t.Helper()
	xpath := browserRow("invites", email) + "/td[4]/time"
	deadline := time.Now().Add(10 * time.Second)
	for {
		tb.navigate(t, u, "section#invites")
		n := tb.eval(t, fmt.Sprintf(`String(document.evaluate(%q, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null).snapshotLength)`, xpath))
		if n == "1" {
			return
		}
		if time.Now().After(deadline) {
			tb.fatalf(t, "the invite to %s shows no expiry 10 s after its mail went: %s", email, tb.text(t, chromedp.Search(browserRow("invites", email)+"/td[4]")))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantExpiresIn7Days checks a <time datetime> against the invite's lifetime.
func (tb *browserTab) wantExpiresIn7Days(t *testing.T, xpath string) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.Search(xpath), "datetime"))
	if err != nil {
		tb.fatalf(t, "datetime of %s: %v", xpath, err)
	}
	at, err := time.Parse(time.RFC3339, attr.Value)
	if err != nil {
		tb.fatalf(t, "datetime of %s: %v", xpath, err)
	}
	if left := time.Until(at); left < 7*24*time.Hour-5*time.Minute || left > 7*24*time.Hour+time.Minute {
		tb.fatalf(t, "the invite expires in %s, want 7 days", left.Round(time.Second))
	}
	if text := tb.text(t, chromedp.Search(xpath)); text == "" {
		tb.fatalf(t, "%s shows no date", xpath)
	}
}

// fullScreenshot opens u at width px and saves a full-page PNG to file.
func (tb *browserTab) fullScreenshot(t *testing.T, width int64, u, waitFor, file string) {
	t.Helper()
	tb.do(t, fmt.Sprintf("open %s at %dpx", u, width),
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS(waitFor)),
	)
	tb.wantStyled(t)
	tb.screenshot(t, chromedp.FullScreenshot(100), file)
}

// screenshot saves to file what take captures of the page as it is now.
func (tb *browserTab) screenshot(t *testing.T, take chromedp.Action[[]byte], file string) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	shot, err := chromedp.Run(ctx, take)
	if err != nil {
		tb.fatalf(t, "screenshot: %v", err)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(shot)); err != nil {
		t.Fatalf("screenshot: got %d bytes that are not a PNG: %v", len(shot), err)
	}
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserMailbox is the test's SMTP server, with what the scenario has
// taken from it so far: each take gets a mail no earlier one returned.
type browserMailbox struct {
	*smtptest.Server
	taken map[int]bool // by index in Mails()
}

// browserMail is one message the mailbox accepted.
type browserMail struct{ smtptest.Mail }

func startBrowserMailbox(t *testing.T) *browserMailbox {
	t.Helper()
	return &browserMailbox{Server: smtptest.Start(t), taken: map[int]bool{}}
}

// take waits for the next mail to "to" with this subject that no earlier
// take returned, and checks its envelope and headers.
func (m *browserMailbox) take(t *testing.T, to, subject string) *browserMail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for i, mail := range m.Mails() {
			if m.taken[i] || mail.Subject != subject || len(mail.Rcpt) != 1 || mail.Rcpt[0] != to {
				continue
			}
			m.taken[i] = true
			if got, err := netmail.ParseAddress(mail.Header.Get("To")); err != nil || got.Address != to {
				t.Errorf("mail %q: To: %q, want %s", subject, mail.Header.Get("To"), to)
			}
			if ct := mail.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("mail %q: Content-Type %q, want text/plain; charset=utf-8", subject, ct)
			}
			switch cte := strings.ToLower(mail.Header.Get("Content-Transfer-Encoding")); cte {
			case "quoted-printable", "", "7bit", "8bit":
			default:
				t.Errorf("mail %q: unexpected Content-Transfer-Encoding %q", subject, cte)
			}
			return &browserMail{mail}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s with subject %q arrived; the mailbox has:\n%s", to, subject, m.summary())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantAllTaken fails on mail that no take asked for: sent twice, or to
// someone else.
func (m *browserMailbox) wantAllTaken(t *testing.T) {
	t.Helper()
	for i, mail := range m.Mails() {
		if !m.taken[i] {
			t.Errorf("unexpected mail to %v, subject %q:\n%s", mail.Rcpt, mail.Subject, mail.Text)
		}
	}
}

func (m *browserMailbox) summary() string {
	var b strings.Builder
	for i, mail := range m.Mails() {
		fmt.Fprintf(&b, "  to %v, subject %q, taken %v\n", mail.Rcpt, mail.Subject, m.taken[i])
	}
	if b.Len() == 0 {
		return "  (nothing)\n"
	}
	return b.String()
}

// link finds the one link in the mail and checks that it is base+prefix+token.
func (mail *browserMail) link(t *testing.T, base, prefix string) string {
	t.Helper()
	links := regexp.MustCompile(`https?://\S+`).FindAllString(mail.Text, -1)
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(base+prefix) + `[A-Za-z0-9_-]{20,}$`)
	if len(links) != 1 || !want.MatchString(links[0]) {
		t.Fatalf("mail %q has links %q, want one %s{token}:\n%s", mail.Subject, links, base+prefix, mail.Text)
	}
	return links[0]
}
