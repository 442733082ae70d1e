package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// soakDefault is how long the soak runs unless ROSTER_SOAK says
	// otherwise (ROSTER_SOAK=30s to try it quickly).
	soakDefault = 5 * time.Minute
	// soakDefaultRate is the fixed rate, operations per second, unless
	// ROSTER_SOAK_RATE says otherwise.
	soakDefaultRate = 100
	// soakWindow is how often the soak samples, and the width of a p99's window.
	soakWindow  = 10 * time.Second
	soakViewers = 20  // signed-in users viewing pages and saving preferences
	soakSigners = 100 // users signing in, none of them viewing pages
)

// The mix, by operation number modulo 10: 7 page views, 2 fragment posts
// (an htmx preference save), 1 password sign-in (GET /login and POST /login).
const (
	opPage = iota
	opPost
	opSignIn
)

func soakOp(i int) int {
	switch i % 10 {
	case 7, 8:
		return opPost
	case 9:
		return opSignIn
	}
	return opPage
}

var soakOpNames = [...]string{opPage: "page views", opPost: "fragment posts", opSignIn: "sign-ins"}

// soakPages are the pages viewed, in turn: the profile most.
var soakPages = []string{"/profile", "/preferences", "/profile", "/profile/activity", "/profile", "/profile/notifications"}

// BenchmarkSoak is scenario S7: a mixed load at a fixed rate for 5 minutes
// (ROSTER_SOAK), 70 % page views, 20 % htmx preference saves and 10 %
// password sign-ins, sent open loop (see pacedLoad). Every 10 s it samples
// the size of the database's WAL file, the p99 of the operations that
// finished in the window, runtime.NumGoroutine() and the open files of the
// test process (/proc/self/fd). The load generator shares the process, so
// its goroutines and sockets count too. Under load both follow the requests
// in flight, so a leak is judged on the idle process: before the soak and
// after it, each time once the clients have closed their idle connections.
// It runs the soak once and prints a line per window on stdout:
//
//	go test -run '^$' -bench Soak -benchtime 1x -timeout 20m ./bench/
//	ROSTER_SOAK=30s go test -run '^$' -bench Soak -benchtime 1x ./bench/
//
// p99 drift is the last window's p99 over the first's (the target); the
// largest over the smallest window's is printed next to it.
func BenchmarkSoak(b *testing.B) {
	duration, rate := soakSettings(b)
	var base, s1Cookies string
	serverLabel("roster", func() { base, s1Cookies = startRoster(b) })
	viewers := []string{dropCookie(s1Cookies, "roster_flash")}
	_, more := signUpUsers(b, base, "viewer", soakViewers-1)
	viewers = append(viewers, more...)
	signers, _ := signUpUsers(b, base, "signer", soakSigners)
	wal, err := walFile()
	if err != nil {
		b.Fatal(err)
	}

	s := newSoak(base, viewers, signers)
	// Warm-up: every connection opened, every page and statement seen.
	if warm := (pacedLoad{rate: rate, conns: benchConns, do: s.do}).run(b.Context(), 5*time.Second, nil); warm.failed > 0 {
		b.Fatalf("warm-up: %d of %d failed, first: %v", warm.failed, warm.sent, warm.firstErr)
	}

	for b.Loop() {
		idleBefore := s.idleSnapshot(wal)
		var snaps []soakSnapshot
		ctx, stop := context.WithCancel(b.Context())
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			t := time.NewTicker(soakWindow)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					snaps = append(snaps, takeSnapshot(now, wal))
				case <-ctx.Done():
					return
				}
			}
		}()
		// A second more, so that the last sample is taken under load too;
		// what finishes after it is in no window.
		res := pacedLoad{rate: rate, conns: benchConns, do: s.do}.run(b.Context(), duration+time.Second, nil)
		stop()
		<-done
		idleAfter := s.idleSnapshot(wal)
		s.report(b, res, start, snaps, idleBefore, idleAfter, rate)
	}
}

// soakSettings reads ROSTER_SOAK and ROSTER_SOAK_RATE.
func soakSettings(b *testing.B) (time.Duration, float64) {
	b.Helper()
	duration, rate := soakDefault, float64(soakDefaultRate)
	if v := os.Getenv("ROSTER_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < soakWindow {
			b.Fatalf("ROSTER_SOAK: want a duration of at least %s such as 30s, got %q", soakWindow, v)
		}
		duration = d
	}
	if v := os.Getenv("ROSTER_SOAK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 10 {
			b.Fatalf("ROSTER_SOAK_RATE: want operations per second, at least 10, got %q", v)
		}
		rate = r
	}
	return duration, rate
}

