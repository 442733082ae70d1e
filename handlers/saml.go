package handlers

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAML 2.0 sign-in, one service provider per connection (DESIGN section 5):
// /login/saml finds the connection by email domain, /saml/{conn}/login
// sends an AuthnRequest (HTTP-Redirect) and records it by RelayState,
// /saml/{conn}/acs takes the IdP's POST, and /saml/{conn}/metadata
// describes the service provider to the IdP.

// spKeySetting is the settings key of the service provider's key and
// certificate (PEM), shared by every connection.
const spKeySetting = "saml_sp_key_cert"

// samlState is the Handler's SAML state: the key pair, loaded once, and the
// clock the service providers check times against (nil: the real one).
type samlState struct {
	mu    sync.Mutex
	key   *rsa.PrivateKey
	cert  *x509.Certificate
	clock *dsig.Clock
}

// samlKeys returns the service provider's key and certificate. They are
// made at the first SAML use and kept in settings, so every process and
// every restart presents the same certificate to the IdPs.
func (h *Handler) samlKeys(ctx context.Context) (*rsa.PrivateKey, *x509.Certificate, error) {
	h.saml.mu.Lock()
	defer h.saml.mu.Unlock()
	if h.saml.key != nil {
		return h.saml.key, h.saml.cert, nil
	}
	fresh, err := newSPKeyPEM()
	if err != nil {
		return nil, nil, err
	}
	stored, err := h.store.SettingOrInit(ctx, spKeySetting, fresh)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	key, cert, err := parseSPKeyPEM(stored)
	if err != nil {
		return nil, nil, err
	}
	h.saml.key, h.saml.cert = key, cert
	return key, cert, nil
}

// newSPKeyPEM makes an RSA 2048 key and a self-signed certificate for it,
// valid for 10 years: IdPs use it only as a container for the public key.
func newSPKeyPEM() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Roster SAML service provider"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", fmt.Errorf("saml certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

func parseSPKeyPEM(s string) (*rsa.PrivateKey, *x509.Certificate, error) {
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("saml key: %w", err)
			}
			key, _ = k.(*rsa.PrivateKey)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("saml certificate: %w", err)
			}
			cert = c
		}
	}
	if key == nil || cert == nil {
		return nil, nil, errors.New("saml key: the stored key or certificate is missing")
	}
	return key, cert, nil
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

