package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
)

// A SAML sign-in belongs to the browser it happens in: the roster_saml
// cookie binds an SP-initiated request to the browser that started it, and
// an IdP-initiated response, which no browser started, is held until the
// browser it arrived in confirms it.

// samlHold keeps a validated IdP-initiated response until the person
// confirms it, bound to this browser, and sends the browser to the
// confirmation page. The token travels in the URL; without this browser's
// roster_saml cookie it finds nothing.
func (h *Handler) samlHold(c echo.Context, conn db.SAMLConnection, assertionID string, ext db.External) error {
	token := rand.Text()
	err := h.store.HoldSAMLResponse(c.Request().Context(), db.HeldSAML{
		ConnectionID: conn.ID, AssertionID: assertionID, TokenHash: samlTokenHash(token),
		BrowserHash: h.samlBindBrowser(c), External: ext,
	})
	if errors.Is(err, db.ErrSAMLReplayed) {
		return h.samlRefused(c, conn, "replayed", http.StatusForbidden, views.RuleText(db.ErrSAMLReplayed))
	}
	if err != nil {
		return err
	}
	return seeOther(c, at("/saml/:conn/confirm", conn.ID).query(url.Values{"token": {token}}))
}

// samlHeld loads the held response the token names, if this browser holds
// it and the connection still allows IdP-initiated sign-in; the email
// counts as verified per the connection's domains as they are now. When
// it cannot be used, the refusal is the answer, and ok is false.
func (h *Handler) samlHeld(c echo.Context, conn db.SAMLConnection, token string) (ext db.External, ok bool, err error) {
	if !conn.AllowIdPInitiated || len(conn.VerifiedDomains) == 0 {
		return ext, false, h.samlRefused(c, conn, "idp_initiated_unverified", http.StatusForbidden, samlIdPInitiatedUnverifiedText(conn))
	}
	ext, err = h.store.HeldSAMLResponse(c.Request().Context(), conn.ID, samlTokenHash(token), h.samlBrowser(c))
	if errors.Is(err, db.ErrSAMLRequestUnknown) {
		return ext, false, h.samlRefused(c, conn, "unknown_held", http.StatusForbidden, views.RuleText(db.ErrSAMLRequestUnknown))
	}
	if err != nil {
		return ext, false, err
	}
	if err := sso.CheckDomain(conn, ext.Email); err != nil {
		return ext, false, h.samlRefused(c, conn, "subject", http.StatusForbidden, samlSubjectRefusal(conn, err))
	}
	ext.EmailVerified = conn.DomainVerified(sso.EmailDomain(ext.Email))
	return ext, true, nil
}

// samlConfirmPage asks the person whether to finish an IdP-initiated
// sign-in; nothing is signed in until they post its form.
func (h *Handler) samlConfirmPage(c echo.Context) error {
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	token := c.QueryParam("token")
	ext, ok, err := h.samlHeld(c, conn, token)
	if !ok {
		return err
	}
	// The login CSRF backstop: a browser signed in to another profile is
	// not offered the switch (samlSignIn refuses the post too).
	u, signedIn := currentUser(c)
	if other, err := h.otherProfile(c, u, signedIn, ext); err != nil || other {
		if err != nil {
			return err
		}
		return h.switchRefused(c, u, conn.Name, "")
	}
	return h.render(c, http.StatusOK, "saml_confirm.html", "", views.SAMLConfirmPage{
		Page: h.page(c, "Confirm your sign-in"), Email: ext.Email, Connection: conn.Name,
		Action: "/saml/" + strconv.FormatInt(conn.ID, 10) + "/confirm", Token: token,
	})
}

// samlConfirm finishes an IdP-initiated sign-in the person confirmed: a
// POST with the CSRF token, from the browser the response was held for.
func (h *Handler) samlConfirm(c echo.Context) error {
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	token := c.FormValue("token")
	ext, ok, err := h.samlHeld(c, conn, token)
	if !ok {
		return err
	}
	return h.samlSignIn(c, conn, db.SAMLSignIn{Connection: conn, HeldTokenHash: samlTokenHash(token), External: ext}, "", 0)
}

func samlTokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func samlIdPInitiatedUnverifiedText(conn db.SAMLConnection) string {
	return "Sign-in failed: " + conn.Name + " cannot start a sign-in from the identity provider's side until one of its email domains is verified. " +
		"Start from Roster's login page instead (Log in with single sign-on), or ask your account admin to verify the domain."
}

// samlBrowserCookie binds a SAML sign-in to the browser it happens in. The
// ACS POST comes from the IdP's page, a cross-site POST: under https the
// cookie is SameSite=None; Secure so that the POST carries it; under plain
// http (a demo on localhost) SameSite=None needs Secure, which browsers
// refuse without https, so the attribute is left out: Firefox and Safari
// then send it, and Chrome does for two minutes after it is set (its
// Lax-allowing-unsafe rule), and always when the IdP is on the same site.
func (h *Handler) samlBrowserCookie() string {
	if h.cfg.Secure() {
		return "__Host-roster_saml"
	}
	return "roster_saml"
}

// samlBrowser is the SHA-256 of this browser's roster_saml cookie, or nil
// when it has none.
func (h *Handler) samlBrowser(c echo.Context) []byte {
	ck, err := c.Cookie(h.samlBrowserCookie())
	if err != nil || len(ck.Value) != len(rand.Text()) {
		return nil
	}
	return samlTokenHash(ck.Value)
}

// samlBindBrowser is samlBrowser, giving the browser a fresh random cookie
// when it has none; either way the cookie lives for SAMLRequestTTL more.
func (h *Handler) samlBindBrowser(c echo.Context) []byte {
	value := rand.Text()
	if ck, err := c.Cookie(h.samlBrowserCookie()); err == nil && len(ck.Value) == len(value) {
		value = ck.Value
	}
	same := http.SameSiteDefaultMode
	if h.cfg.Secure() {
		same = http.SameSiteNoneMode
	}
	c.SetCookie(&http.Cookie{
		Name: h.samlBrowserCookie(), Value: value, Path: "/", MaxAge: int(db.SAMLRequestTTL / time.Second),
		HttpOnly: true, Secure: h.cfg.Secure(), SameSite: same,
	})
	return samlTokenHash(value)
}
