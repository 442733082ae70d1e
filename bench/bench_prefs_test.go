package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	serveOn(b, ln, bareUpdate(b))
	return "http://" + ln.Addr().String()
}

// bareUpdate is startBareUpdate's Echo, not yet serving.
func bareUpdate(b *testing.B) *echo.Echo {
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
	return e
}

// BenchmarkSaveHandler sends S2's requests straight to the application's
// handler, one at a time, without a network or a load generator, next to
// S2's bare reference handler the same way, as BenchmarkPageHandler does
// for S1: time, process CPU time and allocations per request of the
// servers' own work, which a busy shared machine disturbs least (the
// allocation count not at all). Every request writes, so each session read
// comes after a write, as in S2. cpu-ratio is bare over roster CPU time.
//
//	go test -run '^$' -bench SaveHandler -benchmem ./bench/
func BenchmarkSaveHandler(b *testing.B) {
	hash, err := password.NewHasher(1, 0).Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	s1 := startS1(b, "", hash)
	csrf := cookieValue(s1.cookies, "roster_csrf")
	if csrf == "" {
		b.Fatalf("no roster_csrf cookie among %q", s1.cookies)
	}
	bare := bareUpdate(b)
	themes := [2]string{"light", "dark"}
	var rosterCPU float64
	for _, side := range []struct {
		name string
		h    http.Handler
		req  func(i int) *http.Request
		ok   func(*httptest.ResponseRecorder) bool
	}{
		{"roster", s1.handler, func(i int) *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/preferences", strings.NewReader("theme="+themes[i%2]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", s1.cookies)
			req.Header.Set("X-CSRF-Token", csrf)
			req.Header.Set("HX-Request", "true")
			req.Header.Set("HX-Current-URL", s1.base+"/preferences")
			return req
		}, func(rec *httptest.ResponseRecorder) bool {
			return rec.Code == http.StatusOK && bytes.Contains(rec.Body.Bytes(), []byte(`role="status">Saved<`))
		}},
		{"bare", bare, func(i int) *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/update", strings.NewReader("value="+themes[i%2]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		}, func(rec *httptest.ResponseRecorder) bool { return rec.Code == http.StatusNoContent }},
	} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			cpu := processCPU()
			for b.Loop() {
				rec := httptest.NewRecorder()
				side.h.ServeHTTP(rec, side.req(i))
				i++
				if !side.ok(rec) {
					b.Fatalf("%s: got %d %q", side.name, rec.Code, rec.Body.Bytes())
				}
			}
			perOp := float64(processCPU()-cpu) / float64(b.N) / float64(time.Microsecond)
			b.ReportMetric(perOp, "cpu-us/op")
			switch side.name {
			case "roster":
				rosterCPU = perOp
			case "bare":
				if rosterCPU > 0 {
					b.ReportMetric(perOp/rosterCPU, "cpu-ratio")
				}
			}
		})
	}
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
