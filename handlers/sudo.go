package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Re-authentication ("sudo mode"). A sensitive action (changing the email
// or the password, Add Login and removing a login, transferring ownership,
// deleting an account, adding a SAML connection) runs only for a session
// that proved its person again within db.SudoWindow. Otherwise its answer
// is a prompt, in place of the section for htmx and as a page without
// JavaScript, whose form posts to the same action with the action's own
// values as hidden fields (and a fresh _csrf, checked as on any post):
// once the password is right, the session is re-authenticated and the
// action runs with those values, as if the prompt had never been.
//
// The window is kept with the session on the server (db.Reauthenticate),
// never in a cookie, so a new session or another browser starts without
// it. A person without a password (who logs in with SSO only) gets a code
// mailed to the account email instead.

// The fields the prompt adds to the action's form; the action never sees
// them.
const (
	sudoPasswordField  = "sudo_password"
	sudoCodeField      = "sudo_code"
	sudoSendField      = "sudo_send_code"
	sudoTwoFactorField = "sudo_2fa_code" // an authenticator or recovery code
	sudoPasskeyField   = "sudo_passkey"  // the passkey form's mark; its assertion is in "credential"
	sudoCredential     = "credential"    // static/passkey.js's field, taken only with sudoPasskeyField
	// The action's own credential field (a passkey being added), carried
	// by the prompt under this name so that the prompt's passkey form has
	// one credential field, its assertion's; put back before the action.
	sudoCarriedCredential = "sudo_new_credential"
)

var sudoFields = []string{sudoPasswordField, sudoCodeField, sudoSendField, sudoTwoFactorField, sudoPasskeyField}

// Ways of re-authenticating, as the audit entry records them.
const (
	sudoByPassword = "password"
	sudoByCode     = "email_code"
	sudoByTOTP     = "totp"
	sudoByRecovery = "recovery_code"
	sudoByPasskey  = "passkey"
)

// sudo gates next on a fresh re-authentication of the request's session.
// Wrap a route's handler with it in the route table; it runs after the
// route's group checks (signed in, member, Admin), so the prompt is shown
// only to someone who may reach the action at all.
func (h *Handler) sudo(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := currentUser(c)
		if !ok {
			return echo.ErrNotFound // every gated route is behind requireUser
		}
		fresh, err := h.store.Reauthenticated(c.Request().Context(), u.ID, sessionHash(c))
		if err != nil {
			return err
		}
		form := c.Request().PostForm
		has := func(name string) bool { _, ok := form[name]; return ok }
		var factors db.Factors
		if !fresh {
			if factors, err = h.secondFactors(c, u.ID); err != nil {
				return err
			}
		}
		// The ways to re-authenticate: each checks its proof and calls
		// reauthenticatedNow (or its db counterpart, in the transaction
		// that uses a code up). Someone with two-factor on needs no mailed
		// code: their app, a recovery code or a passkey proves them.
		switch {
		case fresh:
		case has(sudoPasskeyField) && factors.PasskeyWay():
			if done, err := h.sudoPasskey(c, u); !done {
				return err
			}
		case has(sudoTwoFactorField) && factors.TOTP:
			if done, err := h.sudoSecondFactor(c, u); !done {
				return err
			}
		case u.PasswordHash != "" && has(sudoPasswordField):
			if done, err := h.sudoPassword(c, u); !done {
				return err
			}
		case mailsCode(u, factors) && has(sudoSendField):
			return h.sendSudoCode(c, u)
		case mailsCode(u, factors) && has(sudoCodeField):
			if done, err := h.sudoCode(c, u); !done {
				return err
			}
		default:
			return h.sudoPrompt(c, http.StatusOK, views.Form{}, false)
		}
		names := sudoFields
		if has(sudoPasskeyField) {
			names = append(slices.Clone(sudoFields), sudoCredential)
		}
		for _, name := range names {
			delete(c.Request().PostForm, name)
			delete(c.Request().Form, name)
		}
		if carried, ok := form[sudoCarriedCredential]; ok {
			for _, f := range []url.Values{c.Request().PostForm, c.Request().Form} {
				f[sudoCredential] = carried
				delete(f, sudoCarriedCredential)
			}
		}
		return next(c)
	}
}

