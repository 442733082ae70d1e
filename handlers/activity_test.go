package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestActivityShowsNoOneElsesDevice: an entry of a person's activity log
// that someone else did (Bob accepting Ann's invite, an Admin changing
// Bob's role) shows neither that someone's IP address nor their device,
// on the page or in the person's data download; the person's own entries
// still show theirs. Found by the third review
// (TestReview3ActivityShowsOthersDevice).
func TestActivityShowsNoOneElsesDevice(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	acc := a.seedAccount(t, ann, "Acme")
	inv, _ := a.seedInvite(t, acc, ann, bobEmail, "normal")
	bc := a.client(t)
	bc.ua = "BobsPrivateDevice/7.3 (home-laptop)"
	bc.adopt(bob.ID)
	if res := bc.postForm("/invites/"+itoa(inv.ID)+"/accept", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("Bob accepts: got %d; body:\n%.1500s", res.status, res.body)
	}
	ac := a.client(t)
	ac.ua = "AnnsOwnDevice/1.0 (office)"
	ac.adopt(ann.ID)
	if page := ac.get("/profile/activity"); strings.Contains(page.body, "BobsPrivateDevice") {
		t.Errorf("Ann's activity log shows the device (and IP address) of Bob's request")
	}
	if data := ac.get("/profile/data"); strings.Contains(data.body, "BobsPrivateDevice") {
		t.Errorf("Ann's data download shows the device of Bob's request")
	}
	// An Admin's change of Bob's role: Bob sees it, not Ann's device.
	path := "/accounts/" + strconv.FormatInt(acc.ID, 10) + "/members/" + itoa(bob.ID) + "/role"
	if res := ac.postForm(path, url.Values{"role": {"readonly"}}); res.status >= 400 {
		t.Fatalf("Ann changes Bob's role: got %d; body:\n%.1500s", res.status, res.body)
	}
	page := bc.get("/profile/activity")
	if !strings.Contains(page.body, "Your role in Acme was changed") {
		t.Fatalf("Bob's log has no role change; body:\n%.3000s", page.body)
	}
	if strings.Contains(page.body, "AnnsOwnDevice") {
		t.Errorf("Bob's activity log shows the device of Ann's request")
	}
	if !strings.Contains(page.body, "Not shown: someone else") {
		t.Errorf("Bob's log does not say why the entry shows no address; body:\n%.3000s", page.body)
	}
	// Ann's own entries keep hers.
	if page := ac.get("/profile/activity"); !strings.Contains(page.body, "AnnsOwnDevice") {
		t.Errorf("Ann's own role change lost her device; body:\n%.3000s", page.body)
	}
}
