package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audit event kinds of saved cards and account billing.
const (
	EventCardAdded      = "card_added"
	EventCardRemoved    = "card_removed"
	EventBillingSet     = "billing_set"
	EventBillingCleared = "billing_cleared"
)

// Why a card stopped paying for an account, as BillingCleared.Reason.
const (
	ClearedDetached = "detached" // removed at Stripe
	ClearedExpired  = "expired"
	ClearedLeft     = "left" // its owner left or was removed from the account
)

// Rules about cards, as codes (rules.go).
const (
	ErrCardNotYours = RuleError("card of another user")
	ErrCardExpired  = RuleError("card expired")
	ErrCardSaved    = RuleError("card already saved")
	ErrCardInUse    = RuleError("card pays for an account") // as a CardInUseError
)

// ErrEventSeen is returned for a Stripe event that was already processed.
var ErrEventSeen = errors.New("stripe event already processed")

// Card is a saved card: Stripe's id for it and what the cards page shows.
type Card struct {
	ID          int64
	UserID      int64
	StripeID    string
	Brand       string // Stripe's brand code: visa, mastercard, amex, ...
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string
	IsDefault   bool
	CreatedAt   time.Time
}

// NewCard is what Stripe tells about a card being saved.
type NewCard struct {
	StripeID    string
	Brand       string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string
}

// ExpiresAt is the first moment the card no longer works: cards are good
// through the last day of their expiry month.
func (c Card) ExpiresAt() time.Time {
	return time.Date(c.ExpYear, time.Month(c.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)
}

// Expired reports whether the card has expired at now.
func (c Card) Expired(now time.Time) bool { return !now.Before(c.ExpiresAt()) }

// ExpiresSoon reports whether the card works now but not two months on.
func (c Card) ExpiresSoon(now time.Time) bool {
	return !c.Expired(now) && !now.AddDate(0, 2, 0).Before(c.ExpiresAt())
}

// Expiry is the expiry as printed on the card, MM/YYYY.
func (c Card) Expiry() string { return fmt.Sprintf("%02d/%d", c.ExpMonth, c.ExpYear) }

// BrandName is the brand as people write it.
func (c Card) BrandName() string {
	switch c.Brand {
	case "amex":
		return "American Express"
	case "diners":
		return "Diners Club"
	case "discover":
		return "Discover"
	case "jcb":
		return "JCB"
	case "mastercard":
		return "Mastercard"
	case "unionpay":
		return "UnionPay"
	case "visa":
		return "Visa"
	case "eftpos_au":
		return "eftpos"
	case "cartes_bancaires":
		return "Cartes Bancaires"
	case "", "unknown":
		return "Card"
	}
	return strings.ToUpper(c.Brand[:1]) + c.Brand[1:]
}

// Label names the card in sentences: "Visa ending 4242".
func (c Card) Label() string { return c.BrandName() + " ending " + c.Last4 }

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

const cardColumns = `id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at`

func scanCard(row interface{ Scan(...any) error }) (Card, error) {
	var c Card
	var created int64
	err := row.Scan(&c.ID, &c.UserID, &c.StripeID, &c.Brand, &c.Last4, &c.ExpMonth, &c.ExpYear, &c.Fingerprint, &c.IsDefault, &created)
	if err != nil {
		return Card{}, mapErr(err)
	}
	c.CreatedAt = fromUnix(created)
	return c, nil
}

// Cards lists the user's saved cards, the default first, then newest first.
func (s *Store) Cards(ctx context.Context, userID int64) ([]Card, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+cardColumns+` FROM payment_methods
		WHERE user_id = CAST(? AS INTEGER) ORDER BY is_default DESC, created_at DESC, id DESC`, userID)
	list, err := collect(rows, err, scanCard)
	if err != nil {
		return nil, fmt.Errorf("cards of user %d: %w", userID, err)
	}
	return list, nil
}

// Card is one of the user's cards; another user's card is ErrNotFound.
func (s *Store) Card(ctx context.Context, userID, cardID int64) (Card, error) {
	return scanCard(s.r.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE id = ? AND user_id = ?`, cardID, userID))
}

// CardByFingerprint is the user's card with that fingerprint.
func (s *Store) CardByFingerprint(ctx context.Context, userID int64, fingerprint string) (Card, error) {
	return scanCard(s.r.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE user_id = ? AND fingerprint = ?`, userID, fingerprint))
}

// StripeCustomerID is the user's Stripe customer, ErrNotFound before the first card.
func (s *Store) StripeCustomerID(ctx context.Context, userID int64) (string, error) {
	var id sql.NullString
	if err := s.r.QueryRowContext(ctx, `SELECT stripe_customer_id FROM users WHERE id = ?`, userID).Scan(&id); err != nil {
		return "", mapErr(err)
	}
	if !id.Valid {
		return "", ErrNotFound
	}
	return id.String, nil
}

