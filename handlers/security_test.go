package handlers_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	cspNonce    = regexp.MustCompile(`script-src 'nonce-([^']+)'`)
	scriptNonce = regexp.MustCompile(`<script\b[^>]*\snonce="([^"]*)"`)
)

// TestSecurityHeaders checks DESIGN section 8 on pages, fragments,
// redirects and errors.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	anonymous := a.client(t)

	responses := map[string]*response{
		"login page":      anonymous.get("/login"),
		"profile":         c.get("/profile"),
		"activity":        c.get("/profile/activity"),
		"htmx fragment":   c.postHTMX("/profile/name", url.Values{"name": {"Ann"}}),
		"422 fragment":    c.postHTMX("/profile/name", url.Values{"name": {""}}),
		"redirect":        anonymous.get("/profile"),
		"not found":       anonymous.get("/no/such/page"),
		"refused post":    anonymous.do(http.MethodPost, "/login", url.Values{}, nil),
		"htmx login page": anonymous.getHTMX("/login"),
	}
	for name, res := range responses {
		t.Run(name, func(t *testing.T) {
			h := res.header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'nonce-", "'strict-dynamic'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q: missing %q", csp, want)
				}
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "same-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Cache-Control":              "no-store",
				"Strict-Transport-Security":  "", // http base URL
			} {
				if got := h.Get(k); got != want {
					t.Errorf("got %s %q, want %q", k, got, want)
				}
			}
			if vary := strings.Join(h.Values("Vary"), ","); !strings.Contains(vary, "HX-Request") {
				t.Errorf("got Vary %q, want it to name HX-Request", vary)
			}
			if id := h.Get("X-Request-Id"); id == "" {
				t.Error("got no X-Request-Id, want one on every response")
			}
		})
	}
}

// TestCSPNonce expects a fresh nonce per request, and the same nonce on
// every <script> of the page.
func TestCSPNonce(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	var nonces []string
	for range 2 {
		res := c.get("/login")
		m := cspNonce.FindStringSubmatch(res.header.Get("Content-Security-Policy"))
		if m == nil {
			t.Fatalf("GET /login: no script-src nonce in %q", res.header.Get("Content-Security-Policy"))
		}
		nonce := m[1]
		if len(nonce) < 22 {
			t.Errorf("got nonce %q, want at least 128 bits", nonce)
		}
		scripts := strings.Count(res.body, "<script")
		tags := scriptNonce.FindAllStringSubmatch(res.body, -1)
		if scripts == 0 || len(tags) != scripts {
			t.Errorf("got %d <script> tags, %d with a nonce, want every one to have it", scripts, len(tags))
		}
		for _, tag := range tags {
			if got := html.UnescapeString(tag[1]); got != nonce {
				t.Errorf("got <script nonce=%q>, want the header's %q", got, nonce)
			}
		}
		nonces = append(nonces, nonce)
	}
	if nonces[0] == nonces[1] {
		t.Errorf("two requests got the same nonce %q, want a new one per request", nonces[0])
	}
}

// checkCookie expects the flags every Roster cookie has.
func checkCookie(t *testing.T, ck *http.Cookie, wantSecure bool) {
	t.Helper()
	if !ck.HttpOnly {
		t.Errorf("cookie %s: got HttpOnly false, want true", ck.Name)
	}
	if ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %s: got SameSite %v, want Lax", ck.Name, ck.SameSite)
	}
	if ck.Path != "/" {
		t.Errorf("cookie %s: got Path %q, want /", ck.Name, ck.Path)
	}
	if ck.Domain != "" {
		t.Errorf("cookie %s: got Domain %q, want none", ck.Name, ck.Domain)
	}
	if ck.Secure != wantSecure {
		t.Errorf("cookie %s: got Secure %v, want %v", ck.Name, ck.Secure, wantSecure)
	}
}

// TestCookieFlags: on an http base URL the cookies are HttpOnly, Lax,
// Path=/ and not Secure (a browser would drop them); the session lasts the
// absolute lifetime.
func TestCookieFlags(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	page := c.get("/signup")
	csrf := page.cookie(csrfCookie)
	if csrf == nil {
		t.Fatalf("GET /signup: no %s cookie set", csrfCookie)
	}
	checkCookie(t, csrf, false)

	res := c.postForm("/signup", url.Values{"name": {annName}, "email": {annEmail}, "password": {annPassword}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("POST /signup: got %d, want 303", res.status)
	}
	for _, name := range []string{sessCookie, "roster_flash"} {
		ck := res.cookie(name)
		if ck == nil {
			t.Errorf("POST /signup: no %s cookie set", name)
			continue
		}
		checkCookie(t, ck, false)
	}
	if ck := res.cookie(sessCookie); ck != nil {
		if want := 30 * 24 * 3600; ck.MaxAge != want {
			t.Errorf("session cookie: got Max-Age %d, want %d (the absolute lifetime)", ck.MaxAge, want)
		}
		if len(ck.Value) != 43 {
			t.Errorf("session cookie: got a %d-character value, want 43 (256 random bits)", len(ck.Value))
		}
	}
	if got := res.header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("http base URL: got Strict-Transport-Security %q, want none", got)
	}
}

// TestCookieFlagsHTTPS: on an https base URL every cookie is Secure and
// has the __Host- prefix, and HSTS is sent.
func TestCookieFlagsHTTPS(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpsBase)
	serve := func(method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, "https://roster.test"+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, "https://roster.test"+path, nil)
		}
		for _, ck := range cookies {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		rec := httptest.NewRecorder()
		a.echo.ServeHTTP(rec, req)
		return rec.Result()
	}
	find := func(res *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, ck := range res.Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		t.Fatalf("no %s cookie in %q", name, res.Header.Values("Set-Cookie"))
		return nil
	}

	page := serve(http.MethodGet, "/signup", nil)
	csrf := find(page, "__Host-roster_csrf")
	checkCookie(t, csrf, true)
	if got, want := page.Header.Get("Strict-Transport-Security"), "max-age=63072000; includeSubDomains"; got != want {
		t.Errorf("got Strict-Transport-Security %q, want %q", got, want)
	}

	form := url.Values{"_csrf": {csrf.Value}, "name": {annName}, "email": {annEmail}, "password": {annPassword}}
	res := serve(http.MethodPost, "/signup", form, csrf)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /signup: got %d, want 303", res.StatusCode)
	}
	sess := find(res, "__Host-roster_session")
	checkCookie(t, sess, true)
	checkCookie(t, find(res, "__Host-roster_flash"), true)
	for _, ck := range res.Cookies() {
		if !strings.HasPrefix(ck.Name, "__Host-") {
			t.Errorf("https: got cookie %s, want the __Host- prefix on every cookie", ck.Name)
		}
	}

	// The __Host- cookie is the one read back.
	if got := serve(http.MethodGet, "/profile", nil, csrf, sess); got.StatusCode != http.StatusOK {
		t.Errorf("GET /profile with the __Host- session cookie: got %d, want 200", got.StatusCode)
	}
	plain := &http.Cookie{Name: sessCookie, Value: sess.Value}
	if got := serve(http.MethodGet, "/profile", nil, csrf, plain); got.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /profile with the session id in an unprefixed cookie: got %d, want 303 to log in", got.StatusCode)
	}
}
