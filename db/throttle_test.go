package db

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestReserveConcurrent: callers that reserve at once, from two stores on
// one file (two processes), take exactly Max slots between them.
func TestReserveConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	other, err := Open(ctx, s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	l := Limit{Key: "signin:email:ann@example.com", Max: 10, Window: 15 * time.Minute}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	var unexpected []error
	for i := range 40 {
		store := s
		if i%2 == 1 {
			store = other
		}
		wg.Go(func() {
			_, err := store.Reserve(ctx, l)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrThrottled):
				refused++
			default:
				unexpected = append(unexpected, err)
			}
		})
	}
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("Reserve: %v", unexpected)
	}
	if ok != 10 || refused != 30 {
		t.Errorf("40 concurrent reservations of a limit of 10: %d taken, %d refused; want 10 and 30", ok, refused)
	}
}

// TestReserveWindow: a full limit says how long until a slot frees, takes
// nothing under the other limits of the call, frees as its oldest slot
// expires, and Release and ClearThrottle give slots back.
func TestReserveWindow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	start := time.Unix(1_800_000_000, 0)
	now := start
	s.now = func() time.Time { return now }
	addr := Limit{Key: "reset:ann@example.com", Max: 3, Window: time.Hour}
	ip := Limit{Key: "reset:ip:192.0.2.1", Max: 20, Window: time.Hour}
	for i := range 3 {
		now = start.Add(time.Duration(i) * time.Minute)
		if _, err := s.Reserve(ctx, addr, ip); err != nil {
			t.Fatalf("reservation %d: %v", i+1, err)
		}
	}
	now = start.Add(10*time.Minute + 500*time.Millisecond)
	_, err := s.Reserve(ctx, ip, addr)
	var th *Throttled
	if !errors.As(err, &th) || th.Limit.Key != addr.Key || th.RetryAfter != 50*time.Minute {
		t.Fatalf("fourth: got %v, want the address limit throttled for 50m (the first slot's hour)", err)
	}
	if got := slots(t, s, ip.Key); got != 3 {
		t.Errorf("after the refusal: %d slots under the client limit, want 3 (all or nothing)", got)
	}
	now = start.Add(time.Hour)
	r, err := s.Reserve(ctx, addr)
	if err != nil {
		t.Fatalf("an hour after the first: %v, want a slot", err)
	}
	if err := s.Release(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, addr); err != nil {
		t.Fatalf("after Release: %v, want the slot back", err)
	}
	if err := s.ClearThrottle(ctx, addr.Key); err != nil {
		t.Fatal(err)
	}
	if got := slots(t, s, addr.Key); got != 0 {
		t.Errorf("after ClearThrottle: %d slots, want 0", got)
	}

	// The sweep deletes the expired slots, and only those.
	now = start.Add(time.Hour + 90*time.Second)
	s.now = func() time.Time { return now }
	if _, err := s.DeleteExpired(ctx, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM throttle_slots`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Errorf("after the sweep: %d slots, want 1 (the client slot of minute 2)", left)
	}
}

func slots(t *testing.T, s *Store, key string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(context.Background(), `SELECT count(*) FROM throttle_slots WHERE key = ?`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestThrottleSlotsMigration: 00014 carries the sign-in failures of
// login_failures over, and its Down brings them back.
func TestThrottleSlotsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 13)
	now := time.Now().Unix()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO login_failures (key, created_at) VALUES ('email:ann@example.com', ?), ('ip:192.0.2.1', ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"signin:email:ann@example.com", "signin:ip:192.0.2.1"} {
		if got := slots(t, s, key); got != 1 {
			t.Errorf("after 00014: %d slots under %s, want 1", got, key)
		}
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE key IN ('email:ann@example.com', 'ip:192.0.2.1')`).Scan(&n); err != nil || n != 2 {
		t.Errorf("after 00014 down: %d failures, %v; want 2", n, err)
	}
}
