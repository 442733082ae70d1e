package views

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEveryTemplateWithZeroData executes every page and every fragment it
// defines with zero-value data: a template that only works with data present
// would otherwise fail on a live request.
func TestEveryTemplateWithZeroData(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for page, zero := range pages {
		for _, tmpl := range r.sets[page].Templates() {
			name := tmpl.Name()
			if name == page || tmpl.Tree == nil {
				continue
			}
			t.Run(page+"/"+name, func(t *testing.T) {
				var buf bytes.Buffer
				var data any = zero
				switch name {
				case "csrf", "invite-badge":
					data = Page{}
				case "flash":
					data = Flash{}
				case "field-error", "form-message", "form-error", "toast":
					data = ""
				case "pager":
					data = Pager{}
				case "settings-nav":
					data = SettingsNav{}
				case "preferences/select", "preferences/checkbox", "preferences/field-status":
					data = PrefField{}
				}
				if err := r.Fragment(&buf, page, name, data); err != nil {
					t.Fatalf("got %v, want no error", err)
				}
			})
		}
	}
}

func TestPageHasLayoutAndFragmentHasNot(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var page, frag bytes.Buffer
	data := ProfilePage{Page: Page{Title: "User Profile", CSRF: "tok", Nonce: "n1"}}
	if err := r.Page(&page, "profile.html", data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", `name="csrf-token" content="tok"`, `nonce="n1"`, `id="change-password"`, `name="_csrf" value="tok"`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page: missing %q", want)
		}
	}
	if err := r.Fragment(&frag, "profile.html", "profile/sessions", data); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(frag.String(), "<html") || !strings.Contains(frag.String(), `<section id="sessions">`) {
		t.Errorf("fragment: got %q", frag.String())
	}
}

func TestProfileSectionOrder(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Page(&buf, "profile.html", ProfilePage{}); err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`<section id="([^"]+)"`).FindAllStringSubmatch(buf.String(), -1)
	var got []string
	for _, m := range ids {
		got = append(got, m[1])
	}
	want := "contact-info my-accounts account-invites change-password sso-logins two-factor passkeys sessions leave"
	if strings.Join(got, " ") != want {
		t.Fatalf("sections: got %v, want %s", got, want)
	}
}

// TestRelative: the words of relative times (the template function ago,
// which read the clock while rendering, is gone: the render memo needs
// every template function to answer from its arguments).
func TestRelative(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{time.Minute + time.Second, "1 minute ago"},
		{3 * time.Hour, "3 hours ago"},
		{49 * time.Hour, "2 days ago"},
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		if got := relative(now.Add(-tt.d), now); got != tt.want {
			t.Errorf("relative(-%v): got %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTagEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`<section id="x">`, 15},
		{`<div hx-target="find > ul" class='a>b'>`, 38},
		{`<span id="badge"/>`, 17},
		{`<section id="x"`, -1},
	} {
		if got := tagEnd([]byte(tc.in), 0); got != tc.want {
			t.Errorf("tagEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestOutOfBandMarksTheFirstElement(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.OutOfBand(&buf, "profile.html", "invite-badge", Page{}); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), `<span id="invite-badge" hx-get="/profile/invite-badge?n=0" hx-trigger="every 60s" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true"></span>`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFailedRenderLeavesNothing: a template that fails half way leaves no
// half page behind, neither in the responder's buffer (rendered into
// directly) nor in any other writer.
func TestFailedRenderLeavesNothing(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.NewBufferString("before|")
	if err := r.Page(buf, "profile.html", struct{}{}); err == nil {
		t.Fatal("profile page with data of no fields: got no error")
	}
	if got := buf.String(); got != "before|" {
		t.Errorf("buffer after a failed render: got %q, want only what was there before", got)
	}
	var w strings.Builder
	if err := r.Page(&w, "profile.html", struct{}{}); err == nil || w.Len() != 0 {
		t.Errorf("other writer after a failed render: got %d bytes, %v; want none and an error", w.Len(), err)
	}
}
