package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOAuthFlowBoundToBrowser (login CSRF, SECURITY.md): Mallory runs her
// own sign-in up to the provider's redirect back, keeps the callback URL
// and her flow cookie, plants the cookie in Bob's signed-out browser (a
// sibling subdomain can set a cookie without the __Host- prefix, even under
// https) and sends Bob's browser to the callback. The flow is bound to the
// CSRF token of the browser that started it (a __Host- cookie under
// https), so Bob's browser, with its own token, is refused and stays
// signed out; Mallory's own browser still finishes her sign-in.
func TestOAuthFlowBoundToBrowser(t *testing.T) {
	t.Parallel()
	a, fakes := oauthApp(t)
	oc, f := oauthCases[0], fakes[oauthCases[0].key]
	f.SignInAs(person("666", "mallory@example.org", true))
	mal := a.client(t)
	start := mal.startSignIn("/auth/" + oc.key + "?next=" + url.QueryEscape("/cards"))
	callback := f.AuthorizeURL(t, start.header.Get("Location")) // Mallory stops here
	u, _ := url.Parse(a.server.URL + "/auth/" + oc.key + "/callback")
	var flow *http.Cookie
	for _, ck := range mal.hc.Jar.Cookies(u) {
		if ck.Name == "roster_oauth" {
			flow = ck
		}
	}
	if flow == nil {
		t.Fatal("no flow cookie in Mallory's browser")
	}

	bob := a.client(t)
	bob.get("/login")
	bob.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "roster_oauth", Value: flow.Value, Path: "/auth"}})
	res := bob.get(callback)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "was not started from this browser") {
		t.Errorf("the callback in Bob's browser with Mallory's flow: got %d, want 400 and the sign-in did not start here", res.status)
	}
	if got := bob.profileEmail(); got != "" {
		t.Fatalf("Bob's browser is signed in to %q through a planted flow cookie", got)
	}

	// Mallory's own browser finishes her sign-in (her flow, her token).
	// Bob's attempt took nothing from it: the cookie is hers.
	if res := mal.get(callback); res.status != http.StatusSeeOther || res.header.Get("Location") != "/cards" {
		t.Fatalf("the callback in Mallory's browser: got %d to %q, want 303 to /cards", res.status, res.header.Get("Location"))
	}
	if got := mal.profileEmail(); got != "mallory@example.org" {
		t.Fatalf("Mallory's browser is signed in to %q, want her own profile", got)
	}
}
