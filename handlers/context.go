package handlers

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/clip"
	"github.com/rosterhq/roster/internal/zones"
	"github.com/rosterhq/roster/views"
)

// Keys of values middleware puts in the echo context. Read them only through
// the functions below.
const (
	ctxUser        = "roster.user"
	ctxSessionHash = "roster.session"
	ctxNonce       = "roster.nonce"
	ctxCSRF        = "roster.csrf"
	ctxLog         = "roster.log"
	ctxMembership  = "roster.membership"
	ctxPrefs       = "roster.prefs"
	ctxInvites     = "roster.invites"
	ctxNoCompress  = "roster.nocompress"
)

// currentUser is the signed-in user, loaded once by loadUser; ok is false
// for an anonymous request.
func currentUser(c echo.Context) (db.User, bool) {
	u, ok := c.Get(ctxUser).(db.User)
	return u, ok
}

// currentMembership is the signed-in user's place in the account of an
// /accounts/{id}/... route, loaded once by the member middleware.
func currentMembership(c echo.Context) db.Membership {
	m, _ := c.Get(ctxMembership).(db.Membership)
	return m
}

// sessionHash identifies the request's session in the sessions table.
func sessionHash(c echo.Context) []byte {
	b, _ := c.Get(ctxSessionHash).([]byte)
	return b
}

func nonce(c echo.Context) string {
	s, _ := c.Get(ctxNonce).(string)
	return s
}

func csrfToken(c echo.Context) string {
	s, _ := c.Get(ctxCSRF).(string)
	return s
}

// logger is the request's logger, which carries its request id.
func logger(c echo.Context) *slog.Logger {
	if l, ok := c.Get(ctxLog).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// page builds the common view data once per request.
func (h *Handler) page(c echo.Context, title string) views.Page {
	u, _ := currentUser(c)
	return views.Page{
		Title:   title,
		User:    u,
		CSRF:    csrfToken(c),
		Nonce:   nonce(c),
		Flash:   h.flash.take(c),
		Invites: func() int { return h.inviteCount(c, u.ID) },
		Prefs:   h.prefs(c),
		Clock:   clockFor(h.prefs(c)),

		CardsOffered: h.cardsOffered(),
	}
}

// prefs are the signed-in user's preferences, read with the session
// (loadUser), or the defaults for anonymous requests.
func (h *Handler) prefs(c echo.Context) db.Preferences {
	if p, ok := c.Get(ctxPrefs).(db.Preferences); ok {
		return p
	}
	return db.DefaultPreferences()
}

// clockFor shows times as p says. Only relative times read the clock's
// Now: the others leave it zero, so a page showing them digests the same
// from one request to the next (the render memo, views/memo.go), while a
// page of relative times never does.
func clockFor(p db.Preferences) views.Clock {
	c := views.Clock{Zone: zones.Load(p.Timezone), DateFormat: p.DateFormat, Hour12: p.Clock == "12"}
	if c.DateFormat == "relative" {
		c.Now = time.Now()
	}
	return c
}

// inviteCount is the number on the menu's badge, counted when a template
// first shows it. The badge is a hint, and the error page builds a Page
// too, so a failed count is logged and shown as no badge rather than
// failing the page.
func (h *Handler) inviteCount(c echo.Context, userID int64) int {
	if userID == 0 {
		return 0
	}
	// A page that lists the invites has counted them already.
	if n, ok := c.Get(ctxInvites).(int); ok {
		return n
	}
	n, err := h.store.CountInvitesForUser(c.Request().Context(), userID)
	if err != nil {
		logger(c).Warn("count invites", "user_id", userID, "err", err)
		// Kept for the request too: the render memo's digest asks first
		// and the template after, and both must see the same number.
		n = 0
	}
	c.Set(ctxInvites, n)
	return n
}

// event starts an audit event with the request's client details.
func event(c echo.Context, kind string) db.Event {
	return db.Event{Kind: kind, IP: c.RealIP(), UserAgent: clip.String(c.Request().UserAgent(), 512)}
}
