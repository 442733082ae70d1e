package db

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/zones"
)

// Preferences are one person's choices about how pages behave: list
// length, how times are shown, the theme and the charts. Each field is
// bound to its declaration in PreferenceList, which everything else
// (storage, the form, its checks, the API) derives from.
type Preferences struct {
	PageSize    int
	Timezone    string // an IANA zone name; "" until one is chosen
	DateFormat  string
	Clock       string // "12" or "24"
	WeekStart   string
	Theme       string
	GraphStyle  string
	GraphRange  string
	Legend      bool
	Colourblind bool // a colour-blind-safe palette in charts

	// NumberFormat is how counts are written: "comma_point" (1,234.5) or
	// "space_comma" (1 234,5).
	NumberFormat string
}

// PreferenceList declares every preference, in the order of the form. Adding
// one is a field of Preferences, a line here and a migration adding its
// column (with a CHECK written as an OR chain, see 00008).
var PreferenceList = []Preference{
	{Name: "page_size", Group: groupLists, Label: "Rows per page", Hint: "In the activity log and every other list.",
		Choices: []Choice{{"10", "10"}, {"25", "25"}, {"50", "50"}, {"100", "100"}}, Default: "25",
		Refused: "Choose 10, 25, 50 or 100 rows a page.", field: func(p *Preferences) any { return &p.PageSize }},
	{Name: "timezone", Group: groupLists, Label: "Time zone", Hint: "Type to search, such as Europe/Paris or America/New_York.",
		valid: func(v string) bool { return v == "" || zones.Valid(v) }, Default: "",
		Refused: "Choose a time zone from the list, such as Europe/Paris.", field: func(p *Preferences) any { return &p.Timezone }},
	{Name: "date_format", Group: groupLists, Label: "Date format",
		Choices: []Choice{{"iso", "ISO 8601 (2026-11-26)"}, {"us", "US (11/26/2026)"}, {"eu", "European (26/11/2026)"}, {"relative", "Relative (3 hours ago)"}},
		Default: "iso", Refused: "Choose ISO 8601, US, European or relative dates.", field: func(p *Preferences) any { return &p.DateFormat }},
	{Name: "clock", Group: groupLists, Label: "Clock",
		Choices: []Choice{{"24", "24-hour (15:30)"}, {"12", "12-hour (3:30 PM)"}}, Default: "24",
		Refused: "Choose a 12- or 24-hour clock.", field: func(p *Preferences) any { return &p.Clock }},
	{Name: "week_start", Group: groupLists, Label: "First day of the week", Hint: "Charts mark where weeks begin.",
		Choices: []Choice{{"monday", "Monday"}, {"sunday", "Sunday"}, {"saturday", "Saturday"}}, Default: "monday",
		Refused: "Choose Monday, Sunday or Saturday.", field: func(p *Preferences) any { return &p.WeekStart }},
	{Name: "theme", Group: groupLists, Label: "Theme",
		Choices: []Choice{{"system", "System (follows your device)"}, {"light", "Light"}, {"dark", "Dark"}}, Default: "system",
		Refused: "Choose the system, light or dark theme.", field: func(p *Preferences) any { return &p.Theme }},
	{Name: "graph_style", Group: groupCharts, Label: "Chart type",
		Choices: []Choice{{"line", "Line"}, {"area", "Area"}, {"bar", "Bar"}}, Default: "bar",
		Refused: "Choose line, area or bar charts.", field: func(p *Preferences) any { return &p.GraphStyle }},
	{Name: "graph_range", Group: groupCharts, Label: "Time range", Hint: "What a chart shows first; you can switch it on the chart.",
		Choices: []Choice{{"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"}, {"90d", "90 days"}}, Default: "7d",
		Refused: "Choose 24 hours, 7, 30 or 90 days.", field: func(p *Preferences) any { return &p.GraphRange }},
	{Name: "legend", Group: groupCharts, Label: "Show the legend", Default: "1",
		Refused: "Turn the legend on or off.", field: func(p *Preferences) any { return &p.Legend }},
	{Name: "colourblind", Group: groupCharts, Label: "Colour-blind-safe palette", Hint: "Blue and orange (Okabe-Ito) instead of green and red.",
		Default: "0", Refused: "Turn the colour-blind-safe palette on or off.", field: func(p *Preferences) any { return &p.Colourblind }},
	{Name: "number_format", Group: groupLists, Label: "Number format", Hint: "How counts are written, such as the sign-ins on the activity page.",
		Choices: []Choice{{"comma_point", "1,234.5"}, {"space_comma", "1\u202f234,5"}}, Default: "comma_point",
		Refused: "Choose 1,234.5 or 1\u202f234,5.", field: func(p *Preferences) any { return &p.NumberFormat }},
}

