package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/payments"
)

// stripeWebhook applies Stripe's events about saved cards. The signature
// over the raw body is the only proof the request comes from Stripe (it is
// exempt from the CSRF check); a bad one changes nothing and gets 400.
// Each event id is recorded with its change in one transaction, so a
// replay (Stripe retries, or an attacker re-sending a captured request)
// is answered 200 and changes nothing.
func (h *Handler) stripeWebhook(c echo.Context) error {
	sc := h.cfg.Stripe
	if sc.Cards == nil || sc.WebhookSecret == "" {
		return echo.ErrNotFound
	}
	payload, err := io.ReadAll(c.Request().Body) // bodyLimit caps it
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The request body could not be read.")
	}
	ev, err := payments.ParseWebhook(payload, c.Request().Header.Get("Stripe-Signature"), sc.WebhookSecret)
	if err != nil {
		logger(c).Warn("stripe webhook refused", "err", err)
		return c.String(http.StatusBadRequest, "bad signature\n")
	}
	ctx := c.Request().Context()
	var cleared []db.BillingCleared
	switch {
	case ev.Card == nil:
		return c.String(http.StatusOK, "ignored\n") // not about a card: nothing to record
	case ev.Type == "payment_method.updated" || ev.Type == "payment_method.automatically_updated":
		card := *ev.Card
		cleared, err = h.store.CardUpdatedAtStripe(ctx, ev.ID, ev.Type, db.NewCard{
			StripeID: card.ID, Brand: card.Brand, Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear,
		})
	case ev.Type == "payment_method.detached":
		cleared, err = h.store.CardDetachedAtStripe(ctx, ev.ID, ev.Type, ev.Card.ID)
	default:
		return c.String(http.StatusOK, "ignored\n")
	}
	if errors.Is(err, db.ErrEventSeen) {
		return c.String(http.StatusOK, "already processed\n")
	}
	if err != nil {
		return err // 500: Stripe tries again later
	}
	for _, b := range cleared {
		logger(c).Info("card no longer pays for an account", "account_id", b.AccountID, "reason", b.Reason, "event", ev.ID)
	}
	return c.String(http.StatusOK, "ok\n")
}
