package db

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestStartBootReleasesDeadBoots: a starting process releases at once the
// claims of the boots it replaces (same host, process gone or its own pid)
// and of boots silent for BootStale, and leaves a live boot's claims alone.
func TestStartBootReleasesDeadBoots(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now()
	s.now = func() time.Time { return now }
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "Ann", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	// Pids 10 and 20 run; 30 is gone. The new process is pid 40 on host a.
	alive := func(pid int) bool { return pid == 10 || pid == 20 || pid == 40 }
	boots := []struct {
		boot     Boot
		seen     time.Time
		released bool
	}{
		{Boot{"live", "a", 10}, now, false},
		{Boot{"gone", "a", 30}, now, true},
		{Boot{"same-pid", "a", 40}, now, true},   // the container restarted: pid 1 again
		{Boot{"elsewhere", "b", 30}, now, false}, // another host's pid 30 says nothing here
		{Boot{"silent", "b", 20}, now.Add(-2 * BootStale), true},
		{Boot{"live-pid-silent", "a", 20}, now.Add(-BootStale - time.Second), true},
	}
	claimed := map[string]int64{}
	for _, b := range boots {
		s.now = func() time.Time { return b.seen }
		if _, err := s.StartBoot(ctx, b.boot, func(int) bool { return true }); err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return now }
		ids, err := s.Enqueue(ctx, u.ID, Notice{Circumstance: CircumstanceSecurity, Subject: b.boot.ID})
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.ClaimDeliveries(ctx, b.boot.ID, now, 30*time.Second, 1)
		if err != nil || len(list) != 1 || list[0].ID != ids[0] {
			t.Fatalf("claim by %s: %+v, %v", b.boot.ID, list, err)
		}
		claimed[b.boot.ID] = ids[0]
	}

	n, err := s.StartBoot(ctx, Boot{"new", "a", 40}, alive)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("released %d claims, want 4", n)
	}
	// The new process claims the released rows at once, the others' leases
	// still running.
	list, err := s.ClaimDeliveries(ctx, "new", now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, d := range list {
		got = append(got, d.ID)
		if d.Attempts != 2 {
			t.Errorf("row %d: %d attempts, want 2 (the dead claim counts: it may have been sending)", d.ID, d.Attempts)
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM boots ORDER BY id`)
	left, err := collect(rows, err, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantLeft []string
	for _, b := range boots {
		id := claimed[b.boot.ID]
		if b.released != slices.Contains(got, id) {
			t.Errorf("%s's claim: released %v, want %v", b.boot.ID, !b.released, b.released)
		}
		if !b.released {
			wantLeft = append(wantLeft, b.boot.ID)
		}
	}
	wantLeft = append(wantLeft, "new")
	slices.Sort(wantLeft)
	if !slices.Equal(left, wantLeft) {
		t.Errorf("boots after the start: %v, want %v", left, wantLeft)
	}

	// A worker whose claim was released does not record the row.
	if err := s.MarkSent(ctx, claimed["gone"], "gone", now); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DeliveryByID(ctx, claimed["gone"]); d.State != DeliveryQueued {
		t.Errorf("the dead boot marked its released row %q, want it left queued", d.State)
	}
	if err := s.MarkSent(ctx, claimed["gone"], "new", now); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.DeliveryByID(ctx, claimed["gone"]); d.State != DeliverySent {
		t.Errorf("the new boot's row: %q, want sent", d.State)
	}
}

// TestRenewClaims: a renewal keeps a live lease past its first end, so no
// other worker can claim the row; a lease that ran out is not renewed.
func TestRenewClaims(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "Ann", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, u.ID, Notice{Circumstance: CircumstanceSecurity, Subject: "one"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(5 * time.Second)
	lease := 30 * time.Second
	if list, err := s.ClaimDeliveries(ctx, "a", now, lease, 10); err != nil || len(list) != 1 {
		t.Fatalf("claim: %+v, %v", list, err)
	}
	for i := range 5 {
		now = now.Add(20 * time.Second)
		if n, err := s.RenewClaims(ctx, "a", now, now.Add(lease)); n != 1 || err != nil {
			t.Fatalf("renewal %d: %d rows, %v; want 1", i, n, err)
		}
		if list, err := s.ClaimDeliveries(ctx, "b", now.Add(lease-time.Second), lease, 10); err != nil || len(list) != 0 {
			t.Fatalf("another worker claimed %d rows (%v) %v into a renewed lease, want none", len(list), err, 20*time.Second*time.Duration(i+1))
		}
	}
	now = now.Add(lease + time.Second)
	if n, err := s.RenewClaims(ctx, "a", now, now.Add(lease)); n != 0 || err != nil {
		t.Errorf("renewal after the lease ran out: %d rows, %v; want 0", n, err)
	}
	if list, err := s.ClaimDeliveries(ctx, "b", now, lease, 10); err != nil || len(list) != 1 {
		t.Errorf("claim after the lease ran out: %d rows, %v; want 1", len(list), err)
	}
}

// TestStartBootAgain: a process whose boot could not be ended (a demoted
// LiteFS primary cannot write) starts it again under the same id when it
// is promoted again.
func TestStartBootAgain(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	b := Boot{"twice", "a", 10}
	alive := func(int) bool { return true }
	if _, err := s.StartBoot(ctx, b, alive); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartBoot(ctx, b, alive); err != nil {
		t.Fatalf("start the same boot again: %v", err)
	}
	if err := s.EndBoot(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
}
