// Package litefstest runs real LiteFS nodes on loopback for tests and
// benchmarks, as an operator runs machines: the deploy's own litefs.yml
// with its static lease (one node the primary, the others replicas), each
// node's proxy in front of a roster on its mount. `make deps` installs
// fuse3 and litefs.
package litefstest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/internal/proctest"
)

// Node is one `litefs mount` process and, when its litefs.yml runs one,
// the roster on its mount.
type Node struct {
	Name   string
	Log    *logtest.Buffer // LiteFS's log and roster's, which LiteFS passes on
	Mount  string          // the FUSE mount; the database is Mount/roster.db
	Proxy  string          // http://127.0.0.1:port, LiteFS's proxy in front of roster
	Target string          // host:port the proxy sends to: roster's ROSTER_ADDR
	// Env is LiteFS's environment, which its roster inherits: Options.Env
	// at first, read again at each Start.
	Env []string

	litefs, fusermount string
	config             string // its litefs.yml
	cmd                *exec.Cmd
	exited             chan struct{}
}

// Options says which node to start.
type Options struct {
	Name string
	// PrimaryAPI is the primary's LiteFS API, http://127.0.0.1:port: the
	// static lease every node names; the primary listens there.
	PrimaryAPI string
	Primary    bool
	// Roster is the roster binary litefs.yml's exec line runs; "" leaves
	// the exec line out, and the caller starts roster on DB() at Target.
	Roster string
	// Env is LiteFS's environment, which the roster it runs inherits.
	Env []string
}

// Binaries finds litefs and fusermount3: on PATH, or litefs where `go
// install` puts it.
func Binaries(t testing.TB) (litefs, fusermount string) {
	t.Helper()
	fusermount, err := exec.LookPath("fusermount3")
	if err != nil {
		t.Fatalf("LiteFS needs fusermount3 (package fuse3): %v\ninstall it with `make deps`, or run `make test`", err)
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
		t.Fatalf("LiteFS: no litefs on PATH or in %s: %v\ninstall it with `make deps`, or run `make test`", gobin, err)
	}
	return litefs, fusermount
}

