package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// TestChartBucketsAcrossDST lays out days and hours in Paris around the
// spring-forward change of 29 March 2026: that day lasts 23 hours and its
// hours skip 02:00.
func TestChartBucketsAcrossDST(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	p := db.DefaultPreferences()
	clock := views.Clock{Zone: paris, DateFormat: "iso"}

	now := time.Date(2026, 3, 31, 12, 0, 0, 0, paris)
	days, axis, ticks := chartBuckets("7d", now, clock, p)
	if len(days) != 7 || len(axis) != 7 || ticks != nil {
		t.Fatalf("7d: got %d buckets, %d labels, ticks %v; want 7, 7, nil", len(days), len(axis), ticks)
	}
	if got := days[0].Start; !got.Equal(time.Date(2026, 3, 25, 0, 0, 0, 0, paris)) {
		t.Errorf("7d: first day starts %v, want 25 March 00:00 Paris", got)
	}
	for i := 1; i < len(days); i++ {
		want := 24 * time.Hour
		if days[i-1].Start.Day() == 29 {
			want = 23 * time.Hour
		}
		if got := days[i].Start.Sub(days[i-1].Start); got != want {
			t.Errorf("7d: %s lasts %v, want %v", days[i-1].Label, got, want)
		}
	}
	if axis[6] != "Tue 31" || days[6].Label != "Tue 2026-03-31" {
		t.Errorf("7d: last bucket %q / %q, want Tue 31 / Tue 2026-03-31", axis[6], days[6].Label)
	}

	hours, axis, _ := chartBuckets("24h", time.Date(2026, 3, 29, 10, 30, 0, 0, paris), clock, p)
	if len(hours) != 24 || axis[23] != "10:00" {
		t.Fatalf("24h: got %d buckets ending %q, want 24 ending 10:00", len(hours), axis[23])
	}
	joined := strings.Join(axis, " ")
	if strings.Contains(joined, "02:00") || !strings.Contains(joined, "01:00 03:00") {
		t.Errorf("24h across the change: got %s, want 01:00 then 03:00", joined)
	}

	p.WeekStart = "sunday"
	_, _, ticks = chartBuckets("30d", now, clock, p)
	for _, i := range ticks {
		if d := time.Date(2026, 3, 31, 0, 0, 0, 0, paris).AddDate(0, 0, i-29); d.Weekday() != time.Sunday {
			t.Errorf("30d with weeks from Sunday: tick %d is a %s", i, d.Weekday())
		}
	}
	if len(ticks) < 4 {
		t.Errorf("30d: got %d ticks, want one a week", len(ticks))
	}
}
