package handlers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Passkeys (issue 18): the Passkeys panel of the profile, the sign-in with
// a discoverable passkey from the login page, and the check of a known
// user's passkey that the second sign-in step and re-authentication call
// (beginPasskeyCheck, finishPasskeyCheck). The WebAuthn checks are
// go-webauthn's; each ceremony's state stays on the server
// (passkey_ceremonies), bound to the browser by the roster_passkey cookie,
// used once and for at most db.PasskeyCeremonyTTL. static/passkey.js talks
// to the browser's navigator.credentials: a begin answers JSON options,
// the finish is the form post of the credential it made.

// newRelyingParty is the WebAuthn relying party of base: its host is the
// relying-party id and its origin the only origin. A host that is an IP
// address cannot be a relying-party id: passkeys are then not offered
// (nil, and the reason).
func newRelyingParty(base *url.URL) (*webauthn.WebAuthn, error) {
	if base == nil {
		return nil, errors.New("no base URL")
	}
	if net.ParseIP(base.Hostname()) != nil {
		return nil, fmt.Errorf("passkeys need a host name in ROSTER_BASE_URL, not the IP address %s", base.Hostname())
	}
	required := true
	return webauthn.New(&webauthn.Config{
		RPID:          base.Hostname(),
		RPDisplayName: "Roster",
		RPOrigins:     []string{base.Scheme + "://" + base.Host},
		// Discoverable credentials, and the user verified by the
		// authenticator (PIN, biometrics) every time: a passkey sign-in
		// stands for both factors.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: &required,
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: db.PasskeyCeremonyTTL, TimeoutUVD: db.PasskeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: db.PasskeyCeremonyTTL, TimeoutUVD: db.PasskeyCeremonyTTL},
		},
	})
}

// passkeyUser is a person as the library sees them: the random handle
// their passkeys carry, and those passkeys.
type passkeyUser struct {
	user   db.User
	handle []byte
	rows   []db.Passkey
	creds  []webauthn.Credential
}

func (p *passkeyUser) WebAuthnID() []byte                         { return p.handle }
func (p *passkeyUser) WebAuthnName() string                       { return p.user.Email }
func (p *passkeyUser) WebAuthnDisplayName() string                { return p.user.DisplayName() }
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// row is the stored passkey of credential id.
func (p *passkeyUser) row(id []byte) (db.Passkey, bool) {
	for _, r := range p.rows {
		if bytes.Equal(r.CredentialID, id) {
			return r, true
		}
	}
	return db.Passkey{}, false
}

