package db

import (
	"context"
	"testing"
	"time"
)

// TestDeleteOldDeliveries: sent rows go 30 days after sending, given-up
// rows 30 days after queueing; queued rows and younger ones stay, and a
// second run finds nothing.
func TestDeleteOldDeliveries(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	start := time.Now().Add(-40 * 24 * time.Hour)
	s.now = func() time.Time { return start }
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "Ann", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	// queue queues one notice at when and, unless end is "", claims it
	// then and ends it as end says at done.
	queue := func(subject string, when time.Time, end string, done time.Time) int64 {
		t.Helper()
		s.now = func() time.Time { return when }
		ids, err := s.Enqueue(ctx, u.ID, Notice{Circumstance: CircumstanceSecurity, Subject: subject})
		if err != nil || len(ids) != 1 {
			t.Fatalf("queue %s: %v, %v", subject, ids, err)
		}
		if end == "" {
			return ids[0]
		}
		list, err := s.ClaimDeliveries(ctx, "w", when, time.Minute, 1)
		if err != nil || len(list) != 1 || list[0].ID != ids[0] {
			t.Fatalf("claim %s: %+v, %v", subject, list, err)
		}
		if end == DeliverySent {
			err = s.MarkSent(ctx, ids[0], "w", done)
		} else {
			err = s.MarkFailed(ctx, ids[0], "w", "down", done, true)
		}
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	day := 24 * time.Hour
	now := time.Now()
	tests := []struct {
		subject string
		queued  time.Time
		end     string
		done    time.Time
		kept    bool
	}{
		{"sent long ago", start, DeliverySent, start, false},
		{"queued long ago, sent lately", start.Add(time.Hour), DeliverySent, now.Add(-10 * day), true},
		{"given up long ago", start.Add(2 * time.Hour), DeliveryFailed, start.Add(day), false},
		{"sent yesterday", now.Add(-day), DeliverySent, now.Add(-day), true},
		{"given up yesterday", now.Add(-2 * day), DeliveryFailed, now.Add(-day), true},
		{"still queued", start.Add(3 * time.Hour), "", time.Time{}, true},
	}
	// (The queued row comes last: it would be claimed first.)
	ids := make([]int64, len(tests))
	for i, tt := range tests {
		ids[i] = queue(tt.subject, tt.queued, tt.end, tt.done)
	}
	n, err := s.DeleteOldDeliveries(ctx, now.Add(-DeliveryRetention))
	if err != nil || n != 2 {
		t.Fatalf("delete: got %d, %v; want 2", n, err)
	}
	for i, tt := range tests {
		_, err := s.DeliveryByID(ctx, ids[i])
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s: kept %v (%v), want %v", tt.subject, kept, err, tt.kept)
		}
	}
	if n, err := s.DeleteOldDeliveries(ctx, now.Add(-DeliveryRetention)); err != nil || n != 0 {
		t.Errorf("second run: got %d, %v; want 0", n, err)
	}
}
