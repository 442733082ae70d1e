package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/rosterhq/roster/internal/csrfmask"
	"github.com/rosterhq/roster/session"
)

// requestLog gives every request an id, a logger carrying it, and one log
// line when it ends.
func (h *Handler) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if id == "" || len(id) > 64 {
			id = rand.Text()[:16]
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		log := h.log.With("request_id", id)
		c.Set(ctxLog, log)
		start := time.Now()
		err := next(c)
		if err != nil {
			// The central handler writes the response and logs 5xx causes;
			// run it now so the status below is the one sent.
			c.Error(err)
		}
		log.Info("request", "method", c.Request().Method, "route", c.Path(), "path", loggedPath(c),
			"status", c.Response().Status, "duration_ms", time.Since(start).Milliseconds(), "ip", c.RealIP())
		return nil
	}
}

// secretParams are the path parameters that are a live link's secret: the
// tokens of the reset, verify, email-change and invite links, which work
// for whoever reads them until they are used.
var secretParams = map[string]bool{"token": true}

// hasSecret reports whether the request's route has a secret parameter.
func hasSecret(c echo.Context) bool {
	for _, name := range c.ParamNames() {
		if secretParams[name] {
			return true
		}
	}
	return false
}

// secretQuery are the query parameters that carry a secret: the code of
// a contact method's verification link, the token of a SAML sign-in held
// for confirmation, the OAuth callback's code and state.
var secretQuery = map[string]bool{"code": true, "token": true, "state": true}

// urlHasSecret reports whether the request's URL holds a secret: its route
// has a secret parameter (hasSecret), its query a secret parameter, or a
// value of its query is a local URL that holds one, such as the invite
// page's /login?next=/invites/{token} or logging out's
// /login?next=/invites/{token} once more nested. Such a page sends no
// Referer (secureHeaders); the request log never writes the query.
func urlHasSecret(c echo.Context) bool {
	if hasSecret(c) {
		return true
	}
	if c.Request().URL.RawQuery == "" {
		return false
	}
	return queryHasSecret(c.Echo(), c.QueryParams(), 3)
}

// queryHasSecret is urlHasSecret for a query, following local URLs in its
// values depth more levels down.
func queryHasSecret(e *echo.Echo, q url.Values, depth int) bool {
	for name, values := range q {
		for _, v := range values {
			if v != "" && secretQuery[name] {
				return true
			}
			if depth > 0 && pointsAtSecret(e, v, depth-1) {
				return true
			}
		}
	}
	return false
}

// pointsAtSecret reports whether v is a URL of this site whose path is a
// route with a secret parameter, or a path no route knows (a mangled
// copy of a link may still hold its token), or whose query holds a secret.
// Only paths are looked at, whatever the host: safeNext takes nothing else.
func pointsAtSecret(e *echo.Echo, v string, depth int) bool {
	u, err := url.Parse(v)
	if err != nil {
		return strings.Contains(v, "/")
	}
	if !strings.HasPrefix(u.Path, "/") {
		return false
	}
	c := e.NewContext(nil, nil)
	e.Router().Find(http.MethodGet, u.Path, c)
	if c.Path() == "" || hasSecret(c) {
		return true
	}
	return queryHasSecret(e, u.Query(), depth)
}

// loggedPath is the request's path as the logs may keep it: each segment
// that fills a secret parameter of its route (secretParams) is written as
// the parameter's name, /password/reset/:token. The query, where the OAuth
// callback carries its code, is never logged. A path that matched no route
// is logged as its route alone ("" here): nothing says which of its
// segments is a mistyped link's token.
func loggedPath(c echo.Context) string {
	route, path := c.Path(), c.Request().URL.Path
	if route == "" {
		return ""
	}
	if !hasSecret(c) {
		return path
	}
	pattern, segments := strings.Split(route, "/"), strings.Split(path, "/")
	if len(pattern) != len(segments) {
		return route
	}
	for i, p := range pattern {
		if name, ok := strings.CutPrefix(p, ":"); ok && secretParams[name] {
			segments[i] = p
		}
	}
	return strings.Join(segments, "/")
}

// secureHeaders sets the security headers of DESIGN section 8, with a fresh
// CSP nonce for every request.
func (h *Handler) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		b := make([]byte, 18)
		rand.Read(b)
		// base64url: no character of it is ever escaped, so the render
		// memo's check that a page it keeps holds no nonce (views.keepable)
		// finds one a template wrote in any context.
		n := base64.RawURLEncoding.EncodeToString(b)
		c.Set(ctxNonce, n)
		hd := c.Response().Header()
		// The cards pages add Stripe's origins; every other page, nothing.
		stripeScripts, stripeMore := h.stripeCSP(c.Request().URL.Path)
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+n+"' 'strict-dynamic'"+stripeScripts+"; "+
			"style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"+stripeMore)
		hd["X-Content-Type-Options"] = fixedNosniff
		// A page opened by a mailed link has its token in its URL, and so
		// has a page whose query points at one (urlHasSecret): it sends
		// no Referer at all, not even with its own files, whose requests a
		// proxy's access log keeps with the Referer.
		if urlHasSecret(c) {
			hd["Referrer-Policy"] = fixedNoReferrer
		} else {
			hd["Referrer-Policy"] = fixedSameOrigin
		}
		hd["Cross-Origin-Opener-Policy"] = fixedSameOrigin
		hd.Add("Vary", "HX-Request")
		if h.cfg.Secure() {
			hd["Strict-Transport-Security"] = fixedHSTS
		}
		if strings.HasPrefix(c.Request().URL.Path, "/static/") {
			// staticFiles says how long (fingerprinted or not).
			hd["Cache-Control"] = fixedCacheShort
		} else {
			// Pages carry CSRF tokens and personal data; never keep them.
			hd["Cache-Control"] = fixedNoStore
		}
		return next(c)
	}
}

