package views

import (
	"html/template"
	"time"
)

// SignInChart is the chart at the top of /profile/activity: sign-ins per
// hour or day over Range, drawn by package chart, and the same numbers as
// a table for screen readers.
type SignInChart struct {
	SVG       template.HTML // built by package chart, which escapes every text it puts in
	SVGNarrow template.HTML // the same at a phone's width; CSS shows one of the two
	Totals    string        // the counts in words, ChartTotals
	Range     string        // the range shown: 24h, 7d, 30d or 90d
	Default   string        // the range of the preferences
	Buckets   []ChartBucket
	Ranges    []ChartRange
}

// ChartTotals says what the chart shows in words, for the period it
// shows: "2 successful, 1 failed in the last 7 days". The counts come
// written in the person's number format; period is a range's label.
func ChartTotals(succeeded, failed, period string) string {
	return succeeded + " successful, " + failed + " failed in the last " + period
}

// ChartBucket is one hour or day of the chart and one row of its table.
type ChartBucket struct {
	Label     string // in the person's zone
	Start     time.Time
	Succeeded int
	Failed    int
}

// ChartRange is a link that switches the chart's range.
type ChartRange struct {
	Value, Label, URL string
}

// Label names a range as its link does: "30 days".
func (c SignInChart) Label(value string) string {
	for _, r := range c.Ranges {
		if r.Value == value {
			return r.Label
		}
	}
	return value
}

// Succeeded counts the successful sign-ins the chart shows.
func (c SignInChart) Succeeded() int {
	n := 0
	for _, b := range c.Buckets {
		n += b.Succeeded
	}
	return n
}

// Failed counts the failed sign-ins the chart shows.
func (c SignInChart) Failed() int {
	n := 0
	for _, b := range c.Buckets {
		n += b.Failed
	}
	return n
}
