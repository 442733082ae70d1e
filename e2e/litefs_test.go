package e2e

import (
	"bytes"
	"context"
	"database/sql"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/litefstest"
	"github.com/rosterhq/roster/internal/proctest"
	"github.com/rosterhq/roster/internal/smtptest"
)

// The LiteFS tests run two real LiteFS nodes on loopback, as an operator
// would run two machines: a static lease (node A the primary, node B a
// replica), each node's proxy in front of a roster on its mount with
// ROSTER_LITEFS=1, and a client that replays Fly-Replay answers on the
// named node's proxy, as Fly's edge does. `make deps` installs fuse3 and
// litefs.

// startLiteFSNode starts a LiteFS node whose litefs.yml runs roster,
// with env's KEY=value settings added to its environment.
func startLiteFSNode(t *testing.T, roster, name, primaryAPI string, primary bool, env ...string) *litefstest.Node {
	t.Helper()
	// roster's own settings are in litefs.yml's exec line; rosterEnv's
	// ROSTER_BASE_URL is for the test's plain-HTTP client.
	return litefstest.Start(t, litefstest.Options{Name: name, PrimaryAPI: primaryAPI, Primary: primary, Roster: roster,
		Env: append(rosterEnv(""), env...)})
}

// flyEdge is a RoundTripper that does what Fly's edge does with an answer
// carrying Fly-Replay: instance=<name>: it sends the same request again to
// that node (its proxy), and returns that node's answer.
type flyEdge struct {
	nodes   map[string]string // instance name -> proxy host:port
	replays atomic.Int64
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
	e.replays.Add(1)
	req.Header.Set("Fly-Replay-Src", "instance=replica;state=replayed")
	return send(host)
}