// sudoFor gates next on a fresh re-authentication (sudo) only for the
// requests that need says need it; the others go straight to next.
func (h *Handler) sudoFor(need func(echo.Context) bool, next echo.HandlerFunc) echo.HandlerFunc {
	gated := h.sudo(next)
	return func(c echo.Context) error {
		if need(c) {
			return gated(c)
		}
		return next(c)
	}
}

// grantsAdmin reports whether the form gives the Admin role: the value
// the invite and role actions read, so both see the same role.
func grantsAdmin(c echo.Context) bool { return c.FormValue("role") == db.RoleAdmin }

// mailsCode reports whether u re-authenticates with a code mailed to the
// account email: no password, and no authenticator app to give a code.
func mailsCode(u db.User, f db.Factors) bool { return u.PasswordHash == "" && !f.TOTP }

// reauthenticatedNow records that the request's session re-authenticated
// now, by method (audited): the session may take sensitive actions for
// db.SudoWindow. Every way of re-authenticating ends here.
func (h *Handler) reauthenticatedNow(c echo.Context, method string) error {
	u, _ := currentUser(c)
	ev := event(c, db.EventSudo)
	ev.Detail = map[string]any{"method": method}
	return h.store.Reauthenticate(c.Request().Context(), u.ID, sessionHash(c), ev)
}

// sudoPassword checks the prompt's password as a sign-in does, with the
// same slots (per email and client IP), taken before the hash and kept by
// a wrong password, and in the same line for the hasher (verifyInLine):
// past its budget, the prompt again with 503, Retry-After and a ticket
// that keeps the place. done is false when it answered with the prompt
// again.
func (h *Handler) sudoPassword(c echo.Context, u db.User) (done bool, err error) {
	ctx := c.Request().Context()
	pw := c.Request().PostForm.Get(sudoPasswordField)
	var form views.Form
	if pw == "" {
		form.Fail(sudoPasswordField, "Enter your password.")
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, false)
	}
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		form.Fail(sudoPasswordField, throttledMessage)
		return false, h.sudoPrompt(c, http.StatusTooManyRequests, form, false)
	}
	if err != nil {
		return false, err
	}
	// The check waits in the sign-ins' line, at the place a ticket kept.
	ok, err := h.verifyInLine(c, u.Email, pw, u.PasswordHash)
	if err != nil || ok {
		h.release(ctx, c, slot) // a right password, or nothing checked
	}
	if busy, tooLong := waitTooLong(c, err); tooLong {
		form.Fail(sudoPasswordField, busyMessage(busy))
		return false, h.sudoPrompt(c, http.StatusServiceUnavailable, form, false)
	}
	if err != nil {
		return false, h.hashError(err)
	}
	if !ok {
		if err := h.sudoFailed(c, u, sudoByPassword); err != nil {
			return false, err
		}
		form.Fail(sudoPasswordField, "That is not your password.")
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, false)
	}
	return true, h.reauthenticatedNow(c, sudoByPassword)
}

// sendSudoCode mails a code to the account email of a person without a
// password, and shows the prompt with its field.
func (h *Handler) sendSudoCode(c echo.Context, u db.User) error {
	err := h.store.SendSudoCode(c.Request().Context(), u.ID, sessionHash(c), func(code string) (db.Mail, error) {
		sent, err := h.views.Mail(views.SudoCodeMail{Name: u.DisplayName(), Code: code})
		if err != nil {
			return db.Mail{}, err
		}
		kept, err := h.views.Mail(views.SudoCodeMail{Name: u.DisplayName(), Code: "(code removed after delivery)"})
		if err != nil {
			return db.Mail{}, err
		}
		return db.Mail{Circumstance: db.CircumstanceSecurity, Subject: sent.Subject, Body: sent.Body, Kept: kept.Body}, nil
	})
	if t, ok := throttled(c, err); ok {
		var form views.Form
		form.Fail("form", "We sent you "+views.Plural(int64(t.Limit.Max), "code", "codes")+" in the last hour. "+tryAgainIn(t.RetryAfter))
		return h.sudoPrompt(c, http.StatusTooManyRequests, form, true)
	}
	if err != nil {
		return err
	}
	h.queued()
	return h.sudoPrompt(c, http.StatusOK, views.Form{Message: "A code is on its way to " + u.Email + "."}, true)
}

