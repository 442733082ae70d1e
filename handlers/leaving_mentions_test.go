package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestDeleteProfileLeavesOthersLogs: Mallory names herself "method", a
// key of every sign-in entry, and deletes her profile. Ann's entries keep
// what they said (her sign-in still says how she signed in), and those that
// named Mallory (the invite Ann sent her, her acceptance, the role Ann gave
// her) now read "a deleted person". Found by the S5 review
// (TestReviewDeleteProfileRewritesOthersAuditLog).
func TestDeleteProfileLeavesOthersLogs(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	ca := a.client(t)
	ca.login(annEmail, annPassword) // Ann's log: sign_in {"method":"password"}
	acc := a.seedAccount(t, ann, "Acme")

	mal := a.verify(t, a.seedUser(t, "Mallory", "mallory@example.net", bobPassword))
	cm := a.client(t)
	cm.adopt(mal.ID)
	if res := cm.postForm("/profile/name", url.Values{"name": {"method"}}); res.status >= 400 {
		t.Fatalf("rename: %d %s", res.status, res.body)
	}
	inv, _ := a.seedInvite(t, acc, ann, mal.Email, db.RoleNormal)
	if res := cm.postForm(fmt.Sprintf("/invites/%d/accept", inv.ID), url.Values{}); res.status >= 400 {
		t.Fatalf("accept: %d %s", res.status, res.body)
	}
	if res := ca.postForm(fmt.Sprintf("/accounts/%d/members/%d/role", acc.ID, mal.ID), url.Values{"role": {db.RoleReadOnly}}); res.status >= 400 {
		t.Fatalf("role: %d %s", res.status, res.body)
	}
	if res := cm.postForm("/profile/delete", url.Values{"confirm_email": {"mallory@example.net"}}); res.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	after, err := a.store.EventsForUser(ctx, ann.ID, db.EventKey{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range after.Events {
		if ev.Kind == db.EventSignIn && ev.Detail["method"] != "password" {
			t.Errorf("Mallory's profile deletion rewrote Ann's sign-in entry: %v", ev.Detail)
		}
	}
	page := ca.get("/profile/activity").body
	for _, want := range []string{
		"Logged in with password",
		"Invited a deleted person to Acme as",
		"A deleted person accepted your invite to Acme as",
		"Changed the role of a deleted person in Acme to",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("Ann's activity: want %q in\n%s", want, page)
		}
	}
	for _, gone := range []string{"mallory@example.net", "Mallory", "of method"} {
		if strings.Contains(page, gone) {
			t.Errorf("Ann's activity still names Mallory (%q)", gone)
		}
	}
}
