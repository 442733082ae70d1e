package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Paying for an account: an Admin picks one of their own saved cards in
// the console's #billing section. The card stops paying when it is removed
// at Stripe, expires, or its owner leaves the account; db clears it in that
// change's transaction and queues the Admins' billing notice with it.

var billingSection = consoleSection("manage/billing", "", func(p *views.ManagePage) *views.Form { return &p.Billing.Form })

// accountBilling is the card paying for the account, nil when none.
func (h *Handler) accountBilling(ctx context.Context, accountID int64) (*db.AccountBilling, error) {
	b, err := h.store.AccountBilling(ctx, accountID)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// loadBilling fills the console's #billing section.
func (h *Handler) loadBilling(c echo.Context, data *views.ManagePage) error {
	ctx := c.Request().Context()
	m := currentMembership(c)
	b := views.BillingSection{Enabled: h.cfg.Stripe.Cards != nil, ViewerID: m.UserID, Now: time.Now()}
	var err error
	if b.Current, err = h.accountBilling(ctx, m.Account.ID); err != nil {
		return err
	}
	if b.Enabled {
		if b.MyCards, err = h.store.Cards(ctx, m.UserID); err != nil {
			return err
		}
	}
	data.Billing = b
	return nil
}

// setBilling makes one of the Admin's cards pay for the account, or none
// when payment_method_id is empty.
func (h *Handler) setBilling(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	if h.cfg.Stripe.Cards == nil {
		return echo.ErrNotFound
	}
	var id int64
	if raw := c.FormValue("payment_method_id"); raw != "" {
		var err error
		if id, err = strconv.ParseInt(raw, 10, 64); err != nil || id <= 0 {
			var form views.Form
			form.Fail("payment_method_id", "Choose one of your saved cards.")
			return answer(h, c, billingSection.section, http.StatusUnprocessableEntity, "", billingSection.put(form))
		}
	}
	err := h.store.SetAccountBilling(ctx, m.Account.ID, u.ID, id, event(c, db.EventBillingSet))
	message := "No card pays for " + m.Account.Name + " now."
	if err == nil && id != 0 {
		b, berr := h.store.AccountBilling(ctx, m.Account.ID)
		if berr != nil {
			return berr
		}
		message = "The " + b.Card.Label() + " of " + b.OwnerName + " pays for " + m.Account.Name + "."
	}
	return h.manageResult(c, billingSection, views.Form{}, err, message)
}
