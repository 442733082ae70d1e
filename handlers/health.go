package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// health answers 200 "ok" when the database answers a query.
func (h *Handler) health(c echo.Context) error {
	if err := h.store.Ping(c.Request().Context()); err != nil {
		logger(c).Error("health check", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ok")
}
