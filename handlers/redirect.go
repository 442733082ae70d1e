package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// Every Location, HX-Redirect and back address Roster sends is a place,
// built here from a route pattern and validated parts, never from request
// input pasted into a string (issue 16: a reset token with a NUL in it went
// straight into Location). Only an untyped constant converts to a place
// implicitly, so redirect(c, "/login") compiles and
// redirect(c, "/password/reset/"+token) does not: a value from the request
// goes in through at (a path segment, escaped), query (url.Values) or
// safeNext (a same-site path, re-escaped). The one way off the site is
// offsite, for the provider or IdP a sign-in starts at.

// place is a path on this site to send a browser to, in printable ASCII.
type place string

// at fills the :name segments of the route pattern, in order, with args:
// an int64 as its digits, a string escaped as one path segment (so "/",
// "%", a NUL or a line break in it cannot change the path or the header).
func at(pattern string, args ...any) place {
	var b strings.Builder
	for i, seg := range strings.Split(pattern, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if !strings.HasPrefix(seg, ":") {
			b.WriteString(seg)
			continue
		}
		if len(args) == 0 {
			panic("redirect: no value for " + seg + " in " + pattern)
		}
		switch v := args[0].(type) {
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case string:
			b.WriteString(url.PathEscape(v))
		default:
			panic("redirect: a " + seg + " that is neither an int64 nor a string")
		}
		args = args[1:]
	}
	if len(args) > 0 {
		panic("redirect: more values than segments in " + pattern)
	}
	return place(b.String())
}

// query sets t's query to q, encoded.
func (t place) query(q url.Values) place {
	path, _, _ := strings.Cut(string(t), "?")
	if len(q) == 0 {
		return place(path)
	}
	return place(path + "?" + q.Encode())
}

// loginWithNext is the sign-in page that goes on to next afterwards.
func loginWithNext(next string) place {
	return place("/login").query(url.Values{"next": {string(safeNext(next))}})
}

// safeNext accepts only a local path, so a sign-in link cannot send people
// to another site: "/x" yes; "//evil", "/\evil", "https://evil" no. What it
// returns is escaped to printable ASCII, path and query, so it can go into
// a header as it is; the fragment is dropped.
func safeNext(next string) place {
	const fallback = "/profile"
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\r\n\t") {
		return fallback
	}
	// Re-escaping can turn a safe path into an unsafe one: "/%2Fevil.com/<"
	// comes back as "//evil.com/%3C", which browsers read as another host.
	out := u.EscapedPath()
	if out == "" || strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
		return fallback
	}
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + escapeQuery(u.RawQuery)
	}
	return place(out)
}

// escapeQuery keeps a raw query as it is but for the bytes that may not
// stand in a URL as they are: those outside printable ASCII, a space, and
// a "%" that starts no escape. A second pass changes nothing.
func escapeQuery(raw string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7f || c == '%' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`':
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// location is t as it goes into a header, checked once more: a place is
// built to pass, so a failure is a bug, logged, and the browser goes to
// the start page instead of anywhere the bug would send it.
func location(c echo.Context, t place) string {
	s := string(t)
	if printableASCII(s) && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\") {
		return s
	}
	logger(c).Error("redirect refused: not a well-formed path on this site", "target", strconv.Quote(s))
	return "/"
}

// printableASCII says whether s is non-empty and all of it is between "!"
// and "~": no control character, space or byte of another encoding.
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// seeOther answers with a 303 to t, htmx or not: for GETs a browser
// navigates to, and posts that htmx does not send.
func seeOther(c echo.Context, t place) error {
	return c.Redirect(http.StatusSeeOther, location(c, t))
}

// redirect sends the browser to t: a 303 for a plain form post, an
// HX-Redirect for htmx (which would otherwise follow a 303 with XHR and swap
// the target page into a fragment).
func redirect(c echo.Context, t place) error {
	return send(c, location(c, t))
}

// hxRedirect has htmx load t as a whole page, with status.
func hxRedirect(c echo.Context, t place, status int) error {
	c.Response().Header().Set("HX-Redirect", location(c, t))
	return c.NoContent(status)
}

// offsite sends the browser to to, a URL at a configured provider or IdP
// that its library built from the configuration (the authorization
// endpoint, the IdP's single sign-on address) with our parameters: it
// must be an absolute http(s) URL with a host and no user, and goes out
// re-encoded. Anything else is an error, not a redirect.
func offsite(c echo.Context, to string) error {
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return echo.NewHTTPError(http.StatusBadGateway, "The sign-in address of this provider is not a web address.")
	}
	s := u.String()
	if !printableASCII(s) {
		return echo.NewHTTPError(http.StatusBadGateway, "The sign-in address of this provider is not a web address.")
	}
	return send(c, s)
}

// send is redirect's answer for a checked URL.
func send(c echo.Context, to string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
