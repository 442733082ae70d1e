package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/views"
)

const (
	verifyTTL = 48 * time.Hour
	resetTTL  = time.Hour
)

// newToken returns a random token for a link and the hash that is stored.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token)
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// sendVerification queues the mail with a link that confirms the user's
// email, in the transaction that creates the link's token, and wakes the
// outbox: the mail goes at once when the mail server answers, and later,
// with the link still working, when it does not.
func (h *Handler) sendVerification(ctx context.Context, u db.User) error {
	token, hash := newToken()
	m, err := h.views.LinkMail(db.CircumstanceVerify, h.link("/verify/"+token), func(link string) views.Mail {
		return views.VerifyMail{Name: u.DisplayName(), Link: link}
	})
	if err != nil {
		return err
	}
	if err := h.store.CreateEmailToken(ctx, hash, u.ID, db.TokenVerify, u.Email, verifyTTL, m); err != nil {
		return fmt.Errorf("confirmation link of user %d: %w", u.ID, err)
	}
	h.queued()
	return nil
}

// verifyEmailPage is the link mailed to confirm the account email. Mail
// scanners and link previewers open it before the person does, so it only
// asks: the page's form (verifyEmail) confirms. A link that no longer
// works says so here already.
func (h *Handler) verifyEmailPage(c echo.Context) error {
	userID, email, err := h.store.ValidVerifyToken(c.Request().Context(), tokenHash(c.Param("token")))
	if errors.Is(err, db.ErrNotFound) {
		return h.render(c, http.StatusNotFound, "message.html", "", verifyLinkGone(h.page(c, "Email confirmed")))
	}
	if err != nil {
		return err
	}
	return h.confirmLinkPage(c, userID, views.ConfirmLinkPage{Email: email, Action: "/verify/" + c.Param("token")})
}

// confirmLinkPage shows the question of an emailed link for userID's
// profile; a browser not signed in to it is warned first.
func (h *Handler) confirmLinkPage(c echo.Context, userID int64, data views.ConfirmLinkPage) error {
	data.Page = h.page(c, "Confirm your email")
	cur, ok := currentUser(c)
	data.Stranger = !ok || cur.ID != userID
	return h.render(c, http.StatusOK, "confirm_link.html", "", data)
}

func verifyLinkGone(p views.Page) views.MessagePage {
	return views.MessagePage{Page: p, Heading: "This link does not work",
		Text: "It has expired, was already used, or was sent to an address you no longer use. You can ask for a new one on your profile page.", Link: "/profile", LinkText: "Go to your profile"}
}

// verifyEmail is the confirmation page's form: it confirms the account
// email. The first
// confirmation ends what was attached before it (db.VerifyEmail): this
// browser stays signed in unless it was signed in through a login that
// was removed.
func (h *Handler) verifyEmail(c echo.Context) error {
	v, err := h.store.VerifyEmail(c.Request().Context(), tokenHash(c.Param("token")), sessionHash(c), event(c, db.EventEmailVerified))
	data := views.MessagePage{Page: h.page(c, "Email confirmed"), Heading: "Email confirmed",
		Text: "Thank you: your email address is confirmed.", Link: "/profile", LinkText: "Go to your profile"}
	if errors.Is(err, db.ErrNotFound) {
		return h.render(c, http.StatusNotFound, "message.html", "", verifyLinkGone(data.Page))
	}
	if err != nil {
		return err
	}
	if err := h.afterFirstVerification(c, v, &data); err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "message.html", "", data)
}

// afterFirstVerification tells the person, on the page of a link that
// confirmed their email, what the first verification ended, and clears
// this browser's cookie when its session was among those signed out (it
// was opened through a removed login). A profile left without a password
// (its only login was removed: a provider that did not confirm the email
// made it) is offered one, through a reset link to the now confirmed
// address; signing in with the provider again then links only if it
// confirms the email too (ResolveLogin step 2), so the page also says to
// link it again with Add Login.
func (h *Handler) afterFirstVerification(c echo.Context, v db.Verified, data *views.MessagePage) error {
	if !v.First {
		return nil
	}
	cur, signedIn := currentUser(c)
	signedIn = signedIn && cur.ID == v.User.ID
	if signedIn && !v.KeptSession {
		if err := h.sessions.SignOut(c.Response(), c.Request()); err != nil {
			return err
		}
		data.Page.User = db.User{}
		data.Link, data.LinkText = "/login", "Log in"
	}
	if len(v.Removed) > 0 {
		data.Text += " " + removedLoginsText(v.Removed)
	}
	if ended := endedText(v); ended != "" {
		data.Text += " " + ended
	}
	switch {
	case v.SignedOut == 0:
	case signedIn && !v.KeptSession:
		data.Text += " Every session was logged out."
	default:
		data.Text += " Every other session was logged out."
	}
	switch {
	case len(v.Removed) > 0 && v.User.PasswordHash == "":
		data.Text += " Your profile has no password yet: choose one with a link sent to your address, then log in and link your login again with Add Login on your profile."
		data.Link, data.LinkText = "/password/forgot", "Choose a password"
	case !signedIn && v.User.PasswordHash != "":
		// Confirmed from a browser that is not signed in to the profile:
		// perhaps by the owner of an address someone else signed up with,
		// who may still know the password they chose.
		data.Text += " If you did not make this profile yourself, choose a new password now: whoever made it may know its password."
		data.Link, data.LinkText = "/password/forgot", "Choose a new password"
	case len(v.Removed) > 0 && v.KeptSession:
		data.Text += " You can link your logins again with Add Login on your profile."
	case len(v.Removed) > 0:
		data.Text += " Log in with your password; you can link your logins again with Add Login on your profile."
	}
	return nil
}

