package db

import (
	"context"
	"testing"
)

// TestSavePreferenceChanges: the first save of a user stores all of p; a
// later one writes only the preferences it names, leaving the others as
// stored even when p holds other values for them (a concurrent save of
// another control); a name not declared, or a value the checks refuse, is
// an error that changes nothing.
func TestSavePreferenceChanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "a@example.com")
	get := func() Preferences {
		t.Helper()
		p, err := s.Preferences(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	first := DefaultPreferences()
	first.Theme, first.PageSize = "dark", 50
	if err := s.SavePreferenceChanges(ctx, u.ID, first, []string{"theme"}); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != first {
		t.Fatalf("first save: got %+v, want all of %+v", got, first)
	}

	later := first
	later.Theme, later.Legend, later.PageSize = "light", !first.Legend, 10
	if err := s.SavePreferenceChanges(ctx, u.ID, later, []string{"theme", "legend"}); err != nil {
		t.Fatal(err)
	}
	want := first
	want.Theme, want.Legend = "light", later.Legend
	if got := get(); got != want {
		t.Fatalf("theme and legend saved: got %+v, want %+v (page_size as stored)", got, want)
	}

	if err := s.SavePreferenceChanges(ctx, u.ID, later, []string{"page_size; DROP TABLE users"}); err == nil {
		t.Fatal("an undeclared name: got no error")
	}
	bad := want
	bad.Theme, bad.Clock = "neon", "12"
	if err := s.SavePreferenceChanges(ctx, u.ID, bad, []string{"clock", "theme"}); err == nil {
		t.Fatal("a refused theme: got no error")
	}
	if got := get(); got != want {
		t.Fatalf("after the errors: got %+v, want %+v unchanged", got, want)
	}
	if err := s.SavePreferenceChanges(ctx, u.ID, bad, nil); err != nil {
		t.Fatalf("nothing changed: %v", err)
	}
}