// serviceProvider builds the service provider of one connection. Its
// entity id is its metadata URL, which is what crewjam checks the
// assertion's audience against. Signatures are always required (no
// SignatureVerifier override), SHA-1 signatures are refused, and
// IdP-initiated responses are refused unless the caller allows them.
// AuthnRequests are not signed: they carry nothing secret, the response is
// what is checked, and IdPs (samlidp among them) that re-post the request
// from their login form would find the redirect signature gone.
func (h *Handler) serviceProvider(ctx context.Context, conn db.SAMLConnection) (*saml.ServiceProvider, error) {
	key, cert, err := h.samlKeys(ctx)
	if err != nil {
		return nil, err
	}
	md, err := samlsp.ParseMetadata([]byte(conn.IdPMetadataXML))
	if err != nil {
		return nil, fmt.Errorf("saml connection %d: stored IdP metadata: %w", conn.ID, err)
	}
	metadataURL, err := url.Parse(h.samlMetadataURL(conn.ID))
	if err != nil {
		return nil, err
	}
	acsURL, err := url.Parse(h.samlACSURL(conn.ID))
	if err != nil {
		return nil, err
	}
	h.saml.mu.Lock()
	clock := h.saml.clock
	h.saml.mu.Unlock()
	return &saml.ServiceProvider{
		EntityID:                         metadataURL.String(),
		Key:                              key,
		Certificate:                      cert,
		MetadataURL:                      *metadataURL,
		AcsURL:                           *acsURL,
		IDPMetadata:                      md,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		RejectSHA1Signatures:             true,
		LimitRelayStateLength:            true,
		Clock:                            clock,
	}, nil
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

// samlLoginPage asks for an email and sends the person to the connection
// that serves its domain.
func (h *Handler) samlLoginPage(c echo.Context) error {
	data := h.authPage(c, "Sign in with SAML single sign-on", views.Form{})
	email := strings.TrimSpace(c.QueryParam("email"))
	if email == "" {
		return h.render(c, http.StatusOK, "login_saml.html", "", data)
	}
	data.Form.Values = map[string]string{"email": email}
	checkEmail(&data.Form, email)
	if data.Form.Failed() {
		return h.render(c, http.StatusUnprocessableEntity, "login_saml.html", "login-saml/form", data)
	}
	domain := strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
	conns, err := h.store.SAMLConnectionsForDomain(c.Request().Context(), domain)
	if err != nil {
		return err
	}
	// Only a verified domain routes: an Admin's claim on a domain they
	// have not proved to own must not send its people to their IdP. The
	// verified connection comes first, and a domain verifies for one.
	if len(conns) == 0 || !conns[0].DomainVerified(domain) {
		msg := "No organization on this server signs in people at " + domain + " with single sign-on. Sign in with your password instead."
		if len(conns) > 0 {
			msg = "No organization has verified " + domain + " for single sign-on on this server yet, so we cannot send you to a sign-in page. Ask your account admin for your organization's sign-in link, or sign in with your password."
		}
		data.Form.Fail("email", msg)
		return h.render(c, http.StatusUnprocessableEntity, "login_saml.html", "login-saml/form", data)
	}
	to := "/saml/" + strconv.FormatInt(conns[0].ID, 10) + "/login"
	if next := c.QueryParam("next"); next != "" {
		to += "?next=" + url.QueryEscape(safeNext(next))
	}
	return redirect(c, to)
}

// samlStart begins an SP-initiated sign-in: it records the AuthnRequest's
// ID under a random RelayState and sends the browser to the IdP.
func (h *Handler) samlStart(c echo.Context) error {
	ctx := c.Request().Context()
	conn, err := h.samlConnection(c)
	if err != nil {
		return err
	}
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
	if err := h.store.StartSAMLRequest(ctx, db.SAMLRequest{
		RelayState: relay, ConnectionID: conn.ID, RequestID: req.ID, Next: safeNext(c.QueryParam("next")),
		BrowserHash: h.samlBindBrowser(c),
	}); err != nil {
		return err
	}
	to, err := req.Redirect(relay, sp)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, to.String())
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
	relay, ok := samlACSForm(r)
	if !ok {
		return h.samlRefused(c, conn, "no_response", http.StatusBadRequest, samlFailedText)
	}
	sp, err := h.serviceProvider(ctx, conn)
	if err != nil {
		return err
	}
	var ids []string
	var next string
	req, err := h.store.OpenSAMLRequest(ctx, conn.ID, relay)
	switch {
	case err == nil && subtle.ConstantTimeCompare(req.BrowserHash, h.samlBrowser(c)) != 1:
		return h.samlRefused(c, conn, "other_browser", http.StatusForbidden, views.RuleText(db.ErrSAMLOtherBrowser))
	case err == nil:
		ids, next = []string{req.RequestID}, req.Next
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
		return h.samlRefused(c, conn, samlErrorKind(err), http.StatusForbidden, samlFailedText)
	}
	ext, refusal := samlExternal(conn, assertion)
	if refusal != "" {
		return h.samlRefused(c, conn, "subject", http.StatusForbidden, refusal)
	}
	if relay == "" {
		return h.samlHold(c, conn, assertion.ID, ext)
	}
	return h.samlSignIn(c, conn, db.SAMLSignIn{Connection: conn, RelayState: relay, AssertionID: assertion.ID, External: ext}, next)
}

