package views

import (
	"slices"
	"strconv"

	"github.com/rosterhq/roster/db"
)

// PreferencesPage is the Preferences form.
type PreferencesPage struct {
	Page
	Form  Form     // what a refused POST sent, with its messages
	Zones []string // every zone the time-zone field offers
	Saved []string // the fields an htmx POST saved, for its "Saved"
}

// Value is what a field shows: what was posted, else the saved preference.
func (p PreferencesPage) Value(field string) string {
	if v, ok := p.Form.Values[field]; ok {
		return v
	}
	return prefValue(p.Prefs, field)
}

// prefChoices are the options of each select, value and label.
var prefChoices = map[string][][2]string{
	"page_size":   {{"10", "10"}, {"25", "25"}, {"50", "50"}, {"100", "100"}},
	"date_format": {{"iso", "ISO 8601 (2026-11-26)"}, {"us", "US (11/26/2026)"}, {"eu", "European (26/11/2026)"}, {"relative", "Relative (3 hours ago)"}},
	"clock":       {{"24", "24-hour (15:30)"}, {"12", "12-hour (3:30 PM)"}},
	"week_start":  {{"monday", "Monday"}, {"sunday", "Sunday"}, {"saturday", "Saturday"}},
	"theme":       {{"system", "System (follows your device)"}, {"light", "Light"}, {"dark", "Dark"}},
	"graph_style": {{"line", "Line"}, {"area", "Area"}, {"bar", "Bar"}},
	"graph_range": {{"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"}, {"90d", "90 days"}},
}

// IsSaved reports whether the last htmx POST saved field.
func (p PreferencesPage) IsSaved(field string) bool { return slices.Contains(p.Saved, field) }

// prefValue is a preference as the form posts it.
func prefValue(p db.Preferences, field string) string {
	onOff := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	switch field {
	case "page_size":
		return strconv.Itoa(p.PageSize)
	case "timezone":
		return p.Timezone
	case "date_format":
		return p.DateFormat
	case "clock":
		return p.Clock
	case "week_start":
		return p.WeekStart
	case "theme":
		return p.Theme
	case "graph_style":
		return p.GraphStyle
	case "graph_range":
		return p.GraphRange
	case "legend":
		return onOff(p.Legend)
	case "colourblind":
		return onOff(p.Colourblind)
	}
	return ""
}

// PrefField is one control of the Preferences form.
type PrefField struct {
	Name, Label, Hint string
	Value             string
	Choices           [][2]string
	Error             string
}

// Field gathers what the control of field shows.
func (p PreferencesPage) Field(field, label, hint string) PrefField {
	return PrefField{Name: field, Label: label, Hint: hint, Value: p.Value(field), Choices: prefChoices[field], Error: p.Form.Errors[field]}
}
