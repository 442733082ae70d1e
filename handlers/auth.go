package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/views"
)

const wrongCredentials = "Wrong email or password."

// loginTitle is the login page's title: one verb family, Log in and Log out.
const loginTitle = "Log in"

func (h *Handler) authPage(c echo.Context, title string, form views.Form) views.AuthPage {
	return views.AuthPage{
		Page:       h.page(c, title),
		Form:       form,
		Next:       string(safeNext(c.FormValue("next"))),
		SignupOpen: h.cfg.Signup == SignupOpen,
		InviteOnly: h.cfg.Signup == SignupInvite,
		Logins:     h.loginOptions(),
		SAML:       h.samlOffered(c),
		Passkeys:   h.passkeys != nil,
	}
}

// samlOffered says whether the login page shows the SAML icon: when any
// SAML connection exists. A failed look-up hides it (and is logged); the
// other ways in still work.
func (h *Handler) samlOffered(c echo.Context) bool {
	ok, err := h.store.AnySAMLConnection(c.Request().Context())
	if err != nil {
		logger(c).Error("login page: saml connections", "err", err)
		return false
	}
	return ok
}

func (h *Handler) loginPage(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return seeOther(c, safeNext(c.QueryParam("next")))
	}
	return h.render(c, http.StatusOK, "login.html", "", h.authPage(c, loginTitle, views.Form{}))
}

// login checks a password. A wrong email and a wrong password give the same
// answer after the same work: an unknown email still pays for one hash.
func (h *Handler) login(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	form := views.Form{Values: map[string]string{"email": email}}
	if email == "" {
		form.Fail("email", "Enter your email.")
	}
	if pw == "" {
		form.Fail("password", "Enter your password.")
	}
	if form.Failed() {
		return h.render(c, http.StatusUnprocessableEntity, "login.html", "login/form", h.authPage(c, loginTitle, form))
	}
	// The attempt takes its slot before the hash, so concurrent attempts
	// cannot all pass the check; a wrong password keeps it.
	slot, err := h.reservePassword(c, email)
	if _, ok := throttled(c, err); ok {
		form.Fail("form", throttledMessage)
		return h.render(c, http.StatusTooManyRequests, "login.html", "login/form", h.authPage(c, loginTitle, form))
	}
	if err != nil {
		return err
	}
	u, err := h.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	// The check waits in line for the hasher, at the place a ticket kept.
	ok, err := h.verifyInLine(c, email, pw, u.PasswordHash)
	if err != nil {
		h.release(ctx, c, slot) // nothing was checked
		if busy, ok := waitTooLong(c, err); ok {
			form.Fail("form", busyMessage(busy))
			return h.render(c, http.StatusServiceUnavailable, "login.html", "login/form", h.authPage(c, loginTitle, form))
		}
		return h.hashError(err)
	}
	if !ok {
		if u.ID != 0 {
			ev := event(c, db.EventSignInFailed)
			ev.UserID = u.ID
			if err := h.store.AddEvent(ctx, ev); err != nil {
				return err
			}
		}
		form.Fail("form", wrongCredentials)
		return h.render(c, http.StatusUnprocessableEntity, "login.html", "login/form", h.authPage(c, loginTitle, form))
	}
	h.release(ctx, c, slot)
	if password.NeedsRehash(u.PasswordHash) {
		h.rehash(ctx, c, u, pw)
	}
	to, second, err := h.signIn(c, firstFactor{UserID: u.ID, Method: "password", Next: safeNext(c.FormValue("next"))})
	if err != nil {
		return err
	}
	// The email's failures are cleared only by a finished sign-in: wrong
	// second-step codes count against the same limit, and a right password
	// alone must not give them a fresh one (passSecondStep clears it when
	// the second step passes).
	if !second {
		if err := h.store.ClearThrottle(ctx, h.throttle.signinEmail.on(emailKey(email)).Key); err != nil {
			return err
		}
		h.flash.set(c, "success", "You are logged in.")
	}
	return redirect(c, to)
}

// firstFactor is who the first step of a sign-in proved to be, and how.
type firstFactor struct {
	UserID     int64
	IdentityID int64  // the external login signed in with; 0 for a password
	Method     string // as the audit log names it: "password", "signup", a provider's name
	Logged     bool   // the sign-in is in the audit log already, with its notices (external logins)
	Trusted    bool   // the login's identity provider does its own second factor (SAML)
	Next       place  // where the sign-in goes once done
}

