package handlers

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzAt checks that whatever a path segment holds, the place built from
// it is printable ASCII, stays under its route's prefix, and gives the
// value back as exactly one segment.
func FuzzAt(f *testing.F) {
	for _, s := range []string{
		"", "\x00", "\r\nSet-Cookie:x=1", "\t", "a b", "\x7f", "%", "%00", "../..", "/",
		"//evil.test", `\\evil.test`, "?next=//evil.test", "#x", "\xff\xfe", "é", strings.Repeat("a", 300),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := string(at("/password/reset/:token", v).query(url.Values{"next": {v}}))
		if !printableASCII(got) {
			t.Fatalf("at(%q) = %q, want printable ASCII only", v, got)
		}
		path, query, _ := strings.Cut(got, "?")
		seg, ok := strings.CutPrefix(path, "/password/reset/")
		if !ok || strings.Contains(seg, "/") {
			t.Fatalf("at(%q) = %q, want one segment under /password/reset/", v, got)
		}
		if back, err := url.PathUnescape(seg); err != nil || back != v {
			t.Fatalf("at(%q): segment %q unescapes to %q (%v)", v, seg, back, err)
		}
		if q, err := url.ParseQuery(query); err != nil || q.Get("next") != v {
			t.Fatalf("at(%q): query %q gives next %q (%v)", v, query, q.Get("next"), err)
		}
	})
}

func TestAtNumbers(t *testing.T) {
	if got := at("/accounts/:id/saml/:cid", int64(3), int64(-4)); got != "/accounts/3/saml/-4" {
		t.Fatalf(`at with numbers = %q, want "/accounts/3/saml/-4"`, got)
	}
}

// A place that is not well formed is a bug: it is logged and the browser
// goes to the start page, never to what the bug built.
func TestLocationRefusesMalformed(t *testing.T) {
	for _, bad := range []place{"", "/a b", "/a\x00", "//evil.test", `/\evil.test`, "https://evil.test/", "profile", "/é"} {
		var log bytes.Buffer
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
		c.Set(ctxLog, slog.New(slog.NewTextHandler(&log, nil)))
		if got := location(c, bad); got != "/" {
			t.Errorf("location(%q) = %q, want /", bad, got)
		}
		if !strings.Contains(log.String(), "redirect refused") {
			t.Errorf("location(%q): nothing logged", bad)
		}
	}
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	if got := location(c, "/accounts/3/manage#saml"); got != "/accounts/3/manage#saml" {
		t.Errorf("location of a good place = %q", got)
	}
}

// offsite lets out only an absolute http(s) URL with a host and no user,
// in printable ASCII; anything else is a 502, not a redirect.
func TestOffsite(t *testing.T) {
	for _, tc := range []struct {
		to, want string // want "" for a refusal
	}{
		{"https://idp.test/sso?SAMLRequest=a%2Bb&RelayState=X", "https://idp.test/sso?SAMLRequest=a%2Bb&RelayState=X"},
		{"http://127.0.0.1:8080/authorize?state=s", "http://127.0.0.1:8080/authorize?state=s"},
		{"https://idp.test/a b", "https://idp.test/a%20b"},
		{"https://idp.test/sso?x=a b", ""},
		{"javascript:alert(1)", ""},
		{"/local", ""},
		{"//idp.test/sso", ""},
		{"https://user:pw@idp.test/", ""},
		{"https://idp.test/\x00", ""},
	} {
		for _, htmx := range []bool{false, true} {
			req := httptest.NewRequest(http.MethodGet, "/auth/x", nil)
			header := "Location"
			if htmx {
				req.Header.Set("HX-Request", "true")
				header = "HX-Redirect"
			}
			rec := httptest.NewRecorder()
			err := offsite(echo.New().NewContext(req, rec), tc.to)
			if tc.want == "" {
				var he *echo.HTTPError
				if !errors.As(err, &he) || he.Code != http.StatusBadGateway || rec.Header().Get(header) != "" {
					t.Errorf("offsite(%q) htmx=%v: err %v, %s %q; want a 502 and no redirect", tc.to, htmx, err, header, rec.Header().Get(header))
				}
				continue
			}
			if err != nil || rec.Header().Get(header) != tc.want {
				t.Errorf("offsite(%q) htmx=%v: err %v, %s %q; want %q", tc.to, htmx, err, header, rec.Header().Get(header), tc.want)
			}
		}
	}
}
