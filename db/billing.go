// Billing: which card pays for an account, taking it off when the card stops working, and Stripe's webhook events.

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Why a card stopped paying for an account, as BillingCleared.Reason.
const (
	ClearedDetached = "detached" // removed at Stripe
	ClearedExpired  = "expired"
	ClearedLeft     = "left" // its owner left or was removed from the account
)

// ErrEventSeen is returned for a Stripe event that was already processed.
var ErrEventSeen = errors.New("stripe event already processed")

// AccountBilling is the card that pays for an account, with whose it is.
type AccountBilling struct {
	Card      Card
	OwnerName string
}

// BillingCleared is an account whose card stopped paying for it: what the
// account's Admins are told.
type BillingCleared struct {
	AccountID   int64
	AccountName string
	Card        Card
	OwnerName   string
	Reason      string   // one of the Cleared* constants
	Admins      []Member // at the time of the change
}

// AccountBilling is the card paying for the account, ErrNotFound when none.
func (s *Store) AccountBilling(ctx context.Context, accountID int64) (AccountBilling, error) {
	var b AccountBilling
	var created int64
	c := &b.Card
	err := s.r.QueryRowContext(ctx, `SELECT p.id, p.user_id, p.stripe_payment_method_id, p.brand, p.last4, p.exp_month, p.exp_year,
			p.fingerprint, p.is_default, p.created_at, COALESCE(NULLIF(u.name, ''), u.email)
		FROM accounts a JOIN payment_methods p ON p.id = a.billing_payment_method_id JOIN users u ON u.id = p.user_id
		WHERE a.id = ?`, accountID).Scan(&c.ID, &c.UserID, &c.StripeID, &c.Brand, &c.Last4, &c.ExpMonth, &c.ExpYear,
		&c.Fingerprint, &c.IsDefault, &created, &b.OwnerName)
	if err != nil {
		return AccountBilling{}, mapErr(err)
	}
	c.CreatedAt = fromUnix(created)
	return b, nil
}

