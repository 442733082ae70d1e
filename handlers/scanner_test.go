package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// Mail scanners and link previewers (Outlook Safe Links, Slack unfurls,
// antivirus gateways) open the links in a mail before the person does: a
// plain GET, no cookies, maybe a HEAD first. A link that acts on that GET
// lets whoever caused the mail decide for the address's owner (issue 13,
// pre-hijack).

const victimEmail = "ann@corp.example"

// scan opens path as a scanner would: a fresh client without cookies,
// HEAD then GET, twice (some open each link more than once).
func scan(t *testing.T, a *app, path string) {
	t.Helper()
	scanner := a.client(t)
	for range 2 {
		scanner.do(http.MethodHead, path, nil, nil)
		scanner.get(path)
	}
}

// TestScannerOpensVerifyLink: Mallory signs up with Ann's address and a
// password she knows; the verification mail goes to Ann, whose mail
// gateway opens the link. The address must stay unconfirmed (a verified
// profile for Ann's address, with Mallory's password, would accept
// invites sent to Ann and link Ann's SSO logins by email), and the link
// must still work for Ann.
func TestScannerOpensVerifyLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	mallory := a.client(t)
	mallory.signup("Mallory", victimEmail, bobPassword)
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, victimEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")

	scan(t, a, path)
	if u := a.userByEmail(t, victimEmail); u.EmailVerified() {
		t.Fatalf("a scanner's GET of %s confirmed %s on the profile Mallory made (email_verified_at %v)", path, victimEmail, u.EmailVerifiedAt)
	}
	if !mallory.signedIn() {
		t.Error("a scanner's GET signed Mallory's browser out: the GET changed something")
	}

	// The page Ann sees, not signed in to the profile, warns her first;
	// the confirm button is there, one click away.
	ann := a.client(t)
	res := ann.get(path)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s in Ann's browser: got %d; body:\n%s", path, res.status, res.body)
	}
	for _, want := range []string{
		"Confirm " + victimEmail + " for your Roster profile?",
		"If you did not sign up for Roster, do not confirm",
		`<form method="post" action="` + path + `"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("confirmation page: missing %q; body:\n%s", want, res.body)
		}
	}
	if u := a.userByEmail(t, victimEmail); u.EmailVerified() {
		t.Fatal("GET of the confirmation page confirmed the address")
	}
	// A POST without the page's CSRF token (a cross-site form, or a scanner
	// that submits what it finds) does nothing.
	if res := a.client(t).do(http.MethodPost, path, nil, nil); res.status != http.StatusForbidden {
		t.Errorf("POST %s without a CSRF token: got %d, want 403", path, res.status)
	}
	if u := a.userByEmail(t, victimEmail); u.EmailVerified() {
		t.Fatal("a POST without a CSRF token confirmed the address")
	}
	res = ann.confirmLink(path)
	if res.status != http.StatusOK || !strings.Contains(res.body, "If you did not make this profile yourself, choose a new password now") {
		t.Fatalf("Ann confirms: got %d; body:\n%s", res.status, res.body)
	}
	if u := a.userByEmail(t, victimEmail); !u.EmailVerified() {
		t.Error("after Ann confirmed: the address is still unconfirmed")
	}
	if mallory.signedIn() {
		t.Error("after Ann confirmed: Mallory's session is still logged in")
	}
	if res := ann.get(path); res.status != http.StatusNotFound {
		t.Errorf("GET %s after it was used: got %d, want 404", path, res.status)
	}
}

// TestScannerOpensEmailChangeLink: Mallory asks to move her own profile to
// Ann's address; Ann's mail gateway opens the confirmation link. Mallory's
// profile must keep its address, and Ann's address must stay free.
func TestScannerOpensEmailChangeLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	mallory := a.client(t)
	mallory.signup("Mallory", bobEmail, bobPassword)
	id := a.userByEmail(t, bobEmail).ID
	path := emailChangeLink(t, a, mallory, victimEmail)

	scan(t, a, path)
	if u := a.userByID(t, id); u.Email != bobEmail {
		t.Fatalf("a scanner's GET of %s moved Mallory's profile to %s", path, u.Email)
	}
	if !mallory.signedIn() {
		t.Error("a scanner's GET signed Mallory's browser out: the GET changed something")
	}

	ann := a.client(t)
	res := ann.get(path)
	for _, want := range []string{
		"Confirm " + victimEmail + " for your Roster profile?",
		"If you did not sign up for Roster, do not confirm",
		`<form method="post" action="` + path + `"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("confirmation page: missing %q; body:\n%s", want, res.body)
		}
	}
	if u := a.userByID(t, id); u.Email != bobEmail {
		t.Fatal("GET of the confirmation page changed the account email")
	}
	if res := a.client(t).do(http.MethodPost, path, nil, nil); res.status != http.StatusForbidden {
		t.Errorf("POST %s without a CSRF token: got %d, want 403", path, res.status)
	}
	// Mallory herself, who asked, confirms in one click.
	res = mallory.confirmLink(path)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Your new account email is confirmed") {
		t.Fatalf("Mallory confirms: got %d; body:\n%s", res.status, res.body)
	}
	if u := a.userByID(t, id); u.Email != victimEmail {
		t.Errorf("after the confirmation: account email %s, want %s", u.Email, victimEmail)
	}
}

