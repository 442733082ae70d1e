package handlers

import (
	"bufio"
	"compress/gzip"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/labstack/echo/v4"
)

// Compression of pages, fragments and JSON (issue 19): br when the browser
// offers it at least as gladly as gzip, else gzip, for the types of
// compressible below, once a body reaches compressMin bytes. Static files
// are compressed once at start (static.go) and answered by their own
// handler, not here.
//
// BREACH: a page that reflects a person's input next to a secret leaks the
// secret through the compressed length. The one secret every page carries,
// the CSRF token, is masked with a new pad in every place it is written
// (internal/csrfmask, views.fillSlots), so no two responses carry the same
// token bytes; answers that show a secret once (a TOTP key while enrolling,
// new recovery codes, a webhook's signing secret) say so
// (views.ProfilePage.HoldsSecret) and go out uncompressed.

// compressMin is the smallest body worth compressing: below it the
// headers' and the format's overhead eats the gain.
const compressMin = 1024

// Compression levels for bodies made per request, measured on /profile
// (BenchmarkCompress, 31.6 KB plain, ~380 us of CPU uncompressed): gzip 1
// gives 5.6 KB for ~200 us more, br 2 5.1 KB for ~350 us; gzip 5 and br 4
// gave 4.8 and 4.7 KB for 600-1,100 us, doubling or tripling the request.
const (
	brotliQuality = 2
	gzipLevel     = gzip.BestSpeed
)

// compressible are the media types worth compressing: text, not images or
// archives that already are.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml",
		"application/json", "text/plain", "application/manifest+json":
		return true
	}
	return strings.HasSuffix(mt, "+json")
}

// negotiateEncoding picks "br", "gzip" or "" (identity) from an
// Accept-Encoding header, honouring q-values (RFC 9110 12.5.3): the
// highest q wins, br on a tie; q=0 refuses; "*" stands for what is not
// named.
func negotiateEncoding(accept string) string {
	if accept == "" {
		return ""
	}
	qBr, qGzip, qStar := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		switch name {
		case "br":
			qBr = q
		case "gzip", "x-gzip":
			qGzip = q
		case "*":
			qStar = q
		}
	}
	if qBr < 0 {
		qBr = qStar
	}
	if qGzip < 0 {
		qGzip = qStar
	}
	switch {
	case qBr > 0 && qBr >= qGzip:
		return "br"
	case qGzip > 0:
		return "gzip"
	}
	return ""
}

// noCompress marks the request's answer as one to send uncompressed: it
// shows a secret once (render, for views.ProfilePage.HoldsSecret).
func noCompress(c echo.Context) { c.Set(ctxNoCompress, true) }

// compress wraps the response of every route but the static files (which
// carry their own precompressed bodies) in a writer that compresses it
// once it knows the body is of a compressible type, big enough and not
// already encoded.
func (h *Handler) compress(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/static/") {
			return next(c)
		}
		res := c.Response()
		// Every answer here may be compressed for another request.
		res.Header().Add("Vary", "Accept-Encoding")
		enc := negotiateEncoding(c.Request().Header.Get("Accept-Encoding"))
		if enc == "" || c.Request().Method == http.MethodHead {
			return next(c)
		}
		w := &compressWriter{ResponseWriter: res.Writer, c: c, enc: enc, status: http.StatusOK}
		res.Writer = w
		defer func() {
			w.finish()
			res.Writer = w.ResponseWriter
		}()
		return next(c)
	}
}

var (
	gzipWriters   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel); return w }}
	brotliWriters = sync.Pool{New: func() any { return brotli.NewWriterLevel(io.Discard, brotliQuality) }}
)

// compressWriter holds back the first compressMin bytes of a body to decide
// whether to compress it, then writes through an encoder or as it came.
type compressWriter struct {
	http.ResponseWriter
	c       echo.Context
	enc     string
	status  int
	headed  bool // WriteHeader was called (and held back)
	decided bool
	buf     []byte
	zw      io.WriteCloser // the encoder once compressing
}

func (w *compressWriter) WriteHeader(code int) {
	if w.decided || w.headed {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status, w.headed = code, true
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusPartialContent {
		w.decide(false)
	}
}

func (w *compressWriter) Write(p []byte) (int, error) {
	if w.decided {
		if w.zw != nil {
			return w.zw.Write(p)
		}
		return w.ResponseWriter.Write(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= compressMin {
		if err := w.decide(true); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// decide sends the header, choosing the encoding: compress only when big
// says the body reached compressMin, the status carries a body, the type
// is compressible, nothing encoded it already and it shows no secret.
func (w *compressWriter) decide(big bool) error {
	w.decided = true
	hd := w.ResponseWriter.Header()
	ct := hd.Get(echo.HeaderContentType)
	if ct == "" && len(w.buf) > 0 {
		ct = http.DetectContentType(w.buf)
		hd.Set(echo.HeaderContentType, ct)
	}
	secret, _ := w.c.Get(ctxNoCompress).(bool)
	if big && !secret && w.status >= 200 && w.status != http.StatusNoContent && w.status != http.StatusNotModified &&
		w.status != http.StatusPartialContent && hd.Get(echo.HeaderContentEncoding) == "" && compressible(ct) {
		hd.Del(echo.HeaderContentLength)
		hd.Set(echo.HeaderContentEncoding, w.enc)
		if w.enc == "br" {
			bw := brotliWriters.Get().(*brotli.Writer)
			bw.Reset(w.ResponseWriter)
			w.zw = bw
		} else {
			gw := gzipWriters.Get().(*gzip.Writer)
			gw.Reset(w.ResponseWriter)
			w.zw = gw
		}
	}
	if w.headed || len(w.buf) > 0 {
		w.ResponseWriter.WriteHeader(w.status)
	}
	buf := w.buf
	w.buf = nil
	if len(buf) == 0 {
		return nil
	}
	var err error
	if w.zw != nil {
		_, err = w.zw.Write(buf)
	} else {
		_, err = w.ResponseWriter.Write(buf)
	}
	return err
}

// finish sends what is held back and ends the encoder's stream.
func (w *compressWriter) finish() {
	if !w.decided {
		if !w.headed && len(w.buf) == 0 {
			return // nothing was written: the error handler writes later, uncompressed
		}
		w.decide(false)
	}
	if w.zw != nil {
		w.zw.Close()
		switch z := w.zw.(type) {
		case *gzip.Writer:
			z.Reset(io.Discard)
			gzipWriters.Put(z)
		case *brotli.Writer:
			z.Reset(io.Discard)
			brotliWriters.Put(z)
		}
		w.zw = nil
	}
}

// Flush sends what is held back (a stream decides on what it has so far).
func (w *compressWriter) Flush() {
	if !w.decided {
		w.decide(len(w.buf) >= compressMin)
	}
	if f, ok := w.zw.(interface{ Flush() error }); ok {
		f.Flush()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
