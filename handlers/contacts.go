package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Contact methods and their verification: the notification half of
// #contact-info, whose field checks are in contact_checks.go (the routing
// matrix they feed is on /profile/notifications, notify_routing.go). Every
// POST here answers with the whole #contact-info section for htmx.

const contactFragment = "profile/contact-info"

// loadNotifyData fills the notification part of #contact-info.
func (h *Handler) loadNotifyData(c echo.Context, u db.User) (views.NotifySection, error) {
	ctx := c.Request().Context()
	methods, err := h.store.ContactMethods(ctx, u.ID)
	if err != nil {
		return views.NotifySection{}, err
	}
	pending, err := h.store.PendingEmailChange(ctx, u.ID)
	if err != nil {
		return views.NotifySection{}, err
	}
	return views.NotifySection{Methods: methods, Kinds: db.KindsOffered(h.hasProvider), PendingEmail: pending}, nil
}

// notifyAnswer answers a POST of the notification part of #contact-info:
// every one of them changes the whole section.
func notifyAnswer(h *Handler, c echo.Context, status int, message string, fill func(n *views.NotifySection)) error {
	return answer(h, c, profileSection(contactFragment), status, message, func(p *views.ProfilePage) { fill(&p.Notify) })
}

// queued wakes the delivery worker: something is in the outbox.
func (h *Handler) queued() {
	if h.cfg.Queued != nil {
		h.cfg.Queued()
	}
}

// addContact adds a contact method and sends it its verification code.
func (h *Handler) addContact(c echo.Context) error {
	u, _ := currentUser(c)
	kind, label := c.FormValue("kind"), strings.TrimSpace(c.FormValue("label"))
	address := strings.TrimSpace(c.FormValue("address"))
	form := views.Form{Values: map[string]string{"kind": kind, "address": address, "label": label}}
	normalized := h.checkContact(&form, kind, address, label)
	var secret string
	status := http.StatusUnprocessableEntity
	if !form.Failed() {
		if kind == db.KindWebhook {
			secret = "whsec_" + rand.Text()
		}
		ev := event(c, db.EventContactAdded)
		m, err := h.store.AddContactMethod(c.Request().Context(), u.ID,
			db.NewContactMethod{Kind: kind, Address: normalized, Label: label, Secret: secret}, h.codeMessage, ev)
		switch {
		case errors.Is(err, db.ErrTooManyMethods), errors.Is(err, db.ErrTooManyPhones):
			form.Fail("address", ruleText(err))
		case errors.Is(err, db.ErrConflict):
			form.Fail("address", "You already have this contact method.")
		case errors.Is(err, db.ErrCodesAddress), errors.Is(err, db.ErrCodesUser):
			throttled(c, err) // Retry-After
			form.Fail("address", ruleText(err))
			status = http.StatusTooManyRequests
		case err != nil:
			return err
		default:
			h.queued()
			form = views.Form{Message: fmt.Sprintf("%s %s is added. %s", m.KindName(), m.Address, codeSentText(m))}
		}
	}
	if form.Failed() {
		return notifyAnswer(h, c, status, "", func(n *views.NotifySection) { n.AddForm = form })
	}
	fill := func(p *views.ProfilePage) { p.Notify.AddForm, p.Notify.NewSecret = form, secret }
	if secret != "" {
		// The secret is shown once, on this answer: a redirect would lose it.
		return show(h, c, profileSection(contactFragment), http.StatusOK, fill)
	}
	return answer(h, c, profileSection(contactFragment), http.StatusOK, form.Message, fill)
}

func codeSentText(m db.ContactMethod) string {
	switch m.Kind {
	case db.KindEmail:
		return "We emailed it a 6-digit code and a link: follow the link or type the code below to verify it."
	case db.KindSMS:
		return "We sent it a 6-digit code by SMS: type it below to verify the number."
	case db.KindVoice:
		return "We are calling it to read out a 6-digit code: type it below to verify the number."
	}
	return "We sent it a test message with a 6-digit code: type it below to verify it."
}

// codeMessage is the message that carries a verification code, by kind.
func (h *Handler) codeMessage(m db.ContactMethod, code string) (db.Notice, error) {
	msg := views.CodeMail{Kind: m.Kind, Code: code}
	if m.Kind == db.KindEmail {
		msg.Link = h.link(fmt.Sprintf("/profile/contacts/%d/verify", m.ID)) + "?code=" + code
	}
	n, err := h.views.Notice("", msg)
	if err != nil {
		return db.Notice{}, err
	}
	return *n, nil
}

// ruleText is the person-facing words of the rule err broke, without the
// context the store wrapped around it.
func ruleText(err error) string {
	if text := views.RuleText(err); text != "" {
		return text
	}
	return err.Error()
}

// contactParam loads the method of the :id route param, 404 when it is
// not the user's.
func (h *Handler) contactParam(c echo.Context) (db.ContactMethod, error) {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return db.ContactMethod{}, err
	}
	m, err := h.store.ContactMethodByID(c.Request().Context(), u.ID, id)
	if errors.Is(err, db.ErrNotFound) {
		return db.ContactMethod{}, echo.NewHTTPError(http.StatusNotFound, "That contact method is not on your profile.")
	}
	return m, err
}

