package views

import (
	"strconv"
	"strings"

	"github.com/rosterhq/roster/db"
)

// Count writes a count the way the person prefers numbers written. In
// templates: {{$.Count .Failed}}.
func (p Page) Count(n int) string { return FormatCount(p.Prefs, n) }

// FormatCount writes n as prefs say. Every count the activity page shows
// goes through it: the sign-in chart's table and totals, and through
// chart.Chart.Count its axis, its tooltips and its description.
// Counts are whole, so only the grouping of thousands shows: a comma, or
// a narrow no-break space (U+202F, as SI and French typography write it).
func FormatCount(prefs db.Preferences, n int) string {
	group := ","
	if prefs.NumberFormat == "space_comma" {
		group = "\u202f"
	}
	digits := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(d)
	}
	return b.String()
}
