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

// securityNotice queues the notice in a transaction of its own, for
// changes whose transaction cannot carry it (an external sign-in that
// linked a login, an unlink whose provider is known only afterwards). A
// failure is logged: the change is made and audited already.
func (h *Handler) securityNotice(c echo.Context, u db.User, subject, what string) {
	if _, err := h.store.Enqueue(c.Request().Context(), u.ID, *h.securityNoticeFor(c, u, subject, what)); err != nil {
		logger(c).Error("queue security notice", "user_id", u.ID, "subject", subject, "err", err)
		return
	}
	h.queued()
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