// signIn is where every sign-in ends once its first factor is right.
// Someone with a second factor (db.SecondFactors), unless the login is
// Trusted, gets a sign-in pending in this browser instead of a session
// (twofactor.go), and to is the second step's page; otherwise the session
// starts and to is f.Next.
func (h *Handler) signIn(c echo.Context, f firstFactor) (to place, second bool, err error) {
	if !f.Trusted {
		factors, err := h.secondFactors(c, f.UserID)
		if err != nil {
			return "", false, err
		}
		if factors.Any() {
			return "/login/two-factor", true, h.startSecondStep(c, f)
		}
	}
	return f.Next, false, h.startSession(c, f, map[string]any{"method": f.Method})
}

// startSession starts a new session for f and, unless it is logged
// already, records the sign-in with detail.
func (h *Handler) startSession(c echo.Context, f firstFactor, detail map[string]any) error {
	if err := h.sessions.SignInThrough(c.Response(), c.Request(), f.UserID, f.IdentityID); err != nil {
		return err
	}
	h.newCSRF(c) // as the session id is new, so is the CSRF token
	if f.Logged {
		return nil
	}
	userID := f.UserID
	ev := event(c, db.EventSignIn)
	ev.UserID, ev.Detail = userID, detail
	// A browser that never signed in to this profile before is news for
	// its owner (a first sign-in ever is not).
	fresh, err := h.store.NewSignInDevice(c.Request().Context(), userID, ev.UserAgent)
	if err != nil {
		return err
	}
	if fresh {
		if ev.Notice, err = h.newDeviceNotice(c); err != nil {
			return err
		}
	}
	if err := h.store.AddEvent(c.Request().Context(), ev); err != nil {
		return err
	}
	if fresh {
		h.queued()
	}
	return nil
}

// rehash upgrades a hash made with older, weaker parameters while the
// plaintext is at hand. The write happens only while u's hash, the one the
// password was checked against, is still stored: a password changed in
// the meantime stays. Failing to is not worth failing the sign-in.
func (h *Handler) rehash(ctx context.Context, c echo.Context, u db.User, password string) {
	hash, err := h.hasher.Hash(ctx, password)
	if err == nil {
		err = h.store.SetPasswordHash(ctx, u.ID, u.PasswordHash, hash)
	}
	switch {
	case errors.Is(err, db.ErrConflict):
		logger(c).Info("rehash skipped: the password changed meanwhile", "user_id", u.ID)
	case err != nil:
		logger(c).Warn("rehash password", "user_id", u.ID, "err", err)
	}
}

// hashError maps a hashing failure: a wait for the hasher past the budget
// is the one the person should hear about, with the wait (the central
// error handler puts it in Retry-After).
func (h *Handler) hashError(err error) error {
	var busy *password.BusyError
	if errors.As(err, &busy) {
		return echo.NewHTTPError(http.StatusServiceUnavailable, busyMessage(busy)).SetInternal(err)
	}
	if errors.Is(err, password.ErrBusy) {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "The server is busy. Please try again in a few seconds.").SetInternal(err)
	}
	return err
}

// busyMessage says when to try again after the hasher refused a wait.
func busyMessage(busy *password.BusyError) string {
	n := retryAfter(busy)
	if n == "1" {
		return "Many people are signing in right now. Please try again in a second: your place in line is kept."
	}
	return "Many people are signing in right now. Please try again in " + n + " seconds: your place in line is kept."
}

func (h *Handler) signupPage(c echo.Context) error {
	if _, ok := currentUser(c); ok {
		return seeOther(c, "/profile")
	}
	data := h.authPage(c, "Create your profile", views.Form{})
	if h.cfg.Signup == SignupInvite {
		inv, ok, err := h.signupInvite(c)
		if err != nil {
			return err
		}
		if ok {
			data.SignupOpen = true
			data.Form.Values = map[string]string{"email": inv.Email}
		}
	}
	return h.render(c, http.StatusOK, "signup.html", "", data)
}

// signupAllowed decides whether this sign-up may go ahead: always with
// open sign-up; with invite-only sign-up when it comes from an open invite
// link, which is returned so the email can be checked against it.
func (h *Handler) signupAllowed(c echo.Context) (db.Invite, error) {
	switch h.cfg.Signup {
	case SignupOpen:
		return db.Invite{}, nil
	case SignupInvite:
		inv, ok, err := h.signupInvite(c)
		if err != nil || ok {
			return inv, err
		}
		return db.Invite{}, echo.NewHTTPError(http.StatusForbidden, "Sign-up is by invitation only: follow the link in your invitation email.")
	}
	return db.Invite{}, echo.NewHTTPError(http.StatusForbidden, "Sign-up is closed on this server.")
}

