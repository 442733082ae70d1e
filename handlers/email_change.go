package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Changing the account email: the new address is confirmed from a link
// before it replaces the old one, and the old one is told.

const emailChangeTTL = 48 * time.Hour

// changeEmail asks for a new account email: a link goes to it, and only
// following that link makes the change.
func (h *Handler) changeEmail(c echo.Context) error {
	u, _ := currentUser(c)
	email := strings.TrimSpace(c.FormValue("new_email"))
	form := views.Form{Values: map[string]string{"new_email": email}}
	if checkContactEmail(&form, email); form.Failed() {
		form.Errors = map[string]string{"new_email": form.Errors["address"]}
	} else if db.NormalEmail(email) == db.NormalEmail(u.Email) {
		form.Fail("new_email", "This is your account email already.")
	}
	if !form.Failed() {
		slot, err := h.store.Reserve(c.Request().Context(), h.throttle.changeAddress.on(emailKey(email)), h.throttle.changeIP.on(clientKey(c)))
		if t, ok := throttled(c, err); ok {
			form.Fail("new_email", mailLimitText(t, h.throttle.changeIP, "confirmation links", email))
			return notifyAnswer(h, c, http.StatusTooManyRequests, "", func(n *views.NotifySection) { n.EmailForm = form })
		}
		if err != nil {
			return err
		}
		token, hash := newToken()
		m, err := h.views.LinkMail(db.CircumstanceVerify, h.link("/email-change/"+token), func(link string) views.Mail {
			return views.EmailChangeMail{Name: u.DisplayName(), Old: u.Email, Link: link}
		})
		if err != nil {
			return err
		}
		// The current address is told at once, with a link that stops the
		// change without a session (whoever asked may hold the only one).
		cancel, cancelHash := newToken()
		notice, err := h.views.LinkMail(db.CircumstanceSecurity, h.link("/email-change/cancel/"+cancel), func(link string) views.Mail {
			return views.EmailChangeAskedMail{Name: u.DisplayName(), New: db.NormalEmail(email), CancelLink: link,
				ResetLink: h.link("/password/forgot"), ProfileLink: h.link("/profile"),
				When: time.Now(), IP: c.RealIP(), Device: device(c.Request().UserAgent())}
		})
		if err != nil {
			return err
		}
		err = h.store.RequestEmailChange(c.Request().Context(), db.EmailChangeAsk{UserID: u.ID, SessionHash: sessionHash(c),
			NewEmail: email, TokenHash: hash, CancelHash: cancelHash, TTL: emailChangeTTL, Confirm: m, Notice: notice},
			event(c, db.EventEmailChangeAsked))
		switch {
		case errors.Is(err, db.ErrEmailTaken):
			h.release(c.Request().Context(), c, slot) // nothing was sent
			form.Fail("new_email", ruleText(err))
		case err != nil:
			return err
		default:
			h.queued()
			form = views.Form{Message: "A link is on its way to " + email + ". Your account email changes when you follow it; until then it stays " + u.Email +
				". Stay logged in here until then: logging out this session cancels the change."}
		}
	}
	return notifyAnswer(h, c, formStatus(form), form.Message, func(n *views.NotifySection) { n.EmailForm = form })
}

// cancelEmailChange withdraws the pending change of the account email: its
// link stops working. Only the signed-in user's own change can go.
func (h *Handler) cancelEmailChange(c echo.Context) error {
	u, _ := currentUser(c)
	email, err := h.store.CancelEmailChange(c.Request().Context(), u.ID, event(c, db.EventEmailChangeCancelled))
	var form views.Form
	switch {
	case errors.Is(err, db.ErrNotFound):
		form.Fail("new_email", "There is no email change waiting to be cancelled.")
		return notifyAnswer(h, c, http.StatusConflict, "", func(n *views.NotifySection) { n.EmailForm = form })
	case err != nil:
		return err
	}
	form.Message = "The change to " + email + " is cancelled: the link we sent there no longer works. Your account email stays " + u.Email + "."
	return notifyAnswer(h, c, http.StatusOK, form.Message, func(n *views.NotifySection) { n.EmailForm = form })
}

// confirmEmailChangePage is the link sent to the new address. Mail
// scanners open it too, so it only asks; the page's form
// (confirmEmailChange) makes the change.
func (h *Handler) confirmEmailChangePage(c echo.Context) error {
	ctx := c.Request().Context()
	userID, email, err := h.store.EmailChangeByToken(ctx, tokenHash(c.Param("token")))
	if errors.Is(err, db.ErrNotFound) {
		return h.render(c, http.StatusNotFound, "message.html", "", emailChangeLinkGone(h.page(c, "Account email changed")))
	}
	if err != nil {
		return err
	}
	u, err := h.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return h.confirmLinkPage(c, userID, views.ConfirmLinkPage{Email: email, Replaces: u.Email, Action: "/email-change/" + c.Param("token")})
}

