package db

import (
	"context"
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
	want := Preferences{PageSize: 100, Timezone: "Asia/Tokyo", DateFormat: "relative", Clock: "12", WeekStart: "sunday",
		Theme: "dark", GraphStyle: "area", GraphRange: "90d", Legend: false, Colourblind: true}
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
