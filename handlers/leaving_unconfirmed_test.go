package handlers_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An attack found by the security review of issue 19, kept as a test.

// TestUnverifiedEmailNoInvites: someone signs up with an address they do
// not own (unconfirmed) that an account invited: Download my data must not
// name the invite, and Delete my profile must not delete it.
func TestUnverifiedEmailNoInvites(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	_, token := w.a.seedInvite(t, w.acc, w.ann, "victim@corp.example", "admin")
	sum := sha256.Sum256([]byte(token))
	mallory := w.a.seedUser(t, "Mallory", "victim@corp.example", "mallory-password-1") // unconfirmed
	c := w.a.client(t)
	c.adopt(mallory.ID)
	data := c.get("/profile/data")
	if data.status != http.StatusOK {
		t.Fatalf("GET /profile/data: got %d", data.status)
	}
	if strings.Contains(data.body, "Acme") {
		t.Errorf("export of an unconfirmed address names the invite to it: %s", data.body)
	}
	c.postForm("/profile/delete", url.Values{"confirm_email": {"victim@corp.example"}})
	if _, err := w.a.store.UserByID(context.Background(), mallory.ID); err == nil {
		t.Fatal("Mallory's profile is still there: the delete did not run")
	}
	if _, err := w.a.store.InviteByToken(context.Background(), sum[:]); err != nil {
		t.Errorf("invite to the address gone with the unconfirmed profile: %v", err)
	}
}