// walFile finds the WAL of the one application database this process has
// open (benchApp keeps its path to itself) among its open files.
func walFile() (string, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return "", err
	}
	found := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasSuffix(target, "/roster.db") {
			found[target] = true
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("want one open roster.db, found %v", found)
	}
	for path := range found {
		return path + "-wal", nil
	}
	panic("unreachable")
}

// soakSnapshot is what the process looked like at the end of a window.
type soakSnapshot struct {
	at         time.Time
	wal        int64 // bytes, -1 when there is no WAL file
	goroutines int
	files      int
}

func takeSnapshot(at time.Time, wal string) soakSnapshot {
	s := soakSnapshot{at: at, wal: -1, goroutines: runtime.NumGoroutine(), files: -1}
	if fi, err := os.Stat(wal); err == nil {
		s.wal = fi.Size()
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.files = len(fds)
	}
	return s
}

// idleSnapshot is a snapshot of the idle process: the clients' idle
// connections closed, and a moment for the server to see them go.
func (s *soak) idleSnapshot(wal string) soakSnapshot {
	s.pages.CloseIdleConnections()
	s.signIns.CloseIdleConnections()
	time.Sleep(2 * time.Second)
	return takeSnapshot(time.Now(), wal)
}

// soak sends the operations of the mix.
type soak struct {
	base    string
	viewers []string // Cookie headers
	csrf    []string // their CSRF tokens
	signers []string // emails
	pages   *http.Client
	signIns *http.Transport
}

func newSoak(base string, viewers, signers []string) *soak {
	s := &soak{base: base, viewers: viewers, signers: signers, pages: newLoadClient(),
		signIns: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: benchConns, MaxConnsPerHost: benchConns, DisableCompression: true}}
	for _, c := range viewers {
		s.csrf = append(s.csrf, cookieValue(c, "roster_csrf"))
	}
	return s
}

// do sends operation i of the mix and checks its answer.
func (s *soak) do(ctx context.Context, i int, buf *bytes.Buffer) error {
	n := i / 10 // spreads users and pages over the operations
	switch soakOp(i) {
	case opPost:
		v := n % len(s.viewers)
		theme := [2]string{"light", "dark"}[(n/len(s.viewers))%2]
		req, err := formPost(ctx, s.base+"/preferences", "theme="+theme)
		if err != nil {
			return err
		}
		req.Header.Set("Cookie", s.viewers[v])
		req.Header.Set("X-CSRF-Token", s.csrf[v])
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", s.base+"/preferences")
		// "Saved", or an empty status when a concurrent request of the same
		// viewer saved this theme first: both are right, so no text is wanted.
		return s.send(req, buf, http.StatusOK, "")
	case opSignIn:
		return s.signIn(ctx, s.signers[n%len(s.signers)])
	}
	page := soakPages[(i/3)%len(soakPages)]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+page, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", s.viewers[n%len(s.viewers)])
	return s.send(req, buf, http.StatusOK, `<main`)
}

// send sends req and wants status and a body containing want.
func (s *soak) send(req *http.Request, buf *bytes.Buffer, status int, want string) error {
	resp, err := s.pages.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != status || !bytes.Contains(buf.Bytes(), []byte(want)) {
		return fmt.Errorf("%s %s: got %d, want %d and %q in the body", req.Method, req.URL.Path, resp.StatusCode, status, want)
	}
	return nil
}

// signIn is a fresh browser signing in once. A refusal (503 or 429) is a
// failure here: at a fixed rate nothing should be refused.
func (s *soak) signIn(ctx context.Context, email string) error {
	client := benchBrowser(s.signIns)
	csrf, err := loginCSRF(ctx, client, s.base+"/login")
	if err != nil {
		return err
	}
	form := url.Values{"email": {email}, "password": {benchPassword}, "_csrf": {csrf}}.Encode()
	req, err := formPost(ctx, s.base+"/login", form)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		return fmt.Errorf("POST /login: got %d to %q (Retry-After %q), want 303 to /profile",
			resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Retry-After"))
	}
	return nil
}

