package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/password"
)

const (
	// signInClients sign in at once, each as its own user.
	signInClients = 200
	// s1MaxRequests measure S1's maximum rate; s1Quiet is how long S1 runs
	// paced, without sign-ins, for its quiet p99.
	s1MaxRequests = 3000
	s1Quiet       = 15 * time.Second
	// s1Share is the fraction of its maximum rate at which S1 runs.
	s1Share = 0.2
)

// BenchmarkSignInStorm is scenario S3: signInClients password sign-ins at
// once (each client a fresh browser: GET /login for its CSRF cookie, then
// POST /login), while S1 (GET /profile at benchConns connections) runs at a
// fixed 20 % of the maximum rate measured first in the same run. Each
// iteration of b.Loop waits for one more successful sign-in, so ns/op is
// the time per sign-in and the set-up runs once:
//
//	go test -run '^$' -bench SignInStorm -benchtime 600x ./bench/
//
// Its references, from the same run: the time of one password hash with a
// hasher configured as the application's (sign-ins/s is judged against
// cores / that time), and S1's p99 at the same paced rate with no sign-ins.
// Printed next to them, to tell the server from its surroundings: what the
// hasher alone does with every worker busy, and how much CPU this process
// had and the machine left idle during the sign-ins. A client told 503 or
// 429 waits what Retry-After says (plus up to half again, so that the
// retries do not come back as one wave) and posts again.
//
// All clients come from 127.0.0.1 and no proxy is configured: the per-IP
// throttle counts failed sign-ins only, and these all succeed, so it refuses
// none of them (the 429 count says so). The load generator runs in the test
// process: its CPU and memory count in the figures, RSS included.
func BenchmarkSignInStorm(b *testing.B) {
	var base, cookies string
	serverLabel("roster", func() { base, cookies = startRoster(b) })
	emails, _ := signUpUsers(b, base, "signin", signInClients)
	hasher := measureHasher(b)
	s1 := measureS1(b, base, dropCookie(cookies, "roster_flash"))
	st := runStorm(b, base, emails, s1.paced)
	// The hasher is measured again once the server's last hashes are done,
	// so that its reference brackets the storm on a machine whose load
	// comes and goes.
	time.Sleep(300 * time.Millisecond)
	hasher = hasher.and(measureHasher(b))
	reportStorm(b, st, s1, hasher)
}

// hasherFigures are the references of the sign-in rate: a hasher configured
// as main configures the application's, hashing one at a time and with
// every worker busy.
type hasherFigures struct {
	times    []time.Duration // of single hashes, one at a time
	parallel float64         // hashes a second, every worker busy
}

func measureHasher(b *testing.B) hasherFigures {
	return hasherFigures{times: hashTimes(b, 9), parallel: hashRate(b, 10)}
}

func (h hasherFigures) and(o hasherFigures) hasherFigures {
	return hasherFigures{times: append(slices.Clone(h.times), o.times...), parallel: (h.parallel + o.parallel) / 2}
}

// capacity is cores / one hash's time, the reference.
func (h hasherFigures) capacity() float64 {
	return float64(runtime.NumCPU()) / median(h.times).Seconds()
}

// s1Figures is S1 alone: its maximum, then paced at s1Share of that.
type s1Figures struct {
	max   loadResult
	paced pacedLoad
	quiet pacedResult
}

func measureS1(b *testing.B, base, cookies string) s1Figures {
	b.Helper()
	s1 := newLoadTarget(base+"/profile", cookies, func(body []byte) error {
		if !bytes.Contains(body, []byte(`id="sessions"`)) {
			return errors.New(`body has no id="sessions": not the signed-in profile page`)
		}
		return nil
	})
	if _, err := s1.run(b.Context(), benchWarmup); err != nil {
		b.Fatalf("S1 warm-up: %v", err)
	}
	maxRun, err := s1.run(b.Context(), s1MaxRequests)
	if err != nil {
		b.Fatalf("S1 maximum: %v", err)
	}
	paced := pacedLoad{rate: s1Share * maxRun.perSecond(), conns: benchConns, do: s1.paced}
	quiet := paced.run(b.Context(), s1Quiet, nil)
	if quiet.failed > 0 {
		b.Fatalf("S1 paced, quiet: %d of %d failed, first: %v", quiet.failed, quiet.sent, quiet.firstErr)
	}
	return s1Figures{max: maxRun, paced: paced, quiet: quiet}
}

