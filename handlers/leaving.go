package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Leaving with your data (issue 18 item 7): "Download my data" and
// "Delete my profile", in the profile's #leave section.

// downloadData answers with everything Roster holds about the signed-in
// person (db.ExportUser) as a JSON file.
func (h *Handler) downloadData(c echo.Context) error {
	u, _ := currentUser(c)
	ex, err := h.store.ExportUser(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return err
	}
	name := "roster-data-" + time.Now().UTC().Format("2006-01-02") + ".json"
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, b)
}

// leaveSection is #leave.
var leaveSection = profileSection("profile/leave")

// deleteProfile deletes the signed-in person's profile (behind sudo):
// refused, naming the accounts and how to hand them on, while the person
// owns one; otherwise their Stripe customer goes first (so no card of a
// deleted profile can still be charged), then the profile, in one
// transaction (db.DeleteUser), and the browser is signed out.
func (h *Handler) deleteProfile(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	confirm := strings.TrimSpace(c.FormValue("confirm_email"))
	form := views.Form{Values: map[string]string{"confirm_email": confirm}}
	if db.NormalEmail(confirm) != u.Email {
		form.Fail("confirm_email", "Type your email, "+u.Email+", exactly as shown.")
		return answer(h, c, leaveSection, http.StatusUnprocessableEntity, "", func(p *views.ProfilePage) { p.Leave = form })
	}
	owned, err := h.store.OwnedAccounts(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(owned) > 0 {
		return h.refuseOwner(c, owned)
	}
	if err := h.deleteStripeCustomer(c, u.ID); err != nil {
		return err
	}
	_, err = h.store.DeleteUser(ctx, u.ID)
	var owns *db.OwnsAccounts
	if errors.As(err, &owns) {
		return h.refuseOwner(c, owns.Accounts)
	}
	if err != nil {
		return err
	}
	// The session went with the profile; the cookie goes too.
	if err := h.sessions.SignOut(c.Response(), c.Request()); err != nil {
		return err
	}
	h.flash.set(c, "success", "Your profile is deleted. Thank you for using Roster.")
	return redirect(c, "/login")
}

// refuseOwner answers Delete my profile while the person owns accounts.
func (h *Handler) refuseOwner(c echo.Context, owned []db.Account) error {
	return answer(h, c, leaveSection, http.StatusConflict, "", func(p *views.ProfilePage) {
		p.Leave.Fail("form", "You own "+views.Plural(int64(len(owned)), "account", "accounts")+
			": transfer the ownership to another Admin, or delete the account, in its Manage console first.")
		p.Owned = owned
	})
}

// deleteStripeCustomer deletes the person's Stripe customer, if any: Stripe
// then detaches every card. With Stripe unreachable the deletion waits.
func (h *Handler) deleteStripeCustomer(c echo.Context, userID int64) error {
	customer, err := h.store.StripeCustomerID(c.Request().Context(), userID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !h.cardsOffered() {
		logger(c).Warn("profile deleted with a Stripe customer while Stripe is not configured: delete it at Stripe", "customer", customer)
		return nil
	}
	if err := h.cfg.Stripe.Cards.DeleteCustomer(c.Request().Context(), customer); err != nil {
		logger(c).Error("delete Stripe customer", "customer", customer, "err", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "We could not reach our card processor to remove your saved cards. Please try again in a few minutes.")
	}
	return nil
}
