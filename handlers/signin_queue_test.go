package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const placeCookie = "roster_place"

// postLater posts a sign-in form from c in the background, the way a plain
// browser form does, and delivers the status once it is answered.
func postLater(c *client, email, password string) <-chan int {
	form := url.Values{"_csrf": {c.csrf()}, "email": {email}, "password": {password}}
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, c.app.server.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.hc.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	return done
}

// waiting returns once n password checks wait for a's hasher.
func (a *app) waiting(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, w := a.hasher.Depth(); w == n {
			return
		}
		if time.Now().After(deadline) {
			_, w := a.hasher.Depth()
			t.Fatalf("got %d password checks waiting, want %d", w, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// withCookie returns a new client of a whose jar holds name=value.
func withCookie(t *testing.T, a *app, name, value string) *client {
	c := a.client(t)
	u, _ := url.Parse(a.server.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	return c
}

// TestSigninWaitBudget: a sign-in whose expected wait for the hasher (the
// checks ahead of it times the hash time over the workers) passes the
// budget is answered 503 with that wait, rounded up, in Retry-After, next
// to the form, and a place ticket; sent back, the ticket puts the retry
// ahead of everyone who came after it, where a newcomer is refused. The
// ticket helps only its address and cannot be altered.
func TestSigninWaitBudget(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.workers, ac.queue, ac.budget = 1, 100, 2*time.Second })
	users := map[string]string{annEmail: annName, bobEmail: bobName, "carol@example.com": "Carol", "dan@example.com": "Dan"}
	for email, name := range users {
		a.seedUser(t, name, email, annPassword)
	}
	release, err := a.hasher.Occupy(context.Background()) // a hash in progress
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	// Each hash takes 3 s: a sign-in now would wait 3 s, past the 2 s.
	a.hasher.SetHashTime(3 * time.Second)
	ann := a.client(t)
	res := ann.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "3" {
		t.Fatalf("sign-in past the budget: got %d, Retry-After %q; want 503, 3", res.status, res.header.Get("Retry-After"))
	}
	if !strings.Contains(res.body, "Please try again in 3 seconds: your place in line is kept.") || !strings.Contains(res.body, `value="`+annEmail+`"`) {
		t.Errorf("sign-in past the budget: the form does not say when to try again, or lost the email: %s", res.body)
	}
	ticket := res.cookie(placeCookie)
	if ticket == nil || !ticket.HttpOnly || ticket.MaxAge < 3 || ticket.MaxAge > 60 {
		t.Fatalf("sign-in past the budget: got place cookie %+v, want an HttpOnly one for about 33 s", ticket)
	}

	// Hashes now take 1 s: Bob waits 1 s, Carol 2 s; Dan would wait 3 s.
	a.hasher.SetHashTime(time.Second)
	bob := postLater(a.client(t), bobEmail, annPassword)
	a.waiting(t, 1)
	carol := postLater(a.client(t), "carol@example.com", annPassword)
	a.waiting(t, 2)
	dan := a.client(t)
	if res := dan.postForm("/login", url.Values{"email": {"dan@example.com"}, "password": {annPassword}}); res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "3" {
		t.Errorf("a newcomer behind two: got %d, Retry-After %q; want 503, 3", res.status, res.header.Get("Retry-After"))
	}

	// Ann's ticket for another address, or altered, is a newcomer's.
	for name, c := range map[string]*client{
		"for another address": withCookie(t, a, placeCookie, ticket.Value),
		"altered":             withCookie(t, a, placeCookie, ticket.Value[:len(ticket.Value)-2]+"xx"),
	} {
		email := annEmail
		if name == "for another address" {
			email = "dan@example.com"
		}
		if res := c.postForm("/login", url.Values{"email": {email}, "password": {annPassword}}); res.status != http.StatusServiceUnavailable {
			t.Errorf("a ticket %s: got %d, want 503 as for a newcomer", name, res.status)
		}
	}
	a.waiting(t, 2)

	// Ann comes back with her ticket: she arrived before Bob and Carol, so
	// she waits 1 s, at the head of the line.
	annDone := postLater(ann, annEmail, annPassword)
	a.waiting(t, 3)

	release()
	for who, done := range map[string]<-chan int{"Ann": annDone, "Bob": bob, "Carol": carol} {
		if status := <-done; status != http.StatusSeeOther {
			t.Errorf("%s: got %d, want 303 (signed in)", who, status)
		}
	}
	if v := ann.cookie(placeCookie); v != "" {
		t.Errorf("Ann's ticket outlived her sign-in")
	}
}

// busyLine is an app whose one hasher worker is taken, with 3 s hashes
// and a 2 s budget, so the next sign-in is refused with a ticket; Ann and
// Bob exist; now is the tickets' clock, which the test moves; release
// frees the worker (again is harmless).
func busyLine(t *testing.T) (a *app, now *time.Time, release func()) {
	a = newApp(t, func(ac *appConfig) { ac.workers, ac.queue, ac.budget = 1, 100, 2*time.Second })
	a.seedUser(t, annName, annEmail, annPassword)
	a.seedUser(t, bobName, bobEmail, annPassword)
	clock := time.Now()
	a.handler.SetTicketClock(func() time.Time { return clock })
	release, err := a.hasher.Occupy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.hasher.SetHashTime(3 * time.Second)
	return a, &clock, release
}

// TestSigninTicketExpires: a ticket is honoured until a little past the
// wait it was given for, not after.
func TestSigninTicketExpires(t *testing.T) {
	t.Parallel()
	a, now, release := busyLine(t)
	defer release()
	ann := a.client(t)
	if res := ann.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}}); res.status != http.StatusServiceUnavailable || res.cookie(placeCookie) == nil {
		t.Fatalf("sign-in past the budget: got %d and no ticket, want 503 with one", res.status)
	}
	// Bob, a second later, waits 1.5 s, ahead of any newcomer, behind
	// Ann's ticket.
	*now = now.Add(time.Second)
	a.hasher.SetHashTime(1500 * time.Millisecond)
	bob := postLater(a.client(t), bobEmail, annPassword)
	a.waiting(t, 1)

	// 3 s of Retry-After and 30 s of grace later, the ticket is spent:
	// Ann is a newcomer behind Bob (3 s), refused, with a new ticket.
	*now = now.Add(33 * time.Second)
	res := ann.postForm("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "3" || res.cookie(placeCookie) == nil {
		t.Errorf("with an expired ticket: got %d, Retry-After %q; want 503, 3 and a new ticket", res.status, res.header.Get("Retry-After"))
	}
	release()
	if status := <-bob; status != http.StatusSeeOther {
		t.Errorf("Bob: got %d, want 303", status)
	}
}

