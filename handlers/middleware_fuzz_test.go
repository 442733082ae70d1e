package handlers

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext checks that whatever ?next= holds, the redirect stays on
// this site: a path that starts with one "/", with no scheme, host or
// byte outside printable ASCII, that browsers cannot read as "//host" or
// "/\host".
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{
		"", "/", "/profile", "/accounts/3/manage?tab=people#invites", "/a b", "/ü",
		"//evil.com", "/\\evil.com", "https://evil.com", "javascript:alert(1)", "evil.com",
		"/%2Fevil.com", "/%2Fevil.com/<", "/%2F%2Fevil.com x", "/%5Cevil.com x", "/.//evil.com",
		"/\t/evil.com", "/\r\nSet-Cookie: x=1", "/x?next=//evil.com", "/%", "/%zz", "/\x00",
		"///evil.com", "/@evil.com", "/:evil", "/?//evil.com", "/ok?a= b", "/ok?é#\x00", "/x?%", "/x?%zz&a=%41",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := string(safeNext(next))
		if got == "" || got[0] != '/' {
			t.Fatalf("safeNext(%q) = %q, want a path starting with /", next, got)
		}
		if strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("safeNext(%q) = %q, which a browser reads as another host", next, got)
		}
		// It goes into Location as it is: printable ASCII only, no control
		// character, space or byte of another encoding.
		if strings.ContainsFunc(got, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) {
			t.Fatalf("safeNext(%q) = %q, want printable ASCII only", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("safeNext(%q) = %q: parses as scheme %q host %q (err %v), want a local path", next, got, u.Scheme, u.Host, err)
		}
		// A second pass must not move it: the login form carries it on.
		if again := string(safeNext(got)); again != got {
			t.Fatalf("safeNext(safeNext(%q)) = %q, want %q", next, again, got)
		}
	})
}
