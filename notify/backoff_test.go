package notify

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		min, max time.Duration
	}{
		{1, 15 * time.Second, 30 * time.Second},
		{2, 30 * time.Second, time.Minute},
		{5, 4 * time.Minute, 8 * time.Minute},
		{20, 30 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := backoff(tt.attempts)
			if d < tt.min || d > tt.max {
				t.Errorf("backoff(%d) = %v, want between %v and %v", tt.attempts, d, tt.min, tt.max)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) gave the same wait 50 times, want jitter", tt.attempts)
		}
	}
}
