package handlers

import (
	"fmt"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// securityNoticeFor writes the notice telling u that the ways into their
// profile changed: a password change or reset, a login linked or removed,
// a first sign-in with a provider. It goes under the security circumstance,
// which always reaches the account email. Put it in the change's audit
// event (db.Event.Notice) so it is queued in the same transaction.
func (h *Handler) securityNoticeFor(c echo.Context, u db.User, subject, what string) *db.Notice {
	greeting := "Hello,"
	if name := u.DisplayName(); name != "" {
		greeting = "Hello " + name + ","
	}
	return &db.Notice{
		Circumstance: db.CircumstanceSecurity,
		Subject:      "Security notice: " + subject,
		Body: fmt.Sprintf("%s\n\n%s\n\nWhen: %s\nFrom: IP address %s, %s\n\n"+
			"If this was you, there is nothing to do. If it was not, reset your password at\n%s\n"+
			"and review your sessions and linked logins at\n%s\n",
			greeting, what, time.Now().UTC().Format("2 Jan 2006 15:04 UTC"), c.RealIP(), device(c.Request().UserAgent()),
			h.link("/password/forgot"), h.link("/profile")),
	}
}

// loginNotices are the notices an external sign-in may queue with its
// audit entry: linkedSubject and linkedWhat when it links the login by its
// email, the new-device notice when it comes from a browser the person
// never signed in from (as for a password sign-in, signIn in auth.go).
// The user is not known yet, so the greeting names no one.
func (h *Handler) loginNotices(c echo.Context, linkedSubject, linkedWhat string) db.LoginNotices {
	return db.LoginNotices{
		Linked:    h.securityNoticeFor(c, db.User{}, linkedSubject, linkedWhat),
		NewDevice: h.newDeviceNotice(c),
	}
}

// newDeviceNotice tells the owner of a profile that a browser it never
// saw signed in to it.
func (h *Handler) newDeviceNotice(c echo.Context) *db.Notice {
	return h.securityNoticeFor(c, db.User{}, "sign-in from a new device",
		"Your Roster profile was signed in to from "+device(c.Request().UserAgent())+", a browser that had not signed in to it before.")
}

// accountNotice tells a member about a change to their membership. It is
// put in the change's audit event, which queues it for the member (not
// the acting Admin) in the change's transaction.
func accountNotice(account, what string) *db.Notice {
	return &db.Notice{
		Circumstance: db.CircumstanceAccount,
		Subject:      "Your membership of " + account + " changed",
		Body:         "Hello,\n\n" + what + "\n",
	}
}
