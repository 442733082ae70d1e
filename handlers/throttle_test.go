package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// The attacks on the limits of issue 13: each one is played through the
// real router, and each limit reserves its slot before the work it guards.

// settled waits until at least min messages went to address (mail sent in
// the background or by the outbox worker) and then until none more come
// for a while, and returns how many there are.
func (m *recordingMailer) settled(t *testing.T, address string, min int) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		changed := m.changed
		m.mu.Unlock()
		n := len(m.sentTo(address))
		wait := 400 * time.Millisecond
		if n < min {
			wait = 10 * time.Second
		}
		select {
		case <-changed:
		case <-time.After(wait):
			return n
		case <-deadline:
			return n
		}
	}
}

// wantRetryAfter fails unless res carries Retry-After in whole seconds,
// from 1 to most.
func wantRetryAfter(t *testing.T, what string, res *response, most time.Duration) {
	t.Helper()
	got := res.header.Get("Retry-After")
	n, err := strconv.Atoi(got)
	if err != nil || n < 1 || n > int(most/time.Second) {
		t.Errorf("%s: got Retry-After %q, want 1 to %d seconds", what, got, int(most/time.Second))
	}
}

// fromIP is the header a trusted proxy adds for a client at ip.
func fromIP(ip string) http.Header {
	return http.Header{"X-Forwarded-For": {ip}}
}

// behindProxy trusts the loopback test client as a reverse proxy, so that
// tests can play several client addresses.
func behindProxy(ac *appConfig) { ac.TrustedProxies = []string{"127.0.0.0/8"} }

// TestLoginRace is attack 5: 40 wrong passwords for one email sent at once
// were all checked, because the limit was read before the slow hash and the
// failure written after it. Only 10 may reach the password check now.
func TestLoginRace(t *testing.T) {
	t.Parallel()
	// A queue long enough that no attempt is turned away as busy: every
	// attempt that is not throttled reaches the hash.
	a := newApp(t, func(ac *appConfig) { ac.workers, ac.queue = 2, 64 })
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	reqs := make([]raceRequest, 40)
	for i := range reqs {
		reqs[i] = raceRequest{c: c, path: "/login", form: url.Values{"email": {annEmail}, "password": {fmt.Sprintf("wrong password %d", i)}}}
	}
	checked, throttled := 0, 0
	for _, s := range raceAll(t, reqs) {
		switch s {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("concurrent wrong password: got %d, want 422 or 429", s)
		}
	}
	if checked != 10 || throttled != 30 {
		t.Errorf("40 concurrent wrong passwords for one email: %d reached the password check and %d were throttled, want 10 and 30", checked, throttled)
	}
	res := c.postHTMX("/login", url.Values{"email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusTooManyRequests {
		t.Errorf("right password after the race: got %d, want 429", res.status)
	}
	wantRetryAfter(t, "sign-in after the race", res, 15*time.Minute)
}

// TestLoginSuccessGivesBack: a right password gives its reservation back
// and clears the email's failures, as before; wrong ones from one address
// against many emails meet the per-address limit.
func TestLoginSuccessGivesBack(t *testing.T) {
	t.Parallel()
	a := newApp(t, behindProxy)
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	for i := range 3 {
		for j := range 9 {
			res := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf()}, "email": {annEmail}, "password": {"wrong " + strconv.Itoa(j)}}, fromIP(fmt.Sprintf("192.0.2.%d", i*9+j)))
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("round %d, failure %d: got %d, want 422", i, j, res.status)
			}
		}
		// Nine failures and a success: the count starts again.
		res := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf()}, "email": {annEmail}, "password": {annPassword}}, fromIP("198.51.100.1"))
		if res.status != http.StatusSeeOther {
			t.Fatalf("round %d: right password: got %d, want 303", i, res.status)
		}
	}
	// One client address, many emails: 50 failures, then 429.
	for i := range 50 {
		res := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf()}, "email": {fmt.Sprintf("user%d@example.com", i)}, "password": {"wrong"}}, fromIP("203.0.113.9"))
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("spray %d: got %d, want 422", i, res.status)
		}
	}
	res := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf()}, "email": {annEmail}, "password": {annPassword}}, fromIP("203.0.113.9"))
	if res.status != http.StatusTooManyRequests {
		t.Errorf("51st attempt from one address: got %d, want 429", res.status)
	}
	wantRetryAfter(t, "per-address sign-in limit", res, 15*time.Minute)
	// Ann from elsewhere is not affected.
	res = c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf()}, "email": {annEmail}, "password": {annPassword}}, fromIP("198.51.100.2"))
	if res.status != http.StatusSeeOther {
		t.Errorf("Ann from another address: got %d, want 303", res.status)
	}
}

