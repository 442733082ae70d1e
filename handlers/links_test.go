package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Links mailed for one state of a profile must not outlive it (issue 13,
// point 8, and what the same class allows around it).

// emailChangeLink asks, as c, to make email the account email and returns
// the path of the link mailed to it.
func emailChangeLink(t *testing.T, a *app, c *client, email string) string {
	t.Helper()
	c.reauthenticate() // changing the email is a sensitive action
	if res := c.postHTMX("/profile/email", url.Values{"new_email": {email}}); res.status != http.StatusOK {
		t.Fatalf("ask to change the email to %s: got %d; body %s", email, res.status, res.body)
	}
	msg := a.mail.waitFor(t, email, "Confirm your new Roster account email")
	return strings.TrimPrefix(link(t, msg, "http://roster.test/email-change/"), "http://roster.test")
}

// TestEmailChangeEndsResetLinks: a reset link mailed to the old address
// stops working once the account email changes: whoever reads the old
// mailbox (a former employer, an expired domain) no longer holds the way
// in.
func TestEmailChangeEndsResetLinks(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	c.adopt(ann.ID)
	token := resetToken(t, a, annEmail)
	if res := a.client(t).confirmLink(emailChangeLink(t, a, c, "ann.new@example.com")); res.status != http.StatusOK {
		t.Fatalf("confirm the new email: got %d; body %s", res.status, res.body)
	}
	old := a.client(t)
	if res := old.get("/password/reset/" + token); res.status != http.StatusNotFound {
		t.Errorf("GET the old address's reset link: got %d, want 404", res.status)
	}
	old.postForm("/password/reset/"+token, url.Values{"new_password": {newPassword}})
	if res := a.client(t).postForm("/login", url.Values{"email": {"ann.new@example.com"}, "password": {newPassword}}); res.status == http.StatusSeeOther {
		t.Fatal("the old address's reset link set the password after the email changed")
	}
	a.client(t).login("ann.new@example.com", annPassword)
}

// TestResetEndsPendingEmailChange: Mallory, with a session she should not
// have, asks to move Ann's account email to her own address; Ann resets her
// password, which signs Mallory out; the link in Mallory's mailbox must not
// then hand her the profile.
func TestResetEndsPendingEmailChange(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	mallory := a.client(t)
	mallory.adopt(ann.ID)
	path := emailChangeLink(t, a, mallory, "mallory@evil.example")
	resetPassword(t, a, annEmail, newPassword)
	if res := mallory.get(path); res.status != http.StatusNotFound {
		t.Errorf("GET Mallory's email change link after Ann's reset: got %d, want 404", res.status)
	}
	res := mallory.postForm(path, nil)
	if u := a.userByEmail(t, annEmail); u.ID != ann.ID {
		t.Fatalf("Ann's profile lost her address (link answered %d)", res.status)
	}
	if res.status != http.StatusNotFound {
		t.Errorf("confirm Mallory's email change link after Ann's reset: got %d, want 404", res.status)
	}
}
