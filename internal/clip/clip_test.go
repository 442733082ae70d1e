package clip

import "testing"

func TestString(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""}, {"abc", 3, "abc"}, {"abcd", 3, "abc"}, {"abc", 0, ""},
	} {
		if got := String(tt.s, tt.n); got != tt.want {
			t.Errorf("String(%q, %d): got %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
