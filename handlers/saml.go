package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/crewjam/saml"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAML 2.0 sign-in, one service provider per connection (DESIGN section 5):
// /login/saml finds the connection by email domain, /saml/{conn}/login
// sends an AuthnRequest (HTTP-Redirect) and records it by RelayState,
// /saml/{conn}/acs takes the IdP's POST, and /saml/{conn}/metadata
// describes the service provider to the IdP. Package sso builds the service
// providers and reads the assertions; saml_browser.go binds a sign-in to
// its browser.

// spKeySetting is the settings key of the service provider's key and
// certificate (PEM), shared by every connection.
const spKeySetting = "saml_sp_key_cert"

// samlState is the Handler's SAML state: the key pair, loaded once, and the
// clock the service providers check times against (nil: the real one).
type samlState struct {
	mu    sync.Mutex
	key   *sso.SPKey
	clock *dsig.Clock
}

// samlKeys returns the service provider's key and certificate. They are
// made at the first SAML use and kept in settings, so every process and
// every restart presents the same certificate to the IdPs.
func (h *Handler) samlKeys(ctx context.Context) (sso.SPKey, error) {
	h.saml.mu.Lock()
	defer h.saml.mu.Unlock()
	if h.saml.key != nil {
		return *h.saml.key, nil
	}
	stored, err := h.store.Setting(ctx, spKeySetting)
	if errors.Is(err, db.ErrNotFound) {
		if _, replica := h.replica(); replica {
			return sso.SPKey{}, errOnPrimary // only the primary makes the key
		}
		stored, err = h.newSAMLKeys(ctx)
	}
	if err != nil {
		return sso.SPKey{}, fmt.Errorf("saml key: %w", err)
	}
	key, err := sso.ParseSPKeyPEM(stored)
	if err != nil {
		return sso.SPKey{}, err
	}
	h.saml.key = &key
	return key, nil
}

// newSAMLKeys makes the service provider's key pair and stores it, unless
// another process stored one first: it returns the one stored.
func (h *Handler) newSAMLKeys(ctx context.Context) (string, error) {
	fresh, err := sso.NewSPKeyPEM()
	if err != nil {
		return "", err
	}
	return h.store.SettingOrInit(ctx, spKeySetting, fresh)
}

// samlMetadataURL is a connection's metadata address, which is also its
// service provider's entity id.
func (h *Handler) samlMetadataURL(id int64) string {
	return h.link("/saml/" + strconv.FormatInt(id, 10) + "/metadata")
}

// samlACSURL is where a connection's IdP posts its responses.
func (h *Handler) samlACSURL(id int64) string {
	return h.link("/saml/" + strconv.FormatInt(id, 10) + "/acs")
}

// serviceProvider builds the service provider of one connection
// (sso.NewServiceProvider), with the key pair and the clock.
func (h *Handler) serviceProvider(ctx context.Context, conn db.SAMLConnection) (*saml.ServiceProvider, error) {
	key, err := h.samlKeys(ctx)
	if err != nil {
		return nil, err
	}
	h.saml.mu.Lock()
	clock := h.saml.clock
	h.saml.mu.Unlock()
	return sso.NewServiceProvider(conn, sso.SP{Key: key, MetadataURL: h.samlMetadataURL(conn.ID), ACSURL: h.samlACSURL(conn.ID), Clock: clock})
}

// samlConnection loads the connection named by the :conn path parameter;
// an unknown one is a 404.
func (h *Handler) samlConnection(c echo.Context) (db.SAMLConnection, error) {
	id, err := idParam(c, "conn")
	if err != nil {
		return db.SAMLConnection{}, err
	}
	conn, err := h.store.SAMLConnection(c.Request().Context(), id)
	if errors.Is(err, db.ErrNotFound) {
		return conn, echo.ErrNotFound
	}
	return conn, err
}

