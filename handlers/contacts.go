package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/nyaruka/phonenumbers"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/netguard"
	"github.com/rosterhq/roster/views"
)

// Contact methods, their verification, the routing matrix and the recent
// notifications: the notification half of #contact-info. Every POST here
// answers with the whole #contact-info section for htmx.

const (
	contactFragment = "profile/contact-info"
	recentLimit     = 10
)

// loadNotifyData fills the notification part of #contact-info.
func (h *Handler) loadNotifyData(c echo.Context, u db.User) (views.NotifySection, error) {
	ctx := c.Request().Context()
	methods, err := h.store.ContactMethods(ctx, u.ID)
	if err != nil {
		return views.NotifySection{}, err
	}
	rules, err := h.store.Rules(ctx, u.ID)
	if err != nil {
		return views.NotifySection{}, err
	}
	recent, err := h.store.RecentDeliveries(ctx, u.ID, recentLimit)
	if err != nil {
		return views.NotifySection{}, err
	}
	pending, err := h.store.PendingEmailChange(ctx, u.ID)
	if err != nil {
		return views.NotifySection{}, err
	}
	n := views.NotifySection{Methods: methods, Kinds: db.Kinds, Recent: recent, PendingEmail: pending}
	n.Columns, n.Routes = routingMatrix(methods, rules)
	return n, nil
}

// routingMatrix lays the rules out as rows of circumstances by columns of
// the methods they may use: the account email and every verified method.
func routingMatrix(methods []db.ContactMethod, rules []db.Rule) ([]db.ContactMethod, []views.RouteRow) {
	on := map[string]bool{}
	for _, r := range rules {
		on[ruleValue(r)] = true
	}
	var cols []db.ContactMethod
	for _, m := range methods {
		if m.IsAccount || m.Verified() {
			cols = append(cols, m)
		}
	}
	var rows []views.RouteRow
	add := func(circ string, sev int) {
		row := views.RouteRow{Circumstance: circ, Severity: sev}
		for _, m := range cols {
			v := ruleValue(db.Rule{Circumstance: circ, Severity: sev, MethodID: m.ID})
			fixed := circ == db.CircumstanceSecurity && m.IsAccount
			row.Cells = append(row.Cells, views.RouteCell{Value: v, Checked: on[v] || fixed, Fixed: fixed,
				Label: row.Name() + " to " + m.KindName() + " " + m.Address})
		}
		rows = append(rows, row)
	}
	for sev := 1; sev <= 5; sev++ {
		add(db.CircumstanceAlerts, sev)
	}
	for _, circ := range db.Circumstances[1:] {
		add(circ, 0)
	}
	return cols, rows
}

func ruleValue(r db.Rule) string {
	return fmt.Sprintf("%s:%d:%d", r.Circumstance, r.Severity, r.MethodID)
}

func parseRule(v string) (db.Rule, bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return db.Rule{}, false
	}
	sev, err1 := strconv.Atoi(parts[1])
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	return db.Rule{Circumstance: parts[0], Severity: sev, MethodID: id}, err1 == nil && err2 == nil
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

// checkContact validates a new method and returns its address normalized:
// E.164 for phone numbers, as typed otherwise.
func (h *Handler) checkContact(form *views.Form, kind, address, label string) string {
	if utf8.RuneCountInString(label) > 50 || strings.ContainsFunc(label, unicode.IsControl) {
		form.Fail("label", "Use at most 50 characters, on one line.")
	}
	switch kind {
	case db.KindEmail:
		return checkContactEmail(form, address)
	case db.KindSMS, db.KindVoice:
		return checkPhone(form, address)
	case db.KindSlack, db.KindWebhook:
		return h.checkHookURL(form, kind, address)
	}
	form.Fail("kind", "Choose email, SMS, voice call, Slack or webhook.")
	return ""
}

func checkContactEmail(form *views.Form, address string) string {
	if address == "" {
		form.Fail("address", "Enter an email address.")
		return ""
	}
	a, err := mail.ParseAddress(address)
	if err != nil || a.Address != address || len(address) > 254 || !strings.Contains(address[strings.LastIndexByte(address, '@')+1:], ".") {
		form.Fail("address", "Enter one email address, such as ann@example.com.")
		return ""
	}
	return address
}