// The values of secureHeaders' fixed headers, made once: a header set with
// Header.Set gets a new slice for its value on every request. Sharing them
// is safe: net/http copies the header map before it writes it, and Set, Add
// and Del replace, extend (into a new array: each has no spare capacity) or
// drop a value's slice, never write into it. The keys are written in their
// canonical form, as Set would.
var (
	fixedNosniff    = []string{"nosniff"}
	fixedSameOrigin = []string{"same-origin"}
	fixedNoReferrer = []string{"no-referrer"}
	fixedHSTS       = []string{"max-age=63072000; includeSubDomains"}
	fixedCacheShort = []string{cacheShort}
	fixedNoStore    = []string{"no-store"}
)

// bodyLimit caps request bodies: every form here is small.
var bodyLimit = middleware.BodyLimit("256K")

// csrfExempt are the routes that carry their own signatures or, for the
// notify API, a bearer token instead of cookies.
func csrfExempt(path string) bool {
	return path == "/stripe/webhook" || path == "/api/v1/notify" || (strings.HasPrefix(path, "/saml/") && strings.HasSuffix(path, "/acs"))
}

// csrf is a double-submit check: a random token lives in an HttpOnly cookie
// and must come back in the _csrf form field or the X-CSRF-Token header
// (which htmx sends from <body hx-headers>), masked with a one-time pad as
// every page writes it (views.fillSlots), so compressed pages do not leak
// it (BREACH). Under https the cookie has the
// __Host- prefix, so a sibling subdomain cannot plant one.
func (h *Handler) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	name := h.csrfCookie()
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; csrfExempt(p) || strings.HasPrefix(p, "/static/") || p == "/healthz" {
			return next(c)
		}
		token := ""
		if ck, err := c.Cookie(name); err == nil && len(ck.Value) == 43 {
			token = ck.Value
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			sent := c.Request().Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = c.FormValue("_csrf")
			}
			// Pages carry the token masked afresh (csrfmask): unmask.
			if token == "" || !csrfmask.Matches(token, sent) {
				return echo.NewHTTPError(http.StatusForbidden, "This form has expired or did not come from this site. Reload the page and try again.")
			}
		}
		if token == "" {
			h.newCSRF(c)
		} else {
			c.Set(ctxCSRF, token)
		}
		return next(c)
	}
}

func (h *Handler) csrfCookie() string {
	if h.cfg.Secure() {
		return "__Host-roster_csrf"
	}
	return "roster_csrf"
}

// newCSRF gives the browser a new CSRF token, which this response's pages
// carry. Every sign-in calls it (startSession): a token someone planted or
// read before (over plain http a sibling subdomain can set the cookie)
// works for no signed-in session.
func (h *Handler) newCSRF(c echo.Context) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{Name: h.csrfCookie(), Value: token, Path: "/", HttpOnly: true, Secure: h.cfg.Secure(), SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	c.Set(ctxCSRF, token)
}

// loadUser reads the session once per request and puts the user in the
// context for currentUser.
func (h *Handler) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/static/") || p == "/healthz" {
			return next(c)
		}
		if p == inviteBadgePath {
			c.SetRequest(session.Untouched(c.Request())) // the badge's poll is not a use
		}
		if primary, replica := h.replica(); replica && primary == "" {
			// A replica that has lost its primary for now serves pages
			// without the session's last-seen touch, which only the
			// primary could write: it waits for a page after the primary
			// is back, late by the outage at worst.
			c.SetRequest(session.Untouched(c.Request()))
		}
		in, ok, err := h.sessions.Current(c.Request())
		if errors.Is(err, session.ErrOnPrimary) {
			return h.replay(c) // the session's last-seen touch is due
		}
		if err != nil {
			return err
		}
		if !ok {
			return next(c)
		}
		c.Set(ctxUser, in.User)
		c.Set(ctxSessionHash, in.IDHash)
		c.Set(ctxPrefs, in.Prefs)
		return next(c)
	}
}

// requireUser sends anonymous requests to the sign-in page, remembering
// where they were going. htmx gets HX-Redirect, as a 302 would be followed
// by XHR and the login page swapped into a fragment.
func (h *Handler) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := currentUser(c); ok {
			return next(c)
		}
		if c.Request().URL.Path == inviteBadgePath {
			// The badge's poll on a page whose session ended: nothing to
			// show, and no jump to the sign-in page while someone types.
			return c.NoContent(http.StatusNoContent)
		}
		target := c.Request().URL.RequestURI()
		if isHTMX(c) {
			// After sign-in, go back to the page the person was on, not to
			// the fragment URL htmx asked for.
			if cur, err := url.Parse(c.Request().Header.Get("HX-Current-URL")); err == nil && cur.Path != "" {
				target = cur.RequestURI()
			}
			return hxRedirect(c, loginWithNext(target), http.StatusUnauthorized)
		}
		if c.Request().Method != http.MethodGet {
			target = "/profile"
		}
		return seeOther(c, loginWithNext(target))
	}
}

// ipExtractor believes X-Forwarded-For only from the configured proxies.
func ipExtractor(trusted []string) (echo.IPExtractor, error) {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range trusted {
		_, n, err := net.ParseCIDR(strings.TrimSpace(cidr))
		if err != nil {
			return nil, err
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// deriveKey makes an independent key for one purpose from the site secret.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("roster " + purpose))
	return m.Sum(nil)
}

// recover turns a panic into an error for the central handler.
func (h *Handler) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(r)
				}
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return next(c)
	}
}
