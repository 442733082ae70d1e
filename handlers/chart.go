package handlers

import (
	"fmt"
	"html/template"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/chart"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// chartRanges are the ranges of the sign-in chart, as its links name them:
// the choices of the graph_range preference.
var chartRanges, _ = db.PreferenceNamed("graph_range")

// signInChart counts the user's successful and failed sign-ins per hour
// (24h) or per day, over the range in ?range= or else the preferred one,
// in the user's zone. ?range= switches what is shown, never the preference.
func (h *Handler) signInChart(c echo.Context, userID int64) (views.SignInChart, error) {
	p := h.prefs(c)
	rng := c.QueryParam("range")
	if chartRanges.Choices == nil || !chartRanges.Allows(rng) {
		rng = p.GraphRange
	}
	clock := clockFor(p)
	buckets, axis, ticks := chartBuckets(rng, clock.In(time.Now()), clock, p)
	attempts, err := h.store.SignInAttempts(c.Request().Context(), userID, buckets[0].Start)
	if err != nil {
		return views.SignInChart{}, err
	}
	for _, a := range attempts {
		// The bucket is the last one starting at or before the attempt.
		i, found := slices.BinarySearchFunc(buckets, a.At, func(b views.ChartBucket, t time.Time) int { return b.Start.Compare(t) })
		if !found {
			i--
		}
		if i < 0 {
			continue
		}
		if a.Failed {
			buckets[i].Failed++
		} else {
			buckets[i].Succeeded++
		}
	}
	data := views.SignInChart{Range: rng, Default: p.GraphRange, Buckets: buckets}
	ok, failed := make([]int, len(buckets)), make([]int, len(buckets))
	for i, b := range buckets {
		ok[i], failed[i] = b.Succeeded, b.Failed
	}
	unit, label := "day", ""
	if rng == "24h" {
		unit = "hour"
	}
	for _, r := range chartRanges.Choices {
		if r.Value == rng {
			label = r.Label
		}
		q := c.Request().URL.Query() // a copy; the log's page stays where it is
		q.Set("range", r.Value)
		data.Ranges = append(data.Ranges, views.ChartRange{Value: r.Value, Label: r.Label, URL: "/profile/activity?" + q.Encode()})
	}
	count := func(n int) string { return views.FormatCount(p, n) }
	palette := chart.Default
	if p.Colourblind {
		palette = chart.Safe
	}
	zone := "UTC"
	if clock.Zone != nil {
		zone = clock.Zone.String()
	}
	c2 := chart.Chart{
		ID:    "signin-chart",
		Title: "Sign-ins per " + unit + ", last " + label,
		Desc: fmt.Sprintf("%s successful and %s failed sign-ins from %s to %s, times in %s. The table below has each %s's numbers.",
			count(data.Succeeded()), count(data.Failed()), buckets[0].Label, buckets[len(buckets)-1].Label, zone, unit),
		Style:   p.GraphStyle,
		Labels:  axis,
		Ticks:   ticks,
		Series:  []chart.Series{{Name: "Successful", Values: ok}, {Name: "Failed", Values: failed}},
		Legend:  p.Legend,
		Palette: palette,
		Count:   count,
		Width:   chart.Wide,
		Class:   "chart-wide",
	}
	data.SVG = template.HTML(chart.SVG(c2)) // chart.SVG escapes every text it draws
	// The same at a phone's width, drawn about 1:1 so its text stays legible.
	c2.ID, c2.Width, c2.Class = "signin-chart-narrow", chart.Narrow, "chart-narrow"
	data.SVGNarrow = template.HTML(chart.SVG(c2))
	data.Totals = views.ChartTotals(count(data.Succeeded()), count(data.Failed()), label)
	return data, nil
}

// chartBuckets lays out the chart's hours or days ending with the one now
// is in, in now's zone: their table labels, their short axis labels and
// the buckets the axis labels (nil: evenly spaced). Days start at local
// midnight, so a day with a daylight-saving change lasts 23 or 25 hours.
func chartBuckets(rng string, now time.Time, clock views.Clock, p db.Preferences) ([]views.ChartBucket, []string, []int) {
	loc := now.Location()
	date := clock.DateLayout()
	var buckets []views.ChartBucket
	var axis []string
	if rng == "24h" {
		hour := "15:04"
		if clock.Hour12 {
			hour = "3 PM"
		}
		end := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), 0, 0, 0, loc)
		for i := 23; i >= 0; i-- {
			t := end.Add(-time.Duration(i) * time.Hour).In(loc)
			buckets = append(buckets, views.ChartBucket{Start: t, Label: t.Format("Mon " + date + " " + clock.TimeLayout() + " MST")})
			axis = append(axis, t.Format(hour))
		}
		return buckets, axis, nil
	}
	days := map[string]int{"7d": 7, "30d": 30, "90d": 90}[rng]
	short := "Jan 2"
	if p.DateFormat != "us" {
		short = "2 Jan"
	}
	if days == 7 {
		short = "Mon 2"
	}
	first := map[string]time.Weekday{"monday": time.Monday, "sunday": time.Sunday, "saturday": time.Saturday}[p.WeekStart]
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	var ticks []int
	for i := days - 1; i >= 0; i-- {
		t := today.AddDate(0, 0, -i)
		buckets = append(buckets, views.ChartBucket{Start: t, Label: t.Format("Mon " + date)})
		axis = append(axis, t.Format(short))
		if t.Weekday() == first {
			ticks = append(ticks, len(buckets)-1)
		}
	}
	switch days {
	case 7:
		ticks = nil // every day is labelled
	case 90:
		// Every other week, so the labels do not run into each other.
		var half []int
		for i, t := range ticks {
			if i%2 == 0 {
				half = append(half, t)
			}
		}
		ticks = half
	}
	return buckets, axis, ticks
}
