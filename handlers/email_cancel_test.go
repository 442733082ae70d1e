package handlers_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCancelEmailChange: the Cancel button next to the pending change
// withdraws it, in its section; the link mailed to the new address then
// answers 404 to GET and POST, and the account email stays.
func TestCancelEmailChange(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	path := emailChangeLink(t, a, c, "ann.new@example.com")
	profile := c.get("/profile").body
	for _, want := range []string{`<p class="muted" id="pending-email-status">`,
		`<form method="post" action="/profile/email/cancel" hx-post="/profile/email/cancel">`, "Cancel the change to ann.new@example.com"} {
		if !strings.Contains(profile, want) {
			t.Errorf("GET /profile with a pending change: missing %q", want)
		}
	}

	res := c.postHTMX("/profile/email/cancel", nil)
	want := html.EscapeString("The change to ann.new@example.com is cancelled: the link we sent there no longer works. Your account email stays " + annEmail + ".")
	if res.status != http.StatusOK || !strings.Contains(res.body, `<section id="contact-info"`) || !strings.Contains(res.body, want) {
		t.Fatalf("cancel with htmx: got %d, want 200 with #contact-info and %q; body:\n%s", res.status, want, res.body)
	}
	if strings.Contains(res.body, "pending-email-status") || strings.Contains(res.body, "/profile/email/cancel") {
		t.Error("the section after cancelling still shows the pending change")
	}
	if res := a.client(t).get(path); res.status != http.StatusNotFound {
		t.Errorf("GET the cancelled link: got %d, want 404", res.status)
	}
	other := a.client(t)
	if res := other.postForm(path, nil); res.status != http.StatusNotFound {
		t.Errorf("POST the cancelled link: got %d, want 404", res.status)
	}
	if u := a.userByEmail(t, annEmail); u.ID != ann.ID {
		t.Errorf("the account email moved after the cancelled change")
	}
	if body := c.get("/profile/activity").body; !strings.Contains(body, "Cancelled the change of the account email to ann.new@example.com") {
		t.Error("Security activity: no entry for the cancelled change")
	}

	// Nothing left to cancel: the section says so.
	res = c.postHTMX("/profile/email/cancel", nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "There is no email change waiting to be cancelled.") {
		t.Errorf("cancel again: got %d, want 409 with the message; body:\n%s", res.status, res.body)
	}

	// Without JavaScript: back to the profile with the message.
	emailChangeLink(t, a, c, "ann.other@example.com")
	res = c.postForm("/profile/email/cancel", nil)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/profile") {
		t.Errorf("plain cancel: got %d to %q, want 303 to the profile", res.status, res.header.Get("Location"))
	}
}

// TestCancelEmailChangeNeedsCSRF: a cross-site form cannot withdraw the
// change.
func TestCancelEmailChangeNeedsCSRF(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	path := emailChangeLink(t, a, c, "ann.new@example.com")
	c.csrf()
	if res := c.do(http.MethodPost, "/profile/email/cancel", url.Values{}, nil); res.status != http.StatusForbidden {
		t.Errorf("cancel without the CSRF token: got %d, want 403", res.status)
	}
	if res := a.client(t).get(path); res.status != http.StatusOK {
		t.Errorf("GET the link after the refused cancel: got %d, want 200", res.status)
	}
}

// TestCancelEmailChangeOwnOnly: the route takes no id; another user who
// posts it cancels only their own (none), and Ann's link still works.
func TestCancelEmailChangeOwnOnly(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, bobName, bobEmail, bobPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	path := emailChangeLink(t, a, c, "ann.new@example.com")
	b := a.client(t)
	b.adopt(bob.ID)
	if res := b.postHTMX("/profile/email/cancel", nil); res.status != http.StatusConflict {
		t.Errorf("Bob cancels with no change of his own: got %d, want 409", res.status)
	}
	if res := a.client(t).get(path); res.status != http.StatusOK {
		t.Errorf("GET Ann's link after Bob's cancel: got %d, want 200", res.status)
	}
	if res := a.client(t).postForm("/profile/email/cancel", nil); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("cancel signed out: got %d to %q, want a redirect to the login", res.status, res.header.Get("Location"))
	}
	if res := a.client(t).confirmLink(path); res.status != http.StatusOK {
		t.Errorf("Ann's link after the attempts: got %d, want 200", res.status)
	}
}