// sudoCode checks a code sendSudoCode mailed. done is false when it
// answered with the prompt again.
func (h *Handler) sudoCode(c echo.Context, u db.User) (done bool, err error) {
	code := strings.TrimSpace(c.Request().PostForm.Get(sudoCodeField))
	var form views.Form
	if code == "" {
		form.Fail(sudoCodeField, "Enter the code from the email.")
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, true)
	}
	ev := event(c, db.EventSudo)
	ev.Detail = map[string]any{"method": sudoByCode}
	err = h.store.UseSudoCode(c.Request().Context(), u.ID, sessionHash(c), code, ev)
	if errors.Is(err, db.ErrSudoCode) {
		if err := h.sudoFailed(c, u, sudoByCode); err != nil {
			return false, err
		}
		form.Fail(sudoCodeField, "That code is wrong or has expired. Check the email, or send another code.")
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, true)
	}
	return err == nil, err
}

// sudoSecondFactor checks the prompt's authenticator or recovery code as
// the second step of a sign-in does: the sign-in's throttle slots taken
// first and kept by a wrong code, the code used up (a step once, a
// recovery code once) in the transaction that re-authenticates the
// session. done is false when it answered with the prompt again.
func (h *Handler) sudoSecondFactor(c echo.Context, u db.User) (done bool, err error) {
	ctx := c.Request().Context()
	code := c.Request().PostForm.Get(sudoTwoFactorField)
	var form views.Form
	if strings.TrimSpace(code) == "" {
		form.Fail(sudoTwoFactorField, "Enter the code from your app, or a recovery code.")
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, false)
	}
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		form.Fail(sudoTwoFactorField, throttledCodeMessage)
		return false, h.sudoPrompt(c, http.StatusTooManyRequests, form, false)
	}
	if err != nil {
		return false, err
	}
	proof, err := h.proof(c, u.ID, code)
	method := sudoByTOTP
	if proof.Recovery != nil {
		method = sudoByRecovery
	}
	if err == nil {
		var used db.Event
		if used, err = h.recoveryUsed(c, u); err != nil {
			return false, err
		}
		ev := event(c, db.EventSudo)
		ev.Detail = map[string]any{"method": method}
		err = h.store.ReauthenticateWithFactor(ctx, u.ID, sessionHash(c), proof, used, ev)
	}
	if msg := codeRefusal(err); msg != "" {
		if err := h.sudoFailed(c, u, sudoByTOTP); err != nil {
			return false, err
		}
		form.Fail(sudoTwoFactorField, msg) // the slot is kept
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, false)
	}
	h.release(ctx, c, slot)
	if err != nil {
		return false, err
	}
	if method == sudoByRecovery {
		h.queued() // the recovery code's notice
	}
	return true, nil
}

// sudoPasskeyBegin answers the prompt's passkey form with the options of
// a check of the signed-in person's passkeys (static/passkey.js).
func (h *Handler) sudoPasskeyBegin(c echo.Context) error {
	u, _ := currentUser(c)
	ok, err := h.beginPasskeyCheck(c, u)
	if !ok && err == nil {
		return passkeyRefusal(c, http.StatusNotFound, "You have no passkey for this site. Confirm another way.")
	}
	return err
}