// replayed is how many answers the edge replayed so far.
func (e *flyEdge) replayed() int { return int(e.replays.Load()) }

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
// replica shows the method verified at once. Through the replica, too, the
// person confirms their email, revokes a session signed in on the primary,
// accepts an invite an Admin sent from the primary and asks for a password
// reset, each read back on the replica at once. Each node has its own mail
// server: every message arrives once, from the primary; the replica's
// roster never writes and sends nothing.
func TestLiteFSTwoNodes(t *testing.T) {
	roster := buildRoster(t)
	primaryAPI := "http://" + proctest.LoopbackAddr(t)
	smtpA, smtpB := smtptest.Start(t), smtptest.Start(t)
	a := startLiteFSNode(t, roster, "node A", primaryAPI, true, "ROSTER_SMTP_URL=smtp://"+smtpA.Addr)
	b := startLiteFSNode(t, roster, "node B", primaryAPI, false, "ROSTER_SMTP_URL=smtp://"+smtpB.Addr)
	a.WaitHealthy(t)
	b.WaitHealthy(t)

	edge := &flyEdge{nodes: map[string]string{"node-a": strings.TrimPrefix(a.Proxy, "http://")}}
	br := newLiteFSBrowser(b.Proxy, edge)
	const name, email, password = "Ada Replica", "ada.replica@example.com", "seven quiet lanterns in the harbour"
	status, err := br.post("/signup", url.Values{"name": {name}, "email": {email}, "password": {password}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign up through the replica: got %d, %v, want 303", status, err)
	}
	if edge.replayed() == 0 {
		t.Fatalf("the sign-up was not replayed on the primary: the replica answered it itself")
	}
	u, _ := url.Parse(b.Proxy)
	var txid bool
	for _, c := range br.hc.Jar.Cookies(u) {
		txid = txid || c.Name == "__txid"
	}
	if !txid {
		t.Errorf("no __txid cookie from the primary's proxy after the sign-up: cookies %v", br.hc.Jar.Cookies(u))
	}

	// Straight after the write, on the replica: LiteFS's proxy waits for
	// the replica to reach the write's TXID before roster reads.
	replays := edge.replayed()
	status, body, err := br.get("/profile")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /profile on the replica: got %d, %v, want 200\n%s", status, err, body)
	}
	if edge.replayed() != replays {
		t.Errorf("GET /profile was replayed on the primary: the replica should have served it")
	}
	for _, want := range []string{name, email} {
		if !strings.Contains(body, want) {
			t.Errorf("the replica's /profile does not show %q right after the sign-up", want)
		}
	}

	// Signing in again through the replica, from another browser: the
	// POST is replayed on the primary, the profile read on the replica.
	other := newLiteFSBrowser(b.Proxy, edge)
	status, err = other.post("/login", url.Values{"email": {email}, "password": {password}})
	if err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign in through the replica: got %d, %v, want 303", status, err)
	}
	if status, body, err = other.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("GET /profile on the replica after signing in there: got %d, %v; shows %s: %t", status, err, email, strings.Contains(body, email))
	}

	// A contact method added through the replica shows there at once. Its
	// emailed link only shows a page (a GET writes nothing: login CSRF,
	// SECURITY.md), served by the replica; the page's form posts the code,
	// which goes to the primary, and the next page on the replica waits for
	// that write and shows it at once.
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
	verify := mailLink(t, smtpA, work, "Confirm this email address", `/profile/contacts/\d+/verify\?code=[A-Za-z0-9]+`)
	replays = edge.replayed()
	if status, body, err = br.get(verify); err != nil || status != http.StatusOK || edge.replayed() != replays ||
		!strings.Contains(body, "Verify "+work) {
		t.Fatalf("GET the verify link on the replica: got %d, %v after %d replays, want its page served by the replica", status, err, edge.replayed()-replays)
	}
	path, code, _ := strings.Cut(verify, "?code=")
	if status, err = br.post(path, url.Values{"code": {code}}); err != nil || !acked(status) {
		t.Fatalf("post the verify page's form through the replica: got %d, %v", status, err)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || strings.Count(body, verifiedBadge) != 1 {
		t.Fatalf("GET /profile on the replica right after verifying: got %d, %v; verified methods shown: %d, want 1", status, err, strings.Count(body, verifiedBadge))
	}

	// The sign-up's confirmation link, through the replica: the form's
	// POST is replayed, and the replica's profile no longer asks for it.
	confirm := mailLink(t, smtpA, email, "Confirm your email", `/verify/[A-Za-z0-9_-]+`)
	const unconfirmed = `action="/profile/verify-email"`
	if !strings.Contains(body, unconfirmed) {
		t.Fatalf("the replica's /profile does not offer to send the confirmation again before it is confirmed")
	}
	if status, err = br.post(confirm, nil); err != nil || !acked(status) {
		t.Fatalf("POST %s through the replica: got %d, %v", confirm, status, err)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || strings.Contains(body, unconfirmed) {
		t.Fatalf("GET /profile on the replica right after confirming the email: got %d, %v; still unconfirmed: %t", status, err, strings.Contains(body, unconfirmed))
	}

	// A session of the same person signed in on the primary, revoked
	// through the replica: gone from the replica's list at once, and that
	// browser is signed out there.
	onA := newLiteFSBrowser(a.Proxy, edge)
	if status, err = onA.post("/login", url.Values{"email": {email}, "password": {password}}); err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign in on the primary: got %d, %v, want 303", status, err)
	}
	// Another browser's write: the replica has it within milliseconds,
	// and this browser's next read carries no TXID that waits for it.
	litefstest.WaitCaughtUp(t, b, a)
	revoke := regexp.MustCompile(`/profile/sessions/(\d+)/revoke`)
	status, body, err = onA.get("/profile")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /profile on the primary: got %d, %v", status, err)
	}
	others := map[string]bool{}
	for _, m := range revoke.FindAllStringSubmatch(body, -1) {
		others[m[1]] = true
	}
	status, body, err = br.get("/profile")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /profile on the replica: got %d, %v", status, err)
	}
	var onAID string
	for _, m := range revoke.FindAllStringSubmatch(body, -1) {
		if !others[m[1]] {
			onAID = m[1] // the one the primary's browser cannot revoke: its own
		}
	}
	if onAID == "" {
		t.Fatalf("sessions: the primary's browser can revoke %v, the replica's %v; want the replica's to list the primary's session", others, revoke.FindAllString(body, -1))
	}
	if status, err = br.post("/profile/sessions/"+onAID+"/revoke", nil); err != nil || !acked(status) {
		t.Fatalf("revoke session %s through the replica: got %d, %v", onAID, status, err)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || strings.Contains(body, "/profile/sessions/"+onAID+"/revoke") {
		t.Fatalf("GET /profile on the replica right after revoking session %s: got %d, %v; still listed: %t", onAID, status, err, strings.Contains(body, "/profile/sessions/"+onAID+"/revoke"))
	}
	onA.base = b.Proxy
	if status, _, err = onA.get("/profile"); err != nil || status != http.StatusSeeOther {
		t.Fatalf("the revoked browser's GET /profile on the replica: got %d, %v, want 303 to sign in", status, err)
	}

	// An Admin signs up on the primary, confirms, creates an account and
	// invites the person, who accepts through the replica and sees the
	// account there at once.
	admin := newLiteFSBrowser(a.Proxy, edge)
	const adminEmail, account = "grace.primary@example.com", "Harbour Lights"
	if status, err = admin.post("/signup", url.Values{"name": {"Grace Primary"}, "email": {adminEmail}, "password": {password}}); err != nil || status != http.StatusSeeOther {
		t.Fatalf("the Admin's sign-up on the primary: got %d, %v, want 303", status, err)
	}
	if status, err = admin.post(mailLink(t, smtpA, adminEmail, "Confirm your email", `/verify/[A-Za-z0-9_-]+`), nil); err != nil || !acked(status) {
		t.Fatalf("the Admin's confirmation: got %d, %v", status, err)
	}
	res, err := admin.send("/accounts", url.Values{"name": {account}})
	if err != nil || res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/manage") {
		t.Fatalf("create an account on the primary: got %v, %v, want 303 to its manage page", res, err)
	}
	accountPath := strings.TrimSuffix(res.Header.Get("Location"), "/manage")
	if status, err = admin.post(accountPath+"/invites", url.Values{"email": {email}, "role": {"normal"}}); err != nil || !acked(status) {
		t.Fatalf("invite %s on the primary: got %d, %v", email, status, err)
	}
	invite := mailLink(t, smtpA, email, "You are invited to join "+account, `/invites/[A-Za-z0-9_-]+`)
	litefstest.WaitCaughtUp(t, b, a)
	status, body, err = br.get(invite)
	accept := regexp.MustCompile(`/invites/\d+/accept`).FindString(body)
	if err != nil || status != http.StatusOK || accept == "" {
		t.Fatalf("GET %s on the replica: got %d, %v; offers to accept: %t", invite, status, err, accept != "")
	}
	if status, err = br.post(accept, url.Values{"next": {"/profile"}}); err != nil || !acked(status) {
		t.Fatalf("accept the invite through the replica: got %d, %v", status, err)
	}
	if status, body, err = br.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, account) {
		t.Fatalf("GET /profile on the replica right after accepting: got %d, %v; shows %s: %t", status, err, account, strings.Contains(body, account))
	}

	// A password reset asked for through the replica.
	if status, err = newLiteFSBrowser(b.Proxy, edge).post("/password/forgot", url.Values{"email": {email}}); err != nil || !acked(status) {
		t.Fatalf("ask for a password reset through the replica: got %d, %v", status, err)
	}
	mailLink(t, smtpA, email, "Reset your Roster password", `/password/reset/[A-Za-z0-9_-]+`)

	// Every message was delivered once, by the primary: its mail server
	// got each outbox row once and the replica's got nothing; each sent row
	// took one attempt, and the only boots recorded are the primary's.
	outbox := waitOutboxSent(t, a)
	got := map[string]int{}
	for _, m := range smtpA.Mails() {
		got[strings.Join(m.Rcpt, ",")+": "+m.Subject]++
	}
	for row, n := range outbox {
		if got[row] != n {
			t.Errorf("%q: %d in the outbox, %d delivered", row, n, got[row])
		}
	}
	if len(smtpA.Mails()) != len(outbox) || len(outbox) < 5 {
		t.Errorf("%d messages delivered for %d outbox rows, want one each (and at least the 5 this test asked for)", len(smtpA.Mails()), len(outbox))
	}
	if n := len(smtpB.Mails()); n != 0 {
		t.Errorf("the replica's mail server got %d messages, want none", n)
	}
	conn := openLiteFSDB(t, a)
	var retried, otherBoots int
	if err := conn.QueryRow(`SELECT count(*) FROM outbox WHERE attempts != 1`).Scan(&retried); err != nil || retried != 0 {
		t.Errorf("%d outbox rows took other than one attempt (%v)", retried, err)
	}
	if err := conn.QueryRow(`SELECT count(*) FROM boots WHERE pid != ?`, a.RosterPID(t)).Scan(&otherBoots); err != nil || otherBoots != 0 {
		t.Errorf("%d boots recorded besides the primary's roster (%v)", otherBoots, err)
	}

	// The replica knew it was one, and its roster never wrote.
	if !strings.Contains(b.Log.String(), `"primary":"node-a"`) {
		t.Errorf("node B's roster never logged that it is a replica of node-a")
	}
	checkReplicaLog(t, b)
}