// endedText says what else the first verification v ended (db's
// unproven list), "" when nothing.
func endedText(v db.Verified) string {
	if !v.First {
		return ""
	}
	return views.EndedBeforeConfirmedText(v.Ended["totp_secrets"] > 0, v.Ended["passkeys"], v.Ended["contact_methods"])
}

func (h *Handler) forgotPage(c echo.Context) error {
	return h.render(c, http.StatusOK, "forgot.html", "", h.authPage(c, "Reset your password", views.Form{}))
}

// forgot queues a reset link when a user has that email, and answers the
// same either way.
func (h *Handler) forgot(c echo.Context) error {
	ctx := c.Request().Context()
	email := strings.TrimSpace(c.FormValue("email"))
	form := views.Form{Values: map[string]string{"email": email}}
	checkEmail(&form, email)
	if form.Failed() {
		return h.render(c, http.StatusUnprocessableEntity, "forgot.html", "forgot/form", h.authPage(c, "Reset your password", form))
	}
	// The client's limit is checked first and alone: its 429 depends only
	// on how often this client asked, never on the address. The address's
	// limit is then taken for every address, known or not, and a full one
	// sends nothing and answers as if it had sent.
	if _, err := h.store.Reserve(ctx, h.throttle.resetIP.on(clientKey(c))); err != nil {
		t, ok := throttled(c, err)
		if !ok {
			return err
		}
		form.Fail("email", "Too many reset requests from your network. "+tryAgainIn(t.RetryAfter))
		return h.render(c, http.StatusTooManyRequests, "forgot.html", "forgot/form", h.authPage(c, "Reset your password", form))
	}
	_, err := h.store.Reserve(ctx, h.throttle.resetAddress.on(emailKey(email)))
	held := errors.Is(err, db.ErrThrottled)
	if err != nil && !held {
		return err
	}
	u, err := h.store.UserByEmail(ctx, email)
	switch {
	case held, errors.Is(err, db.ErrNotFound):
	case err != nil:
		return err
	default:
		// Queued, not sent here: the answer takes the same time whether
		// the mail server is up or not, and the link survives an outage.
		token, hash := newToken()
		m, err := h.views.LinkMail(db.CircumstanceSecurity, h.link("/password/reset/"+token), func(link string) views.Mail {
			return views.ResetMail{Name: u.DisplayName(), Link: link}
		})
		if err != nil {
			return err
		}
		if err := h.store.CreateEmailToken(ctx, hash, u.ID, db.TokenReset, u.Email, resetTTL, m); err != nil {
			return err
		}
		h.queued()
	}
	// A plain post is redirected (post/redirect/get): reloading a page that
	// answered the post would send another link and void the first.
	form.Message = "If a profile exists for " + email + ", a link to choose a new password is on its way to it. The link works for one hour after it is sent."
	return answer(h, c, forgotForm, http.StatusOK, form.Message, func(p *views.AuthPage) { p.Form, p.Sent = form, true })
}

// forgotForm is the form that asks for a reset link; a plain post goes to
// the sign-in page.
var forgotForm = section[views.AuthPage]{file: "forgot.html", fragment: "forgot/form", back: to("/login"),
	load: func(h *Handler, c echo.Context) (views.AuthPage, error) {
		return h.authPage(c, "Reset your password", views.Form{}), nil
	}}

func (h *Handler) resetPage(c echo.Context) error {
	token := c.Param("token")
	_, err := h.store.ValidResetToken(c.Request().Context(), tokenHash(token))
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return err
	}
	data := h.authPage(c, "Choose a new password", views.Form{})
	data.Token, data.Valid = token, err == nil
	status := http.StatusOK
	if !data.Valid {
		status = http.StatusNotFound
	}
	return h.render(c, status, "reset.html", "", data)
}

// reset sets a new password from an emailed link and signs the user out
// everywhere: whoever knew the old password is out too.
func (h *Handler) reset(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	data := h.authPage(c, "Choose a new password", views.Form{})
	data.Token, data.Valid = token, true
	pw := c.FormValue("new_password")
	if err := password.Check(pw); err != nil {
		data.Form.Fail("new_password", err.Error())
		return h.render(c, http.StatusUnprocessableEntity, "reset.html", "reset/form", data)
	}
	// In the hasher's line, at the place a ticket for this link kept.
	hash, err := h.hashInLine(c, "reset:"+hex.EncodeToString(tokenHash(token)), pw)
	if err != nil {
		return h.hashError(err)
	}
	ev := event(c, db.EventPasswordReset)
	if ev.Notice, err = h.securityNoticeFor(c, db.User{}, views.SecurityMail{Change: views.PasswordReset}); err != nil {
		return err
	}
	v, err := h.store.ResetPassword(ctx, tokenHash(token), hash, ev)
	if errors.Is(err, db.ErrNotFound) {
		return redirect(c, at("/password/reset/:token", token)) // which explains that the link is spent
	}
	if err != nil {
		return err
	}
	h.queued()
	// Whoever spent the address's sign-in failures must not keep its owner,
	// who just proved the address, out with the new password.
	if err := h.store.ClearThrottle(ctx, h.throttle.signinEmail.on(emailKey(v.User.Email)).Key); err != nil {
		return err
	}
	if err := h.clearCodePause(ctx, v.User.ID); err != nil {
		return err
	}
	// The current browser's session, if any, was revoked with the others.
	if err := h.sessions.SignOut(c.Response(), c.Request()); err != nil {
		return err
	}
	msg := "Your password is changed. Log in with the new one."
	if removed := removedLoginsText(v.Removed); removed != "" {
		msg += " " + removed
	}
	if ended := endedText(v); ended != "" {
		msg += " " + ended
	}
	h.flash.set(c, "success", msg)
	return redirect(c, "/login")
}
