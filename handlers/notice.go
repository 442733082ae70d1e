package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/mail"
)

// securityNotice tells the user by email that the ways into their profile
// changed: a password change or reset, a login linked or removed, a first
// sign-in with a provider. It goes to the account email, which security
// notices always reach. It is sent in the background: the change is made
// and audited already, and a slow mail server must not hold the page.
func (h *Handler) securityNotice(c echo.Context, u db.User, subject, what string) {
	msg := mail.Message{
		To:      u.Email,
		Subject: "Security notice: " + subject,
		Text: fmt.Sprintf("Hello %s,\n\n%s\n\nWhen: %s\nFrom: IP address %s, %s\n\n"+
			"If this was you, there is nothing to do. If it was not, reset your password at\n%s\n"+
			"and review your sessions and linked logins at\n%s\n",
			u.DisplayName(), what, time.Now().UTC().Format("2 Jan 2006 15:04 UTC"), c.RealIP(), device(c.Request().UserAgent()),
			h.link("/password/forgot"), h.link("/profile")),
	}
	log := logger(c)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.mail.Send(ctx, msg); err != nil {
			log.Error("send security notice", "user_id", u.ID, "subject", subject, "err", err)
		}
	}()
}
