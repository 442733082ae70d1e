package handlers

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Limits of one request's form, query string included. The largest form,
// the routing matrix, sends 4 circumstances x 11 methods plus the token.
const (
	maxFormValues = 100
	maxFormValue  = 64 << 10
)

// largeFormFields may exceed maxFormValue, up to bodyLimit: a SAML
// identity provider's metadata, pasted whole (AD FS metadata, with its
// role descriptors and certificates, runs to tens of KiB).
var largeFormFields = map[string]bool{"metadata_xml": true}

// formLimits parses the form once, before anything reads it, and refuses
// text that is not UTF-8 (400), more than maxFormValues values or a value
// over maxFormValue (413). Stripe's webhook and the SAML ACS are left to
// their own parsers: they carry signed payloads, not our forms.
func (h *Handler) formLimits(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if p == "/stripe/webhook" || (strings.HasPrefix(p, "/saml/") && strings.HasSuffix(p, "/acs")) {
			return next(c)
		}
		if err := c.Request().ParseForm(); err != nil {
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return he // bodyLimit's 413
			}
			return echo.NewHTTPError(http.StatusBadRequest, "This form could not be read. Reload the page and try again.")
		}
		if err := checkForm(c.Request().Form); err != nil {
			return err
		}
		return next(c)
	}
}

// checkForm applies the limits of formLimits to parsed values.
func checkForm(form map[string][]string) error {
	n := 0
	for k, vs := range form {
		n += len(vs)
		if n > maxFormValues {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "This form has too many fields.")
		}
		if !utf8.ValidString(k) {
			return errNotUTF8
		}
		for _, v := range vs {
			if len(v) > maxFormValue && !largeFormFields[k] {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "A field of this form is too long.")
			}
			if !utf8.ValidString(v) {
				return errNotUTF8
			}
		}
	}
	return nil
}

var errNotUTF8 = echo.NewHTTPError(http.StatusBadRequest, "This form contains text that is not valid UTF-8. Check what you typed or pasted and try again.")
