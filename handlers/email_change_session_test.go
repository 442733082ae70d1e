package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEmailChangeEndsWithLogOutOthers: Mallory, holding a session of
// Ann's, asks to move Ann's account email to her own address; Ann logs
// out every other session. The change was Mallory's session's: it ends
// with it, and her confirmation link no longer makes the address hers
// (review 3, finding 2).
func TestEmailChangeEndsWithLogOutOthers(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	mallory := a.client(t)
	mallory.adopt(ann.ID)
	path := emailChangeLink(t, a, mallory, "mallory@evil.example")

	owner := a.client(t)
	owner.adopt(ann.ID)
	if res := owner.postForm("/profile/sessions/revoke-others", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("Ann logs out her other sessions: got %d; body:\n%.1500s", res.status, res.body)
	}
	if page := mallory.get("/profile"); page.status == http.StatusOK {
		t.Fatal("Mallory's session survived: the test's premise is wrong")
	}
	res := a.client(t).postForm(path, nil)
	if u, err := a.store.UserByID(context.Background(), ann.ID); err == nil && u.Email == "mallory@evil.example" {
		t.Errorf("after Ann logged out every other session, Mallory's email change link (status %d) made mallory@evil.example Ann's account email", res.status)
	}
	if res := a.client(t).get(path); res.status != http.StatusNotFound {
		t.Errorf("GET Mallory's link after her session ended: got %d, want 404", res.status)
	}
}

// TestEmailChangeEndsWithRevokedSession: the same through "Log out" of
// that one session in the session list.
func TestEmailChangeEndsWithRevokedSession(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	owner := a.client(t)
	owner.adopt(ann.ID)
	mallory := a.client(t)
	mallory.adopt(ann.ID)
	path := emailChangeLink(t, a, mallory, "mallory@evil.example")

	ids := owner.otherSessionIDs()
	if len(ids) != 1 {
		t.Fatalf("Ann's profile: got %d other sessions, want 1", len(ids))
	}
	if res := owner.postForm("/profile/sessions/"+ids[0]+"/revoke", nil); res.status != http.StatusSeeOther {
		t.Fatalf("Ann logs out Mallory's session: got %d", res.status)
	}
	if !strings.Contains(owner.get("/profile").body, annEmail) || strings.Contains(owner.get("/profile").body, "mallory@evil.example") {
		t.Error("Ann's profile still shows the pending change to mallory@evil.example after its session ended")
	}
	res := a.client(t).postForm(path, nil)
	if res.status != http.StatusNotFound {
		t.Errorf("POST Mallory's link after her session ended: got %d, want 404", res.status)
	}
	if u := a.userByEmail(t, annEmail); u.ID != ann.ID {
		t.Error("the account email moved after the session that asked was logged out")
	}
}

// TestEmailChangeStillConfirms: in the normal case the person who asked
// follows the link while signed in, and the address changes.
func TestEmailChangeStillConfirms(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	if res := c.confirmLink(emailChangeLink(t, a, c, "ann.new@example.com")); res.status != http.StatusOK {
		t.Fatalf("confirm: got %d; body:\n%.1500s", res.status, res.body)
	}
	if u := a.userByEmail(t, "ann.new@example.com"); u.ID != ann.ID {
		t.Error("the account email did not change")
	}
}

// TestEmailChangeNoticeToOldAddress: asking for a change mails the old
// address at once, naming the new address, when and from where, with a
// link that cancels the change. The link's page only asks (a GET writes
// nothing, and sends no Referer); its button cancels without a session,
// writes the audit entry, and the confirmation link then stops working.
func TestEmailChangeNoticeToOldAddress(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	mallory := a.client(t)
	mallory.adopt(ann.ID)
	path := emailChangeLink(t, a, mallory, "mallory@evil.example")

	msg := a.mail.waitFor(t, annEmail, "Security notice: a change of your account email was asked for")
	for _, want := range []string{"mallory@evil.example", "When: ", "From: IP address "} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the notice to the old address: missing %q; body:\n%s", want, msg.Text)
		}
	}
	cancel := strings.TrimPrefix(link(t, msg, "http://roster.test/email-change/cancel/"), "http://roster.test")

	ann2 := a.client(t) // Ann, locked out of her sessions
	page := ann2.get(cancel)
	if page.status != http.StatusOK || !strings.Contains(page.body, `<form method="post" action="`+cancel+`"`) || !strings.Contains(page.body, "mallory@evil.example") {
		t.Fatalf("GET the cancel link: got %d, want 200 with a form posting to it; body:\n%.2000s", page.status, page.body)
	}
	if p := page.header.Get("Referrer-Policy"); p != "no-referrer" {
		t.Errorf("GET the cancel link: Referrer-Policy %q, want no-referrer", p)
	}
	if a.client(t).get(path).status != http.StatusOK {
		t.Fatal("opening the cancel link's page cancelled the change: a GET must not write")
	}
	res := ann2.postForm(cancel, nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, "cancelled") {
		t.Fatalf("POST the cancel link: got %d, want 200 saying the change is cancelled; body:\n%.2000s", res.status, res.body)
	}
	if res := a.client(t).postForm(path, nil); res.status != http.StatusNotFound {
		t.Errorf("POST the confirmation link after the cancel: got %d, want 404", res.status)
	}
	if u := a.userByEmail(t, annEmail); u.ID != ann.ID {
		t.Error("the account email moved after the cancel")
	}
	if res := ann2.postForm(cancel, nil); res.status != http.StatusNotFound {
		t.Errorf("POST the cancel link again: got %d, want 404", res.status)
	}
	// The session that asked is logged out: it cannot ask again at once.
	if page := mallory.get("/profile"); page.status == http.StatusOK {
		t.Error("the session that asked for the stopped change is still logged in")
	}
	owner := a.client(t)
	owner.adopt(ann.ID)
	if body := owner.get("/profile/activity").body; !strings.Contains(body, "Cancelled the change of the account email to mallory@evil.example, from the link mailed to the old address; the session that asked was logged out") {
		t.Error("Security activity: no entry for the change cancelled from the link")
	}
}
