package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// The sign-in's second step with a passkey: someone with two-factor on
// and a passkey may pass it with the passkey instead of a code. The check
// is passkeys.go's (one of the pending person's passkeys, user verified,
// bound to this browser); the throttle is the code's (the sign-in's slots
// for the email and the client IP), and the end is the code's too
// (passSecondStep).

// secondStepPasskeyBegin answers the second step's passkey form with the
// options of a check of the pending person's passkeys. It refuses, before
// any ceremony, a sign-in whose slots are spent.
func (h *Handler) secondStepPasskeyBegin(c echo.Context) error {
	ctx := c.Request().Context()
	_, u, err := h.pendingPerson(c)
	if errors.Is(err, db.ErrPendingGone) {
		return passkeyRefusal(c, http.StatusForbidden, views.RuleText(db.ErrPendingGone))
	}
	if err != nil {
		return err
	}
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		return passkeyRefusal(c, http.StatusTooManyRequests, throttledCodeMessage)
	}
	if err != nil {
		return err
	}
	h.release(ctx, c, slot) // the finish takes its own slot
	ok, err := h.beginPasskeyCheck(c, u)
	if !ok && err == nil {
		return passkeyRefusal(c, http.StatusNotFound, "You have no passkey for this site. Enter a code instead.")
	}
	return err
}

// secondStepPasskey checks the passkey the second step's passkey form
// posted and, when it is one of the pending person's, starts the session.
// Like a code it takes the sign-in's slots first; a refused passkey keeps
// them and is in the audit log.
func (h *Handler) secondStepPasskey(c echo.Context) error {
	ctx := c.Request().Context()
	p, u, err := h.pendingPerson(c)
	if errors.Is(err, db.ErrPendingGone) {
		return h.pendingGone(c)
	}
	if err != nil {
		return err
	}
	refuse := func(status int, message string) error {
		return h.render(c, status, "login_two_factor.html", "", views.SecondStepPage{Page: h.page(c, "Two-factor authentication"),
			Passkey: true, PasskeyError: message})
	}
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		return refuse(http.StatusTooManyRequests, throttledCodeMessage)
	}
	if err != nil {
		return err
	}
	_, err = h.finishPasskeyCheck(c, u)
	if errors.Is(err, errPasskeyCheckFailed) {
		ev := event(c, db.EventSignInFailed)
		ev.UserID, ev.Detail = u.ID, map[string]any{"reason": "second_factor", "factor": "passkey"}
		if err := h.store.AddEvent(ctx, ev); err != nil {
			return err
		}
		msg := passkeyRefused
		switch {
		case c.FormValue("credential") == "":
			msg = passkeyNeedsJS
		case errors.Is(err, db.ErrPasskeyCeremony):
			msg = views.RuleText(db.ErrPasskeyCeremony)
		}
		return refuse(http.StatusUnprocessableEntity, msg) // the slot is kept
	}
	if err == nil {
		err = h.passSecondStep(c, p, u, db.Proof{Elsewhere: "passkey"})
	}
	h.release(ctx, c, slot)
	if errors.Is(err, db.ErrPendingGone) {
		return h.pendingGone(c)
	}
	if err != nil {
		return err
	}
	h.flash.set(c, "success", "You are logged in.")
	return redirect(c, safeNext(p.Next))
}
