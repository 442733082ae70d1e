package views

import (
	"bytes"
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
	var a [64]byte
	return string(c.appendFormat(a[:0], t))
}

// appendFormat appends Format(t) for a non-zero t.
func (c Clock) appendFormat(b []byte, t time.Time) []byte {
	if c.DateFormat == "relative" {
		now := c.Now
		if now.IsZero() {
			now = time.Now()
		}
		return append(b, relative(t, now)...)
	}
	return c.In(t).AppendFormat(b, c.layout())
}

// layouts are the whole layouts of the absolute formats, by 12-hour clock
// and date format: Format's layout without building it for every time shown.
var layouts = func() [2]map[string]string {
	var l [2]map[string]string
	for i, hour12 := range []bool{false, true} {
		l[i] = map[string]string{}
		for f := range dateLayouts {
			c := Clock{DateFormat: f, Hour12: hour12}
			l[i][f] = c.DateLayout() + " " + c.TimeLayout() + " MST"
		}
	}
	return l
}()

// layout is the layout of an absolute time on this clock.
func (c Clock) layout() string {
	i := 0
	if c.Hour12 {
		i = 1
	}
	if l, ok := layouts[i][c.DateFormat]; ok {
		return l
	}
	return layouts[i]["iso"]
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
// the person prefers</time>; nothing for the zero time. Pages show many
// times, so it is written into one buffer: one allocation a time shown.
func (c Clock) Tag(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	u := t.UTC()
	var a [160]byte
	b := append(a[:0], `<time datetime="`...)
	b = u.AppendFormat(b, time.RFC3339)
	b = append(b, `" title="`...)
	b = u.AppendFormat(b, "2006-01-02 15:04:05 UTC")
	b = append(b, `">`...)
	start := len(b)
	b = c.appendFormat(b, t)
	if bytes.ContainsAny(b[start:], `<>&'"`) { // a zone abbreviation is not ours to trust
		shown := html.EscapeString(string(b[start:]))
		b = append(b[:start], shown...)
	}
	b = append(b, `</time>`...)
	return template.HTML(b)
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
