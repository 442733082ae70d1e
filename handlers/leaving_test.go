package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestDownloadMyData: the profile's "Download my data" is a JSON file of
// what Roster holds about the person, without their password's hash or
// their session's cookie; signed out it is the sign-in page.
func TestDownloadMyData(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	a.seedAccount(t, ann, "Acme")
	c := a.client(t)
	c.adopt(ann.ID)
	if page := c.get("/profile").body; !strings.Contains(page, `<a href="/profile/data" download>Download my data</a>`) {
		t.Errorf("the profile has no Download my data link")
	}
	res := c.get("/profile/data")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") ||
		!strings.HasPrefix(res.header.Get("Content-Disposition"), `attachment; filename="roster-data-`) {
		t.Fatalf("GET /profile/data: got %d %q %q, want a JSON attachment", res.status, res.header.Get("Content-Type"), res.header.Get("Content-Disposition"))
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(res.body), &data); err != nil {
		t.Fatalf("GET /profile/data: not JSON: %v", err)
	}
	profile, _ := data["profile"].(map[string]any)
	if profile["email"] != annEmail || profile["name"] != annName {
		t.Errorf("profile section: got %v, want Ann", profile)
	}
	if m, _ := data["memberships"].([]any); len(m) != 1 {
		t.Errorf("memberships: got %v, want Acme", data["memberships"])
	}
	if s, _ := data["sessions"].([]any); len(s) != 1 {
		t.Errorf("sessions: got %v, want this one", data["sessions"])
	}
	u, _ := a.store.UserByID(context.Background(), ann.ID)
	for name, secret := range map[string]string{"password hash": u.PasswordHash, "session cookie": c.cookie(sessCookie), "CSRF token": c.cookie(csrfCookie)} {
		if strings.Contains(res.body, secret) {
			t.Errorf("the export holds the %s", name)
		}
	}
	if res := a.client(t).get("/profile/data"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("signed out: got %d to %q, want the sign-in page", res.status, res.header.Get("Location"))
	}
}

// TestDeleteProfile: Delete my profile asks to re-authenticate, then for
// the email typed out; while the person owns an account it is refused,
// naming it and the way out; then the Stripe customer goes, the profile
// with it, and the browser is signed out.
func TestDeleteProfile(t *testing.T) {
	t.Parallel()
	stripe := newFakeStripe()
	a, c, ann := cardsClient(t, withCards(stripe))
	ctx := context.Background()
	c.signInOnly(ann.ID) // a new session: not re-authenticated
	ann = a.verify(t, ann)
	acme := a.seedAccount(t, ann, "Acme")
	customer, err := stripe.CreateCustomer(ctx, annEmail, annName, ann.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.SetStripeCustomerID(ctx, ann.ID, customer); err != nil {
		t.Fatal(err)
	}
	gone := func() bool {
		_, err := a.store.UserByID(ctx, ann.ID)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			t.Fatal(err)
		}
		return errors.Is(err, db.ErrNotFound)
	}

	res := c.postHTMX("/profile/delete", url.Values{"confirm_email": {annEmail}})
	if !strings.Contains(res.body, `name="sudo_password"`) || gone() {
		t.Fatalf("without re-authentication: got %d, want the prompt and Ann kept", res.status)
	}
	form := url.Values{"confirm_email": {annEmail}, "sudo_password": {annPassword}}
	res = c.postHTMX("/profile/delete", form)
	if res.status != http.StatusConflict || !strings.Contains(res.body, "You own 1 account: transfer the ownership to another Admin, or delete the account, in its Manage console first.") ||
		!strings.Contains(res.body, `<a href="/accounts/`+itoa(acme.ID)+`/manage#danger-zone">Acme</a>`) || gone() {
		t.Fatalf("while owning Acme: got %d, want 409 naming Acme; body:\n%s", res.status, res.body)
	}
	if err := a.store.DeleteAccount(ctx, acme.ID, ann.ID, db.Event{Kind: db.EventAccountDeleted}); err != nil {
		t.Fatal(err)
	}
	res = c.postHTMX("/profile/delete", url.Values{"confirm_email": {"someone@example.com"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError("Type your email, "+annEmail+", exactly as shown.")) || gone() {
		t.Fatalf("another email typed: got %d, want 422 by the field", res.status)
	}

	stripe.mu.Lock()
	stripe.down = true
	stripe.mu.Unlock()
	if res := c.postForm("/profile/delete", url.Values{"confirm_email": {annEmail}}); res.status != http.StatusServiceUnavailable || gone() {
		t.Fatalf("Stripe down: got %d, want 503 and Ann kept", res.status)
	}
	stripe.mu.Lock()
	stripe.down = false
	stripe.mu.Unlock()
	res = c.postForm("/profile/delete", url.Values{"confirm_email": {"Ann@Example.com "}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login" {
		t.Fatalf("delete: got %d to %q, want 303 to /login; body %s", res.status, res.header.Get("Location"), res.body)
	}
	checkFlash(t, c, res, "Your profile is deleted. Thank you for using Roster.")
	if !gone() {
		t.Fatal("Ann's profile is still there")
	}
	stripe.mu.Lock()
	if len(stripe.deleted) != 1 || stripe.deleted[0] != customer {
		t.Errorf("Stripe customers deleted: %v, want %s", stripe.deleted, customer)
	}
	stripe.mu.Unlock()
	if c.signedIn() {
		t.Error("the browser is still signed in")
	}
}

// TestDeleteProfileStripeMock deletes a profile's customer through the
// real stripe-go client against stripe-mock.
func TestDeleteProfileStripeMock(t *testing.T) {
	t.Parallel()
	a, c, ann := cardsClient(t, withCards(stripeMockCards(t)))
	if _, err := a.store.SetStripeCustomerID(context.Background(), ann.ID, "cus_mock"); err != nil {
		t.Fatal(err)
	}
	res := c.postForm("/profile/delete", url.Values{"confirm_email": {annEmail}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("delete: got %d; body %s", res.status, res.body)
	}
	if _, err := a.store.UserByID(context.Background(), ann.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Ann after the deletion: %v, want gone", err)
	}
}
