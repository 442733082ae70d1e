package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Roster on a LiteFS replica (Config.Replica) never writes: a request
// that would is answered with Fly-Replay, and Fly's edge replays it on the
// primary the header names, before any work is done here.

// writingGETs are the routes, by their pattern, whose GET writes: only an
// external sign-in coming back (the provider redirects the browser there;
// its state binds it to this browser). Every other GET only reads
// (TestGETsDoNotWrite), and every other method writes, or may (onPrimary).
var writingGETs = map[string]bool{
	"/auth/:provider/callback": true,
}

// errOnPrimary is returned by a handler that found, once started, that it
// has to write (the SAML key pair is not made yet, a bearer token's
// throttle): HandleError replays the request on the primary.
var errOnPrimary = errors.New("this request writes: it is for the primary")

// replica says whether this process serves a LiteFS replica, and names
// its primary.
func (h *Handler) replica() (primary string, ok bool) {
	if h.cfg.Replica == nil {
		return "", false
	}
	return h.cfg.Replica()
}

// onPrimary sends every request that writes to the primary while this
// process serves a replica: every method but GET, HEAD and OPTIONS, and
// the writingGETs.
func (h *Handler) onPrimary(next echo.HandlerFunc) echo.HandlerFunc {
	if h.cfg.Replica == nil {
		return next
	}
	return func(c echo.Context) error {
		if _, ok := h.replica(); !ok {
			if c.Request().Method == http.MethodGet && writingGETs[c.Path()] {
				h.setTXID(c)
			}
			return next(c)
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			if !writingGETs[c.Path()] {
				return next(c)
			}
		}
		return h.replay(c)
	}
}

// replay answers with Fly-Replay naming the primary, as LiteFS's own
// proxy does for a write that reaches a replica. Without a primary's name
// (a replica that lost its primary), the request cannot be served: 503.
func (h *Handler) replay(c echo.Context) error {
	primary, ok := h.replica()
	if !ok {
		// Promoted meanwhile: the client tries again and is served here.
		c.Response().Header().Set("Retry-After", "1")
		return c.NoContent(http.StatusServiceUnavailable)
	}
	if primary == "" {
		logger(c).Warn("replica: no primary to replay a write on")
		c.Response().Header().Set("Retry-After", "5")
		return c.NoContent(http.StatusServiceUnavailable)
	}
	c.Response().Header().Set("Fly-Replay", "instance="+primary)
	return c.NoContent(http.StatusTemporaryRedirect)
}

// txidCookie is the cookie LiteFS's proxy sets after a write, and
// txidExpiry its lifetime there (http/proxy_server.go, LiteFS v0.5.14): a
// GET carrying it waits on a replica until the replica has that
// transaction.
const (
	txidCookie = "__txid"
	txidExpiry = 5 * time.Minute
)

// setTXID sets the __txid cookie on the answer to a writing GET served on
// the primary, as LiteFS's proxy does after any other method: the proxy
// sets it only when the method is not GET or HEAD, so without this the
// next page on a replica may read the state from before the write. The
// position is read as the answer's header is written, after the
// handler's writes have committed.
func (h *Handler) setTXID(c echo.Context) {
	if h.cfg.TXID == nil {
		return
	}
	res := c.Response()
	res.Before(func() {
		txid, ok := h.cfg.TXID()
		if !ok {
			return
		}
		http.SetCookie(res, &http.Cookie{
			Name: txidCookie, Value: txid, Path: "/",
			Expires: time.Now().Add(txidExpiry), HttpOnly: true,
		})
	})
}
