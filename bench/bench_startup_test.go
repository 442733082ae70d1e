package bench

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
)

// startupIdle is how long the server sits idle before its RSS is read.
const startupIdle = time.Second

// BenchmarkStartup measures S6: the time from exec of `roster serve` to
// the first 200 from /healthz on an already migrated database, the idle
// RSS of the process and the size of the stripped binary that `make build`
// makes. Its reference is the time from exec to exit of `roster version`,
// the cost of starting any process of this size here. b.N is the number
// of starts.
//
//	go test -run '^$' -bench Startup -benchtime 20x ./bench/
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "roster")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/rosterhq/roster")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	dbPath := filepath.Join(dir, "roster.db")
	env := append(os.Environ(), "ROSTER_DB="+dbPath)
	migrate := exec.Command(bin, "migrate")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		b.Fatalf("roster migrate: %v\n%s", err, out)
	}

	var ready, reference []time.Duration
	var rss, anon []int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
			b.Fatalf("roster version: %v\n%s", err, out)
		}
		reference = append(reference, time.Since(start))

		d, kb, anonKB := startOnce(b, bin, env)
		ready = append(ready, d)
		rss = append(rss, kb)
		anon = append(anon, anonKB)
	}
	b.StopTimer()
	slices.Sort(ready)
	slices.Sort(reference)
	slices.Sort(rss)
	slices.Sort(anon)
	median := func(ds []time.Duration) float64 { return millis(ds[len(ds)/2]) }
	b.ReportMetric(median(ready), "healthz-ms")
	b.ReportMetric(millis(ready[len(ready)-1]), "healthz-max-ms")
	b.ReportMetric(median(reference), "version-exit-ms")
	b.ReportMetric(float64(rss[len(rss)/2])/1024, "idle-rss-MB")
	b.ReportMetric(float64(anon[len(anon)/2])/1024, "idle-rss-anon-MB")
	b.ReportMetric(float64(info.Size())/(1<<20), "binary-MB")
	b.ReportMetric(0, "ns/op")
	b.Logf("start-up (%d starts): first /healthz 200 after exec, median %.1fms, max %.1fms | roster version, exec to exit: median %.1fms | idle RSS %.1f MB, of which anonymous %.1f MB (the rest is the binary's own pages) | stripped binary %.1f MB",
		b.N, median(ready), millis(ready[len(ready)-1]), median(reference), float64(rss[len(rss)/2])/1024, float64(anon[len(anon)/2])/1024, float64(info.Size())/(1<<20))
}

// startOnce starts the server, polls /healthz until it answers 200, waits
// startupIdle, reads VmRSS and RssAnon (KiB) and stops the server with SIGTERM.
func startOnce(b *testing.B, bin string, env []string) (time.Duration, int64, int64) {
	b.Helper()
	addr := proctest.LoopbackAddr(b)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "ROSTER_ADDR="+addr, "ROSTER_BASE_URL=http://"+addr)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if ctx.Err() != nil {
			b.Fatalf("no 200 from /healthz within 10s: %v", err)
		}
		time.Sleep(500 * time.Microsecond)
	}
	d := time.Since(start)
	time.Sleep(startupIdle)
	rss, errRSS := proctest.StatusKB(cmd.Process.Pid, "VmRSS")
	anon, errAnon := proctest.StatusKB(cmd.Process.Pid, "RssAnon")
	if err := errors.Join(errRSS, errAnon); err != nil {
		b.Fatal(err)
	}
	return d, rss, anon
}