// sudoPasskey checks the passkey the prompt's passkey form posted (the
// check begun by sudoPasskeyBegin, bound to this browser) and
// re-authenticates the session. done is false when it answered with the
// prompt again.
func (h *Handler) sudoPasskey(c echo.Context, u db.User) (done bool, err error) {
	_, err = h.finishPasskeyCheck(c, u)
	if errors.Is(err, errPasskeyCheckFailed) {
		if err := h.sudoFailed(c, u, sudoByPasskey); err != nil {
			return false, err
		}
		var form views.Form
		switch {
		case c.Request().PostForm.Get(sudoCredential) == "":
			form.Fail(sudoPasskeyField, passkeyNeedsJS)
		case errors.Is(err, db.ErrPasskeyCeremony):
			form.Fail(sudoPasskeyField, views.RuleText(db.ErrPasskeyCeremony))
		default:
			form.Fail(sudoPasskeyField, passkeyRefused)
		}
		return false, h.sudoPrompt(c, http.StatusUnprocessableEntity, form, false)
	}
	if err != nil {
		return false, err
	}
	return true, h.reauthenticatedNow(c, sudoByPasskey)
}

// sudoFailed audits a wrong password or code.
func (h *Handler) sudoFailed(c echo.Context, u db.User, method string) error {
	ev := event(c, db.EventSudoFailed)
	ev.UserID, ev.Detail = u.ID, map[string]any{"method": method}
	return h.store.AddEvent(c.Request().Context(), ev)
}

// sectionID is what an htmx target id may be for the prompt to take it.
var sectionID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// sudoPrompt answers a gated action with the prompt, carrying the
// action's form: for htmx the section that stands in for the one the
// request targeted, else the whole page. codeSent says a person without a
// password has a code on its way. The prompt itself is 200, an ordinary
// step like any form page: a 4xx would have htmx and the browser report an
// error for it; a wrong password is 422 and a throttled one 429.
func (h *Handler) sudoPrompt(c echo.Context, status int, form views.Form, codeSent bool) error {
	u, _ := currentUser(c)
	factors, err := h.secondFactors(c, u.ID)
	if err != nil {
		return err
	}
	action := c.Request().URL.EscapedPath()
	post := c.Request().PostForm
	_, passkeyPost := post[sudoPasskeyField]
	passkeyWay := factors.PasskeyWay()
	data := views.SudoPage{Page: h.page(c, "Confirm it is you"), Action: action, Form: form,
		Password: u.PasswordHash != "", Code: mailsCode(u, factors), CodeSent: codeSent, TwoFactor: factors.TOTP,
		// The passkey form needs static/passkey.js: the prompt page loads
		// it, and in place the page of every gated action does (the
		// profile's and the Manage console's PasskeysOffered).
		Passkey:     passkeyWay,
		PasskeyPage: passkeyWay && !isHTMX(c)}
	if t := target(c); sectionID.MatchString(t) {
		data.Target = t
	}
	names := make([]string, 0, len(post))
	for name := range post {
		if name != "_csrf" && !slices.Contains(sudoFields, name) && (!passkeyPost || name != sudoCredential) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		carried := name
		if name == sudoCredential { // the action's own (a passkey being added)
			carried = sudoCarriedCredential
		}
		for _, v := range post[name] {
			data.Fields = append(data.Fields, views.Field{Name: carried, Value: v})
		}
	}
	return h.render(c, status, "sudo.html", "sudo/prompt", data)
}

// sudoMethodText says how a person re-authenticated, for the activity log.
func sudoMethodText(method string) string {
	switch method {
	case sudoByCode:
		return "with a code sent by email"
	case sudoByTOTP:
		return "with a code from the authenticator app"
	case sudoByRecovery:
		return "with a recovery code"
	case sudoByPasskey:
		return "with a passkey"
	}
	return "with the password"
}

// sudoMethodWrong names what was wrong in a failed re-authentication.
func sudoMethodWrong(method string) string {
	switch method {
	case sudoByCode, sudoByTOTP:
		return "code"
	case sudoByPasskey:
		return "passkey"
	}
	return "password"
}