// The fieldsets of the Preferences form.
const (
	groupLists  = "Lists and times"
	groupCharts = "Charts"
)

// Preference declares one preference. Its Name is its column, its form
// field and its JSON key; its values are written as the form posts them:
// a number in decimal, a switch "0" or "1", a text as it is.
type Preference struct {
	Name    string
	Group   string   // the form's fieldset
	Label   string   // the form's label
	Hint    string   // under the control; may be empty
	Choices []Choice // the values it may take, in the form's order; none for a switch or a zone
	Default string
	Refused string // the message for a posted value it may not take

	valid func(string) bool      // the values of one without Choices that is not a switch
	field func(*Preferences) any // its field: *int, *string or *bool
}

// Choice is one value a preference may take and how the form names it.
type Choice struct{ Value, Label string }

// PreferenceNamed returns the declaration of name, or false.
func PreferenceNamed(name string) (Preference, bool) {
	i := slices.IndexFunc(PreferenceList, func(d Preference) bool { return d.Name == name })
	if i < 0 {
		return Preference{}, false
	}
	return PreferenceList[i], true
}

// Switch reports whether the preference is on or off (a checkbox).
func (d Preference) Switch() bool {
	_, ok := d.field(&noPreferences).(*bool)
	return ok
}

// noPreferences is what Switch asks a field's type of, only ever read: a
// new one on each call was a heap allocation (field is a func value, so
// what it is given escapes).
var noPreferences Preferences

// Values lists the values the preference may take, as the form posts
// them: its choices, "0" and "1" for a switch, none for a zone (any name
// of the tz database).
func (d Preference) Values() []string {
	if d.Switch() {
		return []string{"0", "1"}
	}
	var vs []string
	for _, c := range d.Choices {
		vs = append(vs, c.Value)
	}
	return vs
}

// Allows reports whether v, as the form posts it, is one of the values.
func (d Preference) Allows(v string) bool {
	switch {
	case d.Switch():
		return v == "0" || v == "1"
	case d.Choices != nil:
		return slices.ContainsFunc(d.Choices, func(c Choice) bool { return c.Value == v })
	}
	return d.valid(v)
}

// Text is the preference's value in p as the form posts it.
func (d Preference) Text(p Preferences) string {
	switch f := d.field(&p).(type) {
	case *int:
		return strconv.Itoa(*f)
	case *bool:
		if *f {
			return "1"
		}
		return "0"
	case *string:
		return *f
	}
	return ""
}

// Set stores v in p when the preference allows it, and reports whether it did.
func (d Preference) Set(p *Preferences, v string) bool {
	if !d.Allows(v) {
		return false
	}
	switch f := d.field(p).(type) {
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return false
		}
		*f = n
	case *bool:
		*f = v == "1"
	case *string:
		*f = v
	}
	return true
}

// Value is the preference's value in p as the API shows it: a number, a
// boolean or a string.
func (d Preference) Value(p Preferences) any { return d.valueIn(&p) }

// valueIn is Value of *p: SavePreferences reads every value of one p.
func (d Preference) valueIn(p *Preferences) any {
	switch f := d.field(p).(type) {
	case *int:
		return *f
	case *bool:
		return *f
	case *string:
		return *f
	}
	return nil
}

// defaultPreferences are the declared defaults.
var defaultPreferences = func() Preferences {
	var p Preferences
	for _, d := range PreferenceList {
		d.Set(&p, d.Default)
	}
	return p
}()

// DefaultPreferences are what a person has before saving any, and what
// anonymous pages use.
func DefaultPreferences() Preferences { return defaultPreferences }

// Valid reports whether every preference holds one of its allowed values.
func (p Preferences) Valid() bool {
	for _, d := range PreferenceList {
		if !d.Allows(d.Text(p)) {
			return false
		}
	}
	return true
}

// prefsColumns are the preferences p of a user, read with a LEFT JOIN or
// alone: whether any are saved, then each (zero where none are).
var prefsColumns = func() string {
	cols := []string{"p.user_id IS NOT NULL"}
	for _, d := range PreferenceList {
		zero := "0"
		if _, ok := d.field(&Preferences{}).(*string); ok {
			zero = "''"
		}
		cols = append(cols, "COALESCE(p."+d.Name+", "+zero+")")
	}
	return strings.Join(cols, ", ")
}()

