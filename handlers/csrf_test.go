package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/csrfmask"
)

const csrfRefused = "This form has expired or did not come from this site. Reload the page and try again."

// TestCSRF refuses a state change whose token is missing or is not the
// cookie's, from the form field or the X-CSRF-Token header, and accepts the
// right token in either place.
func TestCSRF(t *testing.T) {
	t.Parallel()
	passwordForm := url.Values{"current_password": {annPassword}, "new_password": {newPassword}}
	passwordUnchanged := func(t *testing.T, s *state, _ *response) {
		s.app.client(t).login(annEmail, annPassword)
	}
	stillSignedIn := func(t *testing.T, s *state, _ *response) {
		if !s.c.signedIn() {
			t.Error("after a refused post: logged out, want the session untouched")
		}
	}
	refused := []string{"<html", csrfRefused}

	runScenarios(t, []scenario{
		{
			name: "log in, token missing", setup: annExists, path: "/login", csrf: csrfMissing,
			form:       url.Values{"email": {annEmail}, "password": {annPassword}},
			wantStatus: http.StatusForbidden, wantContains: refused, wantHeader: map[string]string{"Location": ""},
			after: func(t *testing.T, s *state, _ *response) {
				if s.c.signedIn() {
					t.Error("after a refused sign-in: logged in, want logged out")
				}
			},
		},
		{
			name: "log in, token wrong", setup: annExists, path: "/login", csrf: csrfWrong,
			form:       url.Values{"email": {annEmail}, "password": {annPassword}},
			wantStatus: http.StatusForbidden, wantContains: refused,
		},
		{
			name: "sign up, token wrong, htmx", path: "/signup", csrf: csrfWrong, htmx: true,
			form:       url.Values{"name": {annName}, "email": {annEmail}, "password": {annPassword}},
			wantStatus: http.StatusForbidden, wantContains: []string{`<div class="toast error" role="alert">`, csrfRefused},
			wantHeader: map[string]string{"HX-Retarget": "#toasts", "HX-Redirect": ""},
		},
		{
			name: "change password, token missing", setup: signedUp, path: "/profile/password", csrf: csrfMissing,
			form: passwordForm, wantStatus: http.StatusForbidden, wantContains: refused, after: passwordUnchanged,
		},
		{
			name: "change password, token wrong", setup: signedUp, path: "/profile/password", csrf: csrfWrong,
			form: passwordForm, wantStatus: http.StatusForbidden, wantContains: refused, after: passwordUnchanged,
		},
		{
			name: "change password, token wrong, htmx", setup: signedUp, path: "/profile/password", csrf: csrfWrong, htmx: true,
			form: passwordForm, wantStatus: http.StatusForbidden, wantContains: []string{csrfRefused}, after: passwordUnchanged,
		},
		{
			name: "log out, token missing", setup: signedUp, path: "/logout", csrf: csrfMissing, form: url.Values{},
			wantStatus: http.StatusForbidden, wantContains: refused, after: stillSignedIn,
		},
		{
			name: "revoke other sessions, token wrong", setup: withSecondSession, path: "/profile/sessions/revoke-others", csrf: csrfWrong,
			form: url.Values{}, wantStatus: http.StatusForbidden, wantContains: refused,
			after: func(t *testing.T, s *state, _ *response) {
				if !s.clients["second"].signedIn() {
					t.Error("second browser after a refused revoke: logged out, want logged in")
				}
			},
		},
		{
			name: "save name, token in the header of a plain post", setup: signedUp, path: "/profile/name", csrf: csrfHeader,
			form: url.Values{"name": {"Ann B."}}, wantStatus: http.StatusSeeOther, wantFlash: "Your name is saved.",
		},
		{
			name: "save name, token in the header, htmx", setup: signedUp, path: "/profile/name", htmx: true,
			form: url.Values{"name": {"Ann B."}}, wantStatus: http.StatusOK, wantContains: []string{"Your name is saved."},
		},
	})
}

// TestCSRFTokenOfAnotherBrowser refuses a token that is valid for another
// browser: it must match this browser's own cookie.
func TestCSRFTokenOfAnotherBrowser(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	attacker, victim := a.client(t), a.client(t)
	victim.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)

	form := url.Values{"_csrf": {attacker.csrf()}, "name": {"Mallory"}}
	res := victim.do(http.MethodPost, "/profile/name", form, nil)
	if res.status != http.StatusForbidden {
		t.Errorf("POST /profile/name with another browser's token: got %d, want 403", res.status)
	}
	fresh := a.client(t) // no cookie at all
	res = fresh.do(http.MethodPost, "/login", url.Values{"_csrf": {attacker.csrf()}, "email": {annEmail}, "password": {annPassword}}, nil)
	if res.status != http.StatusForbidden {
		t.Errorf("POST /login without a CSRF cookie: got %d, want 403", res.status)
	}
}

