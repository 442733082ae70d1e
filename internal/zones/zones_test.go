package zones

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // as main does: the test passes without a system zoneinfo
)

func TestEveryNameLoads(t *testing.T) {
	if len(names()) < 400 {
		t.Fatalf("got %d zones, want the whole tz database", len(names()))
	}
	if !slices.IsSorted(names()) {
		t.Fatal("names are not sorted: Valid's binary search needs them sorted")
	}
	for _, n := range names() {
		if _, err := time.LoadLocation(n); err != nil {
			t.Errorf("LoadLocation(%q): %v", n, err)
		}
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Europe/Paris", true},
		{"America/New_York", true},
		{"UTC", true},
		{"Mars/Olympus", false},
		{"Local", false},
		{"", false},
		{"../etc/passwd", false},
		{"europe/paris", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.name); got != tt.want {
			t.Errorf("Valid(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Load("Mars/Olympus"); got != time.UTC {
		t.Errorf("Load(Mars/Olympus): got %v, want UTC", got)
	}
}

// TestLoadKeepsZones: a zone is read once and shared after that; a name
// that is not a zone is UTC and is not kept.
func TestLoadKeepsZones(t *testing.T) {
	first := Load("Europe/Berlin")
	if first.String() != "Europe/Berlin" {
		t.Fatalf("Load(Europe/Berlin) = %v", first)
	}
	if again := Load("Europe/Berlin"); again != first {
		t.Error("Load read Europe/Berlin again instead of keeping it")
	}
	for _, name := range []string{"", "Local", "Not/AZone"} {
		if loc := Load(name); loc != time.UTC {
			t.Errorf("Load(%q) = %v, want UTC", name, loc)
		}
		if _, kept := loaded.Load(name); kept {
			t.Errorf("Load kept %q", name)
		}
	}
}
