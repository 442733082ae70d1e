package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/server"
)

// BenchmarkSavePreference measures the htmx fragment POST that saves one
// preference (POST /preferences with HX-Request and the CSRF token in the
// X-CSRF-Token header, as htmx sends it from <body hx-headers>) at
// benchConns connections, next to a bare Echo handler without middleware
// doing one UPDATE by primary key on a database opened with db.Open, in the
// same run. Both alternate between two values, so nearly every request
// writes (Roster writes nothing, and answers an empty status, for a theme
// that a concurrent request has just saved). b.N
// is the number of requests sent to each of the two servers:
//
//	go test -run '^$' -bench SavePreference -benchtime 20000x ./bench/
func BenchmarkSavePreference(b *testing.B) {
	var base, cookies, bareURL string
	// The labels name the server in a CPU profile: pprof -tagfocus server=roster.
	serverLabel("roster", func() { base, cookies = startRoster(b) })
	serverLabel("bare", func() { bareURL = startBareUpdate(b) })
	csrf := cookieValue(cookies, "roster_csrf")
	if csrf == "" {
		b.Fatalf("no roster_csrf cookie among %q", cookies)
	}
	// A browser drops the sign-in's flash cookie after the first page.
	cookies = dropCookie(cookies, "roster_flash")

	themes := [2]string{"light", "dark"}
	wantSaved := func(resp *http.Response, body []byte) error {
		saved := bytes.Contains(body, []byte(`role="status">Saved<`)) || len(bytes.TrimSpace(body)) == 0
		if resp.StatusCode != http.StatusOK || !saved {
			return fmt.Errorf("got %d %q, want 200 and the Saved fragment (or an empty one: nothing changed)", resp.StatusCode, body)
		}
		return nil
	}
	wantNoContent := func(resp *http.Response, _ []byte) error {
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("got %d, want 204", resp.StatusCode)
		}
		return nil
	}
	results := runTargets(b, []namedTarget{
		{"roster", loadTarget{
			what:   "POST /preferences",
			client: newLoadClient(),
			build: func(ctx context.Context, i int) (*http.Request, error) {
				req, err := formPost(ctx, base+"/preferences", "theme="+themes[i%2])
				if err != nil {
					return nil, err
				}
				req.Header.Set("Cookie", cookies)
				req.Header.Set("X-CSRF-Token", csrf)
				req.Header.Set("HX-Request", "true")
				req.Header.Set("HX-Current-URL", base+"/preferences")
				return req, nil
			},
			check: wantSaved,
		}},
		{"bare", loadTarget{
			what:   "POST /update",
			client: newLoadClient(),
			build: func(ctx context.Context, i int) (*http.Request, error) {
				return formPost(ctx, bareURL+"/update", "value="+themes[i%2])
			},
			check: wantNoContent,
		}},
	})
	roster, bare := results[0], results[1]
	ratio := roster.perSecond() / bare.perSecond()
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(0, "ns/op")
	if b.N >= benchMinLogged {
		b.Logf("POST /preferences, htmx fragment (%d requests, %d connections): %.0f req/s p50 %.2fms p99 %.2fms | bare echo, one UPDATE by primary key: %.0f req/s p50 %.2fms p99 %.2fms | roster/bare throughput %.2f (target >= 0.5)",
			b.N, benchConns, roster.perSecond(), millis(roster.quantile(0.50)), millis(roster.quantile(0.99)),
			bare.perSecond(), millis(bare.quantile(0.50)), millis(bare.quantile(0.99)), ratio)
	}
}

// startBareUpdate serves a bare Echo, one route and no middleware, whose
// handler writes the posted value with one UPDATE of a user's row by primary
// key, on its own database opened (and migrated) as the application opens
// its own.
func startBareUpdate(b *testing.B) string {
	b.Helper()
	ctx := b.Context()
	store, err := server.OpenStore(ctx, b.TempDir()+"/bare.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	u, err := store.CreateUser(ctx, db.NewUser{Email: "bare@example.com", Name: "Bare"}, db.Event{Kind: db.EventSignUp, IP: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// TouchSession is exactly one UPDATE of one row by its key. (The
	// reference was SetPasswordHash until that became a compare-and-swap.)
	ss, err := store.CreateSession(ctx, db.Session{IDHash: []byte("bare"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	e.POST("/update", func(c echo.Context) error {
		if err := store.TouchSession(c.Request().Context(), ss.IDHash, c.FormValue("value")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	serveOn(b, ln, e)
	return "http://" + ln.Addr().String()
}

// serverLabel runs f with the pprof label server=name, which every
// goroutine f starts inherits: the servers' connections and their SQLite
// calls are then told apart from the load generator in a CPU profile.
func serverLabel(name string, f func()) {
	pprof.Do(context.Background(), pprof.Labels("server", name), func(context.Context) { f() })
}

// formPost is a POST of an urlencoded form body.
func formPost(ctx context.Context, url, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