// report prints a line per window on stdout and the soak's figures.
func (s *soak) report(b *testing.B, res pacedResult, start time.Time, snaps []soakSnapshot, idleBefore, idleAfter soakSnapshot, rate float64) {
	b.Helper()
	if len(snaps) == 0 {
		b.Fatal("the soak ended before its first sample")
	}
	byOp := func(op int) pacedResult {
		var r pacedResult
		for _, smp := range res.samples {
			if soakOp(smp.i) == op {
				r.samples = append(r.samples, smp)
			}
		}
		return r
	}
	ops := []pacedResult{opPage: byOp(opPage), opPost: byOp(opPost), opSignIn: byOp(opSignIn)}
	var (
		p99s           []time.Duration
		maxWAL         int64
		minP99, maxP99 time.Duration
		from           = start
	)
	fmt.Printf("soak windows (%s each, %.0f ops/s asked):\n%6s %6s %6s %9s %20s %8s %10s %5s\n",
		soakWindow, rate, "end", "ops", "failed", "p99(ms)", "p99 page/post/in", "WAL(MB)", "goroutines", "fds")
	for k, snap := range snaps {
		w := res.window(from, snap.at)
		p99 := w.quantile(0.99)
		p99s = append(p99s, p99)
		if k == 0 || p99 < minP99 {
			minP99 = p99
		}
		maxP99 = max(maxP99, p99)
		maxWAL = max(maxWAL, snap.wal)
		perOp := make([]string, len(ops))
		for op, r := range ops {
			perOp[op] = fmt.Sprintf("%.1f", millis(r.window(from, snap.at).quantile(0.99)))
		}
		failed := 0
		for _, at := range res.failedAt {
			if !at.Before(from) && at.Before(snap.at) {
				failed++
			}
		}
		fmt.Printf("%5.0fs %6d %6d %9.1f %20s %8.2f %10d %5d\n", snap.at.Sub(start).Seconds(), len(w.latencies), failed,
			millis(p99), strings.Join(perOp, "/"), float64(snap.wal)/(1<<20), snap.goroutines, snap.files)
		from = snap.at
	}
	for _, err := range res.errs {
		fmt.Printf("failure: %v\n", err)
	}

	first, last := snaps[0], snaps[len(snaps)-1]
	drift := float64(p99s[len(p99s)-1]) / float64(p99s[0])
	spread := float64(maxP99) / float64(minP99)
	sent := float64(res.sent) / res.elapsed.Seconds()
	metrics := []struct {
		v    float64
		unit string
	}{
		{sent, "ops/s"},
		{float64(res.failed), "failed"},
		{millis(p99s[0]), "p99-first-ms"},
		{millis(p99s[len(p99s)-1]), "p99-last-ms"},
		{drift, "p99-drift"},
		{spread, "p99-max/min"},
		{float64(maxWAL) / (1 << 20), "wal-max-MB"},
		{float64(first.goroutines), "goroutines-first"},
		{float64(last.goroutines), "goroutines-last"},
		{float64(idleBefore.goroutines), "goroutines-idle-before"},
		{float64(idleAfter.goroutines), "goroutines-idle-after"},
		{float64(first.files), "fds-first"},
		{float64(last.files), "fds-last"},
		{float64(idleBefore.files), "fds-idle-before"},
		{float64(idleAfter.files), "fds-idle-after"},
		{0, "ns/op"},
	}
	for _, m := range metrics {
		b.ReportMetric(m.v, m.unit)
	}
	var mix []string
	for op, r := range ops {
		mix = append(mix, fmt.Sprintf("%d %s p99 %.1fms", len(r.samples), soakOpNames[op], millis(r.quantile(0.99))))
	}
	b.Logf("soak: %.0f ops/s asked, %.1f sent for %s, %d failed (%s) | p99 drift, last window / first: %.1fms / %.1fms = %.2f (target <= 1.5); largest / smallest window: %.2f | "+
		"WAL max %.2f MB (idle before %.2f, after %.2f) | goroutines under load %d -> %d, idle %d -> %d | open files under load %d -> %d, idle %d -> %d",
		rate, sent, res.elapsed.Round(time.Second), res.failed, strings.Join(mix, ", "),
		millis(p99s[len(p99s)-1]), millis(p99s[0]), drift, spread,
		float64(maxWAL)/(1<<20), float64(idleBefore.wal)/(1<<20), float64(idleAfter.wal)/(1<<20),
		first.goroutines, last.goroutines, idleBefore.goroutines, idleAfter.goroutines,
		first.files, last.files, idleBefore.files, idleAfter.files)
}