// stormResult is what the sign-in storm did, and S1 next to it.
type stormResult struct {
	*signInStorm
	signedIn     int
	elapsed      time.Duration
	coresUsed    float64 // CPU time of this process and its hash worker / elapsed
	coresIdle    float64 // the machine's idle CPU time / elapsed
	faults       float64 // minor page faults per sign-in
	s1           pacedResult
	rssPeak, hwm int64 // KiB
}

// runStorm runs the storm with S1 paced next to it. Each iteration of
// b.Loop waits for one more successful sign-in.
func runStorm(b *testing.B, base string, emails []string, s1 pacedLoad) stormResult {
	b.Helper()
	st := stormResult{signInStorm: newSignInStorm(base, emails)}
	rss := sampleRSS(b.Context(), 50*time.Millisecond)
	ctx, stop := context.WithCancel(b.Context())
	s1c := make(chan pacedResult, 1)
	go func() { s1c <- s1.run(ctx, 10*benchDeadline, nil) }()
	ok := make(chan struct{}, len(emails))
	done := make(chan struct{})
	cpuStart, faultsStart := treeUsage()
	start, idleStart := time.Now(), machineIdle()
	go func() { st.run(ctx, ok); close(done) }()
	for b.Loop() {
		select {
		case <-ok:
			st.signedIn++
		case <-time.After(benchDeadline):
			b.Fatalf("no sign-in succeeded for %s after %d; first failure: %v", benchDeadline, st.signedIn, st.first())
		}
	}
	st.elapsed = time.Since(start)
	cpuEnd, faultsEnd := treeUsage()
	st.coresUsed = (cpuEnd - cpuStart).Seconds() / st.elapsed.Seconds()
	st.coresIdle = (machineIdle() - idleStart).Seconds() / st.elapsed.Seconds()
	st.faults = float64(faultsEnd-faultsStart) / float64(st.signedIn)
	stop()
	<-done
	st.s1 = <-s1c
	st.rssPeak, st.hwm = rss()
	return st
}

// reportStorm prints S3's figures and their references.
func reportStorm(b *testing.B, st stormResult, s1 s1Figures, h hasherFigures) {
	b.Helper()
	cores := runtime.NumCPU()
	hashTime := median(h.times)
	signIns := float64(st.signedIn) / st.elapsed.Seconds()
	ratio := signIns / h.capacity()
	// The same against the CPU this process had (other processes on a
	// shared machine take some), and against what the hasher alone does
	// with every worker busy (Argon2 is memory-hard: parallel hashes slow
	// each other down).
	ratioOfUsed := signIns / (st.coresUsed / hashTime.Seconds())
	ratioOfHasher := signIns / h.parallel
	quietP99, loadedP99 := s1.quiet.quantile(0.99), st.s1.quantile(0.99)
	p99Ratio := float64(loadedP99) / float64(quietP99)
	metrics := []struct {
		v    float64
		unit string
	}{
		{signIns, "signins/s"},
		{millis(hashTime), "hash-ms"},
		{ratio, "signin-ratio"},
		{h.parallel, "hasher-max/s"},
		{ratioOfHasher, "signin-ratio-of-hasher"},
		{ratioOfUsed, "signin-ratio-of-used"},
		{float64(st.busy.Load()), "503s"},
		{float64(st.throttled.Load()), "429s"},
		{float64(st.noRetryAfter.Load()), "no-retry-after"},
		{float64(st.serverErrors.Load()), "other-5xx"},
		{float64(st.transportErrors.Load() + st.unexpected.Load()), "other-failures"},
		{s1.max.perSecond(), "s1-max-req/s"},
		{millis(quietP99), "s1-quiet-p99-ms"},
		{millis(loadedP99), "s1-loaded-p99-ms"},
		{p99Ratio, "s1-p99-ratio"},
		{float64(st.s1.failed), "s1-failed"},
		{float64(st.rssPeak) / 1024, "rss-peak-MB"},
		{float64(st.hwm) / 1024, "rss-hwm-MB"},
		{st.coresUsed, "cores-used"},
		{st.coresIdle, "cores-idle"},
		{st.faults, "page-faults/signin"},
	}
	for _, m := range metrics {
		b.ReportMetric(m.v, m.unit)
	}
	if err := st.first(); err != nil {
		b.Logf("first failed sign-in: %v", err)
	}
	if st.s1.firstErr != nil {
		b.Logf("first failed S1 request under load: %v", st.s1.firstErr)
	}
	b.Logf("%d password sign-ins by %d clients in %.1fs: %.1f/s | one hash (NewHasher(%d, %d)) %.1fms, so %d cores / hash = %.1f/s | ratio %.2f (target >= 0.9) | "+
		"the hasher alone, %d hashing at once: %.1f/s, so sign-ins/s / that = %.2f | refused: %d x 503, %d x 429, %d without Retry-After | other 5xx %d, transport errors %d, other answers %d | "+
		"S1: max %.0f req/s (p99 %.1fms); paced at %.0f req/s: quiet p99 %.1fms (%d requests), during sign-ins p99 %.1fms (%d requests, %d failed), ratio %.2f (target <= 2) | "+
		"RSS of the test process (load generator included) and its hash worker: peak %.0f MB sampled, VmHWM sum %.0f MB (target <= 300) | "+
		"during the sign-ins the test process and its hash worker used %.2f of %d cores and %.2f stayed idle; sign-ins/s against the cores used / hash: %.2f | %.0f minor page faults per sign-in (a hash's memory is 4,864 pages)",
		st.signedIn, signInClients, st.elapsed.Seconds(), signIns, cores, 1000, millis(hashTime), cores, h.capacity(), ratio, cores, h.parallel, ratioOfHasher,
		st.busy.Load(), st.throttled.Load(), st.noRetryAfter.Load(), st.serverErrors.Load(), st.transportErrors.Load(), st.unexpected.Load(),
		s1.max.perSecond(), millis(s1.max.quantile(0.99)), s1.paced.rate, millis(quietP99), s1.quiet.sent, millis(loadedP99), st.s1.sent, st.s1.failed, p99Ratio,
		float64(st.rssPeak)/1024, float64(st.hwm)/1024, st.coresUsed, cores, st.coresIdle, ratioOfUsed, st.faults)
}