// SetAccountBilling makes one of actorID's own cards pay for the account, or
// clears the account's card when cardID is 0; actor must be an Admin. The
// card already paying may stay whoever owns it.
func (s *Store) SetAccountBilling(ctx context.Context, accountID, actorID, cardID int64, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		var current sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT billing_payment_method_id FROM accounts WHERE id = ?`, accountID).Scan(&current); err != nil {
			return err
		}
		if current.Int64 == cardID {
			return nil
		}
		billing := sql.NullInt64{Int64: cardID, Valid: cardID != 0}
		ev = withAccount(ev, actor.Account)
		if cardID != 0 {
			c, err := scanCard(tx.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE id = ? AND user_id = ?`, cardID, actorID))
			if errors.Is(err, ErrNotFound) {
				return ErrCardNotYours
			}
			if err != nil {
				return err
			}
			if c.Expired(s.now()) {
				return ErrCardExpired
			}
			ev.Detail = withDetail(ev.Detail, "card", c.Label())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET billing_payment_method_id = ? WHERE id = ?`, billing, accountID); err != nil {
			return err
		}
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
}

// clearBilling takes the card off the accounts that match where (a
// condition on accounts a and payment_methods p) and records, for each,
// an event in its Admins' logs. It returns what the Admins are to be told.
func clearBilling(ctx context.Context, tx *sql.Tx, compose BillingComposer, now time.Time, reason, where string, args ...any) ([]BillingCleared, error) {
	rows, err := tx.QueryContext(ctx, `SELECT a.id, a.name, p.id, p.user_id, p.stripe_payment_method_id, p.brand, p.last4,
			p.exp_month, p.exp_year, p.fingerprint, p.is_default, p.created_at, COALESCE(NULLIF(u.name, ''), u.email)
		FROM accounts a JOIN payment_methods p ON p.id = a.billing_payment_method_id JOIN users u ON u.id = p.user_id
		WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	var list []BillingCleared
	for rows.Next() {
		var b BillingCleared
		var created int64
		c := &b.Card
		if err := rows.Scan(&b.AccountID, &b.AccountName, &c.ID, &c.UserID, &c.StripeID, &c.Brand, &c.Last4,
			&c.ExpMonth, &c.ExpYear, &c.Fingerprint, &c.IsDefault, &created, &b.OwnerName); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt = fromUnix(created)
		b.Reason = reason
		list = append(list, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, b := range list {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET billing_payment_method_id = NULL WHERE id = ?`, b.AccountID); err != nil {
			return nil, err
		}
		admins, err := listMembers(ctx, tx, b.AccountID, RoleAdmin, -1, 0)
		if err != nil {
			return nil, err
		}
		list[i].Admins = admins
		if compose == nil {
			return nil, errors.New("clear billing: no words for the notice (Store.SetBillingComposer)")
		}
		notice, err := compose(b)
		if err != nil {
			return nil, err
		}
		notice.Circumstance = CircumstanceBilling
		ev := Event{Kind: EventBillingCleared, AccountID: b.AccountID, Detail: map[string]any{
			"account": b.AccountName, "card": b.Card.Label(), "card_owner": b.OwnerName, "card_owner_id": b.Card.UserID, "reason": reason,
		}, Notice: &notice}
		for _, m := range admins {
			ev.UserID = m.UserID
			if err := addEvent(ctx, tx, ev, now); err != nil {
				return nil, err
			}
		}
	}
	return list, nil
}

// BillingComposer writes the billing notice an account's Admins get when
// its card stops paying for it (views.Renderer.BillingNotice has the
// words). The store calls it inside the transaction that clears the
// billing and queues the notice there, so the rule "the Admins are told"
// holds with the change or not at all.
type BillingComposer func(BillingCleared) (Notice, error)

// SetBillingComposer gives the store the words of the billing notice; the
// program sets it once, when it wires the store to the views, before any
// request. Until then clearing a card's billing fails.
func (s *Store) SetBillingComposer(compose BillingComposer) { s.billing = compose }

// clearMemberBilling takes a member's card off the account they leave or
// are removed from: only members' cards may pay for an account.
func clearMemberBilling(ctx context.Context, tx *sql.Tx, compose BillingComposer, accountID, userID int64, now time.Time) ([]BillingCleared, error) {
	return clearBilling(ctx, tx, compose, now, ClearedLeft, `a.id = ? AND p.user_id = ?`, accountID, userID)
}

// ClearExpiredBilling takes expired cards off the accounts they paid for.
// Any number of processes may run it: a second run finds nothing to clear.
func (s *Store) ClearExpiredBilling(ctx context.Context, now time.Time) ([]BillingCleared, error) {
	var list []BillingCleared
	// A card expires at the start of the month after its expiry month.
	ym := now.UTC().Year()*12 + int(now.UTC().Month()) - 1
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = clearBilling(ctx, tx, s.billing, now, ClearedExpired, `p.exp_year * 12 + p.exp_month - 1 < ?`, ym)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("clear expired billing: %w", err)
	}
	return list, nil
}

// recordStripeEvent marks a webhook event processed, ErrEventSeen if it was.
func recordStripeEvent(ctx context.Context, tx *sql.Tx, id, kind string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (id, type, received_at) VALUES (?, ?, ?)`, id, kind, unix(now))
	if err = mapErr(err); errors.Is(err, ErrConflict) {
		return ErrEventSeen
	}
	return err
}

// CardUpdatedAtStripe applies a payment_method.updated or
// .automatically_updated event: the card's brand, last four digits and
// expiry as Stripe now has them. A card now expired stops paying for its
// accounts. The event is recorded in the same transaction; a second time
// it is ErrEventSeen and changes nothing. A card Roster does not have is no error.
func (s *Store) CardUpdatedAtStripe(ctx context.Context, eventID, eventType string, nc NewCard) ([]BillingCleared, error) {
	var list []BillingCleared
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := recordStripeEvent(ctx, tx, eventID, eventType, s.now()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE payment_methods SET brand = ?, last4 = ?, exp_month = ?, exp_year = ?
			WHERE stripe_payment_method_id = ?`, nc.Brand, nc.Last4, nc.ExpMonth, nc.ExpYear, nc.StripeID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		c := Card{ExpMonth: nc.ExpMonth, ExpYear: nc.ExpYear}
		if !c.Expired(s.now()) {
			return nil
		}
		list, err = clearBilling(ctx, tx, s.billing, s.now(), ClearedExpired, `p.stripe_payment_method_id = ?`, nc.StripeID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stripe event %s: %w", eventID, err)
	}
	return list, nil
}

// CardDetachedAtStripe applies a payment_method.detached event: the card
// is deleted, and the accounts it paid for are cleared. Recorded as
// CardUpdatedAtStripe records.
func (s *Store) CardDetachedAtStripe(ctx context.Context, eventID, eventType, stripeID string) ([]BillingCleared, error) {
	var list []BillingCleared
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := recordStripeEvent(ctx, tx, eventID, eventType, s.now()); err != nil {
			return err
		}
		c, err := scanCard(tx.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE stripe_payment_method_id = ?`, stripeID))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if list, err = clearBilling(ctx, tx, s.billing, s.now(), ClearedDetached, `p.id = ?`, c.ID); err != nil {
			return err
		}
		if err := deleteCard(ctx, tx, c); err != nil {
			return err
		}
		return addEvent(ctx, tx, Event{Kind: EventCardRemoved, UserID: c.UserID, Detail: map[string]any{"card": c.Label(), "by": "stripe"}}, s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("stripe event %s: %w", eventID, err)
	}
	return list, nil
}

// RecordStripeEvent marks an event Roster does not act on as processed.
func (s *Store) RecordStripeEvent(ctx context.Context, eventID, eventType string) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return recordStripeEvent(ctx, tx, eventID, eventType, s.now()) })
}

// StripeEventRetention is how long a processed webhook event's id is kept.
// Stripe retries a delivery for up to three days, and a signature older
// than five minutes is refused anyway, so a month is ample.
const StripeEventRetention = 30 * 24 * time.Hour

// DeleteOldStripeEvents forgets the events received before before, so the
// table does not grow forever, and returns how many it deleted.
func (s *Store) DeleteOldStripeEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM stripe_events WHERE received_at < ?`, unix(before))
	if err != nil {
		return 0, fmt.Errorf("delete old stripe events: %w", err)
	}
	return res.RowsAffected()
}