// TestScannerOpensEveryMailedLink is the class: every kind of mail Roster
// sends with a link (address verification, email change, password reset,
// invite, contact method code, security notices) goes out, and a scanner
// opens every link in every one, following redirects. Nothing a link
// stands for may have happened.
func TestScannerOpensEveryMailedLink(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	// Mallory signs up with Ann's address: a verification link to Ann.
	a.client(t).signup("Mallory", victimEmail, bobPassword)
	// Bob asks to move his profile to a new address, resets his password
	// (a reset link, and a notice), invites Dave and adds Erin's address as
	// a contact method (a code link).
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	bc := a.client(t)
	bc.adopt(bob.ID)
	emailChangeLink(t, a, bc, "bob.new@example.com")
	resetToken(t, a, bobEmail)
	acc := a.seedAccount(t, bob, "Acme")
	if res := bc.postForm("/accounts/"+strconv.FormatInt(acc.ID, 10)+"/invites", url.Values{"email": {"dave@example.com"}, "role": {db.RoleNormal}}); res.status != http.StatusSeeOther {
		t.Fatalf("invite Dave: got %d; body %s", res.status, res.body)
	}
	if res := bc.postHTMX("/profile/contacts", url.Values{"kind": {"email"}, "address": {"erin@example.com"}, "label": {"Erin"}}); res.status != http.StatusOK {
		t.Fatalf("add Erin's address: got %d; body %s", res.status, res.body)
	}
	for _, to := range []string{victimEmail, "bob.new@example.com", "dave@example.com", "erin@example.com"} {
		a.mail.waitFor(t, to, "")
	}

	a.mail.mu.Lock()
	msgs := slices.Clone(a.mail.msgs)
	a.mail.mu.Unlock()
	kinds := map[string]bool{}
	for _, msg := range msgs {
		for _, u := range regexp.MustCompile(`http://roster\.test/\S+`).FindAllString(msg.Text, -1) {
			path := strings.TrimPrefix(u, "http://roster.test")
			kinds[strings.SplitN(path[1:], "/", 2)[0]] = true
			scanFollowing(t, a, path)
		}
	}
	for _, k := range []string{"verify", "email-change", "password", "invites", "profile"} {
		if !kinds[k] {
			t.Errorf("no mailed link under /%s/ was scanned (mails: %d)", k, len(msgs))
		}
	}

	if u := a.userByEmail(t, victimEmail); u.EmailVerified() {
		t.Error("the verification link: the address was confirmed")
	}
	if u := a.userByID(t, bob.ID); u.Email != bobEmail {
		t.Errorf("the email change link: Bob's account email is %s", u.Email)
	}
	if pending, err := a.store.PendingEmailChange(ctx, bob.ID); err != nil || pending.Email != "bob.new@example.com" {
		t.Errorf("the email change link: pending change %q, %v; want it still waiting", pending.Email, err)
	}
	resetPath := strings.TrimPrefix(link(t, a.mail.waitFor(t, bobEmail, "Reset"), "http://roster.test/password/reset/"), "http://roster.test")
	if res := a.client(t).get(resetPath); res.status != http.StatusOK {
		t.Errorf("the reset link after the scan: got %d, want it still working", res.status)
	}
	if a.client(t).postForm("/login", url.Values{"email": {a.userByID(t, bob.ID).Email}, "password": {bobPassword}}).status != http.StatusSeeOther {
		t.Error("the reset link: Bob's password changed")
	}
	if invites, _, err := a.store.PendingInvites(ctx, acc.ID, 10, 0); err != nil || len(invites) != 1 {
		t.Errorf("the invite link: pending invites %v, %v; want Dave's still pending", invites, err)
	}
	for _, m := range a.methods(t, bob) {
		if m.Address == "erin@example.com" && m.Verified() {
			t.Error("the contact code link: Erin's address was verified on Bob's profile")
		}
	}
	if !bc.signedIn() {
		t.Error("Bob's browser was logged out by a scanner")
	}
}

