package db

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// newestEvents returns the user's n newest events, newest first.
func newestEvents(t *testing.T, s *Store, userID int64, n int) []Event {
	t.Helper()
	page, err := s.EventsForUser(context.Background(), userID, EventKey{}, n)
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// eventLog gives a user 60 events, numbered 1 (the sign-up) to 60 in their
// "n" detail, interleaved with another user's so that the ids of one log
// are not consecutive. It returns the user and the ids by number.
func eventLog(t *testing.T, s *Store) (User, []int64) {
	t.Helper()
	ctx := context.Background()
	ann, bob := mustUser(t, s, "ann@example.com"), mustUser(t, s, "bob@example.com")
	for n := 2; n <= 60; n++ {
		for _, u := range []User{ann, bob} {
			if err := s.AddEvent(ctx, Event{UserID: u.ID, Kind: EventProfileUpdated, Detail: map[string]any{"n": n}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := make([]int64, 61)
	for _, ev := range newestEvents(t, s, ann.ID, 100) {
		ids[eventNumber(ev)] = ev.ID
	}
	return ann, ids
}

// eventNumber is the "n" of an event of eventLog; the sign-up is 1.
func eventNumber(ev Event) int {
	if ev.Kind == EventSignUp {
		return 1
	}
	n, _ := ev.Detail["n"].(float64)
	return int(n)
}

// span is the numbers from first down to last.
func span(first, last int) []int {
	var ns []int
	for n := first; n >= last; n-- {
		ns = append(ns, n)
	}
	return ns
}

// TestEventsKeyset pages a 60-event log 25 at a time from every kind of
// key, the ends and the keys past them included.
func TestEventsKeyset(t *testing.T) {
	s := openTest(t)
	ann, id := eventLog(t, s)
	tests := []struct {
		name         string
		key          EventKey
		limit        int
		want         []int
		newer, older bool
	}{
		{"first page", EventKey{}, 25, span(60, 36), false, true},
		{"next from the first", EventKey{ID: id[36]}, 25, span(35, 11), true, true},
		{"next to the short end", EventKey{ID: id[11]}, 25, span(10, 1), true, false},
		{"last page", EventKey{Newer: true}, 25, span(25, 1), true, false},
		{"previous from the last", EventKey{ID: id[25], Newer: true}, 25, span(50, 26), true, true},
		{"previous with less than a page above: the first page", EventKey{ID: id[50], Newer: true}, 25, span(60, 36), false, true},
		{"previous from the first: the first page", EventKey{ID: id[60], Newer: true}, 25, span(60, 36), false, true},
		{"exactly a page above", EventKey{ID: id[35], Newer: true}, 25, span(60, 36), false, true},
		{"older than the oldest: the last page", EventKey{ID: id[1]}, 25, span(25, 1), true, false},
		{"older than any id: the last page", EventKey{ID: 1}, 25, span(25, 1), true, false},
		{"newer than any id: the first page", EventKey{ID: math.MaxInt64, Newer: true}, 25, span(60, 36), false, true},
		{"older than a future id: the first page, nothing newer", EventKey{ID: math.MaxInt64}, 25, span(60, 36), false, true},
		{"one page holds the log", EventKey{}, 60, span(60, 1), false, false},
		{"one page holds the log, from the oldest", EventKey{Newer: true}, 60, span(60, 1), false, false},
		{"a bigger page than the log", EventKey{Newer: true}, 100, span(60, 1), false, false},
		{"a page of one", EventKey{ID: id[30]}, 1, []int{29}, true, true},
		{"a limit under one reads one", EventKey{}, 0, []int{60}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.EventsForUser(context.Background(), ann.ID, tt.key, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, ev := range page.Events {
				if ev.UserID != ann.ID {
					t.Fatalf("event %d of user %d in Ann's log", ev.ID, ev.UserID)
				}
				got = append(got, eventNumber(ev))
			}
			if !slices.Equal(got, tt.want) || page.Newer != tt.newer || page.Older != tt.older {
				t.Errorf("got %v newer %v older %v, want %v newer %v older %v", got, page.Newer, page.Older, tt.want, tt.newer, tt.older)
			}
		})
	}
}

// TestEventsKeysetWalk follows the next keys from the first page and the
// previous keys from the last: each way meets every event once, in order.
func TestEventsKeysetWalk(t *testing.T) {
	s := openTest(t)
	ann, _ := eventLog(t, s)
	ctx := context.Background()
	for _, limit := range []int{10, 25, 7} {
		var down []int
		for key, pages := (EventKey{}), 0; ; pages++ {
			page, err := s.EventsForUser(ctx, ann.ID, key, limit)
			if err != nil || pages > 60 {
				t.Fatalf("limit %d: page %d: %v", limit, pages, err)
			}
			for _, ev := range page.Events {
				down = append(down, eventNumber(ev))
			}
			if !page.Older {
				break
			}
			key = EventKey{ID: page.Events[len(page.Events)-1].ID}
		}
		if want := span(60, 1); !slices.Equal(down, want) {
			t.Errorf("limit %d, walking down: got %v, want %v", limit, down, want)
		}

		var up [][]int
		for key := (EventKey{Newer: true}); len(up) <= 60; {
			page, err := s.EventsForUser(ctx, ann.ID, key, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ns []int
			for _, ev := range page.Events {
				ns = append(ns, eventNumber(ev))
			}
			up = append(up, ns)
			if !page.Newer {
				break
			}
			key = EventKey{ID: page.Events[0].ID, Newer: true}
		}
		// Up from the oldest, pages are whole and adjacent; the walk ends
		// on the first page, which may overlap the one below it.
		top := up[len(up)-1]
		if want := span(60, 61-limit); !slices.Equal(top, want) {
			t.Errorf("limit %d, walking up: ended on %v, want the first page %v", limit, top, want)
		}
		for i, ns := range up[:len(up)-1] {
			if want := span(limit*(i+1), limit*i+1); !slices.Equal(ns, want) {
				t.Errorf("limit %d, walking up: page %d from the oldest is %v, want %v", limit, i+1, ns, want)
			}
		}
	}
}

// TestEventsKeysetEmpty: a log with no events has one empty page, whatever
// the key.
func TestEventsKeysetEmpty(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	u := mustUser(t, s, "ann@example.com")
	if _, err := s.w.ExecContext(ctx, `DELETE FROM audit_events WHERE user_id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, key := range []EventKey{{}, {Newer: true}, {ID: 5}, {ID: 5, Newer: true}} {
		page, err := s.EventsForUser(ctx, u.ID, key, 25)
		if err != nil || len(page.Events) != 0 || page.Newer || page.Older {
			t.Errorf("key %+v: got %+v, %v; want an empty page with nothing either side", key, page, err)
		}
	}
}

// TestEventsKeysetUsesIndex: every query of a page is a search of the
// (user_id, id) index, never a scan or a sort, so the last page of a long
// log costs what the first does.
func TestEventsKeysetUsesIndex(t *testing.T) {
	s := openTest(t)
	for _, q := range []string{eventsOlder, eventsNewer, eventsExistOlder, eventsExistNewer} {
		args := []any{1, 2, 3}[:strings.Count(q, "?")]
		rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		found := false
		for _, step := range plan {
			found = found || slices.Contains([]string{
				"SEARCH audit_events USING INDEX audit_events_user (user_id=? AND id<?)",
				"SEARCH audit_events USING INDEX audit_events_user (user_id=? AND id>?)",
				"SEARCH audit_events USING COVERING INDEX audit_events_user (user_id=? AND id<?)",
				"SEARCH audit_events USING COVERING INDEX audit_events_user (user_id=? AND id>?)",
			}, step)
			if strings.HasPrefix(step, "SCAN") && step != "SCAN CONSTANT ROW" || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s: plan step %q", q, step)
			}
		}
		if !found {
			t.Errorf("%s: plan %q, want a search of audit_events_user on user_id and id", q, plan)
		}
	}
}
