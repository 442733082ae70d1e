package handlers

import (
	"net/url"
	"strings"
	"testing"
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
