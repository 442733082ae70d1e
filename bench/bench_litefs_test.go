package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/litefstest"
	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// BenchmarkLiteFSReplicaS1 (S1 on LiteFS) measures S1, GET /profile of the
// S1 user by benchConns connections, on two real LiteFS nodes on loopback
// (the deploy's litefs.yml with its static lease): through the replica's
// LiteFS proxy, next to the primary's, in the same run, and on the
// replica's roster without the proxy in front. The replica's answers to a
// session due for its once-a-minute touch (Fly-Replay) are replayed on the
// primary, as Fly's edge does; replica-replays counts them. Each target
// gets b.N requests:
//
//	go test -run '^$' -bench '^BenchmarkLiteFSReplicaS1$' -benchtime 20000x ./bench/
func BenchmarkLiteFSReplicaS1(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "roster")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/rosterhq/roster")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	primaryAPI := "http://" + proctest.LoopbackAddr(b)
	a := litefstest.Start(b, litefstest.Options{Name: "node A", PrimaryAPI: primaryAPI, Primary: true, Env: os.Environ()})
	r := litefstest.Start(b, litefstest.Options{Name: "node B", PrimaryAPI: primaryAPI, Env: os.Environ()})
	a.WaitReady(b)
	r.WaitReady(b)

	// The S1 user, seeded on the primary's mount while nothing else has
	// the database open; then roster on each node, behind its proxy.
	hash, err := password.NewHasher(1, 0).Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	store, err := server.OpenStore(b.Context(), a.DB())
	if err != nil {
		b.Fatal(err)
	}
	const email = "s1@example.com"
	u, err := store.CreateUser(b.Context(), db.NewUser{Email: email, Name: "Bench User", PasswordHash: hash, Verified: true},
		db.Event{Kind: db.EventSignUp, IP: "bench", UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	seedS1Profile(b, store, u)
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	for _, n := range []*litefstest.Node{a, r} {
		serveOnNode(b, bin, n)
	}
	a.WaitHealthy(b)
	r.WaitHealthy(b)

	// Signed in on the primary; the replica has the session once it has
	// caught up. The __txid cookie of the sign-in would make the replica's
	// proxy check its position on every read for five minutes: a browser
	// that only reads carries none.
	cookies := dropCookie(dropCookie(formSignIn(b, a.Proxy, email, benchPassword), "roster_flash"), "__txid")
	litefstest.WaitCaughtUp(b, r, a)
	const marker = `id="sessions"`
	page := fetchPage(b, r.Proxy+"/profile", cookies, marker)
	wantPage := func(body []byte) error {
		if !bytes.Contains(body, []byte(marker)) {
			return fmt.Errorf("body has no %s: not the signed-in page", marker)
		}
		return nil
	}
	replica := newLoadTarget(r.Proxy+"/profile", cookies, wantPage)
	edge := &replayOn{primary: strings.TrimPrefix(a.Proxy, "http://"), next: replica.client.Transport}
	replica.client.Transport = edge
	results := runTargets(b, []namedTarget{
		{"primary", newLoadTarget(a.Proxy+"/profile", cookies, wantPage)},
		{"replica", replica},
		{"replica-roster", newLoadTarget("http://"+r.Target+"/profile", cookies, wantPage)},
	})
	primary, onReplica, direct := results[0], results[1], results[2]
	ratio := onReplica.perSecond() / primary.perSecond()
	b.ReportMetric(ratio, "replica/primary")
	b.ReportMetric(float64(edge.replays.Load()), "replica-replays")
	b.ReportMetric(0, "ns/op")
	if b.N >= benchMinLogged {
		b.Logf("GET /profile (%d bytes, %d requests each, %d connections) | LiteFS primary's proxy: %.0f req/s p50 %.2fms p99 %.2fms | replica's proxy: %.0f req/s p50 %.2fms p99 %.2fms (%d replayed on the primary) | replica's roster alone: %.0f req/s p50 %.2fms p99 %.2fms | replica/primary throughput %.3f",
			len(page), b.N, benchConns,
			primary.perSecond(), millis(primary.quantile(0.50)), millis(primary.quantile(0.99)),
			onReplica.perSecond(), millis(onReplica.quantile(0.50)), millis(onReplica.quantile(0.99)), edge.replays.Load(),
			direct.perSecond(), millis(direct.quantile(0.50)), millis(direct.quantile(0.99)), ratio)
	}
	for _, line := range []string{"read only replica", "readonly", "disk I/O error", `"level":"ERROR"`} {
		if strings.Contains(r.Log.String(), line) {
			b.Errorf("the replica's log has %s:\n%s", line, r.Log.String())
		}
	}
}

// serveOnNode runs `roster serve` on the node's mount, at the address its
// LiteFS proxy sends to, until the benchmark ends (before LiteFS stops).
func serveOnNode(b *testing.B, bin string, n *litefstest.Node) {
	b.Helper()
	cmd := exec.Command(bin, "serve")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "ROSTER_DB="+n.DB(), "ROSTER_ADDR="+n.Target, "ROSTER_LITEFS=1", "ROSTER_BASE_URL=http://127.0.0.1")
	cmd.Stdout, cmd.Stderr = n.Log, n.Log
	if err := cmd.Start(); err != nil {
		b.Fatalf("start roster on %s: %v", n.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			b.Errorf("roster on %s did not stop within 15s of SIGTERM", n.Name)
			cmd.Process.Kill()
			<-exited
		}
	})
}

// replayOn does what Fly's edge does with an answer carrying Fly-Replay:
// it sends the same request (a GET) again to the primary's proxy.
type replayOn struct {
	primary string // host:port
	next    http.RoundTripper
	replays atomic.Int64
}

func (e *replayOn) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := e.next.RoundTrip(req)
	if err != nil || res.Header.Get("Fly-Replay") == "" {
		return res, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	e.replays.Add(1)
	again := req.Clone(req.Context())
	again.URL.Host, again.Host = e.primary, e.primary
	return e.next.RoundTrip(again)
}
