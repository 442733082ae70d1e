package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/csrfmask"
)

// TestSignInRenewsCSRFToken: Mallory plants a CSRF cookie whose token she
// knows in Ann's browser (over plain http a sibling subdomain can set it)
// and waits for Ann to sign in, with her password or through the second
// step; the signed-in session has a new token, so Mallory's forged form is
// refused and Ann's own pages keep working.
func TestSignInRenewsCSRFToken(t *testing.T) {
	for _, second := range []bool{false, true} {
		name := "password"
		if second {
			name = "password and authenticator code"
		}
		t.Run(name, func(t *testing.T) {
			a := newApp(t)
			ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
			var secret string
			if second {
				owner := a.client(t)
				owner.adopt(ann.ID)
				secret, _ = enrol(t, owner)
			}
			c := a.client(t)
			planted := strings.Repeat("M", 43)
			u, _ := url.Parse(a.server.URL)
			c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: csrfCookie, Value: planted, Path: "/"}})
			c.get("/login")
			if c.cookie(csrfCookie) != planted {
				t.Fatalf("setup: the planted token was replaced before the sign-in")
			}
			if second {
				passwordStep(t, c, annEmail, annPassword)
				if c.cookie(csrfCookie) != planted {
					t.Errorf("the token changed before the second step: nothing is signed in yet")
				}
				if res := c.postForm("/login/two-factor", url.Values{"code": {codeAt(t, secret, time.Now().Add(30*time.Second))}}); res.status != http.StatusSeeOther {
					t.Fatalf("second step: got %d; body %s", res.status, res.body)
				}
			} else {
				c.login(annEmail, annPassword)
			}
			if !c.signedIn() {
				t.Fatal("not signed in")
			}
			if got := c.cookie(csrfCookie); got == planted || len(got) != 43 {
				t.Fatalf("CSRF token after the sign-in: %q, want a new one", got)
			}
			forged := url.Values{"_csrf": {csrfmask.Mask(planted)}, "name": {"Mallory was here"}}
			if res := c.do(http.MethodPost, "/profile/name", forged, nil); res.status != http.StatusForbidden {
				t.Errorf("forged form with the planted token: got %d, want 403", res.status)
			}
			if res := c.postForm("/profile/name", url.Values{"name": {"Ann B"}}); res.status >= 400 {
				t.Errorf("Ann's own form with the new token: got %d; body %s", res.status, res.body)
			}
			if u := a.userByEmail(t, annEmail); u.Name != "Ann B" {
				t.Errorf("name: %q, want Ann's own change alone", u.Name)
			}
		})
	}
}