// TestLiteFSKillNodes kills roster with SIGKILL in the middle of load
// through the replica (names saved and people signing up, each write
// replayed on the primary, and profile reads served by the replica): first
// the replica's roster, then the primary's. LiteFS leaves when its roster
// does, and each node starts again on its own data directory and mount, as
// Fly restarts a machine. Every write answered 2xx or 3xx is then in the
// database on both nodes, the replica serves again, the reads on the
// replica went on while the primary was down, and the replica's roster
// never wrote.
func TestLiteFSKillNodes(t *testing.T) {
	roster := buildRoster(t)
	primaryAPI := "http://" + proctest.LoopbackAddr(t)
	a := startLiteFSNode(t, roster, "node A", primaryAPI, true)
	b := startLiteFSNode(t, roster, "node B", primaryAPI, false)
	a.WaitHealthy(t)
	b.WaitHealthy(t)
	edge := &flyEdge{nodes: map[string]string{"node-a": strings.TrimPrefix(a.Proxy, "http://")}}
	throughB := func() *browser { return newLiteFSBrowser(b.Proxy, edge) }

	all := newWriteLog()
	for _, kill := range []*litefstest.Node{b, a} {
		log := newWriteLog()
		stop := make(chan struct{})
		prefix := strings.ReplaceAll(strings.ToLower(kill.Name), " ", "-") + "-"
		browsers, wait := writeLoad(t, throughB, prefix, 4, 1, log, stop)
		var reads, readFailures atomic.Int64
		var readers sync.WaitGroup
		for _, br := range browsers {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if status, _, err := br.get("/profile"); err == nil && status == http.StatusOK {
						reads.Add(1)
					} else {
						readFailures.Add(1)
						time.Sleep(10 * time.Millisecond) // the node is down: no busy loop
					}
				}
			})
		}
		proctest.WaitFor(t, "40 writes acknowledged through the replica, a sign-up among them", func() bool { return log.ready(40) })
		pid := kill.RosterPID(t)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-kill.Exited() // LiteFS leaves when its roster does
		t.Logf("killed %s's roster after %d acknowledged writes, %d reads on the replica", kill.Name, log.count(), reads.Load())
		readsBefore, failuresBefore := reads.Load(), readFailures.Load()
		if kill == a {
			// LiteFS on the replica removes .primary while it has no
			// primary; roster there stays a replica (the database stays
			// read-only) and keeps serving reads.
			proctest.WaitFor(t, "the replica's roster to log that it has no primary", func() bool {
				return strings.Contains(b.Log.String(), "litefs: this node is a replica and has no primary now")
			})
			proctest.WaitFor(t, "50 more reads on the replica with the primary down", func() bool { return reads.Load() >= readsBefore+50 })
			if n := readFailures.Load() - failuresBefore; n != 0 {
				t.Errorf("%d reads on the replica failed while the primary was down", n)
			}
		}
		kill.Start(t)
		kill.WaitHealthy(t)
		close(stop)
		wait()
		readers.Wait()

		names, signups := log.snapshot()
		litefstest.WaitCaughtUp(t, b, a)
		for _, n := range []*litefstest.Node{a, b} {
			conn := openLiteFSDB(t, n)
			checkIntegrity(t, conn)
			checkWrites(t, conn, names, signups)
			conn.Close()
		}
		// The restarted node serves again: through the replica, every
		// renamer's session still works and shows the last name saved or a
		// later one, whose answer the kill cut off (LiteFS's proxy answers
		// 502 when roster dies after its commit).
		for email, br := range browsers {
			status, body, err := br.get("/profile")
			if err != nil || status != http.StatusOK {
				t.Fatalf("%s: GET /profile on the replica after %s restarted: got %d, %v, want 200", email, kill.Name, status, err)
			}
			if acked := names[email]; len(acked) > 0 {
				number := regexp.MustCompile(regexp.QuoteMeta(strings.TrimSuffix(email, "@example.com")) + ` name (\d+)\.`)
				last, _ := strconv.Atoi(number.FindStringSubmatch(acked[len(acked)-1])[1])
				shown := number.FindStringSubmatch(body)
				if shown == nil {
					t.Errorf("%s: the replica's profile shows none of the names saved", email)
				} else if n, _ := strconv.Atoi(shown[1]); n < last {
					t.Errorf("%s: the replica shows name %d, older than the last acknowledged, %d", email, n, last)
				}
			}
		}
		all.signups = append(all.signups, signups...)
		for k, v := range names {
			all.names[k] = v
		}
	}
	// After both restarts, the first round's writes are still on both.
	names, signups := all.snapshot()
	litefstest.WaitCaughtUp(t, b, a)
	for _, n := range []*litefstest.Node{a, b} {
		checkWrites(t, openLiteFSDB(t, n), names, signups)
	}
	checkReplicaLog(t, b)
}