// appHasher is a hasher configured as server.Command.newServer configures the
// application's: one worker per core, a line of up to 1000 and the default
// 2 s budget (ROSTER_SIGNIN_WAIT). The references never wait in it.
func appHasher() *password.Hasher {
	h := password.NewHasher(runtime.NumCPU(), 1000)
	h.SetBudget(2 * time.Second)
	return h
}

// hashTimes times n password hashes, one at a time.
func hashTimes(b *testing.B, n int) []time.Duration {
	b.Helper()
	hasher := appHasher()
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		if _, err := hasher.Hash(b.Context(), benchPassword); err != nil {
			b.Fatal(err)
		}
		times[i] = time.Since(start)
	}
	return times
}

// hashRate is how many hashes a second the hasher does with every worker
// busy, each worker hashing n times.
func hashRate(b *testing.B, n int) float64 {
	b.Helper()
	workers := runtime.NumCPU()
	hasher := appHasher()
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for range n {
				if _, err := hasher.Hash(b.Context(), benchPassword); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(workers*n) / time.Since(start).Seconds()
}

// median is the middle of ds.
func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// signUpUsers creates n users through the sign-up form, two at a time (the
// hasher's queue is short), and returns their emails and the Cookie headers
// of the browsers that signed up (signed in, without the flash cookie);
// each user has benchPassword, hashed by the application's own hasher.
func signUpUsers(b *testing.B, base, prefix string, n int) (emails, cookies []string) {
	b.Helper()
	emails, cookies = make([]string, n), make([]string, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	for range 2 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				emails[i] = fmt.Sprintf("%s%03d@example.com", prefix, i)
				var err error
				if cookies[i], err = signUp(b.Context(), base, emails[i]); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return emails, cookies
}

func signUp(ctx context.Context, base, email string) (string, error) {
	client := benchBrowser(nil)
	defer client.CloseIdleConnections()
	csrf, err := loginCSRF(ctx, client, base+"/signup")
	if err != nil {
		return "", err
	}
	form := url.Values{"name": {"Sign-in " + email}, "email": {email}, "password": {benchPassword}, "_csrf": {csrf}}
	req, _ := formPost(ctx, base+"/signup", form.Encode())
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("sign up %s: got %d, want 303; body:\n%s", email, resp.StatusCode, body)
	}
	u, _ := url.Parse(base)
	var pairs []string
	for _, c := range client.Jar.Cookies(u) {
		if c.Name != "roster_flash" {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
	}
	return strings.Join(pairs, "; "), nil
}

// benchBrowser is a client with its own cookie jar that does not follow
// redirects. A nil transport means a new one.
func benchBrowser(tr http.RoundTripper) *http.Client {
	if tr == nil {
		tr = &http.Transport{Proxy: nil}
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// loginCSRF loads a form page and returns the CSRF cookie it set.
func loginCSRF(ctx context.Context, client *http.Client, page string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	u, _ := url.Parse(page)
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == "roster_csrf" && resp.StatusCode == http.StatusOK {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("GET %s: got %d and no roster_csrf cookie, want 200 and one", page, resp.StatusCode)
}

// signInStorm is one client per email signing in as that user, again and
// again.
type signInStorm struct {
	base   string
	emails []string
	tr     *http.Transport

	busy, throttled, noRetryAfter             atomic.Int64
	serverErrors, transportErrors, unexpected atomic.Int64

	mu       sync.Mutex
	firstErr error // the first failure of any kind
}

func newSignInStorm(base string, emails []string) *signInStorm {
	// Every client its own connection, as every browser would have.
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: len(emails), DisableCompression: true}
	return &signInStorm{base: base, emails: emails, tr: tr}
}

// run starts every client at once and sends on ok for every successful
// sign-in until ctx ends.
func (s *signInStorm) run(ctx context.Context, ok chan<- struct{}) {
	defer s.tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, email := range s.emails {
		wg.Go(func() {
			for ctx.Err() == nil {
				if !s.signIn(ctx, email) {
					continue
				}
				select {
				case ok <- struct{}{}:
				case <-ctx.Done():
				}
			}
		})
	}
	wg.Wait()
}

// signIn is one browser signing in: GET /login, then POST /login until the
// answer is not a refusal to come back later. It reports whether the
// sign-in succeeded.
func (s *signInStorm) signIn(ctx context.Context, email string) bool {
	client := benchBrowser(s.tr)
	csrf, err := loginCSRF(ctx, client, s.base+"/login")
	if err != nil {
		s.failed(ctx, &s.unexpected, err)
		return false
	}
	form := url.Values{"email": {email}, "password": {benchPassword}, "_csrf": {csrf}}.Encode()
	for ctx.Err() == nil {
		req, _ := formPost(ctx, s.base+"/login", form)
		resp, err := client.Do(req)
		if err != nil {
			s.failed(ctx, &s.transportErrors, err)
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch code := resp.StatusCode; {
		case code == http.StatusSeeOther && resp.Header.Get("Location") == "/profile":
			return true
		case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
			if code == http.StatusServiceUnavailable {
				s.busy.Add(1)
			} else {
				s.throttled.Add(1)
			}
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || wait < 0 {
				s.noRetryAfter.Add(1)
				wait = 1
			}
			d := time.Duration(float64(wait) * (1 + rand.Float64()/2) * float64(time.Second))
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		case code >= 500:
			s.failed(ctx, &s.serverErrors, fmt.Errorf("POST /login: got %d; body:\n%.300s", code, body))
			return false
		default:
			s.failed(ctx, &s.unexpected, fmt.Errorf("POST /login: got %d to %q, want 303 to /profile; body:\n%.300s", code, resp.Header.Get("Location"), body))
			return false
		}
	}
	return false
}

// failed counts a failure in n, unless it is the run ending.
func (s *signInStorm) failed(ctx context.Context, n *atomic.Int64, err error) {
	if ctx.Err() != nil {
		return
	}
	n.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstErr == nil {
		s.firstErr = err
	}
}

// first is the first failure, if any.
func (s *signInStorm) first() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// pacedLoad sends requests at a fixed rate from conns workers, open loop:
// request i is due at start + i/rate and its latency counts from then, so a
// server that falls behind is charged for the wait as well.
type pacedLoad struct {
	rate  float64
	conns int
	do    func(ctx context.Context, i int, buf *bytes.Buffer) error
}

// pacedSample is one finished request of a paced load.
type pacedSample struct {
	done    time.Time
	latency time.Duration
	i       int
}

// pacedResult is what a paced load did: every successful request's sample,
// in order of completion, and the failures.
type pacedResult struct {
	samples  []pacedSample
	sent     int
	failed   int
	failedAt []time.Time
	errs     []error // the first few
	firstErr error
	elapsed  time.Duration
}

// pacedErrsKept is how many failures' errors a paced load keeps.
const pacedErrsKept = 5

// quantile is the nearest-rank quantile q of all the latencies.
func (r pacedResult) quantile(q float64) time.Duration {
	return r.window(time.Time{}, time.Time{}).quantile(q)
}

// window is the samples finished in [from, to) as a loadResult; zero times
// mean no bound.
func (r pacedResult) window(from, to time.Time) loadResult {
	var ls []time.Duration
	for _, s := range r.samples {
		if (from.IsZero() || !s.done.Before(from)) && (to.IsZero() || s.done.Before(to)) {
			ls = append(ls, s.latency)
		}
	}
	slices.Sort(ls)
	return loadResult{latencies: ls, elapsed: to.Sub(from)}
}

// run sends requests for d or until ctx ends, whichever is first. each, if
// not nil, sees every sample as it completes, from any worker.
func (p pacedLoad) run(ctx context.Context, d time.Duration, each func(pacedSample)) pacedResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	interval := time.Duration(float64(time.Second) / p.rate)
	due := make(chan int, 1<<16)
	var (
		mu  sync.Mutex
		res pacedResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	for range p.conns {
		wg.Go(func() {
			var buf bytes.Buffer
			for i := range due {
				err := p.do(ctx, i, &buf)
				now := time.Now()
				s := pacedSample{done: now, latency: now.Sub(start.Add(time.Duration(i) * interval)), i: i}
				if ctx.Err() != nil {
					continue // cut off by the end of the run: neither a success nor a failure
				}
				mu.Lock()
				if err != nil {
					res.failed++
					res.failedAt = append(res.failedAt, now)
					if len(res.errs) < pacedErrsKept {
						res.errs = append(res.errs, fmt.Errorf("request %d at %.1fs: %w", i, now.Sub(start).Seconds(), err))
					}
					res.firstErr = res.errs[0]
				} else {
					res.samples = append(res.samples, s)
				}
				mu.Unlock()
				if err == nil && each != nil {
					each(s)
				}
			}
		})
	}
	for i := 0; ; i++ {
		wait := time.Until(start.Add(time.Duration(i) * interval))
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		due <- i
		res.sent++
	}
	close(due)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// paced is loadTarget.do for a paced load.
func (t loadTarget) paced(ctx context.Context, i int, buf *bytes.Buffer) error {
	_, err := t.do(ctx, i, buf)
	return err
}

// processTree is the test process and its children: the servers' password
// hash workers, whose CPU and memory are the server's too.
func processTree() []int {
	return append([]int{os.Getpid()}, proctest.Children(os.Getpid())...)
}

// treeUsage is the CPU time and the minor page faults (memory the kernel
// had to map and zero on first touch) of processTree so far, from
// /proc/PID/stat.
func treeUsage() (cpu time.Duration, faults int64) {
	for _, pid := range processTree() {
		f, err := proctest.Stat(pid)
		if err != nil {
			continue // a worker that has just exited
		}
		minflt, _ := strconv.ParseInt(f[7], 10, 64)
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		faults += minflt
		// USER_HZ, 100 a second on Linux.
		cpu += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return cpu, faults
}

// treeStatusKB sums a "kB" field of /proc/PID/status over processTree.
func treeStatusKB(field string) int64 {
	var sum int64
	for _, pid := range processTree() {
		if kb, err := proctest.StatusKB(pid, field); err == nil {
			sum += kb
		}
	}
	return sum
}

// machineIdle is the idle time of all the machine's CPUs so far, iowait
// included, from /proc/stat.
func machineIdle() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait ...
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	idle, _ := strconv.ParseInt(f[4], 10, 64)
	iowait, _ := strconv.ParseInt(f[5], 10, 64)
	// /proc/stat counts in USER_HZ, 100 a second on Linux.
	return time.Duration(idle+iowait) * 10 * time.Millisecond
}

// sampleRSS reads the VmRSS of the test process and its hash workers every
// interval until ctx ends or the returned function is called; that
// function returns the highest sum seen and the sum of the kernel's VmHWM
// (each process's peak over its life), in KiB.
func sampleRSS(ctx context.Context, every time.Duration) func() (peak, hwm int64) {
	ctx, cancel := context.WithCancel(ctx)
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if kb := treeStatusKB("VmRSS"); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() (int64, int64) {
		cancel()
		<-done
		return peak.Load(), treeStatusKB("VmHWM")
	}
}