// loadPasskeyUser reads u's handle and passkeys under this relying party.
func (h *Handler) loadPasskeyUser(c echo.Context, u db.User) (*passkeyUser, error) {
	ctx := c.Request().Context()
	handle, err := h.store.PasskeyHandle(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	rows, err := h.store.PasskeysForUser(ctx, u.ID, h.passkeys.Config.RPID)
	if err != nil {
		return nil, err
	}
	p := &passkeyUser{user: u, handle: handle, rows: rows}
	for _, r := range rows {
		var cred webauthn.Credential
		if err := json.Unmarshal(r.Credential, &cred); err != nil {
			return nil, fmt.Errorf("passkey %d: %w", r.ID, err)
		}
		p.creds = append(p.creds, cred)
	}
	return p, nil
}

// passkeyCookie binds a ceremony to the browser: SameSite=Lax is enough,
// as every step is a same-site request. A check of a known person's
// passkey (the sudo prompt, the second step) has a cookie of its own, so
// the sudo prompt shown when a passkey is being added can check an
// existing passkey without ending the ceremony of the one being added.
func (h *Handler) passkeyCookie(purpose string) string {
	name := "roster_passkey"
	if purpose == db.CeremonyVerify {
		name = "roster_passkey_check"
	}
	if h.cfg.Secure() {
		return "__Host-" + name
	}
	return name
}

func passkeyTokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// browserCeremony is the hash of this browser's ceremony cookie for
// purpose, or nil.
func (h *Handler) browserCeremony(c echo.Context, purpose string) []byte {
	ck, err := c.Cookie(h.passkeyCookie(purpose))
	if err != nil || len(ck.Value) != len(rand.Text()) {
		return nil
	}
	return passkeyTokenHash(ck.Value)
}

// startCeremony keeps session for this browser under a new cookie, ending
// the ceremony it had before. A begin from one client IP is limited
// (passkeyIP): each keeps a row for a few minutes.
func (h *Handler) startCeremony(c echo.Context, purpose string, userID int64, session *webauthn.SessionData) error {
	ctx := c.Request().Context()
	if _, err := h.store.Reserve(ctx, h.throttle.passkeyIP.on(clientKey(c))); err != nil {
		return err
	}
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	token := rand.Text()
	err = h.store.StartCeremony(ctx, db.Ceremony{TokenHash: passkeyTokenHash(token), Purpose: purpose, UserID: userID, Session: data}, h.browserCeremony(c, purpose))
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: h.passkeyCookie(purpose), Value: token, Path: "/", MaxAge: int(db.PasskeyCeremonyTTL / time.Second),
		HttpOnly: true, Secure: h.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// takeCeremony ends this browser's ceremony of purpose and returns its
// session: db.ErrPasskeyCeremony when there is none, it is spent, expired
// or of another purpose, or belongs to another user than userID (0: a
// discoverable sign-in, whose user is not known yet).
func (h *Handler) takeCeremony(c echo.Context, purpose string, userID int64) (webauthn.SessionData, error) {
	var session webauthn.SessionData
	cer, err := h.store.TakeCeremony(c.Request().Context(), h.browserCeremony(c, purpose), purpose)
	c.SetCookie(&http.Cookie{Name: h.passkeyCookie(purpose), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	if err != nil {
		return session, err
	}
	if cer.UserID != userID {
		return session, db.ErrPasskeyCeremony
	}
	if err := json.Unmarshal(cer.Session, &session); err != nil {
		return session, fmt.Errorf("passkey ceremony session: %w", err)
	}
	return session, nil
}

// passkeyJSON answers a begin: the options for navigator.credentials, or
// {"error": sentence} with status for static/passkey.js to show.
func passkeyJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, v)
}

func passkeyRefusal(c echo.Context, status int, message string) error {
	return passkeyJSON(c, status, map[string]string{"error": message})
}

// The sentences of a refused passkey; the library's reasons go to the log.
const (
	passkeyNotOffered = "Passkeys are not available on this server: it needs to be reached by a host name, not an IP address."
	passkeyNeedsJS    = "Adding or using a passkey needs JavaScript in this browser."
	passkeyRefused    = "That passkey was not accepted. Try again, or use another way to log in."
	passkeyAddRefused = "The passkey could not be added. Try again."
)

// beginError answers a begin that failed: a throttled client hears when to
// try again, anything else is a server error.
func beginError(c echo.Context, err error) error {
	if t, ok := throttled(c, err); ok {
		return passkeyRefusal(c, http.StatusTooManyRequests, "Too many passkey requests from your network. "+tryAgainIn(t.RetryAfter))
	}
	return err
}

// checkPasskeyName requires a name of 1 to 50 characters without line
// breaks or tabs (it goes into notices and the audit log).
func checkPasskeyName(form *views.Form, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		form.Fail("passkey_name", "Name the passkey, such as the device it is on.")
	case n > 50:
		form.Fail("passkey_name", "Use at most 50 characters.")
	case strings.ContainsFunc(name, unicode.IsControl):
		form.Fail("passkey_name", "Use a name without line breaks or tabs.")
	}
}

// passkeysSection is the Passkeys panel that the profile's passkey POSTs
// answer with.
func passkeysSection() section[views.ProfilePage] { return profileSection("profile/passkeys") }

// loadPasskeyRows fills the Passkeys panel of the profile page.
func (h *Handler) loadPasskeyRows(c echo.Context, u db.User, p *views.ProfilePage) error {
	p.PasskeysOffered = h.passkeys != nil
	if h.passkeys == nil {
		return nil
	}
	rows, err := h.store.PasskeysForUser(c.Request().Context(), u.ID, h.passkeys.Config.RPID)
	if err != nil {
		return err
	}
	for _, r := range rows {
		p.Passkeys = append(p.Passkeys, views.PasskeyRow{ID: r.ID, Name: r.Name, Created: r.CreatedAt, LastUsed: r.LastUsedAt})
	}
	return nil
}

// passkeyRegisterBegin starts adding a passkey for the signed-in person:
// the creation options, excluding the passkeys they have.
func (h *Handler) passkeyRegisterBegin(c echo.Context) error {
	u, _ := currentUser(c)
	if h.passkeys == nil {
		return passkeyRefusal(c, http.StatusNotFound, passkeyNotOffered)
	}
	if !u.EmailVerified() {
		return passkeyRefusal(c, http.StatusConflict, views.RuleText(db.ErrFactorUnconfirmedEmail))
	}
	var form views.Form
	checkPasskeyName(&form, strings.TrimSpace(c.FormValue("passkey_name")))
	if form.Failed() {
		return passkeyJSON(c, http.StatusUnprocessableEntity, map[string]string{"error": form.Errors["passkey_name"], "field": "passkey_name"})
	}
	pu, err := h.loadPasskeyUser(c, u)
	if err != nil {
		return err
	}
	creation, session, err := h.passkeys.BeginRegistration(pu,
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return err
	}
	if err := h.startCeremony(c, db.CeremonyRegister, u.ID, session); err != nil {
		return beginError(c, err)
	}
	return passkeyJSON(c, http.StatusOK, creation.Response)
}

// addPasskey finishes adding a passkey: the credential field holds what
// navigator.credentials.create made, checked against this browser's
// ceremony of the signed-in person.
func (h *Handler) addPasskey(c echo.Context) error {
	u, _ := currentUser(c)
	name := strings.TrimSpace(c.FormValue("passkey_name"))
	fail := func(status int, field, message string) error {
		return answer(h, c, passkeysSection(), status, "", func(p *views.ProfilePage) {
			p.PasskeysForm = views.Form{Values: map[string]string{"passkey_name": name}}
			p.PasskeysForm.Fail(field, message)
		})
	}
	if h.passkeys == nil {
		return fail(http.StatusNotFound, "form", passkeyNotOffered)
	}
	raw := c.FormValue("credential")
	if raw == "" {
		return fail(http.StatusUnprocessableEntity, "form", passkeyNeedsJS)
	}
	session, err := h.takeCeremony(c, db.CeremonyRegister, u.ID)
	if errors.Is(err, db.ErrPasskeyCeremony) {
		return fail(http.StatusUnprocessableEntity, "form", views.RuleText(err))
	}
	if err != nil {
		return err
	}
	var form views.Form
	checkPasskeyName(&form, name)
	if form.Failed() {
		return fail(http.StatusUnprocessableEntity, "passkey_name", form.Errors["passkey_name"])
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(raw))
	if err != nil {
		logger(c).Info("passkey refused", "step", "parse creation", "err", passkeyErr(err))
		return fail(http.StatusUnprocessableEntity, "form", passkeyAddRefused)
	}
	pu, err := h.loadPasskeyUser(c, u)
	if err != nil {
		return err
	}
	cred, err := h.passkeys.CreateCredential(pu, session, parsed)
	if err != nil {
		logger(c).Info("passkey refused", "step", "create credential", "err", passkeyErr(err))
		return fail(http.StatusUnprocessableEntity, "form", passkeyAddRefused)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	ev := event(c, db.EventPasskeyAdded)
	if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.PasskeyAdded, Login: name}); err != nil {
		return err
	}
	_, err = h.store.AddPasskey(c.Request().Context(), db.Passkey{UserID: u.ID, RPID: h.passkeys.Config.RPID, CredentialID: cred.ID, Name: name, Credential: record}, ev)
	var rule db.RuleError
	if errors.As(err, &rule) {
		return fail(http.StatusConflict, "form", views.RuleText(err))
	}
	if err != nil {
		return err
	}
	h.queued()
	msg := "The passkey " + name + " is added: it logs you in without a password."
	return answer(h, c, passkeysSection(), http.StatusOK, msg, func(p *views.ProfilePage) { p.PasskeysForm.Message = msg })
}

