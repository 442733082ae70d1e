package views

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func TestKeysetPagerLinks(t *testing.T) {
	p := KeysetPager{FirstID: 90, LastID: 66, Path: "/profile/activity", Query: url.Values{"range": {"30d"}}}
	tests := []struct{ got, want string }{
		{p.FirstURL(), "/profile/activity?range=30d"},
		{p.PrevURL(), "/profile/activity?after=90&range=30d"},
		{p.NextURL(), "/profile/activity?before=66&range=30d"},
		{p.LastURL(), "/profile/activity?after=0&range=30d"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
	if got := (KeysetPager{Path: "/profile/activity"}).FirstURL(); got != "/profile/activity" {
		t.Errorf("FirstURL without a query: got %s, want /profile/activity", got)
	}
}

// TestActivityPager renders the log's pager at each position: links where
// the log goes on, greyed words where it does not, nothing for one page.
func TestActivityPager(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		newer, older bool
		links, muted []string
		current      string
	}{
		{"one page", false, false, nil, nil, ""},
		{"first", false, true, []string{`href="/a?before=2" rel="next"`, `href="/a?after=0" rel="last"`}, []string{"First", "Previous"}, "Newest events"},
		{"middle", true, true, []string{`rel="first"`, `href="/a?after=9" rel="prev"`, `rel="next"`, `rel="last"`}, nil, "Older events"},
		{"last", true, false, []string{`href="/a" rel="first"`, `rel="prev"`}, []string{"Next", "Last"}, "Oldest events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := ActivityPage{Pager: KeysetPager{FirstID: 9, LastID: 2, HasNewer: tt.newer, HasOlder: tt.older, Path: "/a"}}
			var buf bytes.Buffer
			if err := r.Fragment(&buf, "activity.html", "activity/pager", data); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if (tt.links == nil) != !strings.Contains(out, "<nav") {
				t.Fatalf("got %q, want a nav only when the log has more than one page", out)
			}
			if tt.current != "" && !strings.Contains(out, `<li aria-current="page">`+tt.current+`</li>`) {
				t.Errorf("missing %q as the current page in %s", tt.current, out)
			}
			for _, want := range tt.links {
				if !strings.Contains(out, want) {
					t.Errorf("missing %s in %s", want, out)
				}
			}
			for _, word := range tt.muted {
				if !strings.Contains(out, `aria-disabled="true">`+word+`<`) {
					t.Errorf("%s is not greyed out in %s", word, out)
				}
			}
		})
	}
}