// samlLoginPage asks for an email; with one (an old bookmark, or the form
// of a browser without the CSRF cookie yet), it sends the person to the
// "Continue with" page of the connection that serves its domain.
func (h *Handler) samlLoginPage(c echo.Context) error {
	email := strings.TrimSpace(c.QueryParam("email"))
	if email == "" {
		return h.render(c, http.StatusOK, "login_saml.html", "", h.authPage(c, "Log in with SAML single sign-on", views.Form{}))
	}
	conn, found, err := h.samlDiscover(c, email)
	if !found {
		return err
	}
	to := at("/saml/:conn/login", conn.ID)
	if next := c.QueryParam("next"); next != "" {
		to = to.query(url.Values{"next": {string(safeNext(next))}})
	}
	return redirect(c, to)
}

// samlLogin is the discovery form's post: it starts the sign-in at the
// connection that serves the email's domain.
func (h *Handler) samlLogin(c echo.Context) error {
	conn, found, err := h.samlDiscover(c, strings.TrimSpace(c.FormValue("email")))
	if !found {
		return err
	}
	return h.samlBegin(c, conn, c.FormValue("next"))
}

// samlDiscover finds the connection that serves email's domain; when there
// is none, or the email is not one, the form with the reason is the answer
// and found is false.
func (h *Handler) samlDiscover(c echo.Context, email string) (conn db.SAMLConnection, found bool, err error) {
	data := h.authPage(c, "Log in with SAML single sign-on", views.Form{})
	data.Form.Values = map[string]string{"email": email}
	checkEmail(&data.Form, email)
	if data.Form.Failed() {
		return conn, false, h.render(c, http.StatusUnprocessableEntity, "login_saml.html", "login-saml/form", data)
	}
	domain := sso.EmailDomain(email)
	conns, err := h.store.SAMLConnectionsForDomain(c.Request().Context(), domain)
	if err != nil {
		return conn, false, err
	}
	// Only a verified domain routes: an Admin's claim on a domain they
	// have not proved to own must not send its people to their IdP. The
	// verified connection comes first, and a domain verifies for one.
	if len(conns) == 0 || !conns[0].DomainVerified(domain) {
		msg := "No organization on this server offers single sign-on to people at " + domain + ". Log in with your password instead."
		if len(conns) > 0 {
			msg = "No organization has verified " + domain + " for single sign-on on this server yet, so we cannot send you to a login page. Ask your account admin for your organization's sign-in link, or log in with your password."
		}
		data.Form.Fail("email", msg)
		return conn, false, h.render(c, http.StatusUnprocessableEntity, "login_saml.html", "login-saml/form", data)
	}
	return conns[0], true, nil
}

// samlStartPage answers a GET of a connection's sign-in start (the sign-in
// link the console shows, a bookmark, an IdP dashboard, a link from
// another site): a page whose button posts to samlStart. A GET never
// starts a sign-in (login CSRF, SECURITY.md).
func (h *Handler) samlStartPage(c echo.Context) error {
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	return h.continueSignIn(c, conn.Name, conn.AccountName, "/saml/"+strconv.FormatInt(conn.ID, 10)+"/login")
}

// samlStart begins an SP-initiated sign-in: a POST with the CSRF token,
// from the "Continue with" page.
func (h *Handler) samlStart(c echo.Context) error {
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	return h.samlBegin(c, conn, c.FormValue("next"))
}

// samlBegin records the AuthnRequest's ID under a random RelayState, bound
// to this browser, and sends the browser to the IdP.
func (h *Handler) samlBegin(c echo.Context, conn db.SAMLConnection, next string) error {
	ctx := c.Request().Context()
	sp, err := h.serviceProvider(ctx, conn)
	if err != nil {
		return err
	}
	sso := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if sso == "" {
		return h.samlRefused(c, conn, "no_redirect_binding", http.StatusBadGateway,
			"The identity provider of "+conn.Name+" has no sign-in address for browser redirects. Ask your account admin to check its metadata.")
	}
	req, err := sp.MakeAuthenticationRequest(sso, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return err
	}
	relay := rand.Text()
	// Who is signed in here is recorded now, while the session cookie is
	// seen: the ACS, a cross-site POST, does not see it (samlSignIn).
	u, _ := currentUser(c)
	if err := h.store.StartSAMLRequest(ctx, db.SAMLRequest{
		RelayState: relay, ConnectionID: conn.ID, RequestID: req.ID, Next: string(safeNext(next)),
		BrowserHash: h.samlBindBrowser(c), SignedInAs: u.ID,
	}); err != nil {
		return err
	}
	to, err := req.Redirect(relay, sp)
	if err != nil {
		return err
	}
	return offsite(c, to.String())
}