// renamePasskey renames one of the signed-in person's passkeys.
func (h *Handler) renamePasskey(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("passkey_name"))
	var form views.Form
	checkPasskeyName(&form, name)
	if form.Failed() {
		return answer(h, c, passkeysSection(), http.StatusUnprocessableEntity, "", func(p *views.ProfilePage) {
			p.PasskeysForm.Fail("form", "Rename: "+form.Errors["passkey_name"])
		})
	}
	err = h.store.RenamePasskey(c.Request().Context(), u.ID, id, name, event(c, db.EventPasskeyRenamed))
	if errors.Is(err, db.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "That passkey is not one of yours.")
	}
	if err != nil {
		return err
	}
	msg := "The passkey is renamed " + name + "."
	return answer(h, c, passkeysSection(), http.StatusOK, msg, func(p *views.ProfilePage) { p.PasskeysForm.Message = msg })
}

// removePasskey removes one of the signed-in person's passkeys, unless it
// is their last way in; the session stays.
func (h *Handler) removePasskey(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ev := event(c, db.EventPasskeyRemoved)
	// The notice names the passkey, so it is read first; it is queued in
	// the removal's transaction, and only if the removal happens.
	if h.passkeys != nil {
		rows, err := h.store.PasskeysForUser(ctx, u.ID, h.passkeys.Config.RPID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.ID == id {
				if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.PasskeyRemoved, Login: r.Name}); err != nil {
					return err
				}
			}
		}
	}
	removed, err := h.store.DeletePasskey(ctx, u.ID, id, ev)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "That passkey is not one of yours.")
	case errors.Is(err, db.ErrLastLogin):
		return answer(h, c, passkeysSection(), http.StatusConflict, "", func(p *views.ProfilePage) {
			p.PasskeysForm.Fail("form", views.RuleText(err))
		})
	case err != nil:
		return err
	}
	h.queued()
	msg := "The passkey " + removed.Name + " is removed: it no longer logs you in."
	return answer(h, c, passkeysSection(), http.StatusOK, msg, func(p *views.ProfilePage) { p.PasskeysForm.Message = msg })
}