// cancelEmailChangePage is the link mailed to the current address when a
// change is asked for. Mail scanners open it too, so it only asks; its
// form (cancelEmailChangeLink) stops the change. It needs no session:
// the person may be locked out of theirs.
func (h *Handler) cancelEmailChangePage(c echo.Context) error {
	ctx := c.Request().Context()
	userID, email, _, err := h.store.EmailChangeByCancel(ctx, tokenHash(c.Param("token")))
	if errors.Is(err, db.ErrNotFound) {
		return h.render(c, http.StatusNotFound, "message.html", "", cancelLinkGone(h.page(c, "Stop the email change")))
	}
	if err != nil {
		return err
	}
	u, err := h.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "email_cancel.html", "", views.EmailCancelPage{Page: h.page(c, "Stop the email change"),
		Email: email, Current: u.Email, Action: "/email-change/cancel/" + c.Param("token")})
}

// cancelEmailChangeLink is the cancel page's form: the pending change
// goes, and its confirmation link stops working.
func (h *Handler) cancelEmailChangeLink(c echo.Context) error {
	ctx := c.Request().Context()
	userID, email, err := h.store.CancelEmailChangeByLink(ctx, tokenHash(c.Param("token")), event(c, db.EventEmailChangeCancelled))
	p := h.page(c, "Email change stopped")
	if errors.Is(err, db.ErrNotFound) {
		return h.render(c, http.StatusNotFound, "message.html", "", cancelLinkGone(p))
	}
	if err != nil {
		return err
	}
	u, err := h.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "message.html", "", views.MessagePage{Page: p, Heading: "Email change cancelled",
		Text: "The change to " + email + " is cancelled: the link we sent there no longer works, the session that asked for it is logged out, and your account email stays " + u.Email +
			". If you did not ask for it, someone may have your password: reset it, which logs out every session.",
		Link: "/password/forgot", LinkText: "Reset your password"})
}

func cancelLinkGone(p views.Page) views.MessagePage {
	return views.MessagePage{Page: p, Heading: "This link does not work",
		Text: "The change it would stop is no longer waiting: it was cancelled, confirmed or has expired, or the session that asked for it ended.",
		Link: "/profile", LinkText: "Go to your profile"}
}

func emailChangeLinkGone(p views.Page) views.MessagePage {
	return views.MessagePage{Page: p, Heading: "This link does not work",
		Text: "It has expired or was already used. You can ask for a new one on your profile page.", Link: "/profile", LinkText: "Go to your profile"}
}

// confirmEmailChange is the confirmation page's form: the new address
// replaces the old one.
func (h *Handler) confirmEmailChange(c echo.Context) error {
	tell := func(old, new string) (db.Notice, error) {
		n, err := h.views.Notice("", views.EmailChangedMail{Old: old, New: new, ResetLink: h.link("/password/forgot")})
		if err != nil {
			return db.Notice{}, err
		}
		return *n, nil
	}
	v, err := h.store.ConfirmEmailChange(c.Request().Context(), tokenHash(c.Param("token")), sessionHash(c), tell, event(c, db.EventEmailChanged))
	data := views.MessagePage{Page: h.page(c, "Account email changed"), Heading: "Account email changed",
		Text: "Your new account email is confirmed and in use. We told the old address.", Link: "/profile", LinkText: "Go to your profile"}
	switch {
	case errors.Is(err, db.ErrNotFound):
		return h.render(c, http.StatusNotFound, "message.html", "", emailChangeLinkGone(data.Page))
	case errors.Is(err, db.ErrEmailTaken), errors.Is(err, db.ErrConflict):
		data.Heading, data.Text = "This address is taken", "Another profile uses this email address now, so it cannot become yours."
		return h.render(c, http.StatusConflict, "message.html", "", data)
	case err != nil:
		return err
	}
	h.queued()
	// Confirming an address of a profile that never confirmed the old one
	// is its first verification. Else the change ended every other session
	// (db.ConfirmEmailChange), as a password change does.
	if err := h.afterFirstVerification(c, v, &data); err != nil {
		return err
	}
	if !v.First && v.SignedOut > 0 {
		if cur, ok := currentUser(c); ok && cur.ID == v.User.ID && v.KeptSession {
			data.Text += " " + views.Plural(v.SignedOut, "other session was", "other sessions were") + " logged out."
		} else {
			data.Text += " " + views.Plural(v.SignedOut, "session was", "sessions were") + " logged out."
		}
	}
	return h.render(c, http.StatusOK, "message.html", "", data)
}
