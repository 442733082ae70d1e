package views

import (
	"html"
	"html/template"
	"time"
)

// Clock shows times as one person prefers: in their zone, date format and
// 12- or 24-hour clock. Every page has one (Page.Clock), built from the
// preferences once per request.
type Clock struct {
	Zone       *time.Location // nil means UTC
	DateFormat string         // "iso", "us", "eu" or "relative"
	Hour12     bool
	Now        time.Time // what relative times count from; zero means time.Now()
}

// dateLayouts are the layouts of the absolute date formats.
var dateLayouts = map[string]string{
	"iso": "2006-01-02",
	"us":  "01/02/2006",
	"eu":  "02/01/2006",
}

// In returns t in the clock's zone.
func (c Clock) In(t time.Time) time.Time {
	if c.Zone == nil {
		return t.UTC()
	}
	return t.In(c.Zone)
}

// Format shows t, or nothing for the zero time. Absolute formats name the
// zone's abbreviation, so an hour either side of a daylight-saving change
// reads unambiguously.
func (c Clock) Format(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if c.DateFormat == "relative" {
		now := c.Now
		if now.IsZero() {
			now = time.Now()
		}
		return relative(t, now)
	}
	return c.In(t).Format(c.DateLayout() + " " + c.TimeLayout() + " MST")
}

// DateLayout is the layout of a date in the clock's format; ISO 8601 for
// relative dates, which need an absolute one where they cannot count.
func (c Clock) DateLayout() string {
	if layout, ok := dateLayouts[c.DateFormat]; ok {
		return layout
	}
	return dateLayouts["iso"]
}

// TimeLayout is the layout of a time of day on this clock.
func (c Clock) TimeLayout() string {
	if c.Hour12 {
		return "3:04 PM"
	}
	return "15:04"
}

// Tag renders t as <time datetime="RFC 3339 UTC" title="exact UTC">t as
// the person prefers</time>; nothing for the zero time.
func (c Clock) Tag(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `" title="` + u.Format("2006-01-02 15:04:05 UTC") + `">` +
		html.EscapeString(c.Format(t)) + `</time>`)
}

// relative says how far t is from now in the coarsest unit that fits:
// "3 hours ago", "in 6 days".
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = Plural(int64(d/time.Minute), "minute", "minutes")
	case d < 24*time.Hour:
		s = Plural(int64(d/time.Hour), "hour", "hours")
	default:
		s = Plural(int64(d/(24*time.Hour)), "day", "days")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}
