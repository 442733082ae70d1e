package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCardExpiry(t *testing.T) {
	c := Card{ExpMonth: 8, ExpYear: 2030}
	tests := []struct {
		now           time.Time
		expired, soon bool
	}{
		{time.Date(2030, 6, 30, 23, 0, 0, 0, time.UTC), false, false},
		{time.Date(2030, 7, 1, 0, 0, 0, 0, time.UTC), false, true},
		{time.Date(2030, 8, 31, 23, 59, 59, 0, time.UTC), false, true},
		{time.Date(2030, 9, 1, 0, 0, 0, 0, time.UTC), true, false},
	}
	for _, tt := range tests {
		if got := c.Expired(tt.now); got != tt.expired {
			t.Errorf("08/2030 expired at %s: got %v, want %v", tt.now, got, tt.expired)
		}
		if got := c.ExpiresSoon(tt.now); got != tt.soon {
			t.Errorf("08/2030 expires soon at %s: got %v, want %v", tt.now, got, tt.soon)
		}
	}
	if got := (Card{ExpMonth: 12, ExpYear: 2030}).ExpiresAt(); !got.Equal(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("12/2030 stops working at %s, want 1 Jan 2031", got)
	}
}

func TestCardsAndBilling(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "o@example.com")
	other := verifiedUser(t, s, "x@example.com")
	a := accountWith(t, s, owner, map[int64]string{other.ID: RoleNormal})
	add := func(u User, pm, fp string, month, year int) (Card, error) {
		return s.AddCard(ctx, u.ID, NewCard{StripeID: pm, Brand: "visa", Last4: "4242", ExpMonth: month, ExpYear: year, Fingerprint: fp}, Event{Kind: EventCardAdded})
	}
	c1, err := add(owner, "pm_1", "fp1", 8, 2030)
	if err != nil || !c1.IsDefault {
		t.Fatalf("first card: %+v, %v; want the default", c1, err)
	}
	if _, err := add(owner, "pm_2", "fp1", 9, 2031); !errors.Is(err, ErrCardSaved) {
		t.Errorf("same fingerprint: got %v, want ErrCardSaved", err)
	}
	if _, err := add(other, "pm_3", "fp1", 8, 2030); err != nil {
		t.Errorf("another user's card with the same fingerprint: %v", err)
	}
	if err := s.SetAccountBilling(ctx, a.ID, other.ID, c1.ID, Event{Kind: EventBillingSet}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a Normal member sets billing: got %v, want ErrForbidden", err)
	}
	if err := s.SetAccountBilling(ctx, a.ID, owner.ID, c1.ID, Event{Kind: EventBillingSet}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCard(ctx, owner.ID, c1.ID, Event{Kind: EventCardRemoved}); err == nil {
		t.Errorf("deleting the card in use: no error")
	}

	// The sweep clears it the month after its expiry month, not before.
	if list, err := s.ClearExpiredBilling(ctx, time.Date(2030, 8, 31, 23, 0, 0, 0, time.UTC)); err != nil || len(list) != 0 {
		t.Errorf("sweep in the expiry month: %+v, %v; want nothing cleared", list, err)
	}
	list, err := s.ClearExpiredBilling(ctx, time.Date(2030, 9, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(list) != 1 || list[0].AccountID != a.ID || len(list[0].Admins) != 1 {
		t.Fatalf("sweep after expiry: %+v, %v; want the account cleared, its one Admin told", list, err)
	}
	if _, err := s.AccountBilling(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("billing after the sweep: got %v, want ErrNotFound", err)
	}

	// Deleting a card by any path (here the trigger) clears billing.
	c4, _ := add(owner, "pm_4", "fp4", 1, 2040)
	if err := s.SetAccountBilling(ctx, a.ID, owner.ID, c4.ID, Event{Kind: EventBillingSet}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`DELETE FROM payment_methods WHERE id = ?`, c4.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountBilling(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("billing after the card row went: got %v, want ErrNotFound", err)
	}
}

// TestDeleteOldStripeEvents: events past the retention are forgotten, newer
// ones still refuse a replay.
func TestDeleteOldStripeEvents(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return start }
	if err := s.RecordStripeEvent(ctx, "evt_old", "customer.updated"); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return start.Add(StripeEventRetention) }
	if err := s.RecordStripeEvent(ctx, "evt_new", "customer.updated"); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteOldStripeEvents(ctx, start.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("delete: got %d, %v; want 1 row", n, err)
	}
	if err := s.RecordStripeEvent(ctx, "evt_new", "customer.updated"); !errors.Is(err, ErrEventSeen) {
		t.Errorf("replay of a kept event: got %v, want ErrEventSeen", err)
	}
	if err := s.RecordStripeEvent(ctx, "evt_old", "customer.updated"); err != nil {
		t.Errorf("the deleted event's id: got %v, want it accepted again", err)
	}
}