// TestLiteFSLitestream is continuous backup on LiteFS and a restore from
// it, as an operator does them: the primary streams to the replica named
// by ROSTER_LITESTREAM_URL (its state on the volume, ROSTER_LITESTREAM_DIR
// from litefs.yml), the replica node never does. A primary whose
// Litestream state is gone (a new primary after a failover has none)
// carries on the same backup. After losing both machines, `roster
// restore` writes the backup to a file, `litefs import` loads it into a
// new cluster's primary, the machines restart, and the restored person
// signs in and reads their last name through the new replica.
func TestLiteFSLitestream(t *testing.T) {
	roster := buildRoster(t)
	backupEnv := "ROSTER_LITESTREAM_URL=file://" + filepath.Join(t.TempDir(), "replica")
	primaryAPI := "http://" + proctest.LoopbackAddr(t)
	a := startLiteFSNode(t, roster, "node A", primaryAPI, true, backupEnv)
	b := startLiteFSNode(t, roster, "node B", primaryAPI, false, backupEnv)
	a.WaitHealthy(t)
	b.WaitHealthy(t)
	edge := &flyEdge{nodes: map[string]string{"node-a": strings.TrimPrefix(a.Proxy, "http://")}}
	br := newLiteFSBrowser(b.Proxy, edge)
	const email, password = "ada.backup@example.com", "seven quiet lanterns in the harbour"
	if status, err := br.post("/signup", url.Values{"name": {"Ada Backup"}, "email": {email}, "password": {password}}); err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign up through the replica: got %d, %v, want 303", status, err)
	}
	if status, err := br.post("/profile/name", url.Values{"name": {"Ada Restored"}}); err != nil || !acked(status) {
		t.Fatalf("rename through the replica: got %d, %v", status, err)
	}
	stop := func(nodes ...*litefstest.Node) {
		t.Helper()
		for _, n := range nodes {
			syscall.Kill(n.RosterPID(t), syscall.SIGTERM)
			<-n.Exited()
		}
	}
	// The primary comes back without Litestream's state, as a node
	// promoted after a failover would, and streams the next write too.
	stop(a)
	if log := a.Log.String(); !strings.Contains(log, "continuous backup is streaming") || !strings.Contains(log, "continuous backup stopped after a final sync") {
		t.Fatalf("the primary's backup did not stream and stop after a final sync:\n%s", log)
	}
	if err := os.RemoveAll(filepath.Join(a.Data(), "litestream")); err != nil {
		t.Fatal(err)
	}
	a.Start(t)
	a.WaitHealthy(t)
	if status, err := br.post("/profile/name", url.Values{"name": {"Ada Last"}}); err != nil || !acked(status) {
		t.Fatalf("rename through the replica after the primary's restart: got %d, %v", status, err)
	}

	// Undoing a mistake in place: a point-in-time restore from before it,
	// imported into the primary. `litefs import` hangs while Litestream's
	// child streams (seen for 10 minutes; most likely the read transaction
	// Litestream keeps open), so the backup is switched off for the import
	// (machines restarted without ROSTER_LITESTREAM_URL) and on again
	// after, on the same path.
	proctest.WaitFor(t, "the backup to hold Ada Last", func() bool { return restoredName(t, roster, backupEnv, email, "") == "Ada Last" })
	before := time.Now()
	proctest.WaitFor(t, "the clock to pass the restore point", func() bool { return time.Now().After(before) })
	if status, err := br.post("/profile/name", url.Values{"name": {"Ada Mistake"}}); err != nil || !acked(status) {
		t.Fatalf("rename through the replica: got %d, %v", status, err)
	}
	proctest.WaitFor(t, "the backup to hold Ada Mistake", func() bool { return restoredName(t, roster, backupEnv, email, "") == "Ada Mistake" })
	undo := filepath.Join(t.TempDir(), "undo.db")
	run(t, append(rosterEnv(""), backupEnv), roster, "restore", "-to", undo, "-timestamp", before.UTC().Format(time.RFC3339Nano))
	withBackup := a.Env
	restart := func(env []string) {
		t.Helper()
		stop(b, a)
		for _, n := range []*litefstest.Node{a, b} {
			n.Env = env
			n.Start(t)
			n.WaitHealthy(t)
		}
	}
	var withoutBackup []string
	for _, kv := range withBackup {
		if kv != backupEnv {
			withoutBackup = append(withoutBackup, kv)
		}
	}
	restart(withoutBackup)
	litefs, _ := litefstest.Binaries(t)
	run(t, nil, litefs, "import", "-url", primaryAPI, "-name", "roster.db", undo)
	restart(withBackup)
	if status, body, err := br.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, "Ada Last") || strings.Contains(body, "Ada Mistake") {
		t.Fatalf("GET /profile on the replica after the undo: got %d, %v; shows Ada Last: %t, Ada Mistake: %t",
			status, err, strings.Contains(body, "Ada Last"), strings.Contains(body, "Ada Mistake"))
	}
	if status, err := br.post("/profile/name", url.Values{"name": {"Ada Fixed"}}); err != nil || !acked(status) {
		t.Fatalf("rename through the replica after the undo: got %d, %v", status, err)
	}

	// Both machines stop (the primary's backup syncs what is left).
	stop(b, a)
	if strings.Contains(b.Log.String(), "continuous backup is streaming") {
		t.Errorf("the replica node streamed a backup")
	}
	checkReplicaLog(t, a) // Litestream on the mount: no error either
	checkReplicaLog(t, b)

	// A new cluster, without the backup until it is restored.
	restored := filepath.Join(t.TempDir(), "restored.db")
	run(t, append(rosterEnv(""), backupEnv), roster, "restore", "-to", restored)
	newAPI := "http://" + proctest.LoopbackAddr(t)
	c := startLiteFSNode(t, roster, "node C", newAPI, true)
	d := startLiteFSNode(t, roster, "node D", newAPI, false)
	c.WaitHealthy(t)
	d.WaitHealthy(t)
	run(t, nil, litefs, "import", "-url", newAPI, "-name", "roster.db", restored)
	// Every machine restarts, to read the restored settings (the cookie
	// secret, the SAML key) from the database.
	stop(d, c)
	for _, n := range []*litefstest.Node{c, d} {
		n.Start(t)
		n.WaitHealthy(t)
	}
	edge = &flyEdge{nodes: map[string]string{"node-a": strings.TrimPrefix(c.Proxy, "http://")}}
	back := newLiteFSBrowser(d.Proxy, edge)
	if status, err := back.post("/login", url.Values{"email": {email}, "password": {password}}); err != nil || status != http.StatusSeeOther {
		t.Fatalf("sign in through the new replica with the restored password: got %d, %v, want 303", status, err)
	}
	if status, body, err := back.get("/profile"); err != nil || status != http.StatusOK || !strings.Contains(body, "Ada Fixed") {
		t.Fatalf("GET /profile on the new replica: got %d, %v; shows the last name saved: %t", status, err, strings.Contains(body, "Ada Fixed"))
	}
	checkReplicaLog(t, d)
}

