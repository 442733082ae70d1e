package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// The notify API: the rest of a product queues notifications for a user,
// who decides with their routing rules where each goes. It authenticates
// with a bearer token (ROSTER_API_TOKEN), not cookies, so it is exempt from
// the CSRF check.

type notifyRequest struct {
	User         json.RawMessage `json:"user"` // an id (number or digits) or an email
	Circumstance string          `json:"circumstance"`
	Severity     int             `json:"severity"`
	Subject      string          `json:"subject"`
	Body         string          `json:"body"`
}

type apiError struct {
	Error string `json:"error"`
}

func apiFail(c echo.Context, status int, msg string) error {
	return c.JSON(status, apiError{msg})
}

// apiBearer checks the bearer token against ROSTER_API_TOKEN, in constant
// time (over hashes, so the length leaks nothing either), and answers an
// apiRefusal: 401 for a wrong or missing token, 429 when the client's IP
// has used up its failures. The slot is taken before the comparison and a
// right token gives it back, so only failures count, and a throttled
// client learns nothing about its guesses. Without a configured token
// nothing is authorized.
func (h *Handler) apiBearer(c echo.Context) error {
	slot, err := h.store.Reserve(c.Request().Context(), h.throttle.apiFailures.on(clientKey(c)))
	if t, ok := throttled(c, err); ok {
		return apiRefusal{http.StatusTooManyRequests, fmt.Sprintf("too many failed bearer tokens from this address; retry after %d seconds", int(t.RetryAfter/time.Second))}
	}
	if err != nil {
		return err
	}
	got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(h.cfg.APIToken))
	if !ok || h.cfg.APIToken == "" || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
		return apiRefusal{http.StatusUnauthorized, "a valid bearer token is required"}
	}
	h.release(c.Request().Context(), c, slot)
	return nil
}

func (h *Handler) notifyAPI(c echo.Context) error {
	if err := h.apiBearer(c); err != nil {
		var refused apiRefusal
		if errors.As(err, &refused) {
			return apiFail(c, refused.status, refused.msg)
		}
		return err
	}
	var req notifyRequest
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiFail(c, http.StatusBadRequest, "the body must be a JSON object with user, circumstance, severity, subject and body")
	}
	switch {
	case !db.ValidCircumstance(req.Circumstance):
		return apiFail(c, http.StatusUnprocessableEntity, "circumstance must be alerts, account, billing or security")
	case req.Circumstance == db.CircumstanceAlerts && (req.Severity < 1 || req.Severity > 5):
		return apiFail(c, http.StatusUnprocessableEntity, "alerts need a severity from 1 to 5")
	case strings.TrimSpace(req.Subject) == "" || utf8.RuneCountInString(req.Subject) > 200 || strings.ContainsAny(req.Subject, "\r\n"):
		return apiFail(c, http.StatusUnprocessableEntity, "subject must be one line of 1 to 200 characters")
	case len(req.Body) > 10000:
		return apiFail(c, http.StatusUnprocessableEntity, "body must be at most 10000 bytes")
	}
	u, err := h.apiUser(c, req.User)
	if errors.Is(err, db.ErrNotFound) {
		return apiFail(c, http.StatusNotFound, "no such user")
	}
	if err != nil {
		return err
	}
	ids, err := h.store.Enqueue(c.Request().Context(), u.ID, db.Notice{
		Circumstance: req.Circumstance, Severity: req.Severity, Subject: strings.TrimSpace(req.Subject), Body: req.Body})
	if err != nil {
		return err
	}
	h.queued()
	return c.JSON(http.StatusAccepted, map[string]any{"queued": ids})
}

// apiUser finds the user a request names by id or account email.
func (h *Handler) apiUser(c echo.Context, raw json.RawMessage) (db.User, error) {
	ctx := c.Request().Context()
	var id int64
	if err := json.Unmarshal(raw, &id); err == nil && id > 0 {
		return h.store.UserByID(ctx, id)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return db.User{}, db.ErrNotFound
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return h.store.UserByID(ctx, n)
	}
	return h.store.UserByEmail(ctx, s)
}
