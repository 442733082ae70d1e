package handlers

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/views"
)

// The one way a handler answers with HTML, and everything about htmx's
// request and response headers. Whether a request wants a whole page or,
// from htmx, one fragment of it is decided once, here; handlers never ask.
// A GET renders its page with render; a POST answers with one call of
// answer, naming the section it changed:
//
//	htmx                 the section's fragment, with the status given
//	failed (4xx)         the whole page with the section's messages, same status
//	succeeded, plain     303 to the section's page, with the message as a flash
//
// (Pagoda's pkg/htmx and its controller's RenderPage are the model.)

const ctxFragment = "roster.fragment"

// isFragment decides whether a request wants a fragment rather than a page:
// an htmx request that is neither boosted (which wants a whole page) nor a
// history restore (which reloads a whole page into the document). It is
// decided once per request and kept on the context. Only the responder and
// the central error handler ask.
func isFragment(c echo.Context) bool {
	if v, ok := c.Get(ctxFragment).(bool); ok {
		return v
	}
	h := c.Request().Header
	v := h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
	c.Set(ctxFragment, v)
	return v
}

// target is the id of the element an htmx request swaps its answer into;
// "" when the request wants a whole page.
func target(c echo.Context) string {
	if !isFragment(c) {
		return ""
	}
	return c.Request().Header.Get("HX-Target")
}

// isHTMX reports whether htmx sent the request at all, boosted or not.
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// render answers with the whole page, or with just the named fragment for
// htmx, followed by the fragments named in oob, swapped out of band. All
// come from the same template file. Nothing is sent until all rendered, so
// a template error is a clean 500.
func (h *Handler) render(c echo.Context, status int, page, fragment string, data any, oob ...string) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if isFragment(c) && fragment != "" {
		if err := h.views.Fragment(buf, page, fragment, data); err != nil {
			return err
		}
		for _, name := range oob {
			if err := h.views.OutOfBand(buf, page, name, data); err != nil {
				return err
			}
		}
	} else if err := h.views.Page(buf, page, data); err != nil {
		return err
	}
	if s, ok := data.(interface{ HoldsSecret() bool }); ok && s.HoldsSecret() {
		noCompress(c) // a secret shown once is not compressed (compress.go)
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	// The whole answer is known: its length spares the chunked encoding.
	hd.Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// renderBuffers keep the buffers pages are rendered into: a page grew a new
// one by doubling on every request (about 100 KB allocated and copied for a
// 35 KB profile page) before a byte was sent.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxKeptBuffer is the largest buffer put back: one outsized page must not
// pin its memory for good.
const maxKeptBuffer = 1 << 20

func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxKeptBuffer {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// section is a part of a page that a POST answers with: the page's
// template file and its loader (shared with the page's GET, so the page and
// its fragments cannot drift apart), the fragment htmx swaps, and where a
// browser without JavaScript goes after a success. htmx also gets the
// fragments in oob, which show what the POST changed elsewhere on the page.
type section[T any] struct {
	file     string
	fragment string
	load     func(*Handler, echo.Context) (T, error)
	back     func(echo.Context) place
	oob      []string
}

// to is a section's back for a fixed address.
func to(t place) func(echo.Context) place {
	return func(echo.Context) place { return t }
}

// answer finishes a POST that changed section s. A success (status below
// 300) without htmx is a 303 to s.back with message as a flash; otherwise
// the section's page is loaded, fill puts the POST's outcome in it, and it
// is rendered with status: the fragment for htmx (with s.oob and oob, the
// other sections this POST changed, out of band), the whole page for a
// plain form whose post failed.
func answer[T any](h *Handler, c echo.Context, s section[T], status int, message string, fill func(*T), oob ...string) error {
	if status < http.StatusMultipleChoices && !isFragment(c) {
		return h.flashTo(c, s.back(c), message)
	}
	return show(h, c, s, status, fill, oob...)
}

// show renders section s (the fragment for htmx, else the whole page) with
// status after fill, with no redirect: for an answer that must be seen
// once, such as a new secret.
func show[T any](h *Handler, c echo.Context, s section[T], status int, fill func(*T), oob ...string) error {
	data, err := s.load(h, c)
	if err != nil {
		return err
	}
	if fill != nil {
		fill(&data)
	}
	return h.render(c, status, s.file, s.fragment, data, slices.Concat(s.oob, oob)...)
}

// refused is a form with message as its error for the whole form.
func refused(message string) views.Form {
	var f views.Form
	f.Fail("form", message)
	return f
}

// flashTo redirects a plain form post to t with a success message.
func (h *Handler) flashTo(c echo.Context, t place, message string) error {
	h.flash.set(c, "success", message)
	return seeOther(c, t)
}

// retargetToast makes htmx put an error answer into the toast area instead
// of the element the request named.
func retargetToast(c echo.Context) {
	c.Response().Header().Set("HX-Retarget", "#toasts")
	c.Response().Header().Set("HX-Reswap", "beforeend")
}