// restoredName restores the latest backup (or the one at ts, RFC 3339)
// into a new file and returns the name of the user with email there, ""
// when the backup has no such user yet.
func restoredName(t *testing.T, roster, backupEnv, email, ts string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "check.db")
	args := []string{"restore", "-to", to}
	if ts != "" {
		args = append(args, "-timestamp", ts)
	}
	run(t, append(rosterEnv(""), backupEnv), roster, args...)
	conn := openCopy(t, to)
	defer conn.Close()
	var name string
	conn.QueryRow(`SELECT name FROM users WHERE email = ?`, email).Scan(&name)
	return name
}

// run runs a command with env (nil: the test's own) and fails the test
// if it fails or takes over a minute.
func run(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v (%v)\n%s", filepath.Base(name), strings.Join(args, " "), err, context.Cause(ctx), out)
	}
}

// mailLink waits for a message to "to" whose subject has subject, and
// returns the path in it that matches pattern.
func mailLink(t *testing.T, smtp *smtptest.Server, to, subject, pattern string) string {
	t.Helper()
	m := smtp.Wait(t, to, subject)
	link := regexp.MustCompile(pattern).FindString(m.Text)
	if link == "" {
		t.Fatalf("the mail to %s about %q has no link like %s:\n%s", to, subject, pattern, m.Text)
	}
	return link
}

