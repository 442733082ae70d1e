package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/views"
)

// HandleError is echo's central error handler. It logs a server error once,
// with its request id, and answers with an error page or, for htmx, a toast.
// The text of an internal error never reaches the person.
func (h *Handler) HandleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, errOnPrimary) {
		if err := h.replay(c); err != nil {
			logger(c).Error("replay on the primary", "err", err)
		}
		return
	}
	code, text := http.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		// A 503 is an overload the person should hear about (see hashError);
		// other 5xx texts stay in the log.
		if msg, ok := he.Message.(string); ok && (code < 500 || code == http.StatusServiceUnavailable) {
			text = publicMessage(code, msg)
		}
	}
	var busy *password.BusyError
	switch {
	case errors.As(err, &busy): // the hasher's expected wait
		c.Response().Header().Set("Retry-After", retryAfter(busy))
	case code == http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", "5")
	}
	if code >= 500 {
		logger(c).Error("request failed", "err", err, "method", c.Request().Method, "route", c.Path(), "path", loggedPath(c))
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(code)
		return
	}
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	if isFragment(c) {
		retargetToast(c)
		c.Response().WriteHeader(code)
		if err := h.views.Toast(c.Response(), text); err != nil {
			logger(c).Error("render toast", "err", err)
		}
		return
	}
	data := views.MessagePage{Page: h.page(c, http.StatusText(code)), Heading: http.StatusText(code), Text: text}
	c.Response().WriteHeader(code)
	if err := h.views.Page(c.Response(), "error.html", data); err != nil {
		logger(c).Error("render error page", "err", err)
	}
}

// publicMessage replaces echo's terse default texts with sentences.
func publicMessage(code int, msg string) string {
	if msg != http.StatusText(code) {
		return msg
	}
	switch code {
	case http.StatusNotFound:
		return "There is nothing at this address."
	case http.StatusMethodNotAllowed:
		return "This address does not take that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "What you sent is too large."
	case http.StatusForbidden:
		return "You do not have access to this page."
	}
	return msg
}
