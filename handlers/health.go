package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// health answers 200 "ok" when the database answers a query.
func (h *Handler) health(c echo.Context) error {
	ctx := c.Request().Context()
	if err := h.store.Ping(ctx); err != nil {
		// A checker that gave up (its own time-out on a busy machine)
		// is not a database failure: no ERROR line for it.
		if ctx.Err() != nil {
			logger(c).Info("health check abandoned by the client", "err", err)
		} else {
			logger(c).Error("health check", "err", err)
		}
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ok")
}
