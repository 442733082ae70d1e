package views

import (
	"bytes"
	"testing"
)

// TestMemoKeepsNoSecretShownOnce: a profile page holding a secret shown
// once (HoldsSecret) is rendered every time and never kept by the memo;
// the same page without it is.
func TestMemoKeepsNoSecretShownOnce(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	render := func(data ProfilePage) {
		t.Helper()
		var out bytes.Buffer
		if err := r.Page(&out, "profile.html", data); err != nil {
			t.Fatal(err)
		}
	}
	for name, with := range map[string]func(*ProfilePage){
		"recovery codes just made":       func(p *ProfilePage) { p.TwoFactor.On, p.TwoFactor.NewCodes = true, []string{"abcde-fghij"} },
		"authenticator key being set up": func(p *ProfilePage) { p.TwoFactor.Enrolling, p.TwoFactor.Secret = true, "JBSWY3DPEHPK3PXP" },
		"a new webhook's secret":         func(p *ProfilePage) { p.Notify.NewSecret = "whsec_0123456789" },
	} {
		data := s1Profile()
		with(&data)
		if !data.HoldsSecret() {
			t.Fatalf("%s: HoldsSecret is false", name)
		}
		hits, misses := r.MemoStats()
		render(data)
		render(data)
		if h, m := r.MemoStats(); h != hits || m != misses {
			t.Errorf("%s: the page went through the memo (hits %d -> %d, misses %d -> %d)", name, hits, h, misses, m)
		}
	}
	data := s1Profile()
	render(data)
	hits, _ := r.MemoStats()
	render(data)
	if h, _ := r.MemoStats(); h != hits+1 {
		t.Errorf("the page without a secret, twice: hits %d -> %d, want one more", hits, h)
	}
}
