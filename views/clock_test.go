package views

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
)

// TestClockFormats renders fixed instants in three zones and every format,
// across the 2026 spring-forward changes of New York (8 March) and Paris
// (29 March): the same UTC hour moves by the offset change.
func TestClockFormats(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	ny, paris, kolkata := zone("America/New_York"), zone("Europe/Paris"), zone("Asia/Kolkata")
	beforeNY := time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC) // 01:30 EST
	afterNY := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)  // 03:30 EDT: 02:xx does not exist
	beforeParis := time.Date(2026, 3, 28, 13, 5, 0, 0, time.UTC)
	afterParis := time.Date(2026, 3, 29, 13, 5, 0, 0, time.UTC)
	tests := []struct {
		name  string
		clock Clock
		at    time.Time
		want  string
	}{
		{"new york iso 24h before DST", Clock{Zone: ny, DateFormat: "iso"}, beforeNY, "2026-03-08 01:30 EST"},
		{"new york iso 24h after DST", Clock{Zone: ny, DateFormat: "iso"}, afterNY, "2026-03-08 03:30 EDT"},
		{"new york us 12h before DST", Clock{Zone: ny, DateFormat: "us", Hour12: true}, beforeNY, "03/08/2026 1:30 AM EST"},
		{"new york us 12h after DST", Clock{Zone: ny, DateFormat: "us", Hour12: true}, afterNY, "03/08/2026 3:30 AM EDT"},
		{"paris eu 24h before DST", Clock{Zone: paris, DateFormat: "eu"}, beforeParis, "28/03/2026 14:05 CET"},
		{"paris eu 24h after DST", Clock{Zone: paris, DateFormat: "eu"}, afterParis, "29/03/2026 15:05 CEST"},
		{"kolkata iso 12h", Clock{Zone: kolkata, DateFormat: "iso", Hour12: true}, afterParis, "2026-03-29 6:35 PM IST"},
		{"no zone is UTC", Clock{DateFormat: "iso"}, afterParis, "2026-03-29 13:05 UTC"},
		{"unknown format is iso", Clock{DateFormat: "klingon"}, afterParis, "2026-03-29 13:05 UTC"},
		{"relative past", Clock{Zone: paris, DateFormat: "relative", Now: afterParis}, beforeParis, "1 day ago"},
		{"relative future", Clock{Zone: paris, DateFormat: "relative", Now: beforeParis}, afterParis.Add(24 * time.Hour), "in 2 days"},
		{"relative now", Clock{DateFormat: "relative", Now: afterNY}, afterNY.Add(-10 * time.Second), "just now"},
		{"zero time", Clock{Zone: ny, DateFormat: "iso"}, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.clock.Format(tt.at); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClockTag(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 13, 5, 9, 0, time.UTC)
	got := string(Page{Clock: Clock{Zone: paris, DateFormat: "iso"}}.Time(at))
	want := `<time datetime="2026-03-29T13:05:09Z" title="2026-03-29 13:05:09 UTC">2026-03-29 15:05 CEST</time>`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := (Page{}).Time(time.Time{}); got != "" {
		t.Errorf("zero time: got %q, want nothing", got)
	}
	// Relative and 12-hour: the layouts Tag picks without building them.
	got = string(Page{Clock: Clock{DateFormat: "relative", Now: at.Add(3 * time.Hour)}}.Time(at))
	want = `<time datetime="2026-03-29T13:05:09Z" title="2026-03-29 13:05:09 UTC">3 hours ago</time>`
	if got != want {
		t.Errorf("relative: got %s, want %s", got, want)
	}
	got = string(Page{Clock: Clock{Zone: paris, DateFormat: "us", Hour12: true}}.Time(at))
	want = `<time datetime="2026-03-29T13:05:09Z" title="2026-03-29 13:05:09 UTC">03/29/2026 3:05 PM CEST</time>`
	if got != want {
		t.Errorf("us 12-hour: got %s, want %s", got, want)
	}
	// A zone's name is written escaped, as any text is.
	got = string(Page{Clock: Clock{Zone: time.FixedZone(`<b>"Z"&`, 3600), DateFormat: "eu"}}.Time(at))
	want = `<time datetime="2026-03-29T13:05:09Z" title="2026-03-29 13:05:09 UTC">29/03/2026 14:05 &lt;b&gt;&#34;Z&#34;&amp;</time>`
	if got != want {
		t.Errorf("odd zone name: got %s, want %s", got, want)
	}
}

func TestThemeOnHTML(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for theme, want := range map[string]string{"dark": `<html lang="en" data-theme="dark">`, "light": `<html lang="en" data-theme="light">`, "system": `<html lang="en">`} {
		var buf strings.Builder
		data := MessagePage{}
		data.Prefs.Theme = theme
		if err := r.Page(&buf, "message.html", data); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) {
			t.Errorf("theme %s: want %s in the page", theme, want)
		}
	}
}

func TestPagerLinks(t *testing.T) {
	p := Pager{Num: 2, Size: 10, Total: 60, Path: "/profile/activity", Param: "page", Query: map[string][]string{"range": {"30d"}}}
	if p.Pages() != 6 || !p.HasPrev() || !p.HasNext() || p.Offset() != 10 {
		t.Errorf("got pages %d prev %v next %v offset %d, want 6 true true 10", p.Pages(), p.HasPrev(), p.HasNext(), p.Offset())
	}
	if got, want := p.URL(6), "/profile/activity?page=6&range=30d"; got != want {
		t.Errorf("URL(6): got %s, want %s", got, want)
	}
	last := Pager{Num: 6, Size: 10, Total: 60}
	if last.HasNext() {
		t.Error("page 6 of 6 has a next page")
	}
}