// TestSudoWaitBudget: the sudo prompt's password waits in the same line as
// sign-ins, and past the budget is answered 503 with the wait in
// Retry-After.
func TestSudoWaitBudget(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t)
	act := sudoActions()[0] // change password, htmx
	res := w.post(w.c, act, url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	var releases []func()
	for range 2 { // both workers busy
		r, err := w.a.hasher.Occupy(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer r()
		releases = append(releases, r)
	}
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	w.a.hasher.SetBudget(2 * time.Second)
	w.a.hasher.SetHashTime(6 * time.Second) // shared by 2 workers: 3 s
	busy := w.answer(w.c, act, res, annPassword)
	if busy.status != http.StatusServiceUnavailable || busy.header.Get("Retry-After") != "3" || !strings.Contains(busy.body, "Please try again in 3 seconds") {
		t.Errorf("sudo password past the budget: got %d, Retry-After %q, want 503, 3 and when to try again; body:\n%s", busy.status, busy.header.Get("Retry-After"), busy.body)
	}
	release()
	if ok := w.answer(w.c, act, res, annPassword); ok.status >= 500 {
		t.Errorf("sudo password with the hasher free: got %d", ok.status)
	}
}

// TestResetWaitBudget: a reset's new password waits in the same line; past
// the budget, 503 with the wait in Retry-After and a ticket for that link
// that puts the retry ahead of later arrivals.
func TestResetWaitBudget(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.workers, ac.queue, ac.budget = 1, 100, 2*time.Second })
	a.seedUser(t, annName, annEmail, annPassword)
	a.seedUser(t, bobName, bobEmail, annPassword)
	ann := a.client(t)
	if res := ann.postHTMX("/password/forgot", url.Values{"email": {annEmail}}); res.status != http.StatusOK {
		t.Fatalf("forgot: got %d, want 200", res.status)
	}
	path := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Reset"), "http://roster.test/password/reset/"), "http://roster.test")
	release, err := a.hasher.Occupy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	a.hasher.SetHashTime(3 * time.Second)
	res := ann.postForm(path, url.Values{"new_password": {newPassword}})
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "3" || res.cookie(placeCookie) == nil {
		t.Fatalf("reset past the budget: got %d, Retry-After %q, ticket %v; want 503, 3 and a ticket", res.status, res.header.Get("Retry-After"), res.cookie(placeCookie))
	}
	// Bob arrives later and waits 1.5 s; a newcomer would wait 3 s, past
	// the budget, but Ann's retry goes ahead of Bob, within it.
	a.hasher.SetHashTime(1500 * time.Millisecond)
	bob := postLater(a.client(t), bobEmail, annPassword)
	a.waiting(t, 1)
	done := make(chan *response, 1)
	form := url.Values{"_csrf": {ann.csrf()}, "new_password": {newPassword}}
	go func() {
		req, _ := http.NewRequest(http.MethodPost, a.server.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := ann.hc.Do(req)
		if err != nil {
			done <- &response{}
			return
		}
		r.Body.Close()
		done <- &response{status: r.StatusCode, header: r.Header}
	}()
	a.waiting(t, 2)
	release()
	if r := <-done; r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("Ann's reset with her ticket: got %d to %q, want 303 to /login", r.status, r.header.Get("Location"))
	}
	if status := <-bob; status != http.StatusSeeOther {
		t.Errorf("Bob: got %d, want 303", status)
	}
}

