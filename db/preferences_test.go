package db

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestPreferences(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")

	got, err := s.Preferences(ctx, u.ID)
	if err != nil || got != DefaultPreferences() {
		t.Fatalf("no row: got %+v, %v; want the defaults", got, err)
	}
	if !DefaultPreferences().Valid() {
		t.Fatal("the defaults are not valid")
	}
	want := DefaultPreferences() // a preference declared later keeps its default
	want.PageSize, want.Timezone, want.DateFormat, want.Clock, want.WeekStart = 100, "Asia/Tokyo", "relative", "12", "sunday"
	want.Theme, want.GraphStyle, want.GraphRange, want.Legend, want.Colourblind = "dark", "area", "90d", false, true
	for range 2 { // insert, then update
		if err := s.SavePreferences(ctx, u.ID, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Preferences(ctx, u.ID); err != nil || got != want {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	}

	// The table's checks refuse what the handlers would: the last line of defence.
	for _, bad := range []func(*Preferences){
		func(p *Preferences) { p.PageSize = 7 },
		func(p *Preferences) { p.Theme = "neon" },
		func(p *Preferences) { p.DateFormat = "klingon" },
		func(p *Preferences) { p.GraphRange = "1y" },
	} {
		p := want
		bad(&p)
		if p.Valid() {
			t.Errorf("%+v: Valid says yes", p)
		}
		if err := s.SavePreferences(ctx, u.ID, p); err == nil {
			t.Errorf("%+v: saved, want the table's check to refuse it", p)
		}
	}
	if got, _ := s.Preferences(ctx, u.ID); got != want {
		t.Errorf("after refused saves: got %+v, want %+v", got, want)
	}
}

func TestSignInAttempts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	other := mustUser(t, s, "bob@example.com")
	for _, ev := range []Event{
		{UserID: u.ID, Kind: EventSignIn}, {UserID: u.ID, Kind: EventSignInFailed}, {UserID: u.ID, Kind: EventSignOut},
		{UserID: other.ID, Kind: EventSignIn},
	} {
		if err := s.AddEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.SignInAttempts(ctx, u.ID, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Failed || !list[1].Failed {
		t.Errorf("got %+v, want one sign-in then one failure", list)
	}
	if list, _ := s.SignInAttempts(ctx, u.ID, time.Now().Add(time.Hour)); len(list) != 0 {
		t.Errorf("since the future: got %d, want none", len(list))
	}
}

// freeText are values to try for the preferences without a list of values.
var freeText = map[string][]string{"timezone": {"", "Asia/Tokyo", "America/New_York"}}

// sampleValues are the values of d to round-trip: all of them, or a few.
func sampleValues(t *testing.T, d Preference) []string {
	t.Helper()
	if vs := d.Values(); vs != nil {
		return vs
	}
	vs, ok := freeText[d.Name]
	if !ok {
		t.Fatalf("%s has no list of values: add some to freeText", d.Name)
	}
	return vs
}

// TestPreferenceList: every declared preference is complete, bound to its
// own field of Preferences (and every field to one), and each of its
// values round-trips through the table and back.
func TestPreferenceList(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")

	fields := map[uintptr]string{}
	var p Preferences
	base := reflect.ValueOf(&p).Pointer()
	for _, d := range PreferenceList {
		if d.Name == "" || d.Group == "" || d.Label == "" || d.Refused == "" {
			t.Errorf("%q: name, group, label and message are all needed: %+v", d.Name, d)
		}
		if !d.Allows(d.Default) {
			t.Errorf("%s: the default %q is not one of its values", d.Name, d.Default)
		}
		off := reflect.ValueOf(d.field(&p)).Pointer() - base
		if other, dup := fields[off]; dup {
			t.Errorf("%s and %s are bound to the same field", d.Name, other)
		}
		fields[off] = d.Name
		if got, ok := PreferenceNamed(d.Name); !ok || got.Name != d.Name {
			t.Errorf("PreferenceNamed(%q): got %q, %v", d.Name, got.Name, ok)
		}
	}
	if n := reflect.TypeFor[Preferences]().NumField(); n != len(fields) {
		t.Errorf("Preferences has %d fields and %d are declared: bind each field in PreferenceList", n, len(fields))
	}

	for _, d := range PreferenceList {
		for _, v := range sampleValues(t, d) {
			want := DefaultPreferences()
			if !d.Set(&want, v) {
				t.Errorf("%s: Set(%q) refused one of its values", d.Name, v)
				continue
			}
			if got := d.Text(want); got != v {
				t.Errorf("%s: Set(%q) then Text gave %q", d.Name, v, got)
			}
			if !want.Valid() {
				t.Errorf("%s=%q: Valid says no", d.Name, v)
			}
			if err := s.SavePreferences(ctx, u.ID, want); err != nil {
				t.Errorf("%s=%q: %v", d.Name, v, err)
				continue
			}
			got, err := s.Preferences(ctx, u.ID)
			if err != nil || got != want || d.Text(got) != v {
				t.Errorf("%s=%q: read back %+v, %v; want %+v", d.Name, v, got, err, want)
			}
		}
		p := DefaultPreferences()
		for _, bad := range []string{"", "x", "99", "-1", " 1", "DARK"} {
			if !d.Allows(bad) && d.Set(&p, bad) {
				t.Errorf("%s: Set(%q) took a value Allows refuses", d.Name, bad)
			}
		}
		if p != DefaultPreferences() {
			t.Errorf("%s: refused values changed the preferences to %+v", d.Name, p)
		}
	}
}
