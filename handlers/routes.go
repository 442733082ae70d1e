package handlers

import (
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// Routes registers every route of Roster on e: the one route table.
func (h *Handler) Routes(e *echo.Echo, static fs.FS) error {
	extract, err := ipExtractor(h.cfg.TrustedProxies)
	if err != nil {
		return err
	}
	e.IPExtractor = extract
	e.HTTPErrorHandler = h.HandleError
	e.Use(h.requestLog, h.recover, h.secureHeaders, bodyLimit, h.formLimits, h.csrf, h.loadUser)
	signedIn := h.requireUser

	// Health and static files.
	e.GET("/healthz", h.health)
	e.HEAD("/healthz", h.health)
	e.StaticFS("/static", static)

	// Sign-in, sign-up and sign-out.
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/profile") })
	e.GET("/login", h.loginPage)
	e.POST("/login", h.login)
	e.GET("/signup", h.signupPage)
	e.POST("/signup", h.signup)
	e.POST("/logout", h.logout)

	// External logins through OAuth and OpenID Connect: sign-in starts here,
	// and every provider (Add Login included) comes back to the callback.
	e.GET("/auth/:provider", h.oauthStart)
	e.GET("/auth/:provider/callback", h.oauthCallback)

	// SAML 2.0 sign-in, one service provider per connection. The ACS is
	// exempt from the CSRF check (see csrfExempt): the IdP's page posts it.
	e.GET("/login/saml", h.samlLoginPage)
	e.GET("/saml/:conn/login", h.samlStart)
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

	// The User Profile page and its sections.
	e.GET("/profile", h.profile, signedIn)
	e.POST("/profile/name", h.updateName, signedIn)
	e.POST("/profile/verify-email", h.resendVerification, signedIn)
	e.POST("/profile/password", h.changePassword, signedIn)
	e.POST("/profile/logins/:provider", h.addLogin, signedIn)
	e.POST("/profile/logins/:id/delete", h.unlinkLogin, signedIn)
	e.POST("/profile/sessions/:id/revoke", h.revokeSession, signedIn)
	e.POST("/profile/sessions/revoke-others", h.revokeOtherSessions, signedIn)
	e.GET("/profile/activity", h.activity, signedIn)
	e.GET("/profile/notifications", h.notifications, signedIn)

	// Contact methods, their verification, routing and the account email
	// (contacts.go); every POST answers with #contact-info for htmx.
	e.POST("/profile/contacts", h.addContact, signedIn)
	e.POST("/profile/contacts/:id/delete", h.deleteContact, signedIn)
	e.POST("/profile/contacts/:id/verify", h.verifyContact, signedIn)
	e.GET("/profile/contacts/:id/verify", h.verifyContactLink, signedIn)
	e.POST("/profile/contacts/:id/resend", h.resendCode, signedIn)
	e.POST("/profile/contacts/:id/test", h.testContact, signedIn)
	e.POST("/profile/contacts/:id/label", h.labelContact, signedIn)
	e.POST("/profile/notifications", h.saveRouting, signedIn)
	e.POST("/profile/email", h.changeEmail, signedIn)
	e.GET("/email-change/:token", h.confirmEmailChangePage)
	e.POST("/email-change/:token", h.confirmEmailChange)

	// The notify API: a bearer token, no cookies, no CSRF (csrfExempt).
	e.POST("/api/v1/notify", h.notifyAPI)

	// Preferences: the page, and the JSON other parts of a product read.
	e.GET("/preferences", h.preferencesPage, signedIn)
	e.POST("/preferences", h.savePreferences, signedIn)
	e.GET("/api/v1/me/preferences", h.apiPreferences)

	// Accounts: create one, see one, leave one. Every /accounts/:id route
	// passes the membership check first: 404 for non-members.
	anyMember := h.member(db.RoleReadOnly)
	e.GET("/accounts/new", h.newAccountPage, signedIn)
	e.POST("/accounts", h.createAccount, signedIn)
	e.GET("/accounts/:id", h.account, signedIn, anyMember)
	e.POST("/accounts/:id/leave", h.leave, signedIn, anyMember)

	// The Manage console: Admins only (403 for other members); owner-only
	// actions are refused inside their transactions.
	admin := h.member(db.RoleAdmin)
	e.GET("/accounts/:id/manage", h.manage, signedIn, admin)
	e.POST("/accounts/:id/invites", h.createInvite, signedIn, admin)
	e.POST("/accounts/:id/invites/:iid/revoke", h.revokeInvite, signedIn, admin)
	e.POST("/accounts/:id/invites/:iid/resend", h.resendInvite, signedIn, admin)
	e.POST("/accounts/:id/members/:uid/role", h.setRole, signedIn, admin)
	e.POST("/accounts/:id/members/:uid/remove", h.removeMember, signedIn, admin)
	e.POST("/accounts/:id/owner", h.transferOwnership, signedIn, admin)
	e.POST("/accounts/:id/settings", h.renameAccount, signedIn, admin)
	e.POST("/accounts/:id/delete", h.deleteAccount, signedIn, admin)
	e.POST("/accounts/:id/billing", h.setBilling, signedIn, admin)
	e.GET("/accounts/:id/saml", h.samlPage, signedIn, admin)
	e.POST("/accounts/:id/saml", h.createSAMLConnection, signedIn, admin)
	e.POST("/accounts/:id/saml/:cid/delete", h.deleteSAMLConnection, signedIn, admin)
	e.POST("/accounts/:id/saml/:cid/domains/:domain/verify", h.verifySAMLDomain, signedIn, admin)
	e.POST("/accounts/:id/saml/:cid/idp-initiated", h.setSAMLIdPInitiated, signedIn, admin)

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
	return nil
}
