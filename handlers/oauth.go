package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
)

// Sign-in and Add Login through OAuth 2.0 and OpenID Connect, DESIGN
// section 5. Package sso speaks the protocols (OpenID Connect, GitHub's
// OAuth app); the state of each flow lives in a cookie of ours.

const (
	modeLogin = "login" // log in (or sign up) with the external login
	modeLink  = "link"  // Add Login: link it to the signed-in user
)

// oauthFlow is what one sign-in or Add Login remembers between the redirect
// to the provider and the provider's redirect back.
type oauthFlow struct {
	Provider string // the provider's key
	State    string
	Verifier string // PKCE code_verifier
	Nonce    string // OpenID Connect nonce
	Session  string // GitHub: goth's session, marshalled
	Mode     string
	UserID   int64             // modeLink: who started it
	Next     string            // modeLogin: where to go once signed in
	Browser  [sha256.Size]byte // of the CSRF token of the browser that started it
}

// trip is the part of f that the provider's protocol reads.
func (f oauthFlow) trip() sso.Flow {
	return sso.Flow{State: f.State, Verifier: f.Verifier, Nonce: f.Nonce, Session: f.Session}
}

// flowCookie keeps an oauthFlow in an encrypted, signed cookie that lives
// ten minutes and is sent only to /auth, where the callbacks are. Its name
// cannot have the __Host- prefix, which requires Path=/.
type flowCookie struct {
	codec  *securecookie.SecureCookie
	secure bool
}

const (
	flowCookieName = "roster_oauth"
	flowTTL        = 600 // seconds
)

func newFlowCookie(secret []byte, secure bool) *flowCookie {
	codec := securecookie.New(deriveKey(secret, "oauth flow hash"), deriveKey(secret, "oauth flow block"))
	codec.MaxAge(flowTTL)
	return &flowCookie{codec: codec, secure: secure}
}

