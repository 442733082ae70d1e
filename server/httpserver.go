package server

import (
	"log/slog"
	"net/http"
	"time"
)

// timeouts bound how long one client may hold a connection: a slow or
// stalled client is cut off rather than keeping a goroutine and a socket.
type timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// defaultTimeouts leave room for a slow phone network and a sign-in's
// password hash under load, and none for a client trickling bytes.
var defaultTimeouts = timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}

// httpTimeouts are the configured timeouts, defaultTimeouts unless a test
// shortened them.
func (c config) httpTimeouts() timeouts {
	if c.timeouts == (timeouts{}) {
		return defaultTimeouts
	}
	return c.timeouts
}

// newHTTPServer is the http.Server of `roster serve` around h.
func newHTTPServer(h http.Handler, t timeouts, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
