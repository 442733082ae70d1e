package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/views"
)

// /profile/notifications: the routing matrix (notify_routing.go) and the
// user's outbox rows, newest first, a page at a time.

// loadNotificationsData builds the notifications page. The GET and every
// answer of POST /profile/notifications use it.
func (h *Handler) loadNotificationsData(c echo.Context) (views.NotificationsPage, error) {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	methods, err := h.store.ContactMethods(ctx, u.ID)
	if err != nil {
		return views.NotificationsPage{}, err
	}
	rules, err := h.store.Rules(ctx, u.ID)
	if err != nil {
		return views.NotificationsPage{}, err
	}
	total, err := h.store.CountDeliveries(ctx, u.ID)
	if err != nil {
		return views.NotificationsPage{}, err
	}
	data := views.NotificationsPage{
		Page:  h.page(c, "Notifications"),
		Pager: h.listPage(c, "/profile/notifications", "page", "Pages of notifications", total),
	}
	data.Columns, data.Routes = routingMatrix(methods, rules)
	if data.Deliveries, err = h.store.Deliveries(ctx, u.ID, data.Pager.Size, data.Pager.Offset()); err != nil {
		return views.NotificationsPage{}, err
	}
	return data, nil
}

// routingSection is #notification-routing, which POST /profile/notifications
// answers with.
var routingSection = section[views.NotificationsPage]{file: "notifications.html", fragment: "notifications/routing",
	load: (*Handler).loadNotificationsData, back: to("/profile/notifications")}

func (h *Handler) notifications(c echo.Context) error {
	data, err := h.loadNotificationsData(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "notifications.html", "", data)
}
