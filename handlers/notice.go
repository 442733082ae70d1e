package handlers

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// securityNoticeFor writes the notice telling u that the ways into their
// profile changed: a password change or reset, a login linked or removed,
// a first sign-in with a provider. It fills in when, from where and the
// links of m (views/mail/security_*.txt have the words). It goes under the
// security circumstance, which always reaches the account email. Put it in
// the change's audit event (db.Event.Notice) so it is queued in the same
// transaction.
func (h *Handler) securityNoticeFor(c echo.Context, u db.User, m views.SecurityMail) (*db.Notice, error) {
	m.Name = u.DisplayName()
	m.When = time.Now()
	m.IP, m.Device = c.RealIP(), device(c.Request().UserAgent())
	m.ResetLink, m.ProfileLink = h.link("/password/forgot"), h.link("/profile")
	return h.views.Notice(db.CircumstanceSecurity, m)
}

// loginNotices are the notices an external sign-in may queue with its
// audit entry: linked when it links the login by its email, the new-device
// notice when it comes from a browser the person never signed in from (as
// for a password sign-in, signIn in auth.go). The user is not known yet,
// so the greeting names no one.
func (h *Handler) loginNotices(c echo.Context, linked views.SecurityMail) (db.LoginNotices, error) {
	var n db.LoginNotices
	var err error
	if n.Linked, err = h.securityNoticeFor(c, db.User{}, linked); err != nil {
		return n, err
	}
	n.NewDevice, err = h.newDeviceNotice(c)
	return n, err
}

// newDeviceNotice tells the owner of a profile that a browser it never
// saw signed in to it.
func (h *Handler) newDeviceNotice(c echo.Context) (*db.Notice, error) {
	return h.securityNoticeFor(c, db.User{}, views.SecurityMail{Change: views.NewDevice})
}
