package db

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Preferences are one person's choices about how pages behave: list
// length, how times are shown, the theme and the charts.
type Preferences struct {
	PageSize    int
	Timezone    string // an IANA zone name; "" until one is chosen
	DateFormat  string // one of DateFormats
	Clock       string // "12" or "24"
	WeekStart   string // one of WeekStarts
	Theme       string // one of Themes
	GraphStyle  string // one of GraphStyles
	GraphRange  string // one of GraphRanges
	Legend      bool
	Colourblind bool // a colour-blind-safe palette in charts
}

// The values each preference may take. The preferences table checks them too.
var (
	PageSizes   = []int{10, 25, 50, 100}
	DateFormats = []string{"iso", "us", "eu", "relative"}
	Clocks      = []string{"24", "12"}
	WeekStarts  = []string{"monday", "sunday", "saturday"}
	Themes      = []string{"system", "light", "dark"}
	GraphStyles = []string{"line", "area", "bar"}
	GraphRanges = []string{"24h", "7d", "30d", "90d"}
)

// DefaultPreferences are what a person has before saving any, and what
// anonymous pages use.
func DefaultPreferences() Preferences {
	return Preferences{
		PageSize: 25, DateFormat: "iso", Clock: "24", WeekStart: "monday", Theme: "system",
		GraphStyle: "line", GraphRange: "7d", Legend: true,
	}
}

// Valid reports whether every field but Timezone holds one of its allowed
// values; the zone is checked against the tz database by the caller.
func (p Preferences) Valid() bool {
	return slices.Contains(PageSizes, p.PageSize) && slices.Contains(DateFormats, p.DateFormat) &&
		slices.Contains(Clocks, p.Clock) && slices.Contains(WeekStarts, p.WeekStart) &&
		slices.Contains(Themes, p.Theme) && slices.Contains(GraphStyles, p.GraphStyle) &&
		slices.Contains(GraphRanges, p.GraphRange)
}

// prefsColumns are the preferences p of a user, read with a LEFT JOIN or
// alone: whether any are saved, then each (zero where none are).
const prefsColumns = `p.user_id IS NOT NULL, COALESCE(p.page_size, 0), COALESCE(p.timezone, ''),
	COALESCE(p.date_format, ''), COALESCE(p.clock, ''), COALESCE(p.week_start, ''), COALESCE(p.theme, ''),
	COALESCE(p.graph_style, ''), COALESCE(p.graph_range, ''), COALESCE(p.legend, 0), COALESCE(p.colourblind, 0)`

// prefsRow is prefsColumns as they are scanned.
type prefsRow struct {
	saved bool
	p     Preferences
}

func (r *prefsRow) targets() []any {
	return []any{&r.saved, &r.p.PageSize, &r.p.Timezone, &r.p.DateFormat, &r.p.Clock, &r.p.WeekStart, &r.p.Theme,
		&r.p.GraphStyle, &r.p.GraphRange, &r.p.Legend, &r.p.Colourblind}
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
	_, err := s.exec(ctx, `INSERT INTO preferences (user_id, page_size, timezone, date_format, clock,
		week_start, theme, graph_style, graph_range, legend, colourblind, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET page_size = excluded.page_size, timezone = excluded.timezone,
			date_format = excluded.date_format, clock = excluded.clock, week_start = excluded.week_start,
			theme = excluded.theme, graph_style = excluded.graph_style, graph_range = excluded.graph_range,
			legend = excluded.legend, colourblind = excluded.colourblind, updated_at = excluded.updated_at`,
		userID, p.PageSize, p.Timezone, p.DateFormat, p.Clock, p.WeekStart, p.Theme,
		p.GraphStyle, p.GraphRange, p.Legend, p.Colourblind, unix(s.now()))
	if err != nil {
		return fmt.Errorf("save preferences of user %d: %w", userID, err)
	}
	return nil
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
