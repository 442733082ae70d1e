package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/password"
)

// Password checks wait for the hasher in arrival order while their
// expected wait stays within ROSTER_SIGNIN_WAIT (password.Hasher). Past
// it, the answer is a 503 whose Retry-After is that wait, and a place
// ticket: a cookie, encrypted and signed with a key derived from the
// server's secret, holding the address the check was for and the moment
// it first arrived. A browser sends it back with the retried form, without
// any script, and the retry waits in line as if it had arrived then, ahead
// of everyone who came later. The ticket is good for one address, and
// only until a little after the wait it was given for.

// ticketGrace is how long past its Retry-After a ticket is still honoured:
// a person pressing the button again a little late keeps the place.
const ticketGrace = 30 * time.Second

// placeTicket is the ticket's content.
type placeTicket struct {
	Email   string `json:"e"` // emailKey of the address checked
	Arrival int64  `json:"a"` // first arrival, Unix nanoseconds
	Expires int64  `json:"x"` // Unix seconds
}

// ticketCookie reads and writes place tickets.
type ticketCookie struct {
	codec  *securecookie.SecureCookie
	name   string
	secure bool
	now    func() time.Time
}

func newTicketCookie(secret []byte, secure bool) *ticketCookie {
	codec := securecookie.New(deriveKey(secret, "signin place hash"), deriveKey(secret, "signin place block"))
	codec.MaxAge(3600) // a backstop: the ticket's own expiry decides, against now
	codec.SetSerializer(securecookie.JSONEncoder{})
	name := "roster_place"
	if secure {
		name = "__Host-roster_place"
	}
	return &ticketCookie{codec: codec, name: name, secure: secure, now: time.Now}
}

// arrival is the first arrival the request's ticket holds for email, if it
// holds a valid one. A ticket is re-issued with its first arrival each time
// the wait is refused again, so its arrival, not its expiry, bounds how
// long a place is kept: one older than oldest is refused (the request is a
// newcomer), or a client (or a copy of its ticket) could stay first in
// line for ever.
func (tc *ticketCookie) arrival(c echo.Context, email string, oldest time.Duration) (time.Time, bool) {
	ck, err := c.Cookie(tc.name)
	if err != nil {
		return time.Time{}, false
	}
	var t placeTicket
	if err := tc.codec.Decode(tc.name, ck.Value, &t); err != nil {
		return time.Time{}, false
	}
	at := time.Unix(0, t.Arrival)
	if t.Email != emailKey(email) || tc.now().Unix() >= t.Expires || tc.now().Sub(at) > oldest {
		return time.Time{}, false
	}
	return at, true
}

func (tc *ticketCookie) set(c echo.Context, email string, arrival time.Time, wait time.Duration) {
	life := wait + ticketGrace
	v, err := tc.codec.Encode(tc.name, placeTicket{Email: emailKey(email), Arrival: arrival.UnixNano(), Expires: tc.now().Add(life).Unix()})
	if err != nil {
		logger(c).Error("encode place ticket", "err", err)
		return
	}
	c.SetCookie(&http.Cookie{Name: tc.name, Value: v, Path: "/", MaxAge: int(life / time.Second), HttpOnly: true, Secure: tc.secure, SameSite: http.SameSiteLaxMode})
}

func (tc *ticketCookie) clear(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: tc.name, Path: "/", MaxAge: -1, HttpOnly: true, Secure: tc.secure, SameSite: http.SameSiteLaxMode})
}

// inLine is one request's place in the hasher's line for the password
// checks of one address.
type inLine struct {
	email   string
	arrival time.Time
	ticket  bool // the request came with a valid ticket
}

// waitInLine returns the context the request's hashes for email run under:
// at the arrival its ticket holds, else now.
func (h *Handler) waitInLine(c echo.Context, email string) (context.Context, inLine) {
	// A place is kept for two waits of the budget and the grace: one
	// refusal and its retry, and a second if the line grew meanwhile.
	at, ok := h.tickets.arrival(c, email, 2*h.hasher.Budget()+ticketGrace)
	if !ok {
		at = h.tickets.now()
	}
	return password.WithArrival(c.Request().Context(), at), inLine{email: email, arrival: at, ticket: ok}
}

// verifyInLine checks pw against hash in the hasher's line, at the place
// the request's ticket for key kept, else now; a wait past the budget
// leaves a ticket for key on the answer (the error is a BusyError:
// waitTooLong words it). Every password check of a person (sign-in, the
// profile's current password, the sudo prompt) goes through here, so all
// wait in one line the same way.
func (h *Handler) verifyInLine(c echo.Context, key, pw, hash string) (bool, error) {
	ctx, line := h.waitInLine(c, key)
	ok, err := h.hasher.Verify(ctx, pw, hash)
	h.done(c, line, err)
	return ok, err
}

// hashInLine hashes a new password in the hasher's line, as verifyInLine
// checks one (sign-up, reset, the profile's password change).
func (h *Handler) hashInLine(c echo.Context, key, pw string) (string, error) {
	ctx, line := h.waitInLine(c, key)
	hash, err := h.hasher.Hash(ctx, pw)
	h.done(c, line, err)
	return hash, err
}

// done ends the request's wait: a hash the hasher refused for its wait
// gives a ticket that keeps the place (and the busy answer); otherwise a
// ticket that was used is spent.
func (h *Handler) done(c echo.Context, l inLine, err error) {
	var busy *password.BusyError
	if errors.As(err, &busy) {
		h.tickets.set(c, l.email, l.arrival, busy.RetryAfter)
		return
	}
	if l.ticket {
		h.tickets.clear(c)
	}
}

// retryAfter is the Retry-After of a busy hasher's refusal: its expected
// wait in whole seconds, rounded up.
func retryAfter(busy *password.BusyError) string {
	return strconv.Itoa(int((busy.RetryAfter + time.Second - 1) / time.Second))
}

// waitTooLong reports whether err is the hasher's refusal of a wait past
// the budget and, if so, sets Retry-After on the answer.
func waitTooLong(c echo.Context, err error) (*password.BusyError, bool) {
	var busy *password.BusyError
	if !errors.As(err, &busy) {
		return nil, false
	}
	c.Response().Header().Set("Retry-After", retryAfter(busy))
	return busy, true
}
