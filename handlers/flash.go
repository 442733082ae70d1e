package handlers

import (
	"net/http"

	"github.com/gorilla/securecookie"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/views"
)

// flasher keeps a one-time message in a signed cookie between a POST and the
// page it redirects to. A cookie, not the session, so it works signed out.
type flasher struct {
	codec  *securecookie.SecureCookie
	name   string
	secure bool
}

func newFlasher(secret []byte, secure bool) *flasher {
	codec := securecookie.New(deriveKey(secret, "flash"), nil)
	codec.MaxAge(300)
	// Two strings need no gob: JSON decodes them without compiling a gob
	// type description on every request that carries a message.
	codec.SetSerializer(securecookie.JSONEncoder{})
	name := "roster_flash"
	if secure {
		name = "__Host-roster_flash"
	}
	return &flasher{codec: codec, name: name, secure: secure}
}

func (f *flasher) set(c echo.Context, kind, message string) {
	v, err := f.codec.Encode(f.name, views.Flash{Kind: kind, Message: message})
	if err != nil {
		logger(c).Error("encode flash", "err", err)
		return
	}
	c.SetCookie(&http.Cookie{Name: f.name, Value: v, Path: "/", MaxAge: 300, HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
}

// take returns the pending message, once, and clears its cookie.
func (f *flasher) take(c echo.Context) views.Flash {
	ck, err := c.Cookie(f.name)
	if err != nil {
		return views.Flash{}
	}
	c.SetCookie(&http.Cookie{Name: f.name, Path: "/", MaxAge: -1, HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
	var fl views.Flash
	if err := f.codec.Decode(f.name, ck.Value, &fl); err != nil {
		return views.Flash{}
	}
	return fl
}