// DeployConfig is the deploy's litefs.yml, at the module's root.
func DeployConfig(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("litefstest: cannot find its own source file")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "litefs.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Config is a node's litefs.yml: the deploy's own with its static-lease
// variant in place of the Consul lease, and this node's directories,
// ports and roster binary in place of the machine's (no exec line when
// roster is ""). Each value must be where the deploy file has it, once.
func Config(t testing.TB, dir, roster, apiAddr, proxyAddr, rosterAddr, primaryAPI string, primary bool) string {
	t.Helper()
	conf := DeployConfig(t)
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
	bin := roster
	if bin == "" {
		bin = "roster"
	}
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
		{"ROSTER_LITESTREAM_DIR=/var/lib/litefs/litestream ", "ROSTER_LITESTREAM_DIR=" + filepath.Join(dir, "data", "litestream") + " "},
		{"/usr/local/bin/roster serve", bin + " serve"},
	} {
		if n := strings.Count(conf, r.old); n != 1 {
			t.Fatalf("litefs.yml: %d times %s, want once:\n%s", n, r.old, conf)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	if roster == "" {
		i := strings.Index(conf, "\nexec:\n")
		if i < 0 {
			t.Fatalf("litefs.yml: no exec section")
		}
		conf = conf[:i+1]
	}
	return conf
}

// Start starts `litefs mount` for one node and stops it at the end of the
// test: roster first, then LiteFS, then the mount is let go.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	litefs, fusermount := Binaries(t)
	dir := t.TempDir()
	for _, sub := range []string{"mnt", "data"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	apiAddr, proxyAddr, rosterAddr := proctest.LoopbackAddr(t), proctest.LoopbackAddr(t), proctest.LoopbackAddr(t)
	if o.Primary {
		apiAddr = strings.TrimPrefix(o.PrimaryAPI, "http://")
	}
	config := filepath.Join(dir, "litefs.yml")
	if err := os.WriteFile(config, []byte(Config(t, dir, o.Roster, apiAddr, proxyAddr, rosterAddr, o.PrimaryAPI, o.Primary)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Node{
		Name: o.Name, Log: &logtest.Buffer{}, Mount: filepath.Join(dir, "mnt"),
		Proxy: "http://" + proxyAddr, Target: rosterAddr,
		litefs: litefs, fusermount: fusermount, config: config, Env: o.Env,
	}
	n.Start(t)
	t.Cleanup(func() { n.stop(t) })
	return n
}

// DB is the database on the node's mount.
func (n *Node) DB() string { return filepath.Join(n.Mount, "roster.db") }

// Data is the node's LiteFS data directory: its volume.
func (n *Node) Data() string { return filepath.Join(filepath.Dir(n.Mount), "data") }

// Start runs `litefs mount` on the node's config: the first time, or
// again after the node stopped, on the same data directory and mount.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	n.cmd = exec.Command(n.litefs, "mount", "-config", n.config)
	n.cmd.Env = n.Env
	n.cmd.Stdout, n.cmd.Stderr = n.Log, n.Log
	n.exited = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start litefs for %s: %v", n.Name, err)
	}
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(n.cmd, n.exited)
}

// Exited is closed when the node's LiteFS has exited.
func (n *Node) Exited() <-chan struct{} { return n.exited }

// RosterPID is the pid of the roster LiteFS runs on the node.
func (n *Node) RosterPID(t testing.TB) int {
	t.Helper()
	for _, pid := range proctest.Children(n.cmd.Process.Pid) {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "roster" {
			return pid
		}
	}
	t.Fatalf("%s: no roster process under LiteFS (pid %d)", n.Name, n.cmd.Process.Pid)
	return 0
}

// stop ends roster with SIGTERM, then LiteFS (which leaves once its
// command has, or at once without one), then unmounts the FUSE mount if
// LiteFS left it behind.
func (n *Node) stop(t testing.TB) {
	children := proctest.Children(n.cmd.Process.Pid)
	for _, pid := range children {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	if len(children) == 0 {
		n.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("%s: LiteFS did not stop within 15s of SIGTERM", n.Name)
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
	if mounts, _ := os.ReadFile("/proc/self/mounts"); strings.Contains(string(mounts), " "+n.Mount+" ") {
		if out, err := exec.Command(n.fusermount, "-u", n.Mount).CombinedOutput(); err != nil {
			t.Errorf("%s: fusermount3 -u %s: %v\n%s", n.Name, n.Mount, err, out)
		}
	}
	if t.Failed() {
		t.Logf("%s's log (LiteFS and roster):\n%s", n.Name, n.Log.String())
	}
}

// WaitHealthy waits for roster's /healthz through the node's proxy.
func (n *Node) WaitHealthy(t testing.TB) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer hc.CloseIdleConnections()
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case <-n.exited:
			t.Fatalf("%s: LiteFS exited: %v\n%s", n.Name, n.cmd.ProcessState, n.Log.String())
		default:
		}
		if res, err := hc.Get(n.Proxy + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no healthy roster behind LiteFS's proxy within 60s\n%s", n.Name, n.Log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitReady waits for the node's first start to say "connected to
// cluster, ready" in LiteFS's log: it is then the primary or has caught
// up with it. (Its proxy holds requests while nothing listens at Target.)
func (n *Node) WaitReady(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(n.Log.String(), "connected to cluster, ready"); {
		select {
		case <-n.exited:
			t.Fatalf("%s: LiteFS exited: %v\n%s", n.Name, n.cmd.ProcessState, n.Log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: LiteFS not ready within 60s\n%s", n.Name, n.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Position is the TXID in the node's roster.db-pos, LiteFS's position of
// the database on that node.
func (n *Node) Position(t testing.TB) uint64 {
	t.Helper()
	b, err := os.ReadFile(n.DB() + "-pos")
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	txid, _, _ := strings.Cut(strings.TrimSpace(string(b)), "/")
	v, err := strconv.ParseUint(txid, 16, 64)
	if err != nil {
		t.Fatalf("%s: roster.db-pos %q: %v", n.Name, b, err)
	}
	return v
}

// WaitCaughtUp waits until the replica has every transaction the primary
// had when called.
func WaitCaughtUp(t testing.TB, replica, primary *Node) {
	t.Helper()
	want := primary.Position(t)
	proctest.WaitFor(t, fmt.Sprintf("%s to reach the primary's TXID %d", replica.Name, want), func() bool {
		return replica.Position(t) >= want
	})
}
