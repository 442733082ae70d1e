package views

import "testing"

// TestPreferencesSavedWords: the flash of a Save without JavaScript names
// what changed, by the labels of the form.
func TestPreferencesSavedWords(t *testing.T) {
	tests := []struct {
		changed []string
		want    string
	}{
		{[]string{"theme"}, "Saved: Theme."},
		{[]string{"page_size", "legend"}, "Saved: Rows per page and Show the legend."},
		{[]string{"clock", "theme", "graph_style"}, "Saved: Clock, Theme and Chart type."},
		{[]string{"no_such_field"}, "Saved."},
	}
	for _, tt := range tests {
		if got := PreferencesSaved(tt.changed); got != tt.want {
			t.Errorf("PreferencesSaved(%v) = %q, want %q", tt.changed, got, tt.want)
		}
	}
}

// TestChartTotals: the chart's totals in words, for the period it shows.
func TestChartTotals(t *testing.T) {
	if got, want := ChartTotals("2", "1", "7 days"), "2 successful, 1 failed in the last 7 days"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	c := SignInChart{Buckets: []ChartBucket{{Succeeded: 2, Failed: 0}, {Succeeded: 0, Failed: 1}, {Succeeded: 1, Failed: 3}}}
	if c.Succeeded() != 3 || c.Failed() != 4 {
		t.Errorf("got %d successful and %d failed, want 3 and 4", c.Succeeded(), c.Failed())
	}
}
