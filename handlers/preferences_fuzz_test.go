package handlers

import (
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/zones"
	"github.com/rosterhq/roster/views"
)

// allowed is, for each preference, the exact strings the form may post;
// nil means any zone name (or "").
var allowed = map[string][]string{
	"page_size":   {"10", "25", "50", "100"},
	"timezone":    nil,
	"date_format": {"iso", "us", "eu", "relative"},
	"clock":       {"24", "12"},
	"week_start":  {"monday", "sunday", "saturday"},
	"theme":       {"system", "light", "dark"},
	"graph_style": {"line", "area", "bar"},
	"graph_range": {"24h", "7d", "30d", "90d"},
	"legend":      {"0", "1"},
	"colourblind": {"0", "1"},
}

func allowedValue(field, v string) bool {
	if field == "timezone" {
		return v == "" || zones.Valid(v)
	}
	return slices.Contains(allowed[field], v)
}

// FuzzApplyPreferences posts a raw form body to the preferences decoder: a
// field is saved exactly when its last value is one of its choices, and
// listed as changed exactly when that value differs from the saved one (so
// an unchanged form says no "Saved"); a refused field keeps its value and
// gets a message, and the result is always valid preferences.
func FuzzApplyPreferences(f *testing.F) {
	for _, s := range []string{
		"page_size=50", "page_size=025", "page_size=+25", "page_size=25.0", "page_size=-10&page_size=10",
		"timezone=Europe%2FParis", "timezone=", "timezone=Local", "timezone=UTC", "timezone=europe/paris", "timezone=..%2Fetc%2Fpasswd",
		"date_format=us&clock=12&week_start=sunday&theme=dark&graph_style=bar&graph_range=90d&legend=0&legend=1&colourblind=1",
		"theme=DARK", "theme=dark%00", "clock=12%20", "legend=true", "legend=", "graph_range=24h;theme=dark", "%zz=1", "a=b&&c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		posted, err := url.ParseQuery(body)
		if err != nil {
			return // the request's form parsing answers 400 before this
		}
		before := db.DefaultPreferences()
		form := views.Form{Values: map[string]string{}}
		after, changed := applyPreferences(before, posted, &form)
		if !after.Valid() {
			t.Fatalf("%q gave invalid preferences %+v", body, after)
		}
		if after.Timezone != "" && !zones.Valid(after.Timezone) {
			t.Fatalf("%q saved the time zone %q", body, after.Timezone)
		}
		for field := range allowed {
			vs := posted[field]
			if len(vs) == 0 {
				if slices.Contains(changed, field) || form.Errors[field] != "" {
					t.Fatalf("%q: %s was not posted but changed=%v errors=%v", body, field, changed, form.Errors)
				}
				continue
			}
			v := vs[len(vs)-1]
			ok := allowedValue(field, v)
			differs := ok && v != prefString(before, field)
			if differs != slices.Contains(changed, field) || ok == (form.Errors[field] != "") {
				t.Fatalf("%q: %s=%q allowed=%v, but changed=%v errors=%v", body, field, v, ok, changed, form.Errors)
			}
			if ok && prefString(after, field) != v {
				t.Fatalf("%q: %s=%q saved as %q", body, field, v, prefString(after, field))
			}
			if !ok && prefString(after, field) != prefString(before, field) {
				t.Fatalf("%q: refused %s=%q still changed it to %q", body, field, v, prefString(after, field))
			}
		}
	})
}

// prefString is one preference as the form posts it.
func prefString(p db.Preferences, field string) string {
	onOff := map[bool]string{false: "0", true: "1"}
	return map[string]string{
		"page_size": strconv.Itoa(p.PageSize), "timezone": p.Timezone, "date_format": p.DateFormat, "clock": p.Clock,
		"week_start": p.WeekStart, "theme": p.Theme, "graph_style": p.GraphStyle, "graph_range": p.GraphRange,
		"legend": onOff[p.Legend], "colourblind": onOff[p.Colourblind],
	}[field]
}