// samlACS takes the IdP's response. It is exempt from the CSRF check: the
// POST comes from the IdP's page, and the response carries the IdP's
// signature instead. An SP-initiated response finishes only in the browser
// that started it (the RelayState's request and the roster_saml cookie);
// an IdP-initiated one, which no browser started, is held until the
// person confirms it (samlConfirm), and never signs in here.
func (h *Handler) samlACS(c echo.Context) error {
	ctx := c.Request().Context()
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	r := c.Request()
	relay, ok := sso.ACSForm(r)
	if !ok {
		return h.samlRefused(c, conn, "no_response", http.StatusBadRequest, samlFailedText)
	}
	sp, err := h.serviceProvider(ctx, conn)
	if err != nil {
		return err
	}
	var ids []string
	var next string
	var signedInAs int64
	req, err := h.store.OpenSAMLRequest(ctx, conn.ID, relay)
	switch {
	case err == nil && subtle.ConstantTimeCompare(req.BrowserHash, h.samlBrowser(c)) != 1:
		return h.samlRefused(c, conn, "other_browser", http.StatusForbidden, views.RuleText(db.ErrSAMLOtherBrowser))
	case err == nil:
		ids, next, signedInAs = []string{req.RequestID}, req.Next, req.SignedInAs
	case errors.Is(err, db.ErrSAMLRequestUnknown) && conn.AllowIdPInitiated && len(conn.VerifiedDomains) == 0:
		return h.samlRefused(c, conn, "idp_initiated_unverified", http.StatusForbidden, samlIdPInitiatedUnverifiedText(conn))
	case errors.Is(err, db.ErrSAMLRequestUnknown) && conn.AllowIdPInitiated:
		// Unsolicited: whatever RelayState the IdP sent names no request
		// of ours, and is not trusted as a place to go.
		sp.AllowIDPInitiated, relay = true, ""
	case errors.Is(err, db.ErrSAMLRequestUnknown):
		return h.samlRefused(c, conn, "unknown_relay_state", http.StatusForbidden, views.RuleText(db.ErrSAMLRequestUnknown))
	default:
		return err
	}
	assertion, err := sp.ParseResponse(r, ids)
	if err != nil {
		return h.samlRefused(c, conn, sso.SAMLErrorKind(err), http.StatusForbidden, samlFailedText)
	}
	ext, err := sso.SAMLExternal(conn, assertion)
	if err != nil {
		return h.samlRefused(c, conn, "subject", http.StatusForbidden, samlSubjectRefusal(conn, err))
	}
	if relay == "" {
		return h.samlHold(c, conn, assertion.ID, ext)
	}
	return h.samlSignIn(c, conn, db.SAMLSignIn{Connection: conn, RelayState: relay, AssertionID: assertion.ID, External: ext}, next, signedInAs)
}