// TestForgotMailFlood is attack 6: 30 posts of /password/forgot sent 30
// reset mails to one address. At most 3 an hour go now, and the page says
// the same whether a mail went, was held back or the address is unknown.
func TestForgotMailFlood(t *testing.T) {
	t.Parallel()
	a := newApp(t, behindProxy)
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	var answers []string
	for i := range 30 {
		res := c.do(http.MethodPost, "/password/forgot", url.Values{"_csrf": {c.csrf()}, "email": {annEmail}},
			http.Header{"Hx-Request": {"true"}, "X-Forwarded-For": {fmt.Sprintf("192.0.2.%d", i)}})
		if res.status != http.StatusOK {
			t.Fatalf("forgot %d: got %d, want 200; body:\n%s", i+1, res.status, res.body)
		}
		answers = append(answers, unmasked(res.body))
	}
	if n := a.mail.settled(t, annEmail, 3); n != 3 {
		t.Errorf("30 reset requests for one address from 30 client addresses: %d mails sent, want 3", n)
	}
	for i, body := range answers {
		if body != answers[0] {
			t.Errorf("answer %d differs from the first:\n%s\nwant\n%s", i+1, body, answers[0])
		}
	}
	// An unknown address gets the same answer, after it too is held back.
	for i := range 4 {
		res := c.do(http.MethodPost, "/password/forgot", url.Values{"_csrf": {c.csrf()}, "email": {"nobody@example.com"}},
			http.Header{"Hx-Request": {"true"}, "X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i)}})
		want := strings.ReplaceAll(answers[0], annEmail, "nobody@example.com")
		if res.status != http.StatusOK || unmasked(res.body) != want {
			t.Errorf("unknown address, request %d: got %d\n%s\nwant 200 and the same answer as for a profile", i+1, res.status, res.body)
		}
	}
}

// TestForgotPerClientLimit: one client address may ask for 20 reset links
// an hour, for any addresses; the 21st is a 429 that names no address.
func TestForgotPerClientLimit(t *testing.T) {
	t.Parallel()
	a := newApp(t, behindProxy)
	c := a.client(t)
	for i := range 20 {
		res := c.do(http.MethodPost, "/password/forgot", url.Values{"_csrf": {c.csrf()}, "email": {fmt.Sprintf("user%d@example.com", i)}},
			http.Header{"Hx-Request": {"true"}, "X-Forwarded-For": {"203.0.113.7"}})
		if res.status != http.StatusOK {
			t.Fatalf("forgot %d: got %d, want 200", i+1, res.status)
		}
	}
	res := c.do(http.MethodPost, "/password/forgot", url.Values{"_csrf": {c.csrf()}, "email": {"user99@example.com"}},
		http.Header{"Hx-Request": {"true"}, "X-Forwarded-For": {"203.0.113.7"}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "Too many reset requests from your network") {
		t.Errorf("21st reset request from one client: got %d, want 429 saying so; body:\n%s", res.status, res.body)
	}
	wantRetryAfter(t, "per-client reset limit", res, time.Hour)
}

// TestClientLimitIPv6: an IPv6 client holds a whole /64, so its addresses
// count as one client; another /64 is another client.
func TestClientLimitIPv6(t *testing.T) {
	t.Parallel()
	a := newApp(t, behindProxy)
	c := a.client(t)
	forgot := func(i int, ip string) *response {
		return c.do(http.MethodPost, "/password/forgot", url.Values{"_csrf": {c.csrf()}, "email": {fmt.Sprintf("user%d@example.com", i)}},
			http.Header{"Hx-Request": {"true"}, "X-Forwarded-For": {ip}})
	}
	for i := range 20 {
		if res := forgot(i, fmt.Sprintf("2001:db8:1:2::%x", i+1)); res.status != http.StatusOK {
			t.Fatalf("forgot %d: got %d, want 200", i+1, res.status)
		}
	}
	if res := forgot(20, "2001:db8:1:2:ffff::1"); res.status != http.StatusTooManyRequests {
		t.Errorf("21st from one /64: got %d, want 429", res.status)
	}
	if res := forgot(21, "2001:db8:1:3::1"); res.status != http.StatusOK {
		t.Errorf("from another /64: got %d, want 200", res.status)
	}
}

// TestVerifyEmailFlood is attack 6: 31 posts of /profile/verify-email sent
// 31 mails. Three an hour go now; the fourth says when to try again.
func TestVerifyEmailFlood(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	refused := 0
	for i := range 31 {
		res := c.postHTMX("/profile/verify-email", nil)
		switch {
		case res.status == http.StatusOK:
		case res.status == http.StatusTooManyRequests:
			refused++
			if i == 3 {
				if !strings.Contains(res.body, "We sent 3 confirmation links to "+annEmail+" in the last hour. Try again in") {
					t.Errorf("fourth request: got body\n%s\nwant the limit and when to try again", res.body)
				}
				wantRetryAfter(t, "verification limit", res, time.Hour)
			}
		default:
			t.Fatalf("request %d: got %d", i+1, res.status)
		}
	}
	if n := a.mail.settled(t, annEmail, 3); n != 3 || refused != 28 {
		t.Errorf("31 verification requests: %d mails sent and %d refused, want 3 and 28", n, refused)
	}
}

// TestEmailChangeFlood: the email change form sends a link to any address;
// two profiles asking for one address got 5 links each. Now 3 an hour to
// an address, whoever asks.
func TestEmailChangeFlood(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	const victim = "victim@example.com"
	refused := 0
	var last *response
	for _, who := range []string{annEmail, bobEmail} {
		c := a.client(t)
		c.adopt(a.seedUser(t, who, who, annPassword).ID)
		for range 5 {
			res := c.postHTMX("/profile/email", url.Values{"new_email": {victim}})
			switch res.status {
			case http.StatusOK:
			case http.StatusTooManyRequests:
				refused++
				last = res
			default:
				t.Fatalf("%s asks for %s: got %d; body:\n%s", who, victim, res.status, res.body)
			}
		}
	}
	if n := a.mail.settled(t, victim, 3); n != 3 || refused != 7 {
		t.Errorf("10 email change requests for one address: %d mails and %d refusals, want 3 and 7", n, refused)
	}
	if last != nil {
		if !strings.Contains(last.body, "We sent 3 confirmation links to "+victim+" in the last hour. Try again in") {
			t.Errorf("refused change: got body\n%s\nwant the limit by the field", last.body)
		}
		wantRetryAfter(t, "email change limit", last, time.Hour)
	}
}

// TestInviteMailFlood: Resend mailed the invite every time. Three invite
// mails an hour go to one address now, across create and resend.
func TestInviteMailFlood(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	acc := a.seedAccount(t, ann, "Acme")
	const carol = "carol@example.com"
	base := fmt.Sprintf("/accounts/%d", acc.ID)
	if res := c.postHTMX(base+"/invites", url.Values{"email": {carol}, "role": {"normal"}}); res.status != http.StatusOK {
		t.Fatalf("invite: got %d; body:\n%s", res.status, res.body)
	}
	list, _, err := a.store.PendingInvites(context.Background(), acc.ID, 10, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("pending invites: %v, %v", list, err)
	}
	refused := 0
	for i := range 10 {
		res := c.postHTMX(fmt.Sprintf("%s/invites/%d/resend", base, list[0].ID), nil)
		switch res.status {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			refused++
			if refused == 1 {
				if !strings.Contains(res.body, "We sent 3 invites to "+carol+" in the last hour. Try again in") {
					t.Errorf("resend %d: got body\n%s\nwant the limit and when to try again", i+1, res.body)
				}
				wantRetryAfter(t, "invite limit", res, time.Hour)
			}
		default:
			t.Fatalf("resend %d: got %d; body:\n%s", i+1, res.status, res.body)
		}
	}
	if n := a.mail.settled(t, carol, 3); n != 3 || refused != 8 {
		t.Errorf("an invite and 10 resends: %d mails and %d refusals, want 3 and 8", n, refused)
	}
	// Another account cannot add to it: the limit is the address's.
	other := a.seedAccount(t, ann, "Other")
	res := c.postHTMX(fmt.Sprintf("/accounts/%d/invites", other.ID), url.Values{"email": {carol}, "role": {"normal"}})
	if res.status != http.StatusTooManyRequests {
		t.Errorf("invite from another account: got %d, want 429", res.status)
	}
	if list, _, _ := a.store.PendingInvites(context.Background(), other.ID, 10, 0); len(list) != 0 {
		t.Errorf("refused invite: %d pending invites in the other account, want none", len(list))
	}
}

// countingStripe counts the SetupIntents asked of Stripe.
type countingStripe struct {
	*fakeStripe
	setups atomic.Int32
}

func (s *countingStripe) CreateSetupIntent(ctx context.Context, customer, key string) (string, error) {
	s.setups.Add(1)
	return s.fakeStripe.CreateSetupIntent(ctx, customer, key)
}

// TestCardSetupLimit: New + made a SetupIntent every time (card testing).
// Five an hour for one user now, counted before Stripe is asked.
func TestCardSetupLimit(t *testing.T) {
	t.Parallel()
	stripe := &countingStripe{fakeStripe: newFakeStripe()}
	_, c, _ := cardsClient(t, withCards(stripe))
	for i := range 5 {
		if res, _ := c.setup(); res.status != http.StatusOK {
			t.Fatalf("setup %d: got %d", i+1, res.status)
		}
	}
	var statuses []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	token := c.csrf()
	for range 5 {
		wg.Go(func() {
			s, _ := racePost(c, "/cards/setup", "_csrf="+url.QueryEscape(token))
			mu.Lock()
			statuses = append(statuses, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, s := range statuses {
		if s != http.StatusTooManyRequests {
			t.Errorf("setup past the limit: got %d, want 429", s)
		}
	}
	res, body := c.setup()
	if res.status != http.StatusTooManyRequests || !strings.Contains(body["error"], "Try again in") {
		t.Errorf("setup past the limit: got %d %q, want 429 with when to try again", res.status, body["error"])
	}
	wantRetryAfter(t, "card setup limit", res, time.Hour)
	if n := stripe.setups.Load(); n != 5 {
		t.Errorf("SetupIntents asked of Stripe: %d, want 5", n)
	}
}

// TestAPIBearerThrottle: wrong bearer tokens were answered 401 without
// limit. Twenty failures from one client address in 15 minutes, then 429,
// even for the right token; other clients are not affected.
func TestAPIBearerThrottle(t *testing.T) {
	t.Parallel()
	const token = "a-service-token-that-is-long-enough-0123456789"
	a := newApp(t, behindProxy, func(ac *appConfig) { ac.APIToken = token })
	a.seedUser(t, annName, annEmail, annPassword)
	c := a.client(t)
	call := func(bearer, ip string) *response {
		return c.do(http.MethodGet, "/api/v1/me/preferences?user="+url.QueryEscape(annEmail), nil,
			http.Header{"Authorization": {"Bearer " + bearer}, "X-Forwarded-For": {ip}})
	}
	for i := range 20 {
		if res := call(fmt.Sprintf("guess-%d", i), "203.0.113.5"); res.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: got %d, want 401", i+1, res.status)
		}
	}
	res := call("guess-21", "203.0.113.5")
	if res.status != http.StatusTooManyRequests {
		t.Errorf("21st wrong token: got %d, want 429", res.status)
	}
	wantRetryAfter(t, "API bearer limit", res, 15*time.Minute)
	notify := c.do(http.MethodPost, "/api/v1/notify", nil, http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-For": {"203.0.113.5"}})
	if notify.status != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled address: got %d, want 429", notify.status)
	}
	if res := call(token, "198.51.100.3"); res.status != http.StatusOK {
		t.Errorf("right token from another address: got %d, want 200", res.status)
	}
}

// TestCodeFloodAcrossProfiles: verification codes were limited per profile
// and address, so every profile an attacker made could send 5 more codes an
// hour to one victim's address. The address's limit is the address's now.
func TestCodeFloodAcrossProfiles(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	const victim = "victim@example.com"
	codes := 0
	for i := range 3 {
		c := a.client(t)
		email := fmt.Sprintf("attacker%d@example.com", i)
		c.adopt(a.seedUser(t, email, email, annPassword).ID)
		res := c.postHTMX("/profile/contacts", url.Values{"kind": {"email"}, "address": {victim}})
		if res.status != http.StatusOK {
			if res.status != http.StatusTooManyRequests {
				t.Fatalf("%s adds %s: got %d", email, victim, res.status)
			}
			continue
		}
		codes++
		list, err := a.store.ContactMethods(context.Background(), a.userID(t, email))
		if err != nil || len(list) != 2 {
			t.Fatalf("methods of %s: %v, %v", email, list, err)
		}
		for range 4 {
			switch res := c.postHTMX(fmt.Sprintf("/profile/contacts/%d/resend", list[1].ID), nil); res.status {
			case http.StatusOK:
				codes++
			case http.StatusTooManyRequests:
				wantRetryAfter(t, "code limit", res, time.Hour)
			default:
				t.Fatalf("resend: got %d", res.status)
			}
		}
	}
	if codes != db.MaxCodesPerAddressHour {
		t.Errorf("3 profiles sending codes to one address: %d codes sent, want %d", codes, db.MaxCodesPerAddressHour)
	}
}

// userID is the id of the user with email.
func (a *app) userID(t *testing.T, email string) int64 {
	t.Helper()
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestChangePasswordRace: the current password on the profile is a
// password check like sign-in's, with the same slots: checks sent at once
// cannot pass the limit either, and a refusal is a 429 with Retry-After.
func TestChangePasswordRace(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.workers, ac.queue = 2, 64 })
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	reqs := make([]raceRequest, 20)
	for i := range reqs {
		reqs[i] = raceRequest{c: c, path: "/profile/password", form: url.Values{"current_password": {fmt.Sprintf("wrong %d", i)}, "new_password": {newPassword}}}
	}
	checked, throttled := 0, 0
	for _, s := range raceAll(t, reqs) {
		switch s {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("concurrent wrong current password: got %d, want 422 or 429", s)
		}
	}
	if checked != 10 || throttled != 10 {
		t.Errorf("20 concurrent wrong current passwords: %d checked, %d throttled; want 10 and 10", checked, throttled)
	}
	res := c.postHTMX("/profile/password", url.Values{"current_password": {annPassword}, "new_password": {newPassword}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "Too many failed sign-in attempts.") {
		t.Errorf("right current password after the race: got %d, want 429 with the message; body:\n%s", res.status, res.body)
	}
	wantRetryAfter(t, "change password limit", res, 15*time.Minute)
}
