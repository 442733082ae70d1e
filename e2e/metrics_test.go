package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// serveInProcess runs `roster serve` with env until the test ends, and waits
// for /healthz to answer. It returns the base URL and the server's log.
func serveInProcess(t *testing.T, env map[string]string) (string, *logtest.Buffer) {
	t.Helper()
	addr := proctest.LoopbackAddr(t)
	env["ROSTER_ADDR"] = addr
	env["ROSTER_BASE_URL"] = "http://" + addr
	env["ROSTER_DB"] = t.TempDir() + "/roster.db"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var log logtest.Buffer
	go func() {
		done <- roster.Run(ctx, []string{"serve"}, proctest.Env(env), strings.NewReader(""), io.Discard, &log)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + addr
	proctest.WaitFor(t, "/healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base, &log
}

func TestMetricsEndpoint(t *testing.T) {
	metricsAddr := proctest.LoopbackAddr(t)
	base, log := serveInProcess(t, map[string]string{"ROSTER_METRICS_ADDR": metricsAddr})
	if !strings.Contains(log.String(), "metrics are served") {
		t.Errorf("log has no line about the metrics listener:\n%s", log)
	}
	for _, path := range []string{"/login", "/profile", "/accounts/7", "/no/such/page"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`roster_http_request_duration_seconds_bucket{method="GET",route="/login",status="2xx"`,
		`roster_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"}`,
		// The route template, never the raw path.
		`route="/accounts/:id"`,
		"roster_password_hash_queue_depth 0",
		"roster_password_hash_expected_wait_seconds 0",
		"roster_password_hashes_running 0",
		"roster_outbox_backlog 0",
		"roster_outbox_oldest_age_seconds 0",
		`roster_outbox_queued{kind="email"} 0`,
		"roster_sessions_active 0",
		"roster_metrics_scrape_errors 0",
		`go_sql_open_connections{db_name="writer"} 1`,
		`go_sql_max_open_connections{db_name="reader"}`,
		"go_goroutines",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if bytes.Contains(body, []byte(`route="/accounts/7"`)) || bytes.Contains(body, []byte(`/no/such/page`)) {
		t.Error("/metrics labels a raw path, want only route templates")
	}
	// The public listener does not serve the metrics.
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on ROSTER_ADDR: got %d, want 404", resp.StatusCode)
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	base, log := serveInProcess(t, map[string]string{})
	if strings.Contains(log.String(), "metrics are served") {
		t.Errorf("a metrics listener started without ROSTER_METRICS_ADDR:\n%s", log)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics: got %d, want 404", resp.StatusCode)
	}
}
