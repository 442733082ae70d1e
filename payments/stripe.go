// Package payments talks to Stripe for Roster's saved cards: customers,
// SetupIntents and PaymentMethods. It uses its own stripe-go client and
// backend, never the package-global key and backends.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// ErrUnavailable is returned when Stripe could not be reached or failed on
// its side: nothing was decided, and trying again may work.
var ErrUnavailable = errors.New("stripe is unavailable")

// Error is Stripe refusing a request. Message is Stripe's own words, which
// are written for the person (for a declined card, say).
type Error struct {
	Code    string // Stripe's error code, such as card_declined or resource_missing
	Message string
}

func (e *Error) Error() string { return "stripe: " + e.Code + ": " + e.Message }

// Card is what Roster keeps of a Stripe PaymentMethod of type card.
type Card struct {
	ID          string // pm_...
	CustomerID  string // "" when not attached to a customer
	Brand       string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string
}

// Config is the Stripe account and where its API is.
type Config struct {
	SecretKey string
	APIBase   string // "" for https://api.stripe.com; stripe-mock or a fake in tests
}

// Stripe is the stripe-go implementation of Roster's card processor.
type Stripe struct {
	api *client.API
}

// New makes a client with its own backend. Its logger is silent: stripe-go
// logs request details, and no card data may reach the logs.
func New(cfg Config) *Stripe {
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 20 * time.Second},
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(1),
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(cfg.APIBase)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	return &Stripe{api: client.New(cfg.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})}
}

func params(ctx context.Context, idempotencyKey string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if idempotencyKey != "" {
		p.IdempotencyKey = stripe.String(idempotencyKey)
	}
	return p
}

// CreateCustomer creates the Stripe customer of a Roster user. The
// idempotency key makes a retried call return the same customer.
func (s *Stripe) CreateCustomer(ctx context.Context, email, name string, userID int64, idempotencyKey string) (string, error) {
	p := &stripe.CustomerParams{Params: params(ctx, idempotencyKey), Email: stripe.String(email)}
	if name != "" {
		p.Name = stripe.String(name)
	}
	p.AddMetadata("roster_user_id", fmt.Sprint(userID))
	cus, err := s.api.Customers.New(p)
	if err != nil {
		return "", convert(err)
	}
	return cus.ID, nil
}

// CreateSetupIntent starts saving a card for the customer and returns the
// client secret that Stripe.js confirms it with.
func (s *Stripe) CreateSetupIntent(ctx context.Context, customerID, idempotencyKey string) (string, error) {
	si, err := s.api.SetupIntents.New(&stripe.SetupIntentParams{
		Params:             params(ctx, idempotencyKey),
		Customer:           stripe.String(customerID),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Usage:              stripe.String(string(stripe.SetupIntentUsageOffSession)),
	})
	if err != nil {
		return "", convert(err)
	}
	return si.ClientSecret, nil
}

// PaymentMethod retrieves a card.
func (s *Stripe) PaymentMethod(ctx context.Context, id string) (Card, error) {
	pm, err := s.api.PaymentMethods.Get(id, &stripe.PaymentMethodParams{Params: params(ctx, "")})
	if err != nil {
		return Card{}, convert(err)
	}
	return CardOf(pm)
}

// Attach attaches a card to the customer.
func (s *Stripe) Attach(ctx context.Context, id, customerID, idempotencyKey string) (Card, error) {
	pm, err := s.api.PaymentMethods.Attach(id, &stripe.PaymentMethodAttachParams{
		Params: params(ctx, idempotencyKey), Customer: stripe.String(customerID),
	})
	if err != nil {
		return Card{}, convert(err)
	}
	return CardOf(pm)
}

// Detach takes a card off its customer; Stripe then forgets it.
func (s *Stripe) Detach(ctx context.Context, id string) error {
	_, err := s.api.PaymentMethods.Detach(id, &stripe.PaymentMethodDetachParams{Params: params(ctx, "")})
	return convert(err)
}

// DeleteCustomer deletes a customer: Stripe detaches its cards and keeps
// no way to charge them. A customer Stripe no longer has is no error.
func (s *Stripe) DeleteCustomer(ctx context.Context, id string) error {
	_, err := s.api.Customers.Del(id, &stripe.CustomerParams{Params: params(ctx, "")})
	var e *Error
	if err = convert(err); errors.As(err, &e) && e.Code == string(stripe.ErrorCodeResourceMissing) {
		return nil
	}
	return err
}

// SetDefault makes the card the customer's default for invoices.
func (s *Stripe) SetDefault(ctx context.Context, customerID, id string) error {
	_, err := s.api.Customers.Update(customerID, &stripe.CustomerParams{
		Params:          params(ctx, ""),
		InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(id)},
	})
	return convert(err)
}

// ErrNotCard is returned for a PaymentMethod that is not a card.
var ErrNotCard = &Error{Code: "not_a_card", Message: "Only cards can be saved here."}

// CardOf reads a PaymentMethod, from the API or a webhook event.
func CardOf(pm *stripe.PaymentMethod) (Card, error) {
	if pm == nil || pm.Card == nil {
		return Card{}, ErrNotCard
	}
	c := Card{
		ID: pm.ID, Brand: string(pm.Card.Brand), Last4: pm.Card.Last4,
		ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear), Fingerprint: pm.Card.Fingerprint,
	}
	if pm.Customer != nil {
		c.CustomerID = pm.Customer.ID
	}
	return c, nil
}

// convert sorts stripe-go's errors into Error (Stripe said no) and
// ErrUnavailable (no answer, or Stripe's own failure).
func convert(err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 && se.HTTPStatusCode != http.StatusTooManyRequests {
		msg := se.Msg
		if msg == "" {
			msg = "Stripe refused the request."
		}
		return &Error{Code: string(se.Code), Message: msg}
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// WebhookTolerance is how old a webhook's signature may be.
const WebhookTolerance = 5 * time.Minute

// Event is a verified webhook event; Card is set for PaymentMethod events
// about a card.
type Event struct {
	ID   string
	Type string
	Card *Card
}

// ParseWebhook checks the Stripe-Signature header over the raw payload with
// the endpoint's secret and reads the event. Events of another API version
// than stripe-go's are accepted: Roster reads only a card's id, brand, last
// four digits and expiry, which every version has.
func ParseWebhook(payload []byte, signature, secret string) (Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, signature, secret, webhook.ConstructEventOptions{
		Tolerance: WebhookTolerance, IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return Event{}, err
	}
	out := Event{ID: ev.ID, Type: string(ev.Type)}
	if ev.Data == nil || !strings.HasPrefix(out.Type, "payment_method.") {
		return out, nil
	}
	var pm stripe.PaymentMethod
	if err := json.Unmarshal(ev.Data.Raw, &pm); err != nil {
		return Event{}, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	if card, err := CardOf(&pm); err == nil {
		out.Card = &card
	}
	return out, nil
}
