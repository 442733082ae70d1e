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

// Rules about cards, as codes (rules.go).
const (
	ErrCardNotYours = RuleError("card of another user")
	ErrCardExpired  = RuleError("card expired")
	ErrCardSaved    = RuleError("card already saved")
	ErrCardInUse    = RuleError("card pays for an account") // as a CardInUseError
)

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
