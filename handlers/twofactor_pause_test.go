package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestWrongCodesPauseSecondStep: Mallory holds Ann's password and guesses
// her authenticator codes, 10 every 15 minutes as the password's limit
// lets her. The 20th wrong code of the day tells Ann (one security
// notice) and pauses the second step's codes for a day, the right one
// included, while the password step still answers; Ann's new password
// (a reset) ends the pause at once and she logs in with her code.
func TestWrongCodesPauseSecondStep(t *testing.T) {
	clk := &testClock{t: time.Now()}
	a := newApp(t, func(ac *appConfig) { ac.now = clk.Now })
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword)) // factors need a confirmed email
	owner := a.client(t)
	owner.adopt(ann.ID)
	secret, _ := enrol(t, owner)
	valid := map[string]bool{}
	for d := -2; d <= 2; d++ {
		valid[codeAt(t, secret, time.Now().Add(time.Duration(d)*30*time.Second))] = true
	}
	wrong := ""
	for i := 0; wrong == ""; i++ {
		if c := fmt.Sprintf("%06d", i); !valid[c] {
			wrong = c
		}
	}
	const subject = "Security notice: many wrong two-factor codes"
	notices := func() int {
		n := 0
		for _, m := range a.mail.sentTo(annEmail) {
			if m.Subject == subject {
				n++
			}
		}
		return n
	}

	mallory := a.client(t)
	failures := 0
	for batch := 0; failures < 20; batch++ {
		if batch > 3 {
			t.Fatalf("%d wrong codes after %d windows of the password's limit", failures, batch)
		}
		passwordStep(t, mallory, annEmail, annPassword)
		for failures < 20 {
			res := mallory.postForm("/login/two-factor", url.Values{"code": {wrong}})
			if res.status == http.StatusTooManyRequests {
				break // the password's limit: 15 minutes
			}
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong code %d: got %d; body %s", failures+1, res.status, res.body)
			}
			failures++
			if failures < 20 && notices() != 0 {
				t.Fatalf("a notice after %d wrong codes, want it at the 20th", failures)
			}
		}
		clk.Add(16 * time.Minute)
	}
	a.mail.waitFor(t, annEmail, subject)

	// Paused: even the right code is refused, though the password's limit
	// is free again; the password step itself still answers.
	passwordStep(t, mallory, annEmail, annPassword)
	res := mallory.postForm("/login/two-factor", url.Values{"code": {codeAt(t, secret, time.Now())}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "logging in with a code is paused for a day") {
		t.Fatalf("a code while paused: got %d; body %s", res.status, res.body)
	}
	if mallory.signedIn() {
		t.Fatal("signed in while paused")
	}
	if n := notices(); n != 1 {
		t.Errorf("notices: %d, want 1", n)
	}

	// Ann resets her password: the pause ends, and her code works.
	resetPassword(t, a, annEmail, newPassword)
	c := a.client(t)
	passwordStep(t, c, annEmail, newPassword)
	if res := c.postForm("/login/two-factor", url.Values{"code": {nextCode(t, secret)}}); res.status != http.StatusSeeOther || !c.signedIn() {
		t.Fatalf("Ann's code after the reset: got %d; body %s", res.status, res.body)
	}
}
