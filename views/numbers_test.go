package views

import (
	"testing"

	"github.com/rosterhq/roster/db"
)

func TestFormatCount(t *testing.T) {
	for _, tt := range []struct {
		format string
		n      int
		want   string
	}{
		{"comma_point", 0, "0"}, {"comma_point", 999, "999"}, {"comma_point", 1234, "1,234"},
		{"comma_point", 1234567, "1,234,567"}, {"comma_point", -1234, "-1,234"},
		{"space_comma", 999, "999"}, {"space_comma", 1234, "1\u202f234"}, {"space_comma", 100000, "100\u202f000"},
	} {
		p := db.DefaultPreferences()
		p.NumberFormat = tt.format
		if got := (Page{Prefs: p}).Count(tt.n); got != tt.want {
			t.Errorf("%s %d: got %q, want %q", tt.format, tt.n, got, tt.want)
		}
	}
}
