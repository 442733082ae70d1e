package views

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/csrfmask"
)

// csrfInputs finds every form's token field and the value it carries.
var csrfInputs = regexp.MustCompile(`<input type="hidden" name="_csrf" value="([^"]*)">`)

// base64url86 finds what could be a masked token.
var base64url86 = regexp.MustCompile(`[A-Za-z0-9_-]{86}`)

// TestCSRFSlotFilled: every form of a page and of a fragment carries the
// page's token, masked with a pad new for each answer (the same in all of
// its forms, never the raw token), whatever the writer, and no slot is
// left.
func TestCSRFSlotFilled(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	data := s1Profile()
	tok := data.CSRF
	if len(tok) != csrfmask.RawLen || len(csrfSlot) != csrfmask.MaskedLen {
		t.Fatalf("the bench's token has %d bytes, a real one (32 bytes in unpadded base64) 43; the slot %d, a masked one 86", len(tok), len(csrfSlot))
	}
	seen := map[string]bool{}
	var page bytes.Buffer
	page.WriteString("before") // Fragment fills only what it wrote
	if err := r.Page(&page, "profile.html", data); err != nil {
		t.Fatal(err)
	}
	var frag strings.Builder // not a bytes.Buffer: the other path
	if err := r.Fragment(&frag, "profile.html", "profile/sessions", data); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"page": page.String(), "fragment": frag.String()} {
		if strings.Contains(out, csrfSlot) {
			t.Errorf("%s: a slot is left", name)
		}
		inputs := csrfInputs.FindAllStringSubmatch(out, -1)
		if len(inputs) < 3 {
			t.Errorf("%s: %d token fields, want the forms' (at least 3)", name, len(inputs))
		}
		for _, in := range inputs {
			if !csrfmask.Matches(tok, in[1]) || len(in[1]) != csrfmask.MaskedLen {
				t.Errorf("%s: a form's token is %q, want %q masked", name, in[1], tok)
			}
			if in[1] != inputs[0][1] {
				t.Errorf("%s: forms carry %q and %q: one pad per answer", name, in[1], inputs[0][1])
			}
		}
		if seen[inputs[0][1]] {
			t.Errorf("%s: the token bytes %q were in the other answer too: each answer must have its own pad", name, inputs[0][1])
		}
		seen[inputs[0][1]] = true
		if strings.Contains(out, tok) {
			t.Errorf("%s: the raw token is on the page", name)
		}
	}
	if !strings.HasPrefix(page.String(), "before<!doctype html>") {
		t.Errorf("page: what the buffer held before changed: %.40q", page.String())
	}
}

// TestCSRFSlotOddTokens: a token of another length, or with characters an
// attribute must escape (a cookie planted by a sibling site can hold
// them), is written escaped, as {{.CSRF}} wrote it.
func TestCSRFSlotOddTokens(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{"": "", "short": "short", `a"><script>x</script>`: `a&#34;&gt;&lt;script&gt;x&lt;/script&gt;`} {
		var out bytes.Buffer
		if err := r.Fragment(&out, "profile.html", "profile/change-password", ProfilePage{Page: Page{CSRF: tok}}); err != nil {
			t.Fatal(err)
		}
		inputs := csrfInputs.FindAllStringSubmatch(out.String(), -1)
		if len(inputs) != 1 || inputs[0][1] != want {
			t.Errorf("token %q: got fields %q, want one with value %q", tok, inputs, want)
		}
	}
}

// TestCSRFSlotNotInValues: a person's own words that spell the slot are
// escaped by the template and never receive the token, so no value can
// carry a token out of its attribute.
func TestCSRFSlotNotInValues(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	data := s1Profile()
	data.User.Name = csrfSlot
	data.Sessions[1].Device = csrfSlot
	var out bytes.Buffer
	if err := r.Page(&out, "profile.html", data); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, csrfSlot) {
		t.Errorf("the slot's text came out unescaped")
	}
	escaped := strings.ReplaceAll(csrfSlot, "<", "&lt;")
	escaped = strings.ReplaceAll(escaped, ">", "&gt;")
	if n := strings.Count(s, escaped); n < 2 {
		t.Errorf("the name and the device: %d escaped copies of the slot's text, want at least 2", n)
	}
	got := 0
	for _, m := range base64url86.FindAllString(s, -1) {
		if csrfmask.Matches(data.CSRF, m) {
			got++
		}
	}
	if want := len(csrfInputs.FindAllString(s, -1)) + 2; got != want {
		t.Errorf("the masked token is on the page %d times, want %d (each form's field, the meta tag and hx-headers)", got, want)
	}
	if strings.Contains(s, data.CSRF) {
		t.Errorf("the raw token is on the page")
	}
}

// TestCSRFSlotNeedsPage: the partial used with data that has no Page is an
// error, not a form whose post is refused.
func TestCSRFSlotNeedsPage(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.WriteString("kept")
	err = r.Fragment(&out, "profile.html", "csrf", struct{ CSRF string }{"tok"})
	if err == nil || !strings.Contains(err.Error(), "no Page") {
		t.Errorf("got %v, want an error saying the data has no Page", err)
	}
	if out.String() != "kept" {
		t.Errorf("got %q in the buffer, want only what it held before", out.String())
	}
}