// verifyContact checks a code typed back.
func (h *Handler) verifyContact(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(c.FormValue("code"))
	form := views.Form{Values: map[string]string{"code": code}}
	if code == "" {
		form.Fail("code", "Enter the 6-digit code.")
	} else {
		m, err = h.store.VerifyContactMethod(c.Request().Context(), m.UserID, m.ID, code, event(c, db.EventContactVerified))
		var rule db.RuleError
		switch {
		case errors.As(err, &rule):
			form.Fail("code", views.RuleText(rule))
		case err != nil:
			return err
		default:
			form = views.Form{Message: m.KindName() + " " + m.Address + " is verified. Choose what it receives on the Notifications page."}
		}
	}
	return notifyAnswer(h, c, formStatus(form), form.Message, func(n *views.NotifySection) { n.MethodForm, n.MethodID = form, m.ID })
}

// verifyContactLink is the link in an email method's code message: a page
// whose button posts the code to verifyContact. Opening it spends none of
// the code's tries (a mail scanner, or another site, can open a link).
func (h *Handler) verifyContactLink(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "contact_verify.html", "", views.ContactVerifyPage{
		Page: h.page(c, "Verify "+m.Address), Kind: m.KindName(), Address: m.Address,
		Action: fmt.Sprintf("/profile/contacts/%d/verify", m.ID), Code: c.QueryParam("code"),
	})
}

// resendCode sends a new code, which also unlocks a locked method.
func (h *Handler) resendCode(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	sent, err := h.store.SendContactCode(c.Request().Context(), m.UserID, m.ID, h.codeMessage)
	if errors.Is(err, db.ErrCodesAddress) || errors.Is(err, db.ErrCodesUser) {
		// Toll fraud and mail bombing: nothing is sent, the code stays.
		throttled(c, err) // Retry-After
		return notifyAnswer(h, c, http.StatusTooManyRequests, "", func(n *views.NotifySection) {
			n.MethodForm, n.MethodID = views.Form{}, m.ID
			n.MethodForm.Fail("code", ruleText(err))
		})
	}
	if err != nil {
		return err
	}
	m = sent
	h.queued()
	msg := "A new code is on its way. " + codeSentText(m)
	return notifyAnswer(h, c, http.StatusOK, msg, func(n *views.NotifySection) { n.MethodForm, n.MethodID = views.Form{Message: msg}, m.ID })
}

// testContact sends a test message now and waits a few seconds for its
// outcome, so the answer can say whether it went.
func (h *Handler) testContact(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	n, err := h.views.Notice("", views.TestMail{Kind: m.KindName(), Address: m.Address})
	if err != nil {
		return err
	}
	id, err := h.store.SendTest(ctx, m.UserID, m.ID, *n)
	if errors.Is(err, db.ErrNotVerified) {
		form := views.Form{}
		form.Fail("code", ruleText(err))
		return notifyAnswer(h, c, http.StatusUnprocessableEntity, "", func(n *views.NotifySection) { n.MethodForm, n.MethodID = form, m.ID })
	}
	if errors.Is(err, db.ErrTestsMethod) {
		// Toll fraud: nothing is sent.
		throttled(c, err) // Retry-After
		return notifyAnswer(h, c, http.StatusTooManyRequests, "", func(n *views.NotifySection) {
			n.MethodForm, n.MethodID = views.Form{}, m.ID
			n.MethodForm.Fail("form", ruleText(err))
		})
	}
	if err != nil {
		return err
	}
	h.queued()
	msg := "The test message is queued; its outcome shows on the Notifications page."
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		d, err := h.store.DeliveryByID(ctx, id)
		if err != nil {
			return err
		}
		if d.State == db.DeliverySent {
			msg = "The test message was sent to " + m.Address + "."
			break
		}
		if d.LastError != "" {
			msg = "The test message could not be sent yet (" + d.LastError + "). Roster keeps trying."
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return notifyAnswer(h, c, http.StatusOK, msg, func(n *views.NotifySection) { n.MethodForm, n.MethodID = views.Form{Message: msg}, m.ID })
}

// labelContact renames a method (a route DESIGN does not list; see
// docs/DECISIONS.md).
func (h *Handler) labelContact(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	label := strings.TrimSpace(c.FormValue("label"))
	form := views.Form{Values: map[string]string{"label": label}}
	if utf8.RuneCountInString(label) > 50 || strings.ContainsFunc(label, unicode.IsControl) {
		form.Fail("label", "Use at most 50 characters, on one line.")
	} else {
		if err := h.store.SetContactLabel(c.Request().Context(), m.UserID, m.ID, label); err != nil {
			return err
		}
		form.Message = "The label is saved."
	}
	return notifyAnswer(h, c, formStatus(form), form.Message, func(n *views.NotifySection) { n.MethodForm, n.MethodID = form, m.ID })
}

// deleteContact deletes a method and its routes; the account email stays.
func (h *Handler) deleteContact(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	_, err = h.store.DeleteContactMethod(c.Request().Context(), m.UserID, m.ID, event(c, db.EventContactDeleted))
	if errors.Is(err, db.ErrAccountMethod) {
		return notifyAnswer(h, c, http.StatusConflict, "", func(n *views.NotifySection) {
			n.MethodForm.Fail("form", ruleText(err))
			n.MethodID = m.ID
		})
	}
	if err != nil {
		return err
	}
	msg := m.KindName() + " " + m.Address + " is deleted."
	return notifyAnswer(h, c, http.StatusOK, msg, func(n *views.NotifySection) { n.AddForm.Message = msg })
}
