package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// The LiteFS tests run two real LiteFS nodes on loopback, as an operator
// would run two machines: a static lease (node A the primary, node B a
// replica), each node's proxy in front of a roster on its mount with
// ROSTER_LITEFS=1, and a client that replays Fly-Replay answers on the
// named node's proxy, as Fly's edge does. `make deps` installs fuse3 and
// litefs.

// liteFSNode is one `litefs mount` process and the roster it runs.
type liteFSNode struct {
	name   string
	cmd    *exec.Cmd
	log    *logtest.Buffer // LiteFS's log and roster's, which LiteFS passes on
	mount  string
	proxy  string // http://127.0.0.1:port, LiteFS's proxy in front of roster
	exited chan struct{}
}

// liteFSBinaries finds litefs and fusermount3: on PATH, or litefs where
// `go install` puts it.
func liteFSBinaries(t *testing.T) (litefs, fusermount string) {
	t.Helper()
	fusermount, err := exec.LookPath("fusermount3")
	if err != nil {
		t.Fatalf("the LiteFS test needs fusermount3 (package fuse3): %v\ninstall it with `make deps`, or run `make test`", err)
	}
	if litefs, err = exec.LookPath("litefs"); err == nil {
		return litefs, fusermount
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
		if err != nil {
			t.Fatalf("go env: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if gobin = strings.TrimSpace(lines[0]); gobin == "" && len(lines) > 1 {
			gobin = filepath.Join(filepath.SplitList(lines[1])[0], "bin")
		}
	}
	litefs = filepath.Join(gobin, "litefs")
	if _, err := os.Stat(litefs); err != nil {
		t.Fatalf("the LiteFS test needs litefs on PATH or in %s: %v\ninstall it with `make deps`, or run `make test`", gobin, err)
	}
	return litefs, fusermount
}

// liteFSConfig is a node's litefs.yml: the deploy's own (../litefs.yml)
// with its static-lease variant in place of the Consul lease, and this
// test's directories, ports and roster binary in place of the machine's.
// Each value must be where the deploy file has it, once.
func liteFSConfig(t *testing.T, dir, roster, apiAddr, proxyAddr, rosterAddr, primaryAPI string, primary bool) string {
	t.Helper()
	b, err := os.ReadFile("../litefs.yml")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	// The Consul lease out, the commented static lease in.
	consul := strings.Index(conf, "\nlease:\n  type: \"consul\"")
	static := strings.Index(conf, "\n# lease:\n#   type: \"static\"")
	if consul < 0 || static < consul {
		t.Fatalf("litefs.yml: no Consul lease followed by a commented static lease")
	}
	end := strings.Index(conf[consul+1:], "\n\n")
	if end < 0 || consul+1+end > static {
		t.Fatalf("litefs.yml: the Consul lease block does not end before the static one")
	}
	conf = conf[:consul] + conf[consul+1+end:]
	var lines []string
	for line := range strings.Lines(conf) {
		if strings.HasPrefix(line, "# lease:") || strings.HasPrefix(line, "#   ") {
			line = line[2:]
		}
		lines = append(lines, line)
	}
	conf = strings.Join(lines, "")
	for _, r := range []struct{ old, new string }{
		{`dir: "/litefs"`, fmt.Sprintf("dir: %q", filepath.Join(dir, "mnt"))},
		{`dir: "/var/lib/litefs"`, fmt.Sprintf("dir: %q", filepath.Join(dir, "data"))},
		{`addr: ":20202"`, fmt.Sprintf("addr: %q", apiAddr)},
		{`addr: ":8080"`, fmt.Sprintf("addr: %q", proxyAddr)},
		{`target: "127.0.0.1:8081"`, fmt.Sprintf("target: %q", rosterAddr)},
		{`advertise-url: "http://node-a:20202"`, fmt.Sprintf("advertise-url: %q", primaryAPI)},
		{`candidate: true`, fmt.Sprintf("candidate: %t", primary)},
		{"ROSTER_DB=/litefs/roster.db ", "ROSTER_DB=" + filepath.Join(dir, "mnt", "roster.db") + " "},
		{"ROSTER_ADDR=127.0.0.1:8081 ", "ROSTER_ADDR=" + rosterAddr + " "},
		{"/usr/local/bin/roster serve", roster + " serve"},
	} {
		if n := strings.Count(conf, r.old); n != 1 {
			t.Fatalf("litefs.yml: %d times %s, want once:\n%s", n, r.old, conf)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	return conf
}

// startLiteFSNode starts `litefs mount` for one node, whose roster serves
// on its mount's roster.db, and stops both at the end of the test: roster
// first, then LiteFS, then the mount is let go.
func startLiteFSNode(t *testing.T, litefs, fusermount, roster, name, primaryAPI string, primary bool) *liteFSNode {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"mnt", "data"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	apiAddr, proxyAddr, rosterAddr := proctest.LoopbackAddr(t), proctest.LoopbackAddr(t), proctest.LoopbackAddr(t)
	if primary {
		apiAddr = strings.TrimPrefix(primaryAPI, "http://")
	}
	config := filepath.Join(dir, "litefs.yml")
	if err := os.WriteFile(config, []byte(liteFSConfig(t, dir, roster, apiAddr, proxyAddr, rosterAddr, primaryAPI, primary)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &liteFSNode{
		name: name, log: &logtest.Buffer{}, mount: filepath.Join(dir, "mnt"),
		proxy: "http://" + proxyAddr, exited: make(chan struct{}),
		cmd: exec.Command(litefs, "mount", "-config", config),
	}
	// roster's settings are in litefs.yml's exec line; rosterEnv's
	// ROSTER_BASE_URL is for the test's plain-HTTP client.
	n.cmd.Env = rosterEnv(filepath.Join(n.mount, "roster.db"))
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start litefs for %s: %v", name, err)
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() { n.stop(t, fusermount) })
	return n
}

// stop ends roster with SIGTERM, then LiteFS (which leaves once its
// command has), then unmounts the FUSE mount if LiteFS left it behind.
func (n *liteFSNode) stop(t *testing.T, fusermount string) {
	for _, pid := range proctest.Children(n.cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("%s: LiteFS did not stop within 15s of roster's SIGTERM", n.name)
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if mounts, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(mounts), " "+n.mount+" ") {
		if out, err := exec.Command(fusermount, "-u", n.mount).CombinedOutput(); err != nil {
			t.Errorf("%s: fusermount3 -u %s: %v\n%s", n.name, n.mount, err, out)
		}
	}
	if t.Failed() {
		t.Logf("%s's log (LiteFS and roster):\n%s", n.name, n.log.String())
	}
}

// waitHealthy waits for roster's /healthz through the node's proxy.
func (n *liteFSNode) waitHealthy(t *testing.T) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case <-n.exited:
			t.Fatalf("%s: LiteFS exited: %v\n%s", n.name, n.cmd.ProcessState, n.log.String())
		default:
		}
		if res, err := hc.Get(n.proxy + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no healthy roster behind LiteFS's proxy within 60s\n%s", n.name, n.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flyEdge is a RoundTripper that does what Fly's edge does with an answer
// carrying Fly-Replay: instance=<name>: it sends the same request again to
// that node (its proxy), and returns that node's answer.
type flyEdge struct {
	nodes   map[string]string // instance name -> proxy host:port
	replays int
}

func (e *flyEdge) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	send := func(host string) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.URL.Host, r.Host = host, host
		r.Body = io.NopCloser(bytes.NewReader(body))
		return http.DefaultTransport.RoundTrip(r)
	}
	res, err := send(req.URL.Host)
	if err != nil {
		return nil, err
	}
	replay := res.Header.Get("Fly-Replay")
	if replay == "" {
		return res, nil
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	instance, ok := strings.CutPrefix(replay, "instance=")
	host := e.nodes[instance]
	if !ok || host == "" {
		return nil, fmt.Errorf("%s %s: Fly-Replay %q names no known instance", req.Method, req.URL.Path, replay)
	}
	e.replays++
	req.Header.Set("Fly-Replay-Src", "instance=replica;state=replayed")
	return send(host)
}

// newLiteFSBrowser is a browser speaking to a node's proxy through edge.
func newLiteFSBrowser(base string, edge *flyEdge) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, hc: &http.Client{
		Jar: jar, Timeout: 20 * time.Second, Transport: edge,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// TestLiteFSTwoNodes signs up through the replica's proxy (the write is
// replayed on the primary, as Fly's edge would) and reads the profile back
// on the replica at once: LiteFS's proxy holds the read until the replica
// has the write (its __txid cookie). Through the replica it then signs in
// from a second browser, adds a contact method (shown on the replica at
// once) and opens its emailed link, a GET that writes, which roster on the
// replica sends to the primary itself; roster there sets __txid, so the
// replica shows the method verified at once. The replica's roster never
// writes.
func TestLiteFSTwoNodes(t *testing.T) {
	litefs, fusermount := liteFSBinaries(t)
	roster := buildRoster(t)
	primaryAPI := "http://" + proctest.LoopbackAddr(t)
	a := startLiteFSNode(t, litefs, fusermount, roster, "node A", primaryAPI, true)
	b := startLiteFSNode(t, litefs, fusermount, roster, "node B", primaryAPI, false)
	a.waitHealthy(t)
	b.waitHealthy(t)

	edge := &flyEdge{nodes: map[string]string{"node-a": strings.TrimPrefix(a.proxy, "http://")}}
	br := newLiteFSBrowser(b.proxy, edge)
	const name, email = "Ada Replica", "ada.replica@example.com"
	status, err := br.post("/signup", url.Values{"name": {name}, "email": {email}, "password": {"seven quiet lanterns in the harbour"}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign up through the replica: got %d, %v, want 303", status, err)
	}
	if edge.replays == 0 {
		t.Fatalf("the sign-up was not replayed on the primary: the replica answered it itself")
	}
	u, _ := url.Parse(b.proxy)
	var txid bool
	for _, c := range br.hc.Jar.Cookies(u) {
		txid = txid || c.Name == "__txid"
	}
	if !txid {
		t.Errorf("no __txid cookie from the primary's proxy after the sign-up: cookies %v", br.hc.Jar.Cookies(u))
	}

	// Straight after the write, on the replica: LiteFS's proxy waits for
	// the replica to reach the write's TXID before roster reads.
	replays := edge.replays
	status, body, err := br.get("/profile")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /profile on the replica: got %d, %v, want 200\n%s", status, err, body)
	}
	if edge.replays != replays {
		t.Errorf("GET /profile was replayed on the primary: the replica should have served it")
	}
	for _, want := range []string{name, email} {
		if !strings.Contains(body, want) {
			t.Errorf("the replica's /profile does not show %q right after the sign-up", want)
		}
	}

	// Signing in again through the replica, from another browser: the
	// POST is replayed on the primary, the profile read on the replica.
	other := newLiteFSBrowser(b.proxy, edge)
	status, err = other.post("/login", url.Values{"email": {email}, "password": {"seven quiet lanterns in the harbour"}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign in through the replica: got %d, %v, want 303", status, err)
	}
	if status, body, err = other.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("GET /profile on the replica after signing in there: got %d, %v; shows %s: %t", status, err, email, strings.Contains(body, email))
	}

	// A contact method added through the replica shows there at once; its
	// emailed link, a GET that writes, is replayed by roster on the replica
	// (its own Fly-Replay, through LiteFS's proxy) and verifies it.
	const work = "ada.work@example.com"
	status, err = br.post("/profile/contacts", url.Values{"kind": {"email"}, "address": {work}, "label": {"Work"}})
	if err != nil || !acked(status) {
		t.Fatalf("add a contact method through the replica: got %d, %v", status, err)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, work) {
		t.Fatalf("GET /profile on the replica after adding %s: got %d, %v; shows it: %t", work, status, err, strings.Contains(body, work))
	}
	const verifiedBadge = `<span class="badge ok">Verified</span>`
	if n := strings.Count(body, verifiedBadge); n != 0 {
		t.Fatalf("the replica's /profile shows %d verified methods before any is verified", n)
	}
	link := regexp.MustCompile(`/profile/contacts/\d+/verify\?code=[A-Za-z0-9]+`)
	var verify string
	proctest.WaitFor(t, "the primary's mail with the contact method's link", func() bool {
		verify = link.FindString(a.log.String())
		return verify != ""
	})
	replays = edge.replays
	res, err := br.hc.Get(b.proxy + verify)
	if err != nil {
		t.Fatalf("GET the verify link on the replica: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#contact-info" || edge.replays != replays+1 {
		t.Fatalf("GET the verify link on the replica: got %d to %q after %d replays, want 303 to /profile#contact-info after one replay on the primary",
			res.StatusCode, res.Header.Get("Location"), edge.replays-replays)
	}
	// LiteFS's proxy sets __txid after writes by method only; roster on
	// the primary sets it after a GET that wrote, so the next page on the
	// replica waits for the verification and shows it at once.
	var verifyTXID string
	for _, c := range res.Cookies() {
		if c.Name == "__txid" {
			verifyTXID = c.Value
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(verifyTXID) {
		t.Fatalf("GET the verify link: the primary's answer set __txid %q, want its position (16 hex digits)", verifyTXID)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || strings.Count(body, verifiedBadge) != 1 {
		t.Fatalf("GET /profile on the replica right after the verify link: got %d, %v; verified methods shown: %d, want 1", status, err, strings.Count(body, verifiedBadge))
	}

	// The replica knew it was one, and its roster never wrote.
	if !strings.Contains(b.log.String(), `"primary":"node-a"`) {
		t.Errorf("node B's roster never logged that it is a replica of node-a")
	}
	for line := range strings.Lines(b.log.String()) {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR" {
			t.Errorf("node B's roster logged an error: %s", line)
		}
		// LiteFS's side of a write on the replica, and SQLite's.
		for _, bad := range []string{"read only replica", "readonly database", "disk I/O error"} {
			if strings.Contains(line, bad) {
				t.Errorf("node B's log shows a write on the replica: %s", line)
			}
		}
	}
}

// TestLiteFSDeployFiles checks that the multi-machine deploy files agree
// with each other, and that the single-machine deploy stays the default:
// fly.litefs.toml sends traffic to litefs.yml's proxy and keeps its volume
// at LiteFS's data directory, Dockerfile.litefs puts litefs.yml and the
// binaries where LiteFS and its exec line look, and installs the LiteFS
// the Makefile tests with.
func TestLiteFSDeployFiles(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	yml, docker, fly := read("litefs.yml"), read("Dockerfile.litefs"), read("fly.litefs.toml")
	makefile, flyDefault, dockerDefault := read("Makefile"), read("fly.toml"), read("Dockerfile")
	for _, c := range []struct{ file, text, want string }{
		{"litefs.yml", yml, `addr: ":8080"`},
		{"fly.litefs.toml", fly, "internal_port = 8080"},
		{"litefs.yml", yml, `dir: "/var/lib/litefs"`},
		{"fly.litefs.toml", fly, `destination = "/var/lib/litefs"`},
		{"fly.litefs.toml", fly, `dockerfile = "Dockerfile.litefs"`},
		{"fly.litefs.toml", fly, `path = "/healthz"`},
		{"litefs.yml", yml, `passthrough: ["/static/*", "/healthz"]`},
		{"litefs.yml", yml, `url: "${FLY_CONSUL_URL}"`},
		{"litefs.yml", yml, "exit-on-error: true"},
		{"litefs.yml", yml, `dir: "/litefs"`},
		{"litefs.yml", yml, "ROSTER_DB=/litefs/roster.db "},
		{"litefs.yml", yml, `db: "roster.db"`},
		{"litefs.yml", yml, " /usr/local/bin/roster serve"},
		{"Dockerfile.litefs", docker, "COPY --from=build /out/roster /usr/local/bin/roster"},
		{"Dockerfile.litefs", docker, "COPY litefs.yml /etc/litefs.yml"},
		{"Dockerfile.litefs", docker, "fuse3"},
		{"Dockerfile.litefs", docker, `ENTRYPOINT ["litefs", "mount"]`},
		{"Dockerfile.litefs", docker, "github.com/superfly/litefs/cmd/litefs@v0.5.14"},
		{"Makefile", makefile, "go install github.com/superfly/litefs/cmd/litefs@v0.5.14"},
		{"fly.toml", flyDefault, `dockerfile = "Dockerfile"`},
	} {
		if !strings.Contains(c.text, c.want) {
			t.Errorf("%s does not have %s", c.file, c.want)
		}
	}
	for name, text := range map[string]string{"fly.toml": flyDefault, "Dockerfile": dockerDefault} {
		if strings.Contains(strings.ToLower(text), "litefs mount") || strings.Contains(text, "ROSTER_LITEFS") {
			t.Errorf("%s, the single-machine default, runs LiteFS", name)
		}
	}
}
