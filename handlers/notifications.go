package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/views"
)

// notifications lists the user's outbox rows, newest first, a page at a
// time; the profile shows only the latest few.
func (h *Handler) notifications(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	total, err := h.store.CountDeliveries(ctx, u.ID)
	if err != nil {
		return err
	}
	data := views.NotificationsPage{
		Pager: h.listPage(c, "/profile/notifications", "page", "Pages of notifications", total),
	}
	if data.Deliveries, err = h.store.Deliveries(ctx, u.ID, data.Pager.Size, data.Pager.Offset()); err != nil {
		return err
	}
	data.Page = h.page(c, "Notifications")
	return h.render(c, http.StatusOK, "notifications.html", "", data)
}
