package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
)

// The SSO Logins section of the profile: linked logins and their X. Add
// Login starts in oauth.go, as it leaves for the provider.

// providerLabel names the provider of a stored identity for people.
func providerLabel(provider string) string {
	switch {
	case provider == sso.Google:
		return "Google"
	case provider == sso.GitHub:
		return "GitHub"
	case provider == sso.Slack:
		return "Slack"
	case strings.HasPrefix(provider, "oidc:"):
		return strings.TrimPrefix(provider, "oidc:")
	case strings.HasPrefix(provider, "saml:"):
		return "SAML"
	}
	return provider
}

// loginRows lists the user's linked logins for #sso-logins.
func loginRows(ids []db.Identity) []views.LoginRow {
	rows := make([]views.LoginRow, 0, len(ids))
	for _, i := range ids {
		rows = append(rows, views.LoginRow{ID: i.ID, Provider: providerLabel(i.Provider), Email: i.Email, Linked: i.CreatedAt, LastUsed: i.LastUsedAt})
	}
	return rows
}

// removedLoginsText tells the person which logins the first verification
// of their email removed, or "" when none.
func removedLoginsText(removed []db.Identity) string {
	if len(removed) == 0 {
		return ""
	}
	names := make([]string, 0, len(removed))
	for _, i := range removed {
		name := "the " + providerLabel(i.Provider) + " login"
		if i.Email != "" {
			name += " (" + i.Email + ")"
		}
		names = append(names, name)
	}
	return "Removed, because they were linked before your email address was confirmed: " + strings.Join(names, ", ") + "."
}

// refuseAddLogin answers Add Login while the account email is unverified:
// a login linked then could be someone else's way into the profile of the
// address's owner (db.LinkIdentity refuses it too, in its transaction).
func (h *Handler) refuseAddLogin(c echo.Context) error {
	h.flash.set(c, "error", views.RuleText(db.ErrLinkUnconfirmedEmail))
	return redirect(c, "/profile#sso-logins")
}

// unlinkLogin removes a linked login and keeps the session; the last way
// in (no password, no other login) stays.
func (h *Handler) unlinkLogin(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The notice names the login, so it is read first; it is queued in the
	// unlink's transaction, and only if the unlink happens.
	ev := event(c, db.EventLoginUnlinked)
	if login, err := h.store.IdentityByID(ctx, u.ID, id); err == nil {
		name := providerLabel(login.Provider)
		if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.LoginRemoved, Login: name, Email: login.Email}); err != nil {
			return err
		}
	}
	removed, err := h.store.UnlinkIdentity(ctx, u.ID, id, ev)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "That login is not linked to your profile.")
	case errors.Is(err, db.ErrLastLogin):
		return answer(h, c, profileSection("profile/sso-logins"), http.StatusConflict, "", func(p *views.ProfilePage) {
			p.LoginsForm.Fail("form", views.RuleText(err))
		})
	case err != nil:
		return err
	}
	h.queued()
	msg := "The " + providerLabel(removed.Provider) + " login is removed: it no longer logs you in."
	return answer(h, c, profileSection("profile/sso-logins"), http.StatusOK, msg, func(p *views.ProfilePage) { p.LoginsForm.Message = msg })
}
