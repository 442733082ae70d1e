package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestInviteEmailCase plays issue 13's attack 7: an invite typed with
// capitals is listed for the invited person, who must then be able to
// accept it. Both sides of the compare are tried: the invite in capitals,
// and the account email in capitals.
func TestInviteEmailCase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ invited, signedUp string }{
		{"Carol@Example.com", "carol@example.com"},
		{"carol@example.com", "Carol@EXAMPLE.com"},
	} {
		t.Run(tc.invited+" to "+tc.signedUp, func(t *testing.T) {
			t.Parallel()
			a := newApp(t)
			ctx := context.Background()
			ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
			acme := a.seedAccount(t, ann, "Acme")
			admin := a.client(t)
			admin.adopt(ann.ID)
			res := admin.postForm("/accounts/"+strconv.FormatInt(acme.ID, 10)+"/invites", url.Values{"email": {tc.invited}, "role": {db.RoleNormal}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("invite %s: got %d, want 303; body %s", tc.invited, res.status, res.body)
			}

			carol := a.client(t)
			carol.signup("Carol", tc.signedUp, newPassword)
			u, err := a.store.UserByEmail(ctx, tc.signedUp)
			if err != nil {
				t.Fatal(err)
			}
			msg := a.mail.waitFor(t, u.Email, "Confirm your email")
			if res := carol.confirmLink(strings.TrimPrefix(link(t, msg, "http://roster.test/verify/"), "http://roster.test")); res.status >= 400 {
				t.Fatalf("follow the verification link: got %d", res.status)
			}
			if body := carol.get("/profile").body; !strings.Contains(body, `<td data-label="Account">Acme</td>`) {
				t.Fatalf("the invite to %s is not listed on the profile of %s", tc.invited, tc.signedUp)
			}
			invites, _, err := a.store.PendingInvites(ctx, acme.ID, 10, 0)
			if err != nil || len(invites) != 1 {
				t.Fatalf("pending invites: got %v, %v; want one", invites, err)
			}
			res = carol.postForm("/invites/"+strconv.FormatInt(invites[0].ID, 10)+"/accept", url.Values{})
			if res.status != http.StatusSeeOther {
				t.Fatalf("accept the invite to %s as %s: got %d, want 303; refusal %q", tc.invited, tc.signedUp, res.status, flashError(res.body))
			}
			if res := carol.get("/accounts/" + strconv.FormatInt(acme.ID, 10)); res.status != http.StatusOK {
				t.Errorf("GET the account after accepting: got %d, want 200", res.status)
			}
		})
	}
}

// TestInvitePageOffersEveryVerifiedAddress: the invite page compares as
// AcceptInvite does, so an invite to a verified email contact method, in
// any case, is offered for answering rather than "for someone else".
func TestInvitePageOffersEveryVerifiedAddress(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, bobName, bobEmail, bobPassword))
	a.seedMethod(t, bob, db.KindEmail, "Bob.Work@Example.com")
	inv, token := a.seedInvite(t, a.seedAccount(t, ann, "Acme"), ann, "BOB.work@example.com", db.RoleNormal)
	c := a.client(t)
	c.adopt(bob.ID)
	res := c.get("/invites/" + token)
	if want := `action="/invites/` + strconv.FormatInt(inv.ID, 10) + `/accept"`; res.status != http.StatusOK || !strings.Contains(res.body, want) {
		t.Fatalf("invite page for a verified contact address: got %d without %s", res.status, want)
	}
	if res := c.postForm("/invites/"+strconv.FormatInt(inv.ID, 10)+"/accept", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("accept: got %d, want 303; refusal %q", res.status, flashError(res.body))
	}
}

// flashError is the broken rule a page shows above its form, or "".
func flashError(body string) string {
	_, rest, ok := strings.Cut(body, `<p class="flash error" role="alert">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, "</p>")
	return msg
}