func checkPhone(form *views.Form, address string) string {
	const msg = "Enter the number in international format: + and the country code, such as +1 415 555 0100."
	if address == "" {
		form.Fail("address", "Enter a phone number. "+msg)
		return ""
	}
	if !strings.HasPrefix(address, "+") || len(address) > 40 {
		form.Fail("address", msg)
		return ""
	}
	n, err := phonenumbers.Parse(address, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		form.Fail("address", "This is not a valid phone number. "+msg)
		return ""
	}
	// The library's metadata allows some numbers longer than E.164's 15
	// digits ("+49 201 000000000000"), which no SMS gateway takes.
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if !e164Number.MatchString(e164) {
		form.Fail("address", "This is not a valid phone number. "+msg)
		return ""
	}
	return e164
}

var e164Number = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkHookURL accepts https URLs; plain http only to this machine, and
// only while Roster itself runs on http (development and tests).
func (h *Handler) checkHookURL(form *views.Form, kind, address string) string {
	example := "https://hooks.example.com/roster"
	if kind == db.KindSlack {
		example = "https://hooks.slack.com/services/..."
	}
	u, err := url.Parse(address)
	if err == nil {
		// What is stored is u.String(), which escapes what was typed raw
		// and must itself parse ("https://[::%25\xc6]" does not).
		u, err = url.Parse(u.String())
	}
	if address == "" || err != nil || strings.ContainsFunc(address, unicode.IsSpace) || u.Hostname() == "" || u.User != nil || len(u.String()) > 2000 || (u.Scheme != "https" && u.Scheme != "http") {
		form.Fail("address", "Enter the full URL, such as "+example+".")
		return ""
	}
	if u.Scheme == "http" && (h.cfg.Secure() || !netguard.Loopback(u.Hostname())) {
		form.Fail("address", "Use an https URL: notifications must not travel unencrypted.")
		return ""
	}
	return u.String()
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
			form = views.Form{Message: m.KindName() + " " + m.Address + " is verified. Choose below what it receives."}
		}
	}
	return notifyAnswer(h, c, formStatus(form), form.Message, func(n *views.NotifySection) { n.MethodForm, n.MethodID = form, m.ID })
}

// verifyContactLink is the link in an email method's code message.
func (h *Handler) verifyContactLink(c echo.Context) error {
	m, err := h.contactParam(c)
	if err != nil {
		return err
	}
	_, err = h.store.VerifyContactMethod(c.Request().Context(), m.UserID, m.ID, c.QueryParam("code"), event(c, db.EventContactVerified))
	var rule db.RuleError
	switch {
	case errors.As(err, &rule):
		h.flash.set(c, "error", views.RuleText(rule))
	case err != nil:
		return err
	default:
		h.flash.set(c, "success", m.Address+" is verified.")
	}
	return c.Redirect(http.StatusSeeOther, "/profile#contact-info")
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
	msg := "The test message is queued; its outcome shows under Recent notifications."
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

// saveRouting replaces the routing matrix with the boxes ticked.
func (h *Handler) saveRouting(c echo.Context) error {
	u, _ := currentUser(c)
	if err := c.Request().ParseForm(); err != nil {
		return echo.ErrBadRequest
	}
	var rules []db.Rule
	form := views.Form{}
	for _, v := range c.Request().PostForm["route"] {
		r, ok := parseRule(v)
		if !ok {
			form.Fail("form", "That routing choice is not available any more. Reload the page.")
			break
		}
		rules = append(rules, r)
	}
	if !form.Failed() {
		err := h.store.SetRules(c.Request().Context(), u.ID, rules, event(c, db.EventRoutingChanged))
		switch {
		case errors.Is(err, db.ErrBadRule):
			form.Fail("form", "That routing choice is not available any more. Reload the page.")
		case err != nil:
			return err
		default:
			form.Message = "Notification routing is saved."
		}
	}
	return notifyAnswer(h, c, formStatus(form), form.Message, func(n *views.NotifySection) { n.RoutingForm = form })
}
