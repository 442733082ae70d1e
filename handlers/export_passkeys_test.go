package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// PasskeyCheckRoutes adds, for tests, routes around the check of a known
// user's passkey that the second sign-in step and re-authentication call:
// POST /test/passkey-check/:uid/begin answers beginPasskeyCheck's options
// (404 when the user has no passkey), POST /test/passkey-check/:uid
// finishPasskeyCheck's outcome: 200 with the passkey's name, or 422.
func (h *Handler) PasskeyCheckRoutes(e *echo.Echo) {
	user := func(c echo.Context) (db.User, error) {
		id, err := idParam(c, "uid")
		if err != nil {
			return db.User{}, err
		}
		return h.store.UserByID(c.Request().Context(), id)
	}
	e.POST("/test/passkey-check/:uid/begin", func(c echo.Context) error {
		u, err := user(c)
		if err != nil {
			return err
		}
		// The second step asks first whether u has a passkey at all.
		has, err := h.hasPasskeys(c, u)
		if err != nil {
			return err
		}
		if !has {
			return c.String(http.StatusNotFound, "no passkey")
		}
		ok, err := h.beginPasskeyCheck(c, u)
		if !ok && err == nil {
			return errors.New("beginPasskeyCheck: no passkey, though hasPasskeys said there is one")
		}
		return err
	})
	e.POST("/test/passkey-check/:uid", func(c echo.Context) error {
		u, err := user(c)
		if err != nil {
			return err
		}
		key, err := h.finishPasskeyCheck(c, u)
		if errors.Is(err, errPasskeyCheckFailed) {
			return c.String(http.StatusUnprocessableEntity, err.Error())
		}
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, key.Name)
	})
}
