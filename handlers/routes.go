package handlers

import (
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/assets"
)

// Routes registers every route of Roster on e: the one route table.
func (h *Handler) Routes(e *echo.Echo, static fs.FS) error {
	extract, err := ipExtractor(h.cfg.TrustedProxies)
	if err != nil {
		return err
	}
	e.IPExtractor = extract
	e.HTTPErrorHandler = h.HandleError
	// compress is outermost: it also compresses what the error handler,
	// called by requestLog, writes.
	e.Use(h.compress, h.requestLog, h.recover, h.onPrimary, h.secureHeaders, bodyLimit, h.formLimits, h.csrf, h.loadUser)
	signedIn := h.requireUser

	// Health and static files.
	e.GET("/healthz", h.health)
	e.HEAD("/healthz", h.health)
	// Static files: hashed and compressed once, here; templates name them
	// by their fingerprinted URLs (the "static" template function).
	set, err := assets.Load(static)
	if err != nil {
		return fmt.Errorf("static files: %w", err)
	}
	h.views.UseStatic(set.URL)
	e.GET("/static/*", staticFiles(set))
	e.HEAD("/static/*", staticFiles(set))

	// Sign-in, sign-up and sign-out.
	e.GET("/", func(c echo.Context) error { return seeOther(c, "/profile") })
	e.GET("/login", h.loginPage)
	e.POST("/login", h.login)
	e.GET("/signup", h.signupPage)
	e.POST("/signup", h.signup)
	e.POST("/logout", h.logout)

	// External logins through OAuth and OpenID Connect: sign-in starts here,
	// and every provider (Add Login included) comes back to the callback.
	// A sign-in starts only from a POST with the CSRF token (login CSRF,
	// SECURITY.md); a GET of a start shows a "Continue with" button.
	e.GET("/auth/:provider", h.oauthStartPage)
	e.POST("/auth/:provider", h.oauthStart)
	e.GET("/auth/:provider/callback", h.oauthCallback)

	// SAML 2.0 sign-in, one service provider per connection. The ACS is
	// exempt from the CSRF check (see csrfExempt): the IdP's page posts it.
	e.GET("/login/saml", h.samlLoginPage)
	e.POST("/login/saml", h.samlLogin)
	e.GET("/saml/:conn/login", h.samlStartPage)
	e.POST("/saml/:conn/login", h.samlStart)
	e.POST("/saml/:conn/acs", h.samlACS)
	// An IdP-initiated sign-in waits here for the person to confirm it.
	e.GET("/saml/:conn/confirm", h.samlConfirmPage)
	e.POST("/saml/:conn/confirm", h.samlConfirm)
	e.GET("/saml/:conn/metadata", h.samlMetadata)

	// Links sent by email: address verification and password reset. Mail
	// scanners open links before people do: a GET only shows a page, and
	// its form (a POST with the CSRF token) acts.
	e.GET("/verify/:token", h.verifyEmailPage)
	e.POST("/verify/:token", h.verifyEmail)
	e.GET("/password/forgot", h.forgotPage)
	e.POST("/password/forgot", h.forgot)
	e.GET("/password/reset/:token", h.resetPage)
	e.POST("/password/reset/:token", h.reset)

	// The User Profile page and its sections: signed in, every route.
	// h.sudo gates a sensitive action on a fresh re-authentication
	// (sudo.go), here and in the Manage console.
	profile := group(e, "/profile", signedIn)
	profile.GET("", h.profile)
	profile.POST("/name", h.updateName)
	profile.POST("/verify-email", h.resendVerification)
	profile.POST("/password", h.sudo(h.changePassword))
	profile.POST("/logins/:provider", h.sudo(h.addLogin))
	profile.POST("/logins/:id/delete", h.sudo(h.unlinkLogin))
	profile.POST("/sessions/:id/revoke", h.revokeSession)
	profile.POST("/sessions/revoke-others", h.revokeOtherSessions)
	profile.GET("/activity", h.activity)
	profile.GET("/notifications", h.notifications)
	profile.GET("/invite-badge", h.inviteBadge) // inviteBadgePath, the menu badge's poll

	// Leaving with your data (leaving.go): the JSON of everything Roster
	// holds about the person, and deleting the profile.
	profile.GET("/data", h.downloadData)

	// Re-authentication with a passkey (sudo.go): the prompt's passkey
	// form asks here for the options, then posts to the gated action.
	profile.POST("/sudo/passkey/begin", h.sudoPasskeyBegin)
	profile.POST("/delete", h.sudo(h.deleteProfile))

	// Contact methods, their verification, routing and the account email
	// (contacts.go); every POST answers with #contact-info for htmx.
	profile.POST("/contacts", h.addContact)
	profile.POST("/contacts/:id/delete", h.deleteContact)
	profile.POST("/contacts/:id/verify", h.verifyContact)
	profile.GET("/contacts/:id/verify", h.verifyContactLink)
	profile.POST("/contacts/:id/resend", h.resendCode)
	profile.POST("/contacts/:id/test", h.testContact)
	profile.POST("/contacts/:id/label", h.labelContact)
	profile.POST("/notifications", h.saveRouting)
	profile.POST("/email", h.sudo(h.changeEmail))
	profile.POST("/email/cancel", h.cancelEmailChange)
	e.GET("/email-change/:token", h.confirmEmailChangePage)
	e.POST("/email-change/:token", h.confirmEmailChange)
	e.GET("/email-change/cancel/:token", h.cancelEmailChangePage)
	e.POST("/email-change/cancel/:token", h.cancelEmailChangeLink)

	// Two-factor authentication (twofactor.go): the profile's panel, and
	// the sign-in's second step, which needs this browser's pending
	// sign-in, not a session.
	// Starting an enrolment is gated: sudo takes any of the person's
	// factors, so a session that could add its own app could pass sudo.
	// Its confirmation is gated too, and only the session that started it
	// can give it (db.ConfirmTOTP).
	profile.POST("/two-factor", h.sudo(h.twoFactorSetup))
	profile.POST("/two-factor/confirm", h.sudo(h.twoFactorConfirm))
	profile.POST("/two-factor/cancel", h.twoFactorCancel)
	profile.POST("/two-factor/disable", h.sudo(h.twoFactorDisable))
	profile.POST("/two-factor/recovery-codes", h.sudo(h.regenerateRecoveryCodes))
	e.GET("/login/two-factor", h.secondStepPage)
	e.POST("/login/two-factor", h.secondStep)
	// The second step with a passkey (twofactor_passkey.go).
	e.POST("/login/two-factor/passkey/begin", h.secondStepPasskeyBegin)
	e.POST("/login/two-factor/passkey", h.secondStepPasskey)

	// Passkeys (passkeys.go): added, renamed and removed from the profile's
	// Passkeys panel, and a sign-in with one from the login page. A begin
	// answers JSON options for static/passkey.js; the finish is the post of
	// the form the script filled with the browser's credential.
	profile.POST("/passkeys/begin", h.passkeyRegisterBegin)
	// Adding one is gated (its finish; the begin only writes a ceremony):
	// a passkey signs in and passes sudo by itself.
	profile.POST("/passkeys", h.sudo(h.addPasskey))
	profile.POST("/passkeys/:id/name", h.renamePasskey)
	profile.POST("/passkeys/:id/delete", h.sudo(h.removePasskey))
	e.POST("/login/passkey/begin", h.passkeyLoginBegin)
	e.POST("/login/passkey", h.passkeyLogin)

	// The notify API: a bearer token, no cookies, no CSRF (csrfExempt).
	e.POST("/api/v1/notify", h.notifyAPI)

	// Preferences: the page, and the JSON other parts of a product read.
	e.GET("/preferences", h.preferencesPage, signedIn)
	e.POST("/preferences", h.savePreferences, signedIn)
	e.GET("/api/v1/me/preferences", h.apiPreferences)

	// Accounts: create one; see or leave one as a member (404 for anyone else).
	e.GET("/accounts/new", h.newAccountPage, signedIn)
	e.POST("/accounts", h.createAccount, signedIn)
	account := group(e, "/accounts/:id", signedIn, h.member(db.RoleReadOnly))
	account.GET("", h.account)
	account.POST("/leave", h.leave)

	// The Manage console: Admins only (403 for other members; owner-only actions are refused in their transactions).
	manage := group(e, "/accounts/:id", signedIn, h.member(db.RoleAdmin))
	manage.GET("/manage", h.manage)
	// Making someone an Admin (an invite as Admin, or a member promoted)
	// decides who runs the account, so it is behind sudo as the SAML
	// console is: a stolen session alone cannot plant a lasting Admin.
	// Other roles, and taking Admin away, are not.
	manage.POST("/invites", h.sudoFor(grantsAdmin, h.createInvite))
	manage.POST("/invites/:iid/revoke", h.revokeInvite)
	manage.POST("/invites/:iid/resend", h.resendInvite)
	manage.POST("/members/:uid/role", h.sudoFor(grantsAdmin, h.setRole))
	manage.POST("/members/:uid/remove", h.removeMember)
	manage.POST("/owner", h.sudo(h.transferOwnership))
	manage.POST("/settings", h.renameAccount)
	manage.POST("/delete", h.sudo(h.deleteAccount))
	manage.POST("/billing", h.setBilling)
	manage.GET("/saml", h.samlPage)
	// Every SAML action that changes who can sign in to the account is
	// sensitive: a connection added or deleted, a domain verified (its
	// emails then count as confirmed), sign-in started at the IdP allowed.
	manage.POST("/saml", h.sudo(h.createSAMLConnection))
	manage.POST("/saml/:cid/delete", h.sudo(h.deleteSAMLConnection))
	manage.POST("/saml/:cid/domains/:domain/verify", h.sudo(h.verifySAMLDomain))
	manage.POST("/saml/:cid/idp-initiated", h.sudo(h.setSAMLIdPInitiated))

	// Accounts may require two-factor (require2fa.go): the console's
	// setting, behind sudo as it decides who can open the account. The
	// member middleware above refuses every /accounts/:id route to a
	// member without a second factor while it is on.
	manage.POST("/two-factor", h.sudo(h.setRequireTwoFactor))

	// Invites: the emailed link is public (it offers sign-in or sign-up);
	// answering one needs the invited, verified address.
	e.GET("/invites/:token", h.invitePage)
	e.POST("/invites/:id/accept", h.acceptInvite, signedIn)
	e.POST("/invites/:id/ignore", h.ignoreInvite, signedIn)

	// Credit cards, kept by Stripe; each route reads only the signed-in
	// user's cards. Stripe's webhook is exempt from the CSRF check (see
	// csrfExempt): it is signed with ROSTER_STRIPE_WEBHOOK_SECRET.
	e.GET("/cards", h.cards, signedIn)
	e.POST("/cards/setup", h.cardSetup, signedIn)
	e.POST("/cards", h.addCard, signedIn)
	e.POST("/cards/:id/delete", h.deleteCard, signedIn)
	e.POST("/cards/:id/default", h.defaultCard, signedIn)
	e.POST("/stripe/webhook", h.stripeWebhook)
	return grouped(e, profile, account, manage)
}

