package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Everything about htmx's request and response headers lives here.

// isFragment decides whether a request wants a fragment rather than a page:
// an htmx request that is neither boosted (which wants a whole page) nor a
// history restore (which reloads a whole page into the document).
func isFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
}

// isHTMX reports whether htmx sent the request at all, boosted or not.
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// redirect sends the browser to url: a 303 for a plain form post, an
// HX-Redirect for htmx (which would otherwise follow a 303 with XHR and swap
// the target page into a fragment).
func redirect(c echo.Context, url string) error {
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", url)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, url)
}

// retargetToast makes htmx put an error answer into the toast area instead
// of the element the request named.
func retargetToast(c echo.Context) {
	c.Response().Header().Set("HX-Retarget", "#toasts")
	c.Response().Header().Set("HX-Reswap", "beforeend")
}
