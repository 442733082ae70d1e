package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// BenchmarkSavePreference measures the htmx fragment POST that saves one
// preference (POST /preferences with HX-Request and the CSRF token in the
// X-CSRF-Token header, as htmx sends it from <body hx-headers>) at
// benchConns connections, next to a bare Echo handler without middleware
// doing one UPDATE by primary key on a database opened with db.Open, in the
// same run. Both alternate between two values, so every request writes. b.N
// is the number of requests sent to each of the two servers:
//
//	go test -run '^$' -bench SavePreference -benchtime 20000x .
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
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`role="status">Saved<`)) {
			return fmt.Errorf("got %d %q, want 200 and the Saved fragment", resp.StatusCode, body)
		}
		return nil
	}
	wantNoContent := func(resp *http.Response, _ []byte) error {
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("got %d, want 204", resp.StatusCode)
		}
		return nil
	}
	targets := []struct {
		name string
		load requestLoad
	}{
		{"roster", requestLoad{
			client: newLoadTarget("", "", nil).client,
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
		{"bare", requestLoad{
			client: newLoadTarget("", "", nil).client,
			build: func(ctx context.Context, i int) (*http.Request, error) {
				return formPost(ctx, bareURL+"/update", "value="+themes[i%2])
			},
			check: wantNoContent,
		}},
	}
	for _, t := range targets {
		if _, err := t.load.run(b.Context(), benchWarmup); err != nil {
			b.Fatalf("%s warm-up: %v", t.name, err)
		}
	}

	b.ResetTimer()
	results := make([]loadResult, len(targets))
	for i, t := range targets {
		r, err := t.load.run(b.Context(), b.N)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		results[i] = r
	}
	b.StopTimer()

	roster, bare := results[0], results[1]
	for i, t := range targets {
		r := results[i]
		b.ReportMetric(r.perSecond(), t.name+"-req/s")
		b.ReportMetric(millis(r.quantile(0.50)), t.name+"-p50-ms")
		b.ReportMetric(millis(r.quantile(0.99)), t.name+"-p99-ms")
	}
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
	store, err := openStore(ctx, b.TempDir()+"/bare.db")
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
	e.POST("/update", func(c echo.Context) error {
		// SetPasswordHash is exactly UPDATE users SET password_hash = ? WHERE id = ?.
		if err := store.SetPasswordHash(c.Request().Context(), u.ID, c.FormValue("value")); err != nil {
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

// cookieValue returns the value of the cookie name in a Cookie header.
func cookieValue(header, name string) string {
	for pair := range strings.SplitSeq(header, "; ") {
		if v, ok := strings.CutPrefix(pair, name+"="); ok {
			return v
		}
	}
	return ""
}

// dropCookie returns a Cookie header without the cookie name.
func dropCookie(header, name string) string {
	var kept []string
	for pair := range strings.SplitSeq(header, "; ") {
		if !strings.HasPrefix(pair, name+"=") {
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "; ")
}

// requestLoad is loadTarget for any request: build makes request i, check
// judges its answer. run sends n of them from benchConns workers, as
// loadTarget.run does.
type requestLoad struct {
	client *http.Client
	build  func(ctx context.Context, i int) (*http.Request, error)
	check  func(resp *http.Response, body []byte) error
}

// run sends n requests from benchConns workers and records each latency.
// The first failed request stops the run; so does benchDeadline.
func (l requestLoad) run(ctx context.Context, n int) (loadResult, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, benchDeadline, fmt.Errorf("%d requests took longer than %s", n, benchDeadline))
	defer cancel()
	latencies := make([]time.Duration, n)
	var (
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	start := time.Now()
	for range min(benchConns, n) {
		wg.Go(func() {
			var buf bytes.Buffer
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d, err := l.do(ctx, i, &buf)
				if err != nil {
					fail(fmt.Errorf("request %d: %w", i, err))
					return
				}
				latencies[i] = d
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return loadResult{}, err
	}
	slices.Sort(latencies)
	return loadResult{latencies: latencies, elapsed: elapsed}, nil
}

// do sends request i, reads the whole answer into buf and checks it.
func (l requestLoad) do(ctx context.Context, i int, buf *bytes.Buffer) (time.Duration, error) {
	req, err := l.build(ctx, i)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	return d, l.check(resp, buf.Bytes())
}