// scanFollowing opens path as scan does, following redirects on this site.
func scanFollowing(t *testing.T, a *app, path string) {
	t.Helper()
	scanner := a.client(t)
	for range 2 {
		p := path
		for hop := 0; hop < 5; hop++ {
			scanner.do(http.MethodHead, p, nil, nil)
			res := scanner.get(p)
			loc := res.header.Get("Location")
			if res.status < 300 || res.status >= 400 || !strings.HasPrefix(loc, "/") {
				break
			}
			p = loc
		}
	}
}

// TestConfirmLinkPageWarnsStrangers: the browser signed in to the
// profile gets the question and a plain button; any other browser (signed
// out, or signed in to another profile) is warned first, and its button is
// secondary.
func TestConfirmLinkPageWarnsStrangers(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.client(t)
	ann.signup(annName, annEmail, annPassword)
	verifyPath := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	bob := a.client(t)
	bob.adopt(a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword)).ID)
	changePath := emailChangeLink(t, a, bob, "bob.new@example.com")
	const warning = "If you did not sign up for Roster, do not confirm: someone may have used your address."
	for _, tc := range []struct {
		name     string
		c        *client
		path     string
		stranger bool
	}{
		{"verify, the profile's browser", ann, verifyPath, false},
		{"verify, logged out", a.client(t), verifyPath, true},
		{"verify, another profile", bob, verifyPath, true},
		{"email change, the profile's browser", bob, changePath, false},
		{"email change, logged out", a.client(t), changePath, true},
		{"email change, another profile", ann, changePath, true},
	} {
		res := tc.c.get(tc.path)
		if res.status != http.StatusOK {
			t.Errorf("%s: got %d; body:\n%s", tc.name, res.status, res.body)
			continue
		}
		if got := strings.Contains(res.body, warning); got != tc.stranger {
			t.Errorf("%s: warning shown %v, want %v; body:\n%s", tc.name, got, tc.stranger, res.body)
		}
		if got := strings.Contains(res.body, `<button type="submit" class="outline">Confirm `); got != tc.stranger {
			t.Errorf("%s: secondary button %v, want %v; body:\n%s", tc.name, got, tc.stranger, res.body)
		}
	}
	if u := a.userByEmail(t, annEmail); u.EmailVerified() {
		t.Error("showing the pages confirmed Ann's address")
	}
	if u := a.userByEmail(t, bobEmail); u.Email != bobEmail {
		t.Error("showing the pages changed Bob's address")
	}
}

// TestConfirmLinkUnknown: an unknown or spent link answers 404 on the GET
// already, with no form to post.
func TestConfirmLinkUnknown(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for _, path := range []string{"/verify/not-a-token", "/email-change/not-a-token"} {
		res := a.client(t).get(path)
		if res.status != http.StatusNotFound || !strings.Contains(res.body, "This link does not work") || strings.Contains(res.body, `method="post" action="`+path) {
			t.Errorf("GET %s: got %d, want 404 saying the link does not work, without a form; body:\n%s", path, res.status, res.body)
		}
		if res := a.client(t).postForm(path, nil); res.status != http.StatusNotFound {
			t.Errorf("POST %s: got %d, want 404", path, res.status)
		}
	}
}

func (a *app) userByID(t *testing.T, id int64) db.User {
	t.Helper()
	u, err := a.store.UserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("user %d: %v", id, err)
	}
	return u
}

// confirmLink follows an emailed confirmation link as a person does: GET
// the page, then post its form (with the CSRF token) by its button.
func (c *client) confirmLink(path string) *response {
	c.t.Helper()
	page := c.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, `<form method="post" action="`+path+`"`) {
		c.t.Fatalf("GET %s: got %d, want 200 with a form posting to it; body:\n%s", path, page.status, page.body)
	}
	return c.postForm(path, nil)
}