func (fc *flowCookie) set(c echo.Context, f oauthFlow) error {
	v, err := fc.codec.Encode(flowCookieName, f)
	if err != nil {
		return fmt.Errorf("encode oauth flow: %w", err)
	}
	c.SetCookie(&http.Cookie{Name: flowCookieName, Value: v, Path: "/auth", MaxAge: flowTTL,
		HttpOnly: true, Secure: fc.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// take returns the flow, once: the cookie is deleted whatever it held.
func (fc *flowCookie) take(c echo.Context) (oauthFlow, bool) {
	var f oauthFlow
	ck, err := c.Cookie(flowCookieName)
	if err != nil {
		return f, false
	}
	c.SetCookie(&http.Cookie{Name: flowCookieName, Path: "/auth", MaxAge: -1,
		HttpOnly: true, Secure: fc.secure, SameSite: http.SameSiteLaxMode})
	return f, fc.codec.Decode(flowCookieName, ck.Value, &f) == nil
}

// oauthStartPage answers a GET of the sign-in start (a bookmark, a link
// from another site): a page whose button posts to oauthStart. A GET never
// starts a sign-in, so another site cannot sign this browser in to a
// profile of its choosing (login CSRF, SECURITY.md).
func (h *Handler) oauthStartPage(c echo.Context) error {
	p, ok := h.providers.Get(c.Param("provider"))
	if !ok {
		return echo.ErrNotFound
	}
	return h.continueSignIn(c, p.Name, "", "/auth/"+p.Key)
}

// continueSignIn renders the "Continue with" page of a sign-in start:
// its form posts to action with the CSRF token and the (safe) next.
// account names the account of a SAML connection ("" for a provider).
func (h *Handler) continueSignIn(c echo.Context, name, account, action string) error {
	return h.render(c, http.StatusOK, "signin_continue.html", "", views.ContinueSignInPage{
		Page: h.page(c, "Log in with "+name), Name: name, Account: account, Action: action, Next: string(safeNext(c.QueryParam("next"))),
	})
}

// oauthStart sends the person to the provider to sign in: a POST with the
// CSRF token, from the login page's icons or the "Continue with" page.
func (h *Handler) oauthStart(c echo.Context) error {
	p, ok := h.providers.Get(c.Param("provider"))
	if !ok {
		return echo.ErrNotFound
	}
	return h.beginFlow(c, p, oauthFlow{Mode: modeLogin, Next: string(safeNext(c.FormValue("next")))})
}

// addLogin starts Add Login: the same trip to the provider, which links
// the login to the signed-in user when it comes back.
func (h *Handler) addLogin(c echo.Context) error {
	p, ok := h.providers.Get(c.Param("provider"))
	if !ok {
		return echo.ErrNotFound
	}
	u, _ := currentUser(c)
	if !u.EmailVerified() {
		return h.refuseAddLogin(c)
	}
	return h.beginFlow(c, p, oauthFlow{Mode: modeLink, UserID: u.ID, Next: "/profile#sso-logins"})
}

func (h *Handler) beginFlow(c echo.Context, p sso.Provider, f oauthFlow) error {
	l, err := h.providers.Login(c.Request().Context(), p)
	if err != nil {
		logger(c).Error("external login unavailable", "provider", p.Key, "err", err)
		return h.oauthProblem(c, http.StatusServiceUnavailable, f, p.Name+" is not available",
			"We could not reach "+p.Name+" to log you in. Please try again in a few minutes, or log in another way.")
	}
	fresh := sso.NewFlow()
	f.Provider, f.State, f.Nonce, f.Verifier = p.Key, fresh.State, fresh.Nonce, fresh.Verifier
	f.Browser = flowBrowser(c)
	to, session, err := l.Start(f.trip())
	if err != nil {
		return fmt.Errorf("begin %s login: %w", p.Key, err)
	}
	f.Session = session
	if err := h.flows.set(c, f); err != nil {
		return err
	}
	return offsite(c, to)
}

// oauthCallback is where the provider sends the person back, for both
// sign-in and Add Login. Nothing happens unless the state matches the one
// in this browser's flow cookie.
func (h *Handler) oauthCallback(c echo.Context) error {
	p, ok := h.providers.Get(c.Param("provider"))
	if !ok {
		return echo.ErrNotFound
	}
	f, ok := h.flows.take(c)
	state := c.QueryParam("state")
	if !ok || !flowMatches(f, p.Key, state, flowBrowser(c)) {
		return h.oauthProblem(c, http.StatusBadRequest, f, "This sign-in did not start here",
			"The sign-in with "+p.Name+" has expired, or was not started from this browser. Please start again.")
	}
	if c.QueryParam("error") != "" {
		return h.oauthProblem(c, http.StatusBadRequest, f, "Sign-in with "+p.Name+" was cancelled",
			p.Name+" did not log you in: you cancelled, or it refused. You can try again.")
	}
	ext, err := h.exchange(c, p, f)
	if err != nil {
		logger(c).Warn("external login failed", "provider", p.Key, "err", err)
		return h.oauthProblem(c, http.StatusBadGateway, f, p.Name+" did not confirm the sign-in",
			"We could not complete the sign-in with "+p.Name+". Please try again.")
	}
	if f.Mode == modeLink {
		return h.finishLink(c, p, f, ext)
	}
	return h.finishLogin(c, p, f, ext)
}

// flowMatches reports whether a callback answers flow f: it is for the
// same provider, brings back the state f sent away, and comes to the
// browser that started it (browser, flowBrowser's answer).
func flowMatches(f oauthFlow, provider, state string, browser [sha256.Size]byte) bool {
	return f.Provider == provider && state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) == 1 &&
		subtle.ConstantTimeCompare(browser[:], f.Browser[:]) == 1
}

// flowBrowser names this browser for a flow: the SHA-256 of its CSRF
// token, a __Host- cookie under https that a sibling subdomain cannot
// plant (the flow cookie itself, Path=/auth, cannot have the prefix). No
// sign-in happens between a flow's start and its callback, so the token
// does not change in between; a flow cookie planted in another browser
// meets another token (login CSRF, SECURITY.md).
func flowBrowser(c echo.Context) [sha256.Size]byte {
	token, _ := c.Get(ctxCSRF).(string)
	return sha256.Sum256([]byte(token))
}

// exchange trades the code for tokens and asks the provider who signed in.
func (h *Handler) exchange(c echo.Context, p sso.Provider, f oauthFlow) (db.External, error) {
	ctx := c.Request().Context()
	l, err := h.providers.Login(ctx, p)
	if err != nil {
		return db.External{}, err
	}
	return l.Finish(ctx, f.trip(), c.QueryParam("code"))
}

// finishLogin signs the person in as the user the external login resolves
// to, or says in plain words why not.
func (h *Handler) finishLogin(c echo.Context, p sso.Provider, f oauthFlow, ext db.External) error {
	// A browser signed in to another profile is not switched (login CSRF
	// backstop): nothing is written, and the page offers to log out first.
	if switched, err := h.refuseSwitch(c, ext, p.Name, f.Next); switched || err != nil {
		return err
	}
	ev := event(c, db.EventSignIn)
	ev.Detail = map[string]any{"method": p.Name, "email": ext.Email}
	// The security notice the outcome calls for is queued in ResolveLogin's
	// transaction, with the sign-in.
	notices, err := h.loginNotices(c, views.SecurityMail{Change: views.LoginLinked, Login: p.Name, Email: ext.Email})
	if err != nil {
		return err
	}
	u, outcome, err := h.store.ResolveLogin(c.Request().Context(), ext, h.cfg.Signup == SignupOpen, ev, notices)
	var re db.RuleError
	if errors.As(err, &re) {
		status := http.StatusConflict
		if re == db.ErrSignupClosed {
			status = http.StatusForbidden
		}
		return h.oauthProblem(c, status, f, "You are not logged in", views.RuleText(re))
	}
	if err != nil {
		return err
	}
	// The session records the login that opened it, so that the first
	// verification of the account email, which removes the logins linked
	// before it, signs the session out too.
	id, err := h.store.IdentityBySubject(c.Request().Context(), ext.Provider, ext.Subject)
	if err != nil {
		return err
	}
	// ResolveLogin wrote the sign-in to the audit log in its transaction.
	// The person's second factor is asked too (DECISIONS).
	to, second, err := h.signIn(c, firstFactor{UserID: u.ID, IdentityID: id.ID, Method: p.Name, Logged: true, Next: safeNext(f.Next)})
	if err != nil {
		return err
	}
	h.queued()
	if second {
		return seeOther(c, to)
	}
	msg := "You are logged in with " + p.Name + "."
	switch outcome {
	case db.LoginCreated:
		msg = "Welcome to Roster! Your profile was made from your " + p.Name + " login."
	case db.LoginLinked:
		msg = "Your " + p.Name + " login is now linked to your profile, which has the same confirmed email. You are logged in."
	}
	h.flash.set(c, "success", msg)
	return seeOther(c, to)
}

// finishLink is Add Login's return: the login is linked to the user who
// started it, who must still be the one signed in.
func (h *Handler) finishLink(c echo.Context, p sso.Provider, f oauthFlow, ext db.External) error {
	u, ok := currentUser(c)
	if !ok || u.ID != f.UserID {
		return h.oauthProblem(c, http.StatusForbidden, oauthFlow{}, "Nothing was linked",
			"You are no longer logged in as the person who started Add Login. Log in and try again from your profile.")
	}
	ev := event(c, db.EventLoginLinked)
	ev.Detail = map[string]any{"method": p.Name}
	// The security notice is queued in the transaction of the link.
	notice, err := h.securityNoticeFor(c, u, views.SecurityMail{Change: views.LoginAdded, Login: p.Name, Email: ext.Email})
	if err != nil {
		return err
	}
	ev.Notice = notice
	err = h.store.LinkIdentity(c.Request().Context(), u.ID, ext, ev)
	var re db.RuleError
	switch {
	case errors.As(err, &re):
		h.flash.set(c, "error", views.RuleText(re))
	case err != nil:
		return err
	default:
		h.queued()
		msg := "Your " + p.Name + " login is linked: you can log in with it now."
		if ext.Email != "" {
			msg = "Your " + p.Name + " login (" + ext.Email + ") is linked: you can log in with it now."
		}
		h.flash.set(c, "success", msg)
	}
	return seeOther(c, "/profile#sso-logins")
}

// oauthProblem answers a sign-in that did not work with a page that says
// why and where to go next: back to the profile for Add Login, to the
// sign-in page otherwise. No session is started.
func (h *Handler) oauthProblem(c echo.Context, status int, f oauthFlow, heading, text string) error {
	data := views.MessagePage{Page: h.page(c, heading), Heading: heading, Text: text, Link: "/login", LinkText: "Back to log in"}
	if _, ok := currentUser(c); ok && f.Mode == modeLink {
		data.Link, data.LinkText = "/profile#sso-logins", "Back to your profile"
	}
	return h.render(c, status, "message.html", "", data)
}

// loginOptions are the configured providers, for the "Log in with" and
// "Add Login" buttons.
func (h *Handler) loginOptions() []views.LoginOption {
	var list []views.LoginOption
	for _, p := range h.cfg.OAuth {
		list = append(list, views.LoginOption{Key: p.Key, Name: p.Name, Icon: loginIcon(p.Key)})
	}
	return list
}

// loginIcon is the vendored brand mark (static/icons, see static/VERSIONS)
// of the provider with key.
func loginIcon(key string) string {
	switch key {
	case sso.Google, sso.GitHub, sso.Slack:
		return key + ".svg"
	}
	return "openid.svg"
}

// refuseSwitch is the backstop against login CSRF at an OAuth sign-in's
// return: when this browser is signed in to another profile than the one
// ext resolves to, it answers with the page of switchRefused, writes
// nothing, and switched is true.
func (h *Handler) refuseSwitch(c echo.Context, ext db.External, method, next string) (switched bool, err error) {
	u, ok := currentUser(c)
	other, err := h.otherProfile(c, u, ok, ext)
	if !other || err != nil {
		return false, err
	}
	return true, h.switchRefused(c, u, method, next)
}

// otherProfile reports whether u, signed in to this browser (when
// signedIn), would be switched to another person, or to nobody yet, by
// ext: the rule of the login CSRF backstop at every external sign-in's
// return (OAuth callback, SAML ACS, a confirmed IdP-initiated sign-in;
// DECISIONS). ext resolves to u when u's login has its subject, or when it
// would be linked to u by u's confirmed email. It only reads.
func (h *Handler) otherProfile(c echo.Context, u db.User, signedIn bool, ext db.External) (bool, error) {
	if !signedIn {
		return false, nil
	}
	id, err := h.store.IdentityBySubject(c.Request().Context(), ext.Provider, ext.Subject)
	switch {
	case err == nil:
		return id.UserID != u.ID, nil
	case !errors.Is(err, db.ErrNotFound):
		return false, err
	}
	mine := ext.EmailVerified && u.EmailVerified() && db.NormalEmail(ext.Email) == u.Email
	return !mine, nil
}

// switchRefused answers an external sign-in that came back for another
// profile than u's, in u's browser: u stays signed in, and the page offers
// to log out first (then log in again, going to next).
func (h *Handler) switchRefused(c echo.Context, u db.User, method, next string) error {
	logger(c).Warn("external sign-in for another profile refused", "user_id", u.ID, "method", method)
	return h.render(c, http.StatusConflict, "signin_switch.html", "", views.SignInSwitchPage{
		Page: h.page(c, "You are logged in as "+u.Email), Current: u.Email, Method: method, Next: string(safeNext(next)),
	})
}
