package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/session"
)

// The background sweeps of `roster serve`: each runs until ctx ends.

// sweepExpiredCards takes expired cards off the accounts they paid for,
// hourly; the Admins' billing notices are queued with each change.
func sweepExpiredCards(ctx context.Context, store *db.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cleared, err := store.ClearExpiredBilling(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("clear expired cards from accounts", "err", err)
		}
		for _, b := range cleared {
			log.Info("expired card no longer pays for an account", "account_id", b.AccountID)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepSpent hourly forgets SAML sign-in requests and assertion ids once a
// day old (by then they are refused on their age alone), passkey
// ceremonies past db.PasskeyCeremonyTTL, notifications
// sent or given up more than db.DeliveryRetention ago, and Stripe webhook
// ids older than db.StripeEventRetention.
func sweepSpent(ctx context.Context, store *db.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		if err := store.DeleteSpentSAML(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			log.Error("delete spent saml requests", "err", err)
		}
		if err := store.DeleteStaleCeremonies(ctx, now.Add(-db.PasskeyCeremonyTTL)); err != nil && ctx.Err() == nil {
			log.Error("delete stale passkey ceremonies", "err", err)
		}
		n, err := store.DeleteOldDeliveries(ctx, now.Add(-db.DeliveryRetention))
		if err != nil && ctx.Err() == nil {
			log.Error("delete old notifications", "err", err)
		} else if n > 0 {
			log.Info("deleted old notifications", "count", n)
		}
		if _, err := store.DeleteOldStripeEvents(ctx, now.Add(-db.StripeEventRetention)); err != nil && ctx.Err() == nil {
			log.Error("delete old stripe events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes expired sessions, spent email links and expired throttle slots
// every few minutes. Any number of processes can run it: each delete is
// idempotent.
func sweep(ctx context.Context, sessions *session.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		n, err := sessions.DeleteExpired(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("delete expired sessions", "err", err)
		} else if n > 0 {
			log.Info("deleted expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