// samlSignIn finishes a validated sign-in: SAMLLogin consumes what the
// response answers and resolves the login, and the session starts,
// recording the login that opened it.
//
// A browser signed in to another profile is not switched (the login CSRF
// backstop, otherProfile): what the response answers is spent, nobody is
// signed in, and the page offers to log out first. The person signed in is
// the one whose session this request carries or, at the ACS, which does
// not see the session cookie, signedInAs, recorded when it started.
func (h *Handler) samlSignIn(c echo.Context, conn db.SAMLConnection, in db.SAMLSignIn, next string, signedInAs int64) error {
	in.BrowserHash = h.samlBrowser(c)
	method := "SAML (" + conn.Name + ")"
	u, ok := currentUser(c)
	if !ok && signedInAs != 0 {
		var err error
		u, err = h.store.UserByID(c.Request().Context(), signedInAs)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		ok = err == nil
	}
	if other, err := h.otherProfile(c, u, ok, in.External); err != nil {
		return err
	} else if other {
		err := h.store.SpendSAMLResponse(c.Request().Context(), in)
		if re := (db.RuleError("")); errors.As(err, &re) {
			return h.samlRefused(c, conn, "replayed", http.StatusForbidden, views.SAMLRuleText(re))
		}
		if err != nil {
			return err
		}
		return h.switchRefused(c, u, conn.Name, next)
	}
	ev := event(c, db.EventSignIn)
	ev.Detail = map[string]any{"method": method}
	notices, err := h.loginNotices(c, views.SecurityMail{Change: views.SAMLLinked, Login: conn.Name, Email: in.External.Email})
	if err != nil {
		return err
	}
	in.Notices = notices
	out, err := h.store.SAMLLogin(c.Request().Context(), in, ev)
	var re db.RuleError
	if errors.As(err, &re) {
		kind := "rule"
		switch re {
		case db.ErrSAMLReplayed, db.ErrSAMLRequestUnknown:
			kind = "replayed"
		case db.ErrSAMLOtherBrowser:
			kind = "other_browser"
		}
		return h.samlRefused(c, conn, kind, http.StatusForbidden, views.SAMLRuleText(re))
	}
	if err != nil {
		return err
	}
	// SAMLLogin wrote the sign-in to the audit log with its outcome, and
	// queued its notice, so the session starts here without a second entry.
	// The account's IdP is trusted to have asked its own second factor for
	// the profiles it made (DECISIONS): no second step for them. A profile
	// someone made and protected themselves, which the connection reached
	// by its verified domain, is asked for its own second factor.
	to, _, err := h.signIn(c, firstFactor{UserID: out.User.ID, IdentityID: out.IdentityID, Logged: true, Trusted: out.MadeProfile, Next: safeNext(next)})
	if err != nil {
		return err
	}
	h.queued()
	h.flash.set(c, "success", "You are logged in.")
	return seeOther(c, to)
}

// samlMetadata describes the connection's service provider, for its IdP.
func (h *Handler) samlMetadata(c echo.Context) error {
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
	sp, err := h.serviceProvider(c.Request().Context(), conn)
	if err != nil {
		return err
	}
	buf, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", append([]byte(xml.Header), buf...))
}

const samlFailedText = "Sign-in failed: the response from your identity provider could not be accepted. " +
	"Start again from the login page; if it keeps failing, ask your account admin to check the SAML connection."

// samlRefused answers a SAML sign-in that failed, in plain words. The log
// gets the kind of failure only: never the SAMLResponse, which carries
// personal data and, while it is fresh, a way in.
func (h *Handler) samlRefused(c echo.Context, conn db.SAMLConnection, kind string, status int, text string) error {
	logger(c).Warn("saml sign-in refused", "connection", conn.ID, "kind", kind)
	return h.render(c, status, "message.html", "", views.MessagePage{
		Page: h.page(c, "Sign-in failed"), Heading: "Sign-in failed", Text: text,
		Link: "/login", LinkText: "Back to the login page",
	})
}

// samlSubjectRefusal words why sso.SAMLExternal or sso.CheckDomain
// refused what the IdP said about the person.
func samlSubjectRefusal(conn db.SAMLConnection, err error) string {
	var de *sso.DomainError
	switch {
	case errors.Is(err, sso.ErrNoNameID):
		return "Sign-in failed: the identity provider did not say who you are (no NameID). Ask your account admin to check the SAML connection."
	case errors.Is(err, sso.ErrTransientNameID):
		return "Sign-in failed: the identity provider sent a one-time (transient) NameID. Ask your account admin to configure a persistent NameID or the email address."
	case errors.As(err, &de) && len(de.Domains) == 0:
		return "Sign-in failed: " + conn.Name + " lists no email domains yet, so it logs nobody in. Ask your account admin to add your organization's domain to the connection."
	case errors.As(err, &de):
		return "Sign-in failed: " + conn.Name + " is only for people with email addresses at " + strings.Join(de.Domains, ", ") +
			", and your identity provider sent " + de.Email + ". Ask your account admin to check the connection's email domains."
	case errors.Is(err, sso.ErrNoEmail):
		return "Sign-in failed: the identity provider did not send your email address. Ask your account admin to release the email attribute to Roster."
	}
	return samlFailedText
}