// passkeyLoginBegin starts a sign-in with a discoverable passkey: no
// allowCredentials, the authenticator offers the passkeys it holds for
// this site (the button, or the browser's autofill).
func (h *Handler) passkeyLoginBegin(c echo.Context) error {
	if h.passkeys == nil {
		return passkeyRefusal(c, http.StatusNotFound, passkeyNotOffered)
	}
	assertion, session, err := h.passkeys.BeginDiscoverableLogin()
	if err != nil {
		return err
	}
	if err := h.startCeremony(c, db.CeremonyLogin, 0, session); err != nil {
		return beginError(c, err)
	}
	return passkeyJSON(c, http.StatusOK, assertion.Response)
}

// passkeyLogin finishes a sign-in with a passkey. The user verification
// the ceremony requires stands for the second factor: the passkey is
// something the person has, unlocked by something they know or are.
func (h *Handler) passkeyLogin(c echo.Context) error {
	refuse := func(message string) error {
		data := h.authPage(c, loginTitle, views.Form{})
		data.PasskeyError = message
		return h.render(c, http.StatusUnprocessableEntity, "login.html", "", data)
	}
	if h.passkeys == nil {
		return refuse(passkeyNotOffered)
	}
	raw := c.FormValue("credential")
	if raw == "" {
		return refuse(passkeyNeedsJS)
	}
	session, err := h.takeCeremony(c, db.CeremonyLogin, 0)
	if errors.Is(err, db.ErrPasskeyCeremony) {
		return refuse(views.RuleText(err))
	}
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(raw))
	if err != nil {
		logger(c).Info("passkey refused", "step", "parse assertion", "err", passkeyErr(err))
		return refuse(passkeyRefused)
	}
	var owner *passkeyUser
	_, cred, err := h.passkeys.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
		u, err := h.store.UserByPasskeyHandle(c.Request().Context(), handle)
		if err != nil {
			return nil, err
		}
		owner, err = h.loadPasskeyUser(c, u)
		return owner, err
	}, session, parsed)
	if err != nil {
		logger(c).Info("passkey refused", "step", "validate assertion", "err", passkeyErr(err))
		return refuse(passkeyRefused)
	}
	row, err := h.usePasskey(c, owner, cred)
	if errors.Is(err, errPasskeyCloned) || errors.Is(err, db.ErrNotFound) {
		return refuse(passkeyRefused)
	}
	if err != nil {
		return err
	}
	// The passkey was unlocked on its device (user verification is
	// required): it is both factors, so the session starts at once.
	f := firstFactor{UserID: owner.user.ID, Method: "passkey"}
	if err := h.startSession(c, f, map[string]any{"method": "a passkey", "passkey": row.Name}); err != nil {
		return err
	}
	h.flash.set(c, "success", "You are logged in.")
	return redirect(c, safeNext(c.FormValue("next")))
}

// errPasskeyCloned: the passkey's signature counter did not go up.
var errPasskeyCloned = errors.New("passkey signature counter did not increase")

// usePasskey records a successful assertion with cred, one of p's passkeys:
// its counter and flags are written back, as the library asks. A counter
// that did not increase means a copy of the passkey may be in use (the
// library's CloneWarning): the assertion is refused, the stored counter
// kept (so the genuine authenticator, ahead of it, still works) and the
// warning written to the person's activity log.
func (h *Handler) usePasskey(c echo.Context, p *passkeyUser, cred *webauthn.Credential) (db.Passkey, error) {
	ctx := c.Request().Context()
	row, ok := p.row(cred.ID)
	if !ok {
		return db.Passkey{}, db.ErrNotFound
	}
	if cred.Authenticator.CloneWarning {
		ev := event(c, db.EventPasskeyCloneWarning)
		ev.UserID, ev.Detail = p.user.ID, map[string]any{"name": row.Name}
		if err := h.store.AddEvent(ctx, ev); err != nil {
			return row, err
		}
		logger(c).Warn("passkey clone warning", "user_id", p.user.ID, "passkey_id", row.ID)
		return row, errPasskeyCloned
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return row, err
	}
	return row, h.store.UsePasskey(ctx, p.user.ID, row.ID, record)
}