// TestSigninTicketArrivalBounded: a ticket is re-issued with its first
// arrival each time the wait is refused again; once that arrival is older
// than two waits of the budget and the grace (34 s here), the ticket is a
// newcomer's, even though the re-issued one has not expired: a client (or
// a copy of its ticket) cannot stay first in line for ever.
func TestSigninTicketArrivalBounded(t *testing.T) {
	t.Parallel()
	a, now, release := busyLine(t)
	defer release()
	ann := a.client(t)
	form := url.Values{"email": {annEmail}, "password": {annPassword}}
	if res := ann.postForm("/login", form); res.status != http.StatusServiceUnavailable || res.cookie(placeCookie) == nil {
		t.Fatalf("sign-in past the budget: got %d and no ticket, want 503 with one", res.status)
	}
	// 20 s later, still refused: the ticket comes back, good for 33 s more.
	*now = now.Add(20 * time.Second)
	if res := ann.postForm("/login", form); res.status != http.StatusServiceUnavailable || res.cookie(placeCookie) == nil {
		t.Fatalf("retry with the ticket: got %d and no ticket, want 503 with a new one", res.status)
	}
	// 40 s after Ann first came, Bob waits 1.5 s; Ann's ticket (unexpired,
	// arrival 40 s ago) must not put her ahead of him: behind him she
	// would wait 3 s, and is refused.
	*now = now.Add(20 * time.Second)
	a.hasher.SetHashTime(1500 * time.Millisecond)
	bob := postLater(a.client(t), bobEmail, annPassword)
	a.waiting(t, 1)
	annDone := postLater(ann, annEmail, annPassword)
	deadline := time.Now().Add(10 * time.Second)
	for answered := false; !answered; {
		select {
		case status := <-annDone:
			if status != http.StatusServiceUnavailable {
				t.Fatalf("Ann with a ticket 40 s old: got %d, want 503 as for a newcomer", status)
			}
			answered = true
		default:
			if _, w := a.hasher.Depth(); w == 2 {
				t.Fatal("Ann with a ticket 40 s old waits in line ahead of Bob, want a newcomer's 503")
			}
			if time.Now().After(deadline) {
				t.Fatal("Ann with a ticket 40 s old: no answer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	release()
	if status := <-bob; status != http.StatusSeeOther {
		t.Errorf("Bob: got %d, want 303", status)
	}
}

// TestSudoKeepsPlaceInLine: the sudo prompt's password takes its place in
// the sign-ins' line the same way: past the budget, 503 with the wait in
// Retry-After, the prompt again (its form kept, the message next to it)
// and a place ticket; sent back, the ticket puts the retry ahead of a
// sign-in that arrived later, where a newcomer would be refused.
func TestSudoKeepsPlaceInLine(t *testing.T) {
	t.Parallel()
	w := newSudoWorld(t, func(ac *appConfig) { ac.workers, ac.queue, ac.budget = 1, 100, 2*time.Second })
	act := sudoActions()[3] // change email, plain
	res := w.post(w.c, act, act.form(t, w))
	release, err := w.a.hasher.Occupy(context.Background()) // a hash in progress
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	w.a.hasher.SetHashTime(3 * time.Second)
	busy := w.answer(w.c, act, res, annPassword)
	if busy.status != http.StatusServiceUnavailable || busy.header.Get("Retry-After") != "3" {
		t.Fatalf("sudo password past the budget: got %d, Retry-After %q; want 503, 3", busy.status, busy.header.Get("Retry-After"))
	}
	if !strings.Contains(busy.body, "Please try again in 3 seconds: your place in line is kept.") {
		t.Errorf("sudo password past the budget: the prompt does not say when to try again:\n%s", busy.body)
	}
	if ticket := busy.cookie(placeCookie); ticket == nil || !ticket.HttpOnly {
		t.Fatalf("sudo password past the budget: got place cookie %+v, want an HttpOnly one", ticket)
	}
	action, form := prompt(t, busy) // the prompt again, the action's values carried
	if action != act.path || form.Get("new_email") != "ann.new@example.com" {
		t.Fatalf("the prompt after a 503: action %q, carried %v; want %s with the new email", action, form, act.path)
	}
	if act.happened(t, w, busy) {
		t.Fatal("the action happened without a checked password")
	}

	// Bob signs in after Ann and waits 1.5 s; a newcomer behind him would
	// wait 3 s and be refused, but Ann's retry keeps her place, at the head.
	w.a.hasher.SetHashTime(1500 * time.Millisecond)
	bob := postLater(w.a.client(t), bobEmail, bobPassword)
	w.a.waiting(t, 1)
	form.Set("sudo_password", annPassword)
	done := make(chan *response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, w.a.server.URL+action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := w.c.hc.Do(req)
		if err != nil {
			done <- &response{}
			return
		}
		r.Body.Close()
		done <- &response{status: r.StatusCode, header: r.Header}
	}()
	w.a.waiting(t, 2)
	release()
	if r := <-done; r.status != act.status {
		t.Errorf("Ann's sudo password with her ticket: got %d, want %d (the action resumed)", r.status, act.status)
	}
	if !act.happened(t, w, nil) {
		t.Error("Ann's sudo password with her ticket: the action did not happen")
	}
	if status := <-bob; status != http.StatusSeeOther {
		t.Errorf("Bob: got %d, want 303", status)
	}
	if v := w.c.cookie(placeCookie); v != "" {
		t.Error("Ann's ticket outlived her re-authentication")
	}
}