// prefsUpsert stores every preference of a user at once.
var prefsUpsert = func() string {
	var cols, marks, set []string
	for _, d := range PreferenceList {
		cols, marks = append(cols, d.Name), append(marks, "?")
		set = append(set, d.Name+" = excluded."+d.Name)
	}
	return `INSERT INTO preferences (user_id, ` + strings.Join(cols, ", ") + `, updated_at)
		VALUES (?, ` + strings.Join(marks, ", ") + `, ?)
		ON CONFLICT (user_id) DO UPDATE SET ` + strings.Join(set, ", ") + `, updated_at = excluded.updated_at`
}()

// prefsRow is prefsColumns as they are scanned.
type prefsRow struct {
	saved bool
	p     Preferences
}

func (r *prefsRow) targets() []any {
	t := make([]any, 0, 1+len(PreferenceList))
	t = append(t, &r.saved)
	for _, d := range PreferenceList {
		t = append(t, d.field(&r.p))
	}
	return t
}

// preferences are the saved ones, or the defaults when none are.
func (r *prefsRow) preferences() Preferences {
	if !r.saved {
		return DefaultPreferences()
	}
	return r.p
}

// Preferences returns the user's preferences, the defaults when none are saved.
func (s *Store) Preferences(ctx context.Context, userID int64) (Preferences, error) {
	var r prefsRow
	err := mapErr(s.r.QueryRowContext(ctx, `SELECT `+prefsColumns+` FROM preferences p WHERE p.user_id = ?`, userID).
		Scan(r.targets()...))
	if err != nil && err != ErrNotFound {
		return Preferences{}, fmt.Errorf("preferences of user %d: %w", userID, err)
	}
	return r.preferences(), nil
}

// SavePreferences stores all of the user's preferences at once, in one
// statement (SQLite runs it as its own transaction). Values the table's
// checks refuse are an error and change nothing.
func (s *Store) SavePreferences(ctx context.Context, userID int64, p Preferences) error {
	args := make([]any, 0, 2+len(PreferenceList))
	args = append(args, userID)
	for _, d := range PreferenceList {
		args = append(args, d.valueIn(&p)) // p escapes once, not once a value
	}
	_, err := s.exec(ctx, prefsUpsert, append(args, unix(s.now()))...)
	if err != nil {
		return fmt.Errorf("save preferences of user %d: %w", userID, err)
	}
	return nil
}

// SavePreferenceChanges stores the preferences of p named in changed (a
// control's htmx save changes one), in one statement: an UPDATE of those
// columns alone, or, for a user who has none saved yet, SavePreferences'
// upsert of all of p. Writing only what changed is cheaper than the
// upsert (which evaluates every column's check) and leaves a concurrent
// save of another preference in place. A name not in PreferenceList is an
// error; values the table's checks refuse are an error and change nothing.
func (s *Store) SavePreferenceChanges(ctx context.Context, userID int64, p Preferences, changed []string) error {
	if len(changed) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("UPDATE preferences SET ")
	args := make([]any, 0, len(changed)+2)
	for _, name := range changed {
		i := slices.IndexFunc(PreferenceList, func(d Preference) bool { return d.Name == name })
		if i < 0 {
			return fmt.Errorf("save preferences of user %d: no preference %q", userID, name)
		}
		q.WriteString(PreferenceList[i].Name) // a column name from the list, never the request's
		q.WriteString(" = ?, ")
		args = append(args, PreferenceList[i].valueIn(&p))
	}
	q.WriteString("updated_at = ? WHERE user_id = ?")
	res, err := s.exec(ctx, q.String(), append(args, unix(s.now()), userID)...)
	if err != nil {
		return fmt.Errorf("save preferences of user %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	return s.SavePreferences(ctx, userID, p) // none saved yet
}

// SignInAttempt is one sign-in of the activity chart: when, and whether it failed.
type SignInAttempt struct {
	At     time.Time
	Failed bool
}

// SignInAttempts lists the user's successful and failed sign-ins since
// since, oldest first.
func (s *Store) SignInAttempts(ctx context.Context, userID int64, since time.Time) ([]SignInAttempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT created_at, kind = ? FROM audit_events
		WHERE user_id = ? AND kind IN (?, ?) AND created_at >= ? ORDER BY created_at, id`,
		EventSignInFailed, userID, EventSignIn, EventSignInFailed, unix(since))
	if err != nil {
		return nil, fmt.Errorf("sign-ins of user %d: %w", userID, err)
	}
	defer rows.Close()
	var list []SignInAttempt
	for rows.Next() {
		var at int64
		var a SignInAttempt
		if err := rows.Scan(&at, &a.Failed); err != nil {
			return nil, err
		}
		a.At = fromUnix(at)
		list = append(list, a)
	}
	return list, rows.Err()
}