// SetStripeCustomerID records the user's Stripe customer unless one is
// recorded already, and returns the one recorded.
func (s *Store) SetStripeCustomerID(ctx context.Context, userID int64, customerID string) (string, error) {
	var id string
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET stripe_customer_id = ? WHERE id = ? AND stripe_customer_id IS NULL`, customerID, userID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT stripe_customer_id FROM users WHERE id = ?`, userID).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("stripe customer of user %d: %w", userID, err)
	}
	return id, nil
}

// AddCard saves a card for the user; the first one becomes the default. A
// card whose fingerprint the user saved already is ErrCardSaved.
func (s *Store) AddCard(ctx context.Context, userID int64, nc NewCard, ev Event) (Card, error) {
	var c Card
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_methods WHERE user_id = ? AND (fingerprint = ? OR stripe_payment_method_id = ?)`,
			userID, nc.Fingerprint, nc.StripeID).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrCardSaved
		}
		c, err = scanCard(tx.QueryRowContext(ctx, `INSERT INTO payment_methods
			(user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, NOT EXISTS (SELECT 1 FROM payment_methods WHERE user_id = ?), ?)
			RETURNING `+cardColumns,
			userID, nc.StripeID, nc.Brand, nc.Last4, nc.ExpMonth, nc.ExpYear, nc.Fingerprint, userID, unix(s.now())))
		if err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "card", c.Label())
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return Card{}, fmt.Errorf("add card: %w", err)
	}
	return c, nil
}

// SetDefaultCard makes one of the user's cards the default.
func (s *Store) SetDefaultCard(ctx context.Context, userID, cardID int64) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanCard(tx.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE id = ? AND user_id = ?`, cardID, userID)); err != nil {
			return err
		}
		// Two statements: the partial unique index allows one default at a time.
		if _, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = 0 WHERE user_id = ? AND id <> ?`, userID, cardID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = 1 WHERE user_id = ? AND id = ?`, userID, cardID)
		return err
	})
}

// CardInUse names an account the card pays for, ErrNotFound when none.
func (s *Store) CardInUse(ctx context.Context, userID, cardID int64) (Account, error) {
	return cardInUse(ctx, s.r, userID, cardID)
}

func cardInUse(ctx context.Context, q queryer, userID, cardID int64) (Account, error) {
	var a Account
	var created int64
	err := q.QueryRowContext(ctx, `SELECT a.id, a.name, a.owner_id, a.created_at FROM accounts a
		JOIN payment_methods p ON p.id = a.billing_payment_method_id
		WHERE p.id = ? AND p.user_id = ? ORDER BY a.name COLLATE NOCASE LIMIT 1`, cardID, userID).Scan(&a.ID, &a.Name, &a.OwnerID, &created)
	if err != nil {
		return Account{}, mapErr(err)
	}
	a.CreatedAt = fromUnix(created)
	return a, nil
}

// DeleteCard deletes one of the user's cards, refused with a CardInUseError
// naming the account while the card pays for one. When the default goes,
// the newest other card becomes the default.
func (s *Store) DeleteCard(ctx context.Context, userID, cardID int64, ev Event) (Card, error) {
	var c Card
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCard(tx.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE id = ? AND user_id = ?`, cardID, userID))
		if err != nil {
			return err
		}
		a, err := cardInUse(ctx, tx, userID, cardID)
		if err == nil {
			return CardInUseError{Account: a.Name}
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := deleteCard(ctx, tx, c); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "card", c.Label())
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return Card{}, fmt.Errorf("delete card %d: %w", cardID, err)
	}
	return c, nil
}

// CardInUseError refuses to delete the card that pays for Account (by
// name): errors.Is and errors.As see ErrCardInUse in it.
type CardInUseError struct{ Account string }

func (e CardInUseError) Error() string { return string(ErrCardInUse) + ": " + e.Account }

// Unwrap makes it an ErrCardInUse.
func (e CardInUseError) Unwrap() error { return ErrCardInUse }

// deleteCard removes the row and passes the default on.
func deleteCard(ctx context.Context, tx *sql.Tx, c Card) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM payment_methods WHERE id = ?`, c.ID); err != nil {
		return err
	}
	if !c.IsDefault {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = 1 WHERE id =
		(SELECT id FROM payment_methods WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT 1)`, c.UserID)
	return err
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
			"account": b.AccountName, "card": b.Card.Label(), "card_owner": b.OwnerName, "reason": reason,
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