func (h *Handler) signup(c echo.Context) error {
	ctx := c.Request().Context()
	invite, err := h.signupAllowed(c)
	if err != nil {
		return err
	}
	page := func(form views.Form) views.AuthPage {
		data := h.authPage(c, "Create your profile", form)
		data.SignupOpen = data.SignupOpen || invite.ID != 0
		return data
	}
	name := strings.TrimSpace(c.FormValue("name"))
	email := strings.TrimSpace(c.FormValue("email"))
	pw := c.FormValue("password")
	form := views.Form{Values: map[string]string{"name": name, "email": email}}
	checkName(&form, name)
	checkNewEmail(&form, email)
	if invite.ID != 0 && !form.Failed() && db.NormalEmail(email) != db.NormalEmail(invite.Email) {
		form.Fail("email", "Your invite is for "+invite.Email+". Sign up with that address.")
	}
	if err := password.Check(pw); err != nil {
		form.Fail("password", err.Error())
	}
	if form.Failed() {
		return h.render(c, http.StatusUnprocessableEntity, "signup.html", "signup/form", page(form))
	}
	hash, err := h.hashInLine(c, email, pw)
	if busy, ok := waitTooLong(c, err); ok {
		form.Fail("form", busyMessage(busy))
		return h.render(c, http.StatusServiceUnavailable, "signup.html", "signup/form", page(form))
	}
	if err != nil {
		return h.hashError(err)
	}
	u, err := h.store.CreateUser(ctx, db.NewUser{Email: email, Name: name, PasswordHash: hash}, event(c, db.EventSignUp))
	if errors.Is(err, db.ErrConflict) {
		form.Fail("email", "A profile with this email already exists. Log in, or reset your password if you forgot it.")
		return h.render(c, http.StatusUnprocessableEntity, "signup.html", "signup/form", page(form))
	}
	if err != nil {
		return err
	}
	// A new profile has no second factor: the session starts.
	if _, _, err := h.signIn(c, firstFactor{UserID: u.ID, Method: "signup"}); err != nil {
		return err
	}
	if err := h.sendVerification(ctx, u); err != nil {
		return err
	}
	h.flash.set(c, "success", "Welcome to Roster! A link to confirm your email is on its way to "+u.Email+".")
	return redirect(c, safeNext(c.FormValue("next")))
}

func (h *Handler) logout(c echo.Context) error {
	if u, ok := currentUser(c); ok {
		ev := event(c, db.EventSignOut)
		ev.UserID = u.ID
		if err := h.store.AddEvent(c.Request().Context(), ev); err != nil {
			return err
		}
	}
	if err := h.sessions.SignOut(c.Response(), c.Request()); err != nil {
		return err
	}
	// A sign-in waiting for its second step ends too.
	if p, err := h.pendingSignIn(c); err == nil {
		if err := h.store.DropPendingSignIn(c.Request().Context(), p.TokenHash); err != nil {
			return err
		}
		h.clearPendingCookie(c)
	}
	h.flash.set(c, "success", "You are logged out.")
	// An optional next, such as an invite page's "Log in as someone else",
	// is where the next sign-in goes.
	to := place("/login")
	if next := c.FormValue("next"); next != "" {
		to = loginWithNext(next)
	}
	return redirect(c, to)
}

// checkName requires a name of 1 to 100 characters.
func checkName(form *views.Form, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		form.Fail("name", "Enter your name.")
	case n > 100:
		form.Fail("name", "Use at most 100 characters.")
	case strings.ContainsFunc(name, unicode.IsControl):
		// The name goes into mail and the audit log, where a line break
		// could forge a line of its own.
		form.Fail("name", "Use a name without line breaks or tabs.")
	}
}

// checkEmail requires one plain address, as typed, such as ann@example.com.
func checkEmail(form *views.Form, email string) {
	if email == "" {
		form.Fail("email", "Enter your email.")
		return
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		form.Fail("email", "Enter an email address such as ann@example.com.")
	}
}

// checkNewEmail is checkEmail for an address Roster is to store (a
// sign-up, an invite): in ASCII alone. Forms that only look an address up
// (forgot password, SAML) take what checkEmail takes, so a profile whose
// address came otherwise can still ask for a reset link.
func checkNewEmail(form *views.Form, email string) {
	if email != "" && !db.PlainEmail(email) {
		form.Fail("email", notPlainEmail)
		return
	}
	checkEmail(form, email)
}

// notPlainEmail refuses an address with other letters than ASCII ones,
// some of which lowercase onto ASCII letters (db.NormalEmail).
const notPlainEmail = "Enter an email address without accented letters or other alphabets, such as ann@example.com."
