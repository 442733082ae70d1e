package views

import (
	"slices"

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
	if d, ok := db.PreferenceNamed(field); ok {
		return d.Text(p.Prefs)
	}
	return ""
}

// IsSaved reports whether the last htmx POST saved field.
func (p PreferencesPage) IsSaved(field string) bool { return slices.Contains(p.Saved, field) }

// PrefGroup is one fieldset of the Preferences form.
type PrefGroup struct {
	Legend string
	Fields []PrefField
}

// PrefField is one control of the Preferences form.
type PrefField struct {
	Name, Label, Hint string
	Value             string
	Choices           []db.Choice
	Switch            bool // a checkbox rather than a select
	Error             string
}

// Groups are the form's fieldsets and their controls, in the order of
// db.PreferenceList.
func (p PreferencesPage) Groups() []PrefGroup {
	var groups []PrefGroup
	for _, d := range db.PreferenceList {
		if len(groups) == 0 || groups[len(groups)-1].Legend != d.Group {
			groups = append(groups, PrefGroup{Legend: d.Group})
		}
		g := &groups[len(groups)-1]
		g.Fields = append(g.Fields, PrefField{Name: d.Name, Label: d.Label, Hint: d.Hint, Value: p.Value(d.Name),
			Choices: d.Choices, Switch: d.Switch(), Error: p.Form.Errors[d.Name]})
	}
	return groups
}
