package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/passkeytest"
)

// Passkeys through the real router, with a software authenticator
// (internal/passkeytest) answering as a browser's would for
// http://roster.test. The browser's side is tested in Chromium
// (e2e/browser_passkeys_test.go).

const passkeyCookie = "roster_passkey"

func rosterAuthenticator() *passkeytest.Authenticator {
	return &passkeytest.Authenticator{RPID: "roster.test", Origin: "http://roster.test"}
}

// passkeyBegin posts a begin as static/passkey.js does (the token in the
// header) and returns the JSON options.
func (c *client) passkeyBegin(path string, form url.Values) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return c.do(http.MethodPost, path, form, http.Header{"X-Csrf-Token": {c.csrf()}, "Accept": {"application/json"}})
}

// addPasskey adds a passkey named name from this signed-in client and
// returns it.
func (c *client) addPasskey(auth *passkeytest.Authenticator, name string) *passkeytest.Credential {
	c.t.Helper()
	begin := c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {name}})
	if begin.status != http.StatusOK {
		c.t.Fatalf("begin adding a passkey: got %d, want 200; body %s", begin.status, begin.body)
	}
	body, cred, err := auth.Create([]byte(begin.body))
	if err != nil {
		c.t.Fatal(err)
	}
	res := c.postForm("/profile/passkeys", url.Values{"passkey_name": {name}, "credential": {string(body)}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		c.t.Fatalf("add passkey %s: got %d to %q, want 303 to /profile; body %s", name, res.status, res.header.Get("Location"), res.body)
	}
	return cred
}

// passkeyLogin signs in with cred from this client: begin, assert, post.
// sign changes the assertion (nil: Assert as it comes).
func (c *client) passkeyLogin(auth *passkeytest.Authenticator, cred *passkeytest.Credential, sign func(challenge string) ([]byte, error)) *response {
	c.t.Helper()
	begin := c.passkeyBegin("/login/passkey/begin", nil)
	if begin.status != http.StatusOK {
		c.t.Fatalf("begin a passkey sign-in: got %d, want 200; body %s", begin.status, begin.body)
	}
	challenge, err := passkeytest.Challenge([]byte(begin.body))
	if err != nil {
		c.t.Fatal(err)
	}
	if sign == nil {
		sign = func(ch string) ([]byte, error) { return auth.Assert(cred, ch) }
	}
	body, err := sign(challenge)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.postForm("/login/passkey", url.Values{"credential": {string(body)}})
}

func wantSignedInBy(t *testing.T, c *client, res *response) {
	t.Helper()
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		t.Fatalf("passkey sign-in: got %d to %q, want 303 to /profile; body %s", res.status, res.header.Get("Location"), res.body)
	}
	if !c.signedIn() {
		t.Fatal("after the passkey sign-in: logged out, want logged in")
	}
}

func wantRefusedSignIn(t *testing.T, c *client, res *response, message string) {
	t.Helper()
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, message) {
		t.Errorf("passkey sign-in: got %d, want 422 saying %q; body %s", res.status, message, res.body)
	}
	if c.signedIn() {
		t.Error("after a refused passkey sign-in: logged in, want logged out")
	}
}

const (
	passkeyRefusedText  = "That passkey was not accepted. Try again, or use another way to log in."
	passkeyCeremonyText = "This passkey request has expired or was already used. Try again."
)

func TestPasskeyAddListSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	c := a.client(t)
	c.adopt(ann.ID)
	auth := rosterAuthenticator()
	cred := c.addPasskey(auth, "Work laptop")
	c.addPasskey(auth, "Phone")

	page := c.get("/profile")
	for _, want := range []string{`<section id="passkeys">`, "<td data-label=\"Name\">Work laptop</td>", "<td data-label=\"Name\">Phone</td>", "Never"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("profile: missing %q", want)
		}
	}
	a.mail.waitFor(t, annEmail, "Security notice: passkey added")
	events, err := a.store.EventsForUser(context.Background(), ann.ID, db.EventKey{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, ev := range events.Events {
		if ev.Kind == db.EventPasskeyAdded {
			added++
		}
	}
	if added != 2 {
		t.Errorf("audit: got %d passkey_added entries, want 2", added)
	}

	// Rename one, with htmx: the panel comes back; an empty name is refused.
	keys, err := a.store.PasskeysForUser(context.Background(), ann.ID, "roster.test")
	if err != nil || len(keys) != 2 {
		t.Fatalf("Ann's passkeys: %+v %v", keys, err)
	}
	rename := "/profile/passkeys/" + strconv.FormatInt(keys[1].ID, 10) + "/name"
	if res := c.postHTMX(rename, url.Values{"passkey_name": {"Old phone"}}); res.status != http.StatusOK || !strings.Contains(res.body, "The passkey is renamed Old phone.") || !strings.Contains(res.body, `<td data-label="Name">Old phone</td>`) {
		t.Errorf("rename: got %d, want 200 with the panel showing the new name; body %s", res.status, res.body)
	}
	if res := c.postHTMX(rename, url.Values{"passkey_name": {" "}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Rename: Name the passkey") {
		t.Errorf("rename to nothing: got %d, want 422 asking for a name; body %s", res.status, res.body)
	}

	// Another browser, signed out, signs in with the passkey alone.
	other := a.client(t)
	wantSignedInBy(t, other, other.passkeyLogin(auth, cred, nil))
	activity := other.get("/profile/activity").body
	for _, want := range []string{"Added the passkey Work laptop", "Added the passkey Phone", "Renamed the passkey Phone to Old phone", "Logged in with a passkey"} {
		if !strings.Contains(activity, want) {
			t.Errorf("activity log: missing %q", want)
		}
	}
	if page := other.get("/profile"); strings.Contains(page.body, ">Never<") == false {
		t.Error("profile after the sign-in: want the unused passkey still Never used")
	}
	keys, err = a.store.PasskeysForUser(context.Background(), ann.ID, "roster.test")
	if err != nil || len(keys) != 2 || keys[0].LastUsedAt.IsZero() {
		t.Errorf("passkeys after a sign-in: got %+v (%v), want Work laptop's last use recorded", keys, err)
	}
}

// TestPasskeyRefusals: each way a ceremony must fail, and nobody signed in
// or no passkey stored after it.
func TestPasskeyRefusals(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a := newApp(t, func(ac *appConfig) { ac.now = now })
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	auth := rosterAuthenticator()
	annBrowser := a.client(t)
	annBrowser.adopt(ann.ID)
	annKey := annBrowser.addPasskey(auth, "Ann's key")
	bobBrowser := a.client(t)
	bobBrowser.adopt(bob.ID)
	bobKey := bobBrowser.addPasskey(auth, "Bob's key")

	t.Run("begin without the CSRF token", func(t *testing.T) {
		c := a.client(t)
		c.csrf()
		for _, path := range []string{"/login/passkey/begin", "/profile/passkeys/begin"} {
			if res := c.do(http.MethodPost, path, url.Values{}, nil); res.status != http.StatusForbidden {
				t.Errorf("POST %s without a token: got %d, want 403", path, res.status)
			}
		}
	})
	t.Run("finish without the CSRF token", func(t *testing.T) {
		c := a.client(t)
		begin := c.passkeyBegin("/login/passkey/begin", nil)
		challenge, _ := passkeytest.Challenge([]byte(begin.body))
		body, _ := auth.Assert(annKey, challenge)
		res := c.do(http.MethodPost, "/login/passkey", url.Values{"credential": {string(body)}}, nil)
		if res.status != http.StatusForbidden || c.signedIn() {
			t.Errorf("finish without a token: got %d (signed in %v), want 403 and signed out", res.status, c.signedIn())
		}
		// Adding one without the token stores nothing.
		c.adopt(ann.ID)
		begin = c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {"No token"}})
		created, _, _ := auth.Create([]byte(begin.body))
		if res := c.do(http.MethodPost, "/profile/passkeys", url.Values{"passkey_name": {"No token"}, "credential": {string(created)}}, nil); res.status != http.StatusForbidden {
			t.Errorf("add without a token: got %d, want 403", res.status)
		}
		if strings.Contains(c.get("/profile").body, "No token") {
			t.Error("a passkey posted without the token was added")
		}
	})
	t.Run("wrong challenge", func(t *testing.T) {
		c := a.client(t)
		wantRefusedSignIn(t, c, c.passkeyLogin(auth, annKey, func(string) ([]byte, error) {
			return auth.Assert(annKey, "bm90LXRoZS1jaGFsbGVuZ2UtdGhlLXNlcnZlci1nYXZl")
		}), passkeyRefusedText)
	})
	t.Run("expired challenge", func(t *testing.T) {
		c := a.client(t)
		wantRefusedSignIn(t, c, c.passkeyLogin(auth, annKey, func(ch string) ([]byte, error) {
			mu.Lock()
			clock = clock.Add(db.PasskeyCeremonyTTL + time.Second)
			mu.Unlock()
			return auth.Assert(annKey, ch)
		}), passkeyCeremonyText)
	})
	t.Run("replayed", func(t *testing.T) {
		c := a.client(t)
		begin := c.passkeyBegin("/login/passkey/begin", nil)
		ceremony := c.cookie(passkeyCookie)
		if ceremony == "" {
			t.Fatal("begin: no ceremony cookie")
		}
		challenge, _ := passkeytest.Challenge([]byte(begin.body))
		body, _ := auth.Assert(annKey, challenge)
		wantSignedInBy(t, c, c.postForm("/login/passkey", url.Values{"credential": {string(body)}}))
		// The same post again, ceremony cookie and all, from a fresh browser.
		replay := a.client(t)
		u, _ := url.Parse(a.server.URL)
		replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: passkeyCookie, Value: ceremony, Path: "/"}})
		wantRefusedSignIn(t, replay, replay.postForm("/login/passkey", url.Values{"credential": {string(body)}}), passkeyCeremonyText)
	})
	t.Run("ceremony of another browser", func(t *testing.T) {
		started, finisher := a.client(t), a.client(t)
		begin := started.passkeyBegin("/login/passkey/begin", nil)
		challenge, _ := passkeytest.Challenge([]byte(begin.body))
		body, _ := auth.Assert(annKey, challenge)
		wantRefusedSignIn(t, finisher, finisher.postForm("/login/passkey", url.Values{"credential": {string(body)}}), passkeyCeremonyText)
	})
	t.Run("another person's credential", func(t *testing.T) {
		// Bob's passkey, the response claiming Ann's user handle.
		c := a.client(t)
		wantRefusedSignIn(t, c, c.passkeyLogin(auth, bobKey, func(ch string) ([]byte, error) {
			return auth.AssertAs(bobKey, ch, annKey.UserHandle)
		}), passkeyRefusedText)
	})
	t.Run("adding finished as another person", func(t *testing.T) {
		// The browser began adding one as Bob, then signed in as Ann.
		c := a.client(t)
		c.adopt(bob.ID)
		begin := c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {"Switched"}})
		created, _, err := auth.Create([]byte(begin.body))
		if err != nil {
			t.Fatal(err)
		}
		c.adopt(ann.ID)
		res := c.postForm("/profile/passkeys", url.Values{"passkey_name": {"Switched"}, "credential": {string(created)}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, passkeyCeremonyText) {
			t.Errorf("finish as another person: got %d, want 422 with %q", res.status, passkeyCeremonyText)
		}
		for _, u := range []db.User{ann, bob} {
			keys, _ := a.store.PasskeysForUser(context.Background(), u.ID, "roster.test")
			for _, k := range keys {
				if k.Name == "Switched" {
					t.Errorf("%s got the passkey of a ceremony begun by another person", u.Email)
				}
			}
		}
	})
	t.Run("removing someone else's passkey", func(t *testing.T) {
		keys, err := a.store.PasskeysForUser(context.Background(), ann.ID, "roster.test")
		if err != nil || len(keys) == 0 {
			t.Fatalf("Ann's passkeys: %v %v", keys, err)
		}
		id := strconv.FormatInt(keys[0].ID, 10)
		for _, path := range []string{"/profile/passkeys/" + id + "/delete", "/profile/passkeys/" + id + "/name"} {
			if res := bobBrowser.postForm(path, url.Values{"passkey_name": {"Mine now"}}); res.status != http.StatusNotFound {
				t.Errorf("Bob posts %s: got %d, want 404", path, res.status)
			}
		}
		after, _ := a.store.PasskeysForUser(context.Background(), ann.ID, "roster.test")
		if len(after) != len(keys) || after[0].Name != keys[0].Name {
			t.Errorf("Ann's passkeys after Bob's posts: got %+v, want %+v", after, keys)
		}
	})
	t.Run("clone warning", func(t *testing.T) {
		// A copy of Bob's passkey whose counter is behind the one stored.
		c := a.client(t)
		wantSignedInBy(t, c, c.passkeyLogin(auth, bobKey, nil))
		clone := *bobKey
		clone.Counter = 0
		other := a.client(t)
		wantRefusedSignIn(t, other, other.passkeyLogin(auth, &clone, nil), passkeyRefusedText)
		events, _ := a.store.EventsForUser(context.Background(), bob.ID, db.EventKey{}, 10)
		if len(events.Events) == 0 || events.Events[0].Kind != db.EventPasskeyCloneWarning {
			t.Errorf("Bob's newest event: got %+v, want %s", events.Events, db.EventPasskeyCloneWarning)
		}
		// The genuine one, ahead, still works.
		again := a.client(t)
		wantSignedInBy(t, again, again.passkeyLogin(auth, bobKey, nil))
	})
	t.Run("removed passkey", func(t *testing.T) {
		keys, _ := a.store.PasskeysForUser(context.Background(), bob.ID, "roster.test")
		res := bobBrowser.postForm("/profile/passkeys/"+strconv.FormatInt(keys[0].ID, 10)+"/delete", url.Values{})
		if res.status != http.StatusSeeOther {
			t.Fatalf("remove Bob's passkey: got %d, want 303; body %s", res.status, res.body)
		}
		a.mail.waitFor(t, bobEmail, "Security notice: passkey removed")
		c := a.client(t)
		wantRefusedSignIn(t, c, c.passkeyLogin(auth, bobKey, nil), passkeyRefusedText)
	})
}

