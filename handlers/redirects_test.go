package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// The redirect sweep: every route of the real router, its path parameters
// and the common query and form parameters filled with hostile values,
// signed out and signed in, as a plain request and as htmx. No answer may be
// a 5xx, and no Location, HX-Redirect, HX-Location or Refresh may carry a
// byte that is not printable ASCII (a control character, a space, a byte
// of another encoding) or send the browser to another site, except to the
// configured providers and IdPs from the routes that start a sign-in there.

// hostileValues are the raw values put into path segments (escaped, as a
// browser or attacker would send them) and into query and form values.
var hostileValues = []string{
	"\x00",
	"\r\nSet-Cookie:x=1",
	"\t",
	"a\tb",
	"\x7f",
	" ",
	"a b",
	"../../",
	"%",
	"\xff\xfe",
	"//evil.test/x",
	`\\evil.test`,
	"https://evil.test/",
	"/ok?a= b",
	"/ok?é#\x00",
	strings.Repeat("a", 300),
}

// hostileKeys are the query and form parameters the sweep fills.
var hostileKeys = []string{"next", "token", "page", "before", "after", "range", "provider", "email"}

// externalStarts are the routes that may send the browser to another site:
// to a configured provider or IdP, to sign in there.
// A sign-in starts only from a POST (login CSRF, SECURITY.md).
var externalStarts = map[string]bool{
	"POST /auth/:provider":           true,
	"POST /profile/logins/:provider": true,
	"POST /saml/:conn/login":         true,
	"POST /login/saml":               true,
}

var paramRE = regexp.MustCompile(`:[a-z]+|\*`)

func TestRedirectSweep(t *testing.T) {
	w := newSweepWorld(t)
	a, owner := w.a, w.owner
	allowed := map[string]bool{} // hosts a start route may send to
	for _, f := range w.fakes {
		allowed[mustURL(f.Server.URL).Host] = true
	}
	allowed[mustURL(w.idp.URL).Host] = true

	// valid is a value of each path parameter that reaches the handler's
	// logic, so that a hostile value in another parameter is seen there.
	valid := func(route, name string) string {
		if name == "*" {
			return "icons" // a directory: Echo redirects to icons/
		}
		return w.valid(route, name)
	}
	// fill makes a request path of route, the hostile value (escaped as a
	// path segment) in parameter hostile, a valid value in the others.
	fill := func(route string, hostile int, v string) string {
		i := -1
		return paramRE.ReplaceAllStringFunc(route, func(p string) string {
			i++
			sep := ""
			if p == "*" && !strings.HasSuffix(route, "/*") {
				sep = "/" // a route ending "name*" (no slash) takes one
			}
			if i == hostile {
				return sep + url.PathEscape(v)
			}
			return sep + valid(route, p)
		})
	}

	type finding struct{ route, what string }
	var findings []finding
	seen := map[string]bool{}
	report := func(route, what string) {
		if !seen[route+what] {
			seen[route+what] = true
			findings = append(findings, finding{route, what})
		}
	}
	requests := 0
	// check reads the headers as the server wrote them: a client trims
	// the spaces and tabs at the ends of a value, and refuses a NUL.
	redirected := map[string]bool{} // routes seen answering with a redirect
	check := func(route, desc string, c *rawClient, res *response) {
		if len(c.redirectHeaders()) > 0 {
			redirected[route] = true
		}
		if res != nil && res.status >= 500 {
			report(route, fmt.Sprintf("answered %d to %s", res.status, desc))
		}
		for _, h := range c.redirectHeaders() {
			if msg := badTarget(h[0], h[1], externalStarts[route], allowed); msg != "" {
				report(route, fmt.Sprintf("%s %q to %s: %s", h[0], h[1], desc, msg))
			}
		}
	}

	routes := a.echo.Routes()
	// The routes that end what others need (a connection, a membership,
	// an invite) go last, so that the others reach their logic.
	ending := regexp.MustCompile(`/(delete|leave|remove|revoke|owner|accept|ignore|revoke-others)$`)
	order := func(r *echo.Route) string {
		last := "0"
		if r.Method == http.MethodPost && ending.MatchString(r.Path) {
			last = "1"
		}
		return last + r.Path + " " + r.Method
	}
	sort.Slice(routes, func(i, j int) bool { return order(routes[i]) < order(routes[j]) })
	for _, r := range routes {
		route := r.Method + " " + r.Path
		params := len(paramRE.FindAllString(r.Path, -1))
		for _, v := range hostileValues {
			type variant struct {
				path string
				form url.Values
			}
			// Valid answers to the forms that act on success, so that a
			// hostile value elsewhere reaches the write and what follows.
			base := func() url.Values {
				return url.Values{"email": {annEmail}, "password": {annPassword},
					"new_password": {newPassword}, "name": {"Acme"}}
			}
			var variants []variant
			for p := range params {
				variants = append(variants, variant{path: fill(r.Path, p, v), form: base()})
			}
			all := url.Values{}
			for _, k := range hostileKeys {
				all.Set(k, v)
			}
			variants = append(variants, variant{path: fill(r.Path, -1, v), form: all})
			// And a hostile next after a write that succeeds.
			withNext := base()
			withNext.Set("next", v)
			variants = append(variants, variant{path: fill(r.Path, -1, v), form: withNext})

			signed := a.rawClient(t)
			signed.adopt(owner.ID)
			anon := a.rawClient(t)
			for _, vr := range variants {
				path := vr.path
				if r.Method != http.MethodPost && vr.form != nil {
					path += "?" + vr.form.Encode()
				}
				for _, mode := range []string{"anonymous without CSRF", "anonymous", "anonymous htmx", "signed in", "signed in htmx"} {
					if mode == "anonymous without CSRF" && r.Method != http.MethodPost {
						continue // the same request as anonymous
					}
					c := anon
					if strings.HasPrefix(mode, "signed in") {
						c = signed
					}
					header := http.Header{}
					if strings.HasSuffix(mode, "htmx") {
						header.Set("HX-Request", "true")
						header.Set("HX-Current-URL", a.server.URL+"/"+url.PathEscape(v))
					}
					var body url.Values
					if r.Method == http.MethodPost {
						body = url.Values{}
						for k, vs := range vr.form {
							body[k] = vs
						}
						if mode != "anonymous without CSRF" {
							body.Set("_csrf", c.csrf())
						}
					}
					requests++
					desc := fmt.Sprintf("%s %s (%s)", r.Method, path, mode)
					res, err := c.try(r.Method, path, body, header)
					check(route, desc, c, res)
					if err != nil && len(c.redirectHeaders()) == 0 {
						report(route, fmt.Sprintf("%s: %v", desc, err))
					}
				}
				if !signed.signedIn() { // a sign-out or a password change ended it
					signed = a.rawClient(t)
					signed.adopt(owner.ID)
				}
			}
		}
	}
	t.Logf("%d requests over %d routes", requests, len(routes))
	// The sweep must reach the redirects it is about, past the sign-in,
	// the CSRF check and the forms' checks, or it proves nothing.
	for _, r := range []string{
		"GET /", "GET /login", "POST /login", "POST /logout", "GET /profile", "POST /profile/name",
		"POST /password/reset/:token", "POST /auth/:provider", "POST /profile/logins/:provider",
		"GET /login/saml", "POST /login/saml", "POST /saml/:conn/login", "POST /accounts", "POST /accounts/:id/settings",
		"GET /profile/invite-badge",
		// GET /static/* no longer redirects at all (staticFiles answers a
		// file or 404; Echo's static handler redirected directories).
	} {
		if !redirected[r] {
			t.Errorf("%s never answered with a redirect in the sweep", r)
		}
	}
	for _, f := range findings {
		t.Errorf("%s: %s", f.route, f.what)
	}
	if len(findings) > 0 {
		var names []string
		for _, f := range findings {
			if !slices.Contains(names, f.route) {
				names = append(names, f.route)
			}
		}
		t.Errorf("routes with problems: %s", strings.Join(names, ", "))
	}
}