// routeGroup registers routes under one prefix, each behind the group's
// middleware, so a route added to the group cannot miss its check. Unlike
// echo.Group it adds no catch-all route: the member and Admin groups share
// /accounts/:id, and a path no route knows stays a plain 404.
type routeGroup struct {
	e      *echo.Echo
	prefix string
	mw     []echo.MiddlewareFunc
	paths  map[string]bool // method and path of every route added
}

func group(e *echo.Echo, prefix string, mw ...echo.MiddlewareFunc) *routeGroup {
	return &routeGroup{e: e, prefix: prefix, mw: mw, paths: map[string]bool{}}
}

func (g *routeGroup) GET(path string, handler echo.HandlerFunc) {
	g.add(http.MethodGet, path, handler)
}

func (g *routeGroup) POST(path string, handler echo.HandlerFunc) {
	g.add(http.MethodPost, path, handler)
}

func (g *routeGroup) add(method, path string, handler echo.HandlerFunc) {
	g.paths[method+" "+g.prefix+path] = true
	g.e.Add(method, g.prefix+path, handler, g.mw...)
}

// grouped refuses a route table where a route under a group's prefix was
// added beside the group (e.POST("/accounts/:id/x", ...)) and so skipped
// its middleware: the server does not start.
func grouped(e *echo.Echo, groups ...*routeGroup) error {
	for _, r := range e.Routes() {
		under, in := false, false
		for _, g := range groups {
			if r.Path == g.prefix || strings.HasPrefix(r.Path, g.prefix+"/") {
				under = true
				in = in || g.paths[r.Method+" "+r.Path]
			}
		}
		if under && !in {
			return fmt.Errorf("route %s %s is under a route group but was not added through it", r.Method, r.Path)
		}
	}
	return nil
}
