package views

import (
	"slices"
	"strings"

	"github.com/rosterhq/roster/db"
)

// PreferencesPage is the Preferences form.
type PreferencesPage struct {
	Page
	Form  Form     // what a refused POST sent, with its messages
	Zones []string // every zone the time-zone field offers
	Saved []string // the fields the POST this page answers changed, for their "Saved"
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

// IsSaved reports whether the POST this page answers changed field.
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
	Saved             bool // the POST this page answers changed it
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
			Choices: d.Choices, Switch: d.Switch(), Error: p.Form.Errors[d.Name], Saved: p.IsSaved(d.Name)})
	}
	return groups
}

// PreferencesUnchanged is the flash of a Save that changed nothing.
const PreferencesUnchanged = "No changes to save."

// PreferencesSaved is the flash of a Save without JavaScript: "Saved" and
// the labels of the preferences it changed, "Saved: Theme and Rows per page."
func PreferencesSaved(changed []string) string {
	var labels []string
	for _, name := range changed {
		if d, ok := db.PreferenceNamed(name); ok {
			labels = append(labels, d.Label)
		}
	}
	if len(labels) == 0 {
		return "Saved."
	}
	return "Saved: " + JoinAnd(labels) + "."
}

// JoinAnd writes a list as a sentence does: "a", "a and b", "a, b and c".
func JoinAnd(items []string) string {
	switch n := len(items); n {
	case 0:
		return ""
	case 1:
		return items[0]
	default:
		return strings.Join(items[:n-1], ", ") + " and " + items[n-1]
	}
}
