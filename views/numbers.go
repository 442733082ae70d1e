package views

import (
	"strconv"

	"github.com/rosterhq/roster/db"
)

// Count writes a count the way the person prefers numbers written. In
// templates: {{$.Count .Failed}}.
func (p Page) Count(n int) string { return FormatCount(p.Prefs, n) }

// FormatCount writes n as prefs say. Every count the activity page shows
// goes through it: the sign-in chart's table and totals, and through
// chart.Chart.Count its axis, its tooltips and its description.
func FormatCount(prefs db.Preferences, n int) string {
	return strconv.Itoa(n)
}
