package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
)

// An attack found by the security review of issue 18, kept as a test.

// TestSecondStepThrottleNotResetByPassword: someone who knows Ann's
// password guesses second-step codes. The per-email limit (10 in 15
// minutes) caps the guesses; a right password again must not clear it.
func TestSecondStepThrottleNotResetByPassword(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	enrol(t, w.freshClient(t))
	evaluated := 0
	for cycle := 0; cycle < 3; cycle++ {
		c := w.a.client(t)
		res := c.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
		if res.status == http.StatusTooManyRequests {
			continue // the limit holds for the password too
		}
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login/two-factor" {
			t.Fatalf("log in: got %d to %q, want 303 to /login/two-factor or 429", res.status, res.header.Get("Location"))
		}
		for i := 0; i < 9; i++ {
			res := c.postForm("/login/two-factor", url.Values{"code": {"000000"}})
			if res.status == http.StatusUnprocessableEntity {
				evaluated++
			}
		}
	}
	if evaluated > 10 {
		t.Fatalf("%d wrong second-step codes were checked in one window, want at most 10", evaluated)
	}
}