// badTarget says what is wrong with the value v of the redirect header
// name, or "" when it is a well-formed URL on this site (or, when external
// is true, on one of the allowed hosts).
func badTarget(name, v string, external bool, allowed map[string]bool) string {
	target := v
	switch name {
	case "Refresh": // "5; url=/x"
		_, after, ok := strings.Cut(strings.ToLower(v), "url=")
		if !ok {
			return ""
		}
		target = v[len(v)-len(after):]
	case "HX-Location":
		if strings.HasPrefix(v, "{") {
			var loc struct {
				Path string `json:"path"`
			}
			if err := json.Unmarshal([]byte(v), &loc); err != nil {
				return "not JSON: " + err.Error()
			}
			target = loc.Path
		}
	}
	for i := 0; i < len(target); i++ {
		if b := target[i]; b <= ' ' || b >= 0x7f {
			return "byte " + strconv.QuoteRune(rune(b)) + " at " + strconv.Itoa(i) + " is not printable ASCII"
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		return "not a URL: " + err.Error()
	}
	if u.Scheme != "" || u.Host != "" {
		if !external {
			return "not on this site"
		}
		if (u.Scheme != "https" && u.Scheme != "http") || !allowed[u.Host] {
			return "not on this site, nor a configured provider or IdP"
		}
		return ""
	}
	if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, `/\`) {
		return "not a path on this site"
	}
	return ""
}

// rawClient is a client that keeps the bytes of the last answer's head.
type rawClient struct {
	*client
	mu  sync.Mutex
	raw *recordingConn // of the last request
}

func (a *app) rawClient(t *testing.T) *rawClient {
	c := a.client(t)
	rc := &rawClient{client: c, raw: &recordingConn{read: &bytes.Buffer{}}}
	tr := c.hc.Transport.(*http.Transport)
	tr.DisableKeepAlives = true
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.raw = &recordingConn{Conn: conn, read: rc.raw.read}
		return rc.raw, nil
	}
	return rc
}

// recordingConn keeps what was read since the last reset.
type recordingConn struct {
	net.Conn
	read *bytes.Buffer // shared by the client's connections, one at a time
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.read.Write(b[:n])
	return n, err
}

// redirectHeaders are the Location, HX-Redirect, HX-Location and Refresh
// lines of the last answer's head, name and value as sent.
func (c *rawClient) redirectHeaders() [][2]string {
	head, _, _ := bytes.Cut(c.raw.read.Bytes(), []byte("\r\n\r\n"))
	var out [][2]string
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		name, value, _ := strings.Cut(line, ":")
		for _, want := range []string{"Location", "HX-Redirect", "HX-Location", "Refresh"} {
			if strings.EqualFold(name, want) {
				out = append(out, [2]string{want, strings.TrimPrefix(value, " ")})
			}
		}
	}
	return out
}

func (c *rawClient) try(method, path string, form url.Values, header http.Header) (*response, error) {
	c.raw.read.Reset()
	return c.client.try(method, path, form, header)
}

// try is do for an answer that may not be valid HTTP: it returns the
// error instead of failing the test.
func (c *client) try(method, path string, form url.Values, header http.Header) (*response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.app.server.URL+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", c.ua)
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: res.StatusCode, header: res.Header, body: string(b), cookies: res.Cookies()}, nil
}