// TestPasskeyAddRefusals: adding needs a confirmed email, a name, and a
// ceremony of this browser.
func TestPasskeyAddRefusals(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	unconfirmed := a.client(t)
	unconfirmed.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	if res := unconfirmed.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {"Laptop"}}); res.status != http.StatusConflict {
		t.Errorf("begin with the email unconfirmed: got %d, want 409; body %s", res.status, res.body)
	}
	c := a.client(t)
	c.adopt(a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword)).ID)
	if res := c.passkeyBegin("/profile/passkeys/begin", url.Values{"passkey_name": {""}}); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Name the passkey") {
		t.Errorf("begin without a name: got %d %s, want 422 asking for a name", res.status, res.body)
	}
	// A finish with no ceremony begun.
	created, _, err := rosterAuthenticator().Create([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","user":{"id":"AQID"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res := c.postHTMX("/profile/passkeys", url.Values{"passkey_name": {"Laptop"}, "credential": {string(created)}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, passkeyCeremonyText) || !strings.HasPrefix(strings.TrimSpace(res.body), `<section id="passkeys">`) {
		t.Errorf("finish without a ceremony: got %d, want 422 with the Passkeys panel saying %q; body %s", res.status, passkeyCeremonyText, res.body)
	}
}

// TestPasskeyCheck: the check of a known user's passkey (beginPasskeyCheck,
// finishPasskeyCheck), through test routes: only that user's passkeys
// pass, once per ceremony, in the browser that began it.
func TestPasskeyCheck(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.handler.PasskeyCheckRoutes(a.echo)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	bob := a.verify(t, a.seedUser(t, "Bob", bobEmail, bobPassword))
	carol := a.seedUser(t, "Carol", "carol@example.com", annPassword)
	auth := rosterAuthenticator()
	c := a.client(t)
	c.adopt(ann.ID)
	annKey := c.addPasskey(auth, "Ann's key")
	c.adopt(bob.ID)
	bobKey := c.addPasskey(auth, "Bob's key")
	path := func(u db.User) string { return "/test/passkey-check/" + strconv.FormatInt(u.ID, 10) }

	check := func(c *client, u db.User, key *passkeytest.Credential) (*response, string) {
		t.Helper()
		begin := c.passkeyBegin(path(u)+"/begin", nil)
		if begin.status != http.StatusOK {
			t.Fatalf("begin the check of %s: got %d, want 200; body %s", u.Email, begin.status, begin.body)
		}
		if !strings.Contains(begin.body, `"allowCredentials"`) || !strings.Contains(begin.body, `"userVerification":"required"`) {
			t.Errorf("check options: got %s, want allowCredentials and user verification required", begin.body)
		}
		challenge, _ := passkeytest.Challenge([]byte(begin.body))
		body, err := auth.Assert(key, challenge)
		if err != nil {
			t.Fatal(err)
		}
		return c.postForm(path(u), url.Values{"credential": {string(body)}}), string(body)
	}

	browser := a.client(t)
	res, body := check(browser, ann, annKey)
	if res.status != http.StatusOK || res.body != "Ann's key" {
		t.Fatalf("Ann's check with her passkey: got %d %q, want 200 \"Ann's key\"", res.status, res.body)
	}
	if keys, err := a.store.PasskeysForUser(context.Background(), ann.ID, "roster.test"); err != nil || len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Errorf("Ann's passkeys after the check: got %+v (%v), want its use recorded", keys, err)
	}
	if again := browser.postForm(path(ann), url.Values{"credential": {body}}); again.status != http.StatusUnprocessableEntity {
		t.Errorf("the same assertion again: got %d, want 422", again.status)
	}
	if res, _ := check(a.client(t), ann, bobKey); res.status != http.StatusUnprocessableEntity {
		t.Errorf("Ann's check with Bob's passkey: got %d, want 422", res.status)
	}
	// Begun for Bob, finished as a check of Ann.
	other := a.client(t)
	begin := other.passkeyBegin(path(bob)+"/begin", nil)
	challenge, _ := passkeytest.Challenge([]byte(begin.body))
	signed, _ := auth.Assert(bobKey, challenge)
	if res := other.postForm(path(ann), url.Values{"credential": {string(signed)}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("Bob's check finished as Ann's: got %d, want 422", res.status)
	}
	if res := a.client(t).passkeyBegin(path(carol)+"/begin", nil); res.status != http.StatusNotFound {
		t.Errorf("check of someone without passkeys: got %d, want 404", res.status)
	}
}