// samlSignIn finishes a validated sign-in: SAMLLogin consumes what the
// response answers and resolves the login, and the session starts,
// recording the login that opened it.
func (h *Handler) samlSignIn(c echo.Context, conn db.SAMLConnection, in db.SAMLSignIn, next string) error {
	ev := event(c, db.EventSignIn)
	ev.Detail = map[string]any{"method": "SAML (" + conn.Name + ")"}
	in.BrowserHash = h.samlBrowser(c)
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
		return h.samlRefused(c, conn, kind, http.StatusForbidden, views.RuleText(re))
	}
	if err != nil {
		return err
	}
	// SAMLLogin wrote the sign-in to the audit log with its outcome, and
	// queued its notice, so the session starts here without a second entry.
	if err := h.sessions.SignInThrough(c.Response(), c.Request(), out.User.ID, out.IdentityID); err != nil {
		return err
	}
	h.queued()
	h.flash.set(c, "success", "You are signed in.")
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

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
	return c.Redirect(http.StatusSeeOther, "/saml/"+strconv.FormatInt(conn.ID, 10)+"/confirm?token="+url.QueryEscape(token))
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
	if refusal := samlEmailRefusal(conn, ext.Email); refusal != "" {
		return ext, false, h.samlRefused(c, conn, "subject", http.StatusForbidden, refusal)
	}
	ext.EmailVerified = conn.DomainVerified(samlDomain(ext.Email))
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
	return h.samlSignIn(c, conn, db.SAMLSignIn{Connection: conn, HeldTokenHash: samlTokenHash(token), External: ext}, "")
}

func samlTokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func samlIdPInitiatedUnverifiedText(conn db.SAMLConnection) string {
	return "Sign-in failed: " + conn.Name + " cannot start a sign-in from the identity provider's side until one of its email domains is verified. " +
		"Start from Roster's sign-in page instead (Sign in with single sign-on), or ask your account admin to verify the domain."
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

// samlACSForm reads the form the IdP posts: a SAMLResponse (the HTTP-POST
// binding; an artifact, SAMLart, is not supported) and the RelayState that
// names our request.
func samlACSForm(r *http.Request) (relay string, ok bool) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("SAMLResponse") == "" || r.PostForm.Has("SAMLart") {
		return "", false
	}
	return r.PostForm.Get("RelayState"), true
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
	"Start again from the sign-in page; if it keeps failing, ask your account admin to check the SAML connection."

// samlRefused answers a SAML sign-in that failed, in plain words. The log
// gets the kind of failure only: never the SAMLResponse, which carries
// personal data and, while it is fresh, a way in.
func (h *Handler) samlRefused(c echo.Context, conn db.SAMLConnection, kind string, status int, text string) error {
	logger(c).Warn("saml sign-in refused", "connection", conn.ID, "kind", kind)
	return h.render(c, status, "message.html", "", views.MessagePage{
		Page: h.page(c, "Sign-in failed"), Heading: "Sign-in failed", Text: text,
		Link: "/login", LinkText: "Back to the sign-in page",
	})
}

// samlErrorKind names what was wrong with a response, for the log.
func samlErrorKind(err error) string {
	kinds := []struct {
		err  error
		kind string
	}{
		{saml.ErrExpired, "expired"},
		{saml.ErrNotYetValid, "not_yet_valid"},
		{saml.ErrAudienceMismatch, "audience"},
		{saml.ErrRequestIDMismatch, "in_response_to"},
		{saml.ErrDestinationMismatch, "destination"},
		{saml.ErrIssuerMismatch, "issuer"},
		{saml.ErrUntrustedCertificate, "untrusted_certificate"},
		{saml.ErrCertificateNotValidNow, "certificate_validity"},
		{saml.ErrInvalidSignature, "signature"},
		{saml.ErrDecryptionFailed, "decryption"},
		{saml.ErrUnsupported, "unsupported"},
		{saml.ErrMissingElement, "missing_element"},
		{saml.ErrMalformedMessage, "malformed"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	var status saml.ErrBadStatus
	if errors.As(err, &status) {
		return "idp_status"
	}
	return "invalid_response"
}

// Attribute names IdPs put the email and the display name under: the
// LDAP/eduPerson OIDs (Shibboleth, Keycloak, crewjam), the claim URIs of
// AD FS and Entra ID, and the short names of Okta and Google.
var (
	samlEmailAttrs = []string{
		"urn:oid:0.9.2342.19200300.100.1.3", "mail", "email", "emailaddress",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
	}
	samlNameAttrs = []string{
		"urn:oid:2.16.840.1.113730.3.1.241", "displayname", "name",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.5.4.3", "cn",
	}
)

// samlAttr returns the first value of the first attribute named (or
// friendly-named) any of names.
func samlAttr(a *saml.Assertion, names []string) string {
	for _, name := range names {
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				if (strings.EqualFold(at.Name, name) || strings.EqualFold(at.FriendlyName, name)) && len(at.Values) > 0 {
					if v := strings.TrimSpace(at.Values[0].Value); v != "" {
						return v
					}
				}
			}
		}
	}
	return ""
}

// samlExternal is what a validated assertion says about the person. The
// subject is the NameID; a transient one changes at every sign-in and
// cannot identify anyone. The email must be at one of the connection's
// domains, and counts as verified only at a domain verified for this
// connection. A refusal is returned in words for the person.
func samlExternal(conn db.SAMLConnection, a *saml.Assertion) (db.External, string) {
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return db.External{}, "Sign-in failed: the identity provider did not say who you are (no NameID). Ask your account admin to check the SAML connection."
	}
	nameID := a.Subject.NameID
	if nameID.Format == string(saml.TransientNameIDFormat) {
		return db.External{}, "Sign-in failed: the identity provider sent a one-time (transient) NameID. Ask your account admin to configure a persistent NameID or the email address."
	}
	email := samlAttr(a, samlEmailAttrs)
	if email == "" && (nameID.Format == string(saml.EmailAddressNameIDFormat) || strings.Contains(nameID.Value, "@")) {
		email = strings.TrimSpace(nameID.Value)
	}
	email = db.NormalEmail(email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return db.External{}, "Sign-in failed: the identity provider did not send your email address. Ask your account admin to release the email attribute to Roster."
	}
	if refusal := samlEmailRefusal(conn, email); refusal != "" {
		return db.External{}, refusal
	}
	name := samlAttr(a, samlNameAttrs)
	if name == "" {
		name = strings.TrimSpace(samlAttr(a, []string{"urn:oid:2.5.4.42", "givenname"}) + " " + samlAttr(a, []string{"urn:oid:2.5.4.4", "sn", "surname"}))
	}
	return db.External{
		Provider:      db.SAMLProvider(conn.ID),
		Subject:       strings.TrimSpace(nameID.Value),
		Email:         email,
		EmailVerified: conn.DomainVerified(samlDomain(email)),
		DisplayName:   name,
	}, ""
}

// samlDomain is the domain of an email address, lowercase.
func samlDomain(email string) string {
	return strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
}

// samlEmailRefusal refuses an address outside the connection's domains: an
// account's Admins speak for the people at their own domains, never for
// anyone else's address.
func samlEmailRefusal(conn db.SAMLConnection, email string) string {
	if slices.Contains(conn.EmailDomains, samlDomain(email)) {
		return ""
	}
	if len(conn.EmailDomains) == 0 {
		return "Sign-in failed: " + conn.Name + " lists no email domains yet, so it signs nobody in. Ask your account admin to add your organization's domain to the connection."
	}
	return "Sign-in failed: " + conn.Name + " signs in only people with email addresses at " + strings.Join(conn.EmailDomains, ", ") +
		", and your identity provider sent " + email + ". Ask your account admin to check the connection's email domains."
}
