package handlers_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/smtptest"
)

// Mail a person waits for (the sign-up confirmation, a password reset, an
// invite) goes through the outbox: these tests play a real SMTP server on
// loopback that is down, then up, with a clock of their own for the store
// and the worker, so that an outage can last hours.

// testClock is a settable clock, shared by the store and the worker.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// outageApp is an app whose worker delivers to a mail server that is down.
func outageApp(t *testing.T) (*app, *smtptest.Server, *testClock) {
	t.Helper()
	smtp := smtptest.Start(t)
	smtp.Stop()
	clk := &testClock{t: time.Now()}
	a := newApp(t, func(ac *appConfig) { ac.smtp, ac.now = smtp, clk.Now })
	return a, smtp, clk
}

// waitMail waits until the outbox row of address whose subject contains
// subject satisfies ok, and returns it.
func waitMail(t *testing.T, a *app, address, subject, what string, ok func(d db.Delivery) bool) db.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := outboxRows(t, a)
		for _, d := range all {
			if d.Address == address && strings.Contains(d.Subject, subject) && ok(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mail to %s about %q: not %s after 10s; outbox %+v", address, subject, what, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// outboxRows is every row of the app's outbox, mails to no profile (an
// invite) included, which the per-user lists leave out. A test's outbox
// holds a few rows, from id 1.
func outboxRows(t *testing.T, a *app) []db.Delivery {
	t.Helper()
	var all []db.Delivery
	for id := int64(1); id <= 50; id++ {
		d, err := a.store.DeliveryByID(context.Background(), id)
		if errors.Is(err, db.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
	}
	return all
}

// failing is a mail whose attempt failed and that waits for the next one.
func failing(d db.Delivery) bool { return d.State == db.DeliveryQueued && d.LastError != "" }

func sent(d db.Delivery) bool { return d.State == db.DeliverySent }

// mailsTo counts the messages the mail server received for address.
func mailsTo(smtp *smtptest.Server, address, subject string) int {
	n := 0
	for _, m := range smtp.Mails() {
		if len(m.Rcpt) == 1 && m.Rcpt[0] == address && strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

// mailBack restarts the mail server after the outage lasted d, and wakes
// the worker, as its next retry would.
func mailBack(t *testing.T, a *app, smtp *smtptest.Server, clk *testClock, d time.Duration) {
	t.Helper()
	clk.Add(d)
	smtp.Restart(t)
	a.worker.Kick()
}

// onceOnly checks, after the mail went, that another run of the worker
// sends nothing more.
func onceOnly(t *testing.T, a *app, smtp *smtptest.Server, address, subject string) {
	t.Helper()
	if _, err := a.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := mailsTo(smtp, address, subject); n != 1 {
		t.Errorf("mails to %s about %q: got %d, want exactly 1", address, subject, n)
	}
}

var linkRE = regexp.MustCompile(`http://roster\.test(/[a-z/-]+/[A-Za-z0-9_-]+)`)

// mailedPath is the path of the link in a received mail.
func mailedPath(t *testing.T, m smtptest.Mail) string {
	t.Helper()
	match := linkRE.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("mail %q: no link in %q", m.Subject, m.Text)
	}
	return match[1]
}

// TestSignupDuringMailOutage: signing up while the mail server is down
// answers as usual (not 500), the profile says the confirmation link is on
// its way and then that we keep trying; once the server is back the link
// arrives, once, and confirms the email. The outbox then keeps no link.
func TestSignupDuringMailOutage(t *testing.T) {
	t.Parallel()
	a, smtp, clk := outageApp(t)
	c := a.client(t)
	res := c.postForm("/signup", url.Values{"name": {annName}, "email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		t.Fatalf("sign up during the outage: got %d to %q, want 303 to /profile; body %s", res.status, res.header.Get("Location"), res.body)
	}
	checkFlash(t, c, res, "Welcome to Roster! A link to confirm your email is on its way to "+annEmail+".")

	waitMail(t, a, annEmail, "Confirm your email", "failing", failing)
	profile := c.get("/profile").body
	if want := html.EscapeString("We could not deliver the confirmation link yet, we keep trying."); !strings.Contains(profile, want) {
		t.Errorf("the profile during the outage: missing %q", want)
	}

	mailBack(t, a, smtp, clk, time.Minute)
	m := smtp.Wait(t, annEmail, "Confirm your email")
	row := waitMail(t, a, annEmail, "Confirm your email", "sent", sent)
	onceOnly(t, a, smtp, annEmail, "Confirm your email")
	path := mailedPath(t, m)
	if strings.Contains(row.Body, path) || !strings.Contains(row.Body, "link removed after delivery") {
		t.Errorf("the outbox row once sent still holds the link: %q", row.Body)
	}
	if res := c.confirmLink(path); res.status != http.StatusOK || !strings.Contains(res.body, "your email address is confirmed") {
		t.Fatalf("follow the link: got %d; body:\n%s", res.status, res.body)
	}
	if u, err := a.store.UserByEmail(context.Background(), annEmail); err != nil || !u.EmailVerified() {
		t.Errorf("after the link: verified %v, %v; want verified", u.EmailVerified(), err)
	}
}

// TestSignupMailGoesAtOnce: with the mail server up, the confirmation goes
// as soon as the sign-up commits: the handler wakes the worker, which
// would otherwise look for work only every hour here.
func TestSignupMailGoesAtOnce(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	a := newApp(t, func(ac *appConfig) { ac.smtp, ac.poll = smtp, time.Hour })
	a.client(t).signup(annName, annEmail, annPassword)
	smtp.Wait(t, annEmail, "Confirm your email")
}

// TestResetDuringMailOutage: a reset asked for while the mail server is
// down answers as usual and arrives when it is back, two hours later,
// longer than the link's hour: the link still works, since its hour
// counts from the delivery. A second request during the outage replaced
// the first: one mail arrives, with the link that works.
func TestResetDuringMailOutage(t *testing.T) {
	t.Parallel()
	a, smtp, clk := outageApp(t)
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	for range 2 {
		res := c.postForm("/password/forgot", url.Values{"email": {annEmail}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("ask for a reset during the outage: got %d, want 303; body %s", res.status, res.body)
		}
		checkFlash(t, c, res, "If a profile exists for "+annEmail+", a link to choose a new password is on its way to it. The link works for one hour after it is sent.")
		waitMail(t, a, annEmail, "Reset your Roster password", "failing", failing)
	}

	mailBack(t, a, smtp, clk, 2*time.Hour)
	m := smtp.Wait(t, annEmail, "Reset your Roster password")
	waitMail(t, a, annEmail, "Reset your Roster password", "sent", sent)
	onceOnly(t, a, smtp, annEmail, "Reset your Roster password")
	path := mailedPath(t, m)
	if res := c.get(path); res.status != http.StatusOK {
		t.Fatalf("GET the reset link 2 h after asking: got %d, want 200", res.status)
	}
	res := c.postForm(path, url.Values{"new_password": {newPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Fatalf("reset: got %d to %q, want 303 to /login; body %s", res.status, res.header.Get("Location"), res.body)
	}
	a.client(t).login(annEmail, newPassword)
}

// TestInviteDuringMailOutage: an invite and its resend during an outage
// answer as usual; the Manage console says the mail is retried, instead
// of an expiry; once the server is back the newest link arrives, once,
// and works.
func TestInviteDuringMailOutage(t *testing.T) {
	t.Parallel()
	a, smtp, clk := outageApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acc := a.seedAccount(t, ann, "Acme")
	c := a.client(t)
	c.adopt(ann.ID)
	manage := "/accounts/" + itoa(acc.ID) + "/manage"
	const carol = "carol@example.com"
	res := c.postForm("/accounts/"+itoa(acc.ID)+"/invites", url.Values{"email": {carol}, "role": {db.RoleNormal}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("invite during the outage: got %d, want 303; body %s", res.status, res.body)
	}
	checkFlash(t, c, res, "An invite is on its way to "+carol+".")
	waitMail(t, a, carol, "You are invited", "failing", failing)
	if page := c.get(manage).body; !strings.Contains(page, `<span class="badge mail-state">delivery failed, retrying</span>`) {
		t.Errorf("the Manage console during the outage: no \"delivery failed, retrying\" by the invite")
	}

	invites, _, err := a.store.PendingInvites(context.Background(), acc.ID, 10, 0)
	if err != nil || len(invites) != 1 {
		t.Fatalf("pending invites: %v, %v", invites, err)
	}
	res = c.postForm("/accounts/"+itoa(acc.ID)+"/invites/"+itoa(invites[0].ID)+"/resend", nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("resend during the outage: got %d, want 303; body %s", res.status, res.body)
	}
	checkFlash(t, c, res, "A new link is on its way to "+carol+".")
	waitMail(t, a, carol, "You are invited", "failing", failing)

	mailBack(t, a, smtp, clk, time.Hour)
	m := smtp.Wait(t, carol, "You are invited")
	waitMail(t, a, carol, "You are invited", "sent", sent)
	onceOnly(t, a, smtp, carol, "You are invited")
	if page := c.get(manage).body; strings.Contains(page, `badge mail-state`) {
		t.Errorf("the Manage console once the invite went: still a mail state")
	}
	if res := a.client(t).get(mailedPath(t, m)); res.status != http.StatusOK {
		t.Errorf("GET the invite link: got %d, want 200", res.status)
	}
}

// TestEmailChangeDuringMailOutage: the pending email change says its link
// is not delivered yet and is retried; once the mail server is back the
// link arrives, once, and makes the change.
func TestEmailChangeDuringMailOutage(t *testing.T) {
	t.Parallel()
	a, smtp, clk := outageApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	const newEmail = "ann.new@example.com"
	res := c.postForm("/profile/email", url.Values{"new_email": {newEmail}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("ask for the change during the outage: got %d, want 303; body %s", res.status, res.body)
	}
	checkFlash(t, c, res, "A link is on its way to "+newEmail+". Your account email changes when you follow it; until then it stays "+annEmail+
		". Stay logged in here until then: logging out this session cancels the change.")
	waitMail(t, a, newEmail, "Confirm your new Roster account email", "failing", failing)
	if want := html.EscapeString("We could not deliver the link to " + newEmail + " yet, we keep trying."); !strings.Contains(c.get("/profile").body, want) {
		t.Errorf("the profile during the outage: missing %q", want)
	}

	mailBack(t, a, smtp, clk, time.Minute)
	m := smtp.Wait(t, newEmail, "Confirm your new Roster account email")
	waitMail(t, a, newEmail, "Confirm your new Roster account email", "sent", sent)
	onceOnly(t, a, smtp, newEmail, "Confirm your new Roster account email")
	if want := html.EscapeString("Waiting for you to follow the link sent to " + newEmail + "."); !strings.Contains(c.get("/profile").body, want) {
		t.Errorf("the profile once the link went: missing %q", want)
	}
	if res := c.confirmLink(mailedPath(t, m)); res.status != http.StatusOK || !strings.Contains(res.body, "Your new account email is confirmed") {
		t.Fatalf("follow the link: got %d; body:\n%s", res.status, res.body)
	}
}
