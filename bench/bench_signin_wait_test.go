package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waveClients sign in at once in each wave of S3b.
const waveClients = 50

// BenchmarkSignInWait is scenario S3b: waves of waveClients password
// sign-ins sent at once, by clients that do what Retry-After says (and, as
// a browser does, send back the cookies they were given, the place ticket
// among them), while S1 runs paced at s1Share of its maximum, as in S3.
// Each iteration of b.Loop is one wave, from the first POST to the last
// sign-in; a client's time is from its first POST to its 303:
//
//	go test -run '^$' -bench '^BenchmarkSignInWait$' -benchtime 5x ./bench/
//
// Targets: every sign-in succeeds, p99 <= 3 s, no 5xx other than the
// budget's 503s; S1's p99 during the waves <= 2 x its quiet p99, measured
// just before in the same run. The server runs with its defaults
// (ROSTER_SIGNIN_WAIT 2s).
func BenchmarkSignInWait(b *testing.B) {
	var base, cookies string
	serverLabel("roster", func() { base, cookies = startRoster(b) })
	emails, _ := signUpUsers(b, base, "wait", waveClients)
	// The reference of the sign-in times: the hasher alone, every worker
	// busy, before and after the waves. A wave can be done no sooner than
	// waveClients / that rate, whatever the order.
	rate := hashRate(b, 10)
	s1 := measureS1(b, base, dropCookie(cookies, "roster_flash"))

	ctx, stop := context.WithCancel(b.Context())
	s1c := make(chan pacedResult, 1)
	go func() { s1c <- s1.paced.run(ctx, 10*benchDeadline, nil) }()
	w := &waves{base: base, tr: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: waveClients, DisableCompression: true}}
	defer w.tr.CloseIdleConnections()
	start := time.Now()
	n := 0
	for b.Loop() {
		w.wave(ctx, emails)
		n++
	}
	elapsed := time.Since(start)
	stop()
	loaded := <-s1c
	time.Sleep(300 * time.Millisecond) // the server's last hashes end
	rate = (rate + hashRate(b, 10)) / 2
	floor := time.Duration(float64(waveClients) / rate * float64(time.Second))

	slices.Sort(w.times)
	q := func(p float64) time.Duration {
		if len(w.times) == 0 {
			return 0
		}
		return w.times[min(len(w.times)-1, int(p*float64(len(w.times))))]
	}
	quietP99, loadedP99 := s1.quiet.quantile(0.99), loaded.quantile(0.99)
	for _, m := range []struct {
		v    float64
		unit string
	}{
		{float64(len(w.times)), "signins"},
		{float64(n*waveClients - len(w.times)), "signins-failed"},
		{millis(q(0.5)), "signin-p50-ms"},
		{millis(q(0.99)), "signin-p99-ms"},
		{millis(q(1)), "signin-max-ms"},
		{rate, "hasher-max/s"},
		{millis(floor), "wave-floor-ms"},
		{float64(q(0.99)) / float64(floor), "p99-of-floor"},
		{float64(w.busy.Load()), "503s"},
		{float64(w.noRetryAfter.Load()), "no-retry-after"},
		{float64(w.serverErrors.Load()), "other-5xx"},
		{float64(w.other.Load()), "other-failures"},
		{millis(quietP99), "s1-quiet-p99-ms"},
		{millis(loadedP99), "s1-loaded-p99-ms"},
		{float64(loadedP99) / float64(quietP99), "s1-p99-ratio"},
		{float64(loaded.failed), "s1-failed"},
	} {
		b.ReportMetric(m.v, m.unit)
	}
	if w.firstErr != nil {
		b.Logf("first failed sign-in: %v", w.firstErr)
	}
	b.Logf("the hasher alone, every worker busy: %.1f hashes/s, so a wave of %d needs at least %.0fms; p99 / that = %.2f", rate, waveClients, millis(floor), float64(q(0.99))/float64(floor))
	b.Logf("%d waves of %d sign-ins at once in %.1fs: %d signed in; sign-in time p50 %.0fms, p99 %.0fms (target <= 3000), max %.0fms | "+
		"%d x 503 (each with Retry-After: %v), other 5xx %d, other failures %d | S1 paced at %.0f req/s: quiet p99 %.1fms, during the waves %.1fms, ratio %.2f (target <= 2), %d failed",
		n, waveClients, elapsed.Seconds(), len(w.times), millis(q(0.5)), millis(q(0.99)), millis(q(1)),
		w.busy.Load(), w.noRetryAfter.Load() == 0, w.serverErrors.Load(), w.other.Load(),
		s1.paced.rate, millis(quietP99), millis(loadedP99), float64(loadedP99)/float64(quietP99), loaded.failed)
}

// waves runs S3b's waves and keeps what they did.
type waves struct {
	base string
	tr   *http.Transport

	busy, noRetryAfter, serverErrors, other atomic.Int64

	mu       sync.Mutex
	times    []time.Duration // of every successful sign-in
	firstErr error
}

// wave signs every email in at once: each client loads the form, all wait
// for each other, then post.
func (w *waves) wave(ctx context.Context, emails []string) {
	var ready, done sync.WaitGroup
	ready.Add(len(emails))
	gate := make(chan struct{})
	for _, email := range emails {
		done.Go(func() {
			client := benchBrowser(w.tr)
			csrf, err := loginCSRF(ctx, client, w.base+"/login")
			ready.Done()
			if err != nil {
				w.fail(&w.other, err)
				return
			}
			<-gate
			w.signIn(ctx, client, url.Values{"email": {email}, "password": {benchPassword}, "_csrf": {csrf}}.Encode())
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// signIn posts the form until it is answered with anything but a 503,
// waiting what Retry-After says between tries.
func (w *waves) signIn(ctx context.Context, client *http.Client, form string) {
	start := time.Now()
	for ctx.Err() == nil {
		req, _ := formPost(ctx, w.base+"/login", form)
		resp, err := client.Do(req)
		if err != nil {
			w.fail(&w.other, err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch code := resp.StatusCode; {
		case code == http.StatusSeeOther && resp.Header.Get("Location") == "/profile":
			w.mu.Lock()
			w.times = append(w.times, time.Since(start))
			w.mu.Unlock()
			return
		case code == http.StatusServiceUnavailable:
			w.busy.Add(1)
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || wait < 0 {
				w.noRetryAfter.Add(1)
				wait = 1
			}
			select {
			case <-time.After(time.Duration(wait) * time.Second):
			case <-ctx.Done():
			}
		case code >= 500:
			w.fail(&w.serverErrors, fmt.Errorf("POST /login: got %d; body:\n%.300s", code, body))
			return
		default:
			w.fail(&w.other, fmt.Errorf("POST /login: got %d to %q, want 303 to /profile; body:\n%.300s", code, resp.Header.Get("Location"), body))
			return
		}
	}
}

func (w *waves) fail(n *atomic.Int64, err error) {
	n.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstErr == nil {
		w.firstErr = err
	}
}