// TestEveryFormCarriesTheToken checks DESIGN section 6: each form has the
// hidden _csrf field, and the head and <body hx-headers> carry the token.
func TestEveryFormCarriesTheToken(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	a.client(t).adopt(ann.ID) // so the Revoke buttons show
	c.csrf()

	anonymous := a.client(t)
	for path, who := range map[string]*client{"/profile": c, "/login": anonymous, "/signup": anonymous, "/password/forgot": anonymous} {
		res := who.get(path)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", path, res.status)
		}
		forms := strings.Count(res.body, "<form")
		fields := regexp.MustCompile(`<input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{86}">`).FindAllString(res.body, -1)
		if forms == 0 || len(fields) != forms {
			t.Errorf("GET %s: got %d _csrf fields in %d forms, want one in each", path, len(fields), forms)
		}
	}

	body := c.get("/profile").body
	raw := c.cookie(csrfCookie)
	for _, want := range []string{
		`<meta name="csrf-token" content="([A-Za-z0-9_-]+)">`,
		`<body hx-headers='{"X-CSRF-Token": "([A-Za-z0-9_-]+)"}'>`,
		`<input type="hidden" name="_csrf" value="([A-Za-z0-9_-]+)">`,
	} {
		m := regexp.MustCompile(want).FindStringSubmatch(body)
		if m == nil || len(m[1]) != csrfmask.MaskedLen || !csrfmask.Matches(raw, m[1]) {
			t.Errorf("GET /profile: missing %q with this browser's token masked (%q)", want, m)
		}
	}
	if strings.Contains(body, raw) {
		t.Errorf("GET /profile: the raw token is on the page")
	}
	if forms := strings.Count(body, "<form"); forms < 5 {
		t.Errorf("GET /profile with two sessions: got %d forms, want at least 5 (name, resend, password, revoke, log out others, log out)", forms)
	}
}

// maskedInPage finds every token a page writes: the forms' fields, the meta
// tag and htmx's header.
var maskedInPage = regexp.MustCompile(`(?:name="_csrf" value="|name="csrf-token" content="|"X-CSRF-Token": ")([^"]*)"`)

// TestCSRFMaskedAfresh: pages are compressed, so the token they carry is
// masked with a new pad in every response (BREACH): two responses never
// carry the same token bytes nor the raw token; a masked
// token from a page posts; one from another browser's page, or of the
// wrong length, is refused.
func TestCSRFMaskedAfresh(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c, other := a.client(t), a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	other.adopt(a.seedUser(t, "Bob", "bob@example.com", annPassword).ID)
	c.csrf()
	raw := c.cookie(csrfCookie)

	seen := map[string]string{}
	var fromPage string
	for i, path := range []string{"/profile", "/profile", "/profile/notifications", "/profile/notifications", "/profile"} {
		res := c.get(path)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.status)
		}
		if strings.Contains(res.body, raw) {
			t.Errorf("GET %s: the raw token is on the page", path)
		}
		ms := maskedInPage.FindAllStringSubmatch(res.body, -1)
		if len(ms) < 3 {
			t.Fatalf("GET %s: %d tokens, want the meta tag, htmx's header and a form's", path, len(ms))
		}
		for _, m := range ms {
			if len(m[1]) != csrfmask.MaskedLen || !csrfmask.Matches(raw, m[1]) {
				t.Errorf("GET %s: token %q is not this browser's, masked", path, m[1])
			}
			if m[1] != ms[0][1] {
				t.Errorf("GET %s: tokens %q and %q in one answer: one pad per answer", path, m[1], ms[0][1])
			}
			fromPage = m[1]
		}
		if where, ok := seen[ms[0][1]]; ok {
			t.Errorf("GET %s (#%d): token bytes %q already sent by %s", path, i, ms[0][1], where)
		}
		seen[ms[0][1]] = fmt.Sprintf("%s (#%d)", path, i)
	}

	// A masked token from a page posts, as a field and as htmx's header.
	if res := c.do(http.MethodPost, "/profile/name", url.Values{"_csrf": {fromPage}, "name": {"Ann Masked"}}, nil); res.status != http.StatusOK && res.status != http.StatusSeeOther {
		t.Errorf("POST /profile/name with a page's masked token: got %d", res.status)
	}
	hdr := http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {fromPage}}
	if res := c.do(http.MethodPost, "/profile/name", url.Values{"name": {"Ann Header"}}, hdr); res.status != http.StatusOK {
		t.Errorf("POST /profile/name (htmx) with a page's masked token: got %d", res.status)
	}

	// Another browser's page's token, masked as its pages write it.
	otherTok := maskedInPage.FindStringSubmatch(other.get("/profile").body)[1]
	bad := map[string]string{
		"another browser's":  otherTok,
		"one character less": fromPage[:csrfmask.MaskedLen-1],
		"one character more": fromPage + "A",
		"padded":             fromPage + "==",
		"masked twice":       csrfmask.Mask(fromPage[:csrfmask.RawLen]),
		"pad only":           fromPage[:csrfmask.MaskedLen/2],
		"not base64":         strings.Repeat("*", csrfmask.MaskedLen),
	}
	for name, tok := range bad {
		if res := c.do(http.MethodPost, "/profile/name", url.Values{"_csrf": {tok}, "name": {"Mallory"}}, nil); res.status != http.StatusForbidden {
			t.Errorf("POST /profile/name with a token %s: got %d, want 403", name, res.status)
		}
		if res := c.do(http.MethodPost, "/profile/name", url.Values{"name": {"Mallory"}}, http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {tok}}); res.status != http.StatusForbidden {
			t.Errorf("POST /profile/name (htmx) with a token %s: got %d, want 403", name, res.status)
		}
	}
	// During the transition the raw token (on pages served before
	// masking) still posts (csrfmask.AcceptRaw).
	if res := c.do(http.MethodPost, "/profile/name", url.Values{"_csrf": {raw}, "name": {"Ann Raw"}}, nil); (res.status == http.StatusForbidden) == csrfmask.AcceptRaw {
		t.Errorf("POST /profile/name with the raw token: got %d, AcceptRaw %v", res.status, csrfmask.AcceptRaw)
	}
}
