package csrfmask

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// TestMask: a masked token is MaskedLen characters, new every time, never
// holds the raw token, and matches its own token only.
func TestMask(t *testing.T) {
	b := make([]byte, TokenBytes)
	rand.Read(b)
	raw := base64.RawURLEncoding.EncodeToString(b)
	other := base64.RawURLEncoding.EncodeToString(make([]byte, TokenBytes))
	if len(raw) != RawLen {
		t.Fatalf("raw token of %d characters", len(raw))
	}
	seen := map[string]bool{}
	for range 1000 {
		m := Mask(raw)
		if len(m) != MaskedLen || seen[m] || strings.Contains(m, raw) {
			t.Fatalf("Mask: %q (len %d, seen %v)", m, len(m), seen[m])
		}
		seen[m] = true
		if !Matches(raw, m) || Matches(other, m) {
			t.Fatalf("Matches(own) %v, Matches(other) %v", Matches(raw, m), Matches(other, m))
		}
		if got, ok := Unmask(m); !ok || got != raw {
			t.Fatalf("Unmask: %q, %v", got, ok)
		}
	}
	m := Mask(raw)
	for name, sent := range map[string]string{"empty": "", "short": m[:MaskedLen-1], "long": m + "A", "padded": m + "==", "not base64": strings.Repeat("*", MaskedLen)} {
		if Matches(raw, sent) {
			t.Errorf("%s: %q matches", name, sent)
		}
	}
	if Matches(raw, raw) != AcceptRaw || Matches(raw, other) {
		t.Errorf("raw token: Matches %v, AcceptRaw %v; another raw token matches %v", Matches(raw, raw), AcceptRaw, Matches(raw, other))
	}
	if Matches("short", Mask("short")) {
		t.Errorf("a cookie token of the wrong shape matches")
	}
}