// passkeyErr is the library's reason for a refusal, with its details, for
// the log.
func passkeyErr(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return strings.TrimSpace(pe.Type + ": " + pe.Details + " " + pe.DevInfo)
	}
	return err.Error()
}

// beginPasskeyCheck starts checking a passkey of u, a person already
// known (the second sign-in step, re-authentication): allowCredentials are
// u's passkeys, user verification required. Its page has a form
// <form data-passkey="check" data-passkey-begin="(the route calling this)"
// action="(the route calling finishPasskeyCheck)"> with a hidden
// "credential" field and a [data-passkey-error] element, and loads
// static/passkey.js. It answers the request with
// the options for static/passkey.js (JSON), bound to this browser; ok is
// false when u has no passkey (nothing was answered then).
func (h *Handler) beginPasskeyCheck(c echo.Context, u db.User) (ok bool, err error) {
	if h.passkeys == nil {
		return false, nil
	}
	pu, err := h.loadPasskeyUser(c, u)
	if err != nil || len(pu.creds) == 0 {
		return false, err
	}
	assertion, session, err := h.passkeys.BeginLogin(pu)
	if err != nil {
		return false, err
	}
	if err := h.startCeremony(c, db.CeremonyVerify, u.ID, session); err != nil {
		return true, beginError(c, err)
	}
	return true, passkeyJSON(c, http.StatusOK, assertion.Response)
}

// finishPasskeyCheck verifies the assertion in the request's credential
// field against this browser's check of u (beginPasskeyCheck): one of
// u's passkeys, user verified. It returns the passkey used, or
// errPasskeyCheckFailed (words for the person: views.RuleText or
// passkeyRefused) or another error.
func (h *Handler) finishPasskeyCheck(c echo.Context, u db.User) (db.Passkey, error) {
	if h.passkeys == nil {
		return db.Passkey{}, errPasskeyCheckFailed
	}
	session, err := h.takeCeremony(c, db.CeremonyVerify, u.ID)
	if errors.Is(err, db.ErrPasskeyCeremony) {
		return db.Passkey{}, fmt.Errorf("%w: %w", errPasskeyCheckFailed, err)
	}
	if err != nil {
		return db.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(c.FormValue("credential")))
	if err != nil {
		logger(c).Info("passkey refused", "step", "parse check", "err", passkeyErr(err))
		return db.Passkey{}, errPasskeyCheckFailed
	}
	pu, err := h.loadPasskeyUser(c, u)
	if err != nil {
		return db.Passkey{}, err
	}
	cred, err := h.passkeys.ValidateLogin(pu, session, parsed)
	if err != nil {
		logger(c).Info("passkey refused", "step", "validate check", "err", passkeyErr(err))
		return db.Passkey{}, errPasskeyCheckFailed
	}
	row, err := h.usePasskey(c, pu, cred)
	if errors.Is(err, errPasskeyCloned) || errors.Is(err, db.ErrNotFound) {
		return row, errPasskeyCheckFailed
	}
	return row, err
}

// hasPasskeys says whether u has a passkey for this relying party, which
// can then be their second factor (for the "which second factors" question).
func (h *Handler) hasPasskeys(c echo.Context, u db.User) (bool, error) {
	if h.passkeys == nil {
		return false, nil
	}
	n, err := h.store.CountPasskeys(c.Request().Context(), u.ID, h.passkeys.Config.RPID)
	return n > 0, err
}

// errPasskeyCheckFailed: the passkey check of a known user did not pass.
var errPasskeyCheckFailed = errors.New("passkey check failed")

// describePasskey says in words what a passkey's audit event records, for
// the activity log (describe).
func describePasskey(ev db.Event) (string, bool) {
	name, _ := ev.Detail["name"].(string)
	switch ev.Kind {
	case db.EventPasskeyAdded:
		return "Added the passkey " + name, true
	case db.EventPasskeyRenamed:
		old, _ := ev.Detail["old_name"].(string)
		return "Renamed the passkey " + old + " to " + name, true
	case db.EventPasskeyRemoved:
		return "Removed the passkey " + name, true
	case db.EventPasskeyCloneWarning:
		return "Refused a sign-in with the passkey " + name + ": its signature counter went back, so a copy of it may exist", true
	}
	return "", false
}