// send posts a form with the CSRF header and returns the answer, its body
// read and closed.
func (b *browser) send(path string, form url.Values) (*http.Response, error) {
	token, err := b.csrf()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	res, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// openLiteFSDB opens the database on a node's mount read-only, as a
// second process may on a LiteFS mount.
func openLiteFSDB(t *testing.T, n *litefstest.Node) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", "file:"+filepath.Join(n.Mount, "roster.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitOutboxSent waits until the primary has no queued outbox row and
// returns the rows by "address: subject", with their count.
func waitOutboxSent(t *testing.T, primary *litefstest.Node) map[string]int {
	t.Helper()
	conn := openLiteFSDB(t, primary)
	proctest.WaitFor(t, "every outbox row sent", func() bool {
		var queued int
		return conn.QueryRow(`SELECT count(*) FROM outbox WHERE state != 'sent'`).Scan(&queued) == nil && queued == 0
	})
	rows, err := conn.Query(`SELECT address, subject FROM outbox WHERE kind = 'email'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sent := map[string]int{}
	for rows.Next() {
		var addr, subject string
		if err := rows.Scan(&addr, &subject); err != nil {
			t.Fatal(err)
		}
		sent[addr+": "+subject]++
	}
	return sent
}

// checkReplicaLog fails the test for any sign in the node's log that its
// roster wrote, or tried to: an error logged, LiteFS refusing a write,
// SQLite's read-only and I/O errors.
func checkReplicaLog(t *testing.T, n *litefstest.Node) {
	t.Helper()
	for line := range strings.Lines(n.Log.String()) {
		var rec struct{ Level string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR" {
			t.Errorf("%s's roster logged an error: %s", n.Name, line)
		}
		for _, bad := range []string{"read only replica", "readonly", "disk I/O error", "attempt to write", "level=ERROR"} {
			if strings.Contains(line, bad) {
				t.Errorf("%s's log shows a write on the replica: %s", n.Name, line)
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
		{"litefs.yml", yml, "ROSTER_LITESTREAM_DIR=/var/lib/litefs/litestream "},
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
