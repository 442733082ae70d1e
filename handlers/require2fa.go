package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Accounts may require two-factor authentication of their members. The
// Manage console's setting turns it on (only for an Admin who has a second
// factor: db.ErrTwoFactorFirst) or off; while it is on, member (the one
// middleware of every /accounts/:id route) refuses a member whose
// db.Factors.Any is false with a page, or a toast for htmx, that says how
// to turn two-factor on. My Accounts shows such an account with a
// "Two-factor required" badge, invites to it say so, and the profile's
// "Turn off" form warns of the accounts that would close.

var requireTwoFactorSection = consoleSection("manage/two-factor", "#require-two-factor", func(p *views.ManagePage) *views.Form { return &p.TwoFAForm })

// hasSecondFactor asks the one question, db.Factors.Any, for userID.
func (h *Handler) hasSecondFactor(c echo.Context, userID int64) (bool, error) {
	f, err := h.secondFactors(c, userID)
	if err != nil {
		return false, err
	}
	return f.Any(), nil
}

// secondFactorMissing answers the refusal, and reports true, when m's
// account requires two-factor and u has no second factor.
func (h *Handler) secondFactorMissing(c echo.Context, u db.User, m db.Membership) (bool, error) {
	if !m.Account.RequireTwoFactor {
		return false, nil
	}
	has, err := h.hasSecondFactor(c, u.ID)
	if err != nil || has {
		return false, err
	}
	data := views.TwoFactorRequiredPage{Page: h.page(c, "Two-factor authentication required"), Account: m.Account.Name}
	if isFragment(c) {
		retargetToast(c)
	}
	return true, h.render(c, http.StatusForbidden, "account_2fa.html", "two-factor-required", data)
}

// twoFactorNeeded reports whether the console should tell its Admin to
// set up two-factor before requiring it: the requirement is off and they
// have no second factor.
func (h *Handler) twoFactorNeeded(c echo.Context, m db.Membership) (bool, error) {
	if m.Account.RequireTwoFactor {
		return false, nil
	}
	has, err := h.hasSecondFactor(c, m.UserID)
	return !has, err
}

// setRequireTwoFactor turns the requirement on (the box checked) or off.
func (h *Handler) setRequireTwoFactor(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	on := c.FormValue("require") == "on"
	err := h.store.SetRequireTwoFactor(c.Request().Context(), m.Account.ID, u.ID, on, event(c, db.EventTwoFactorRequired))
	if err == nil {
		m.Account.RequireTwoFactor = on
		c.Set(ctxMembership, m)
	}
	msg := m.Account.Name + " no longer requires two-factor authentication of its members."
	if on {
		msg = "Members of " + m.Account.Name + " now need two-factor authentication to open it."
	}
	return h.manageResult(c, requireTwoFactorSection, views.Form{}, err, msg)
}
