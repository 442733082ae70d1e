package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/smtptest"
	"github.com/rosterhq/roster/internal/twiliotest"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/notify"
)

// The worker is driven with RunOnce and a clock of the test's own: no test
// here sleeps to wait for a delivery.

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// newClock starts a few seconds ahead of the store's clock, which stamps
// rows in whole seconds: rows queued during the test are due at once.
func newClock() *clock { return &clock{t: time.Now().Add(5 * time.Second)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, path string) *db.Store {
	t.Helper()
	store, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

func newUser(t *testing.T, store *db.Store, email string) db.User {
	t.Helper()
	u, err := store.CreateUser(context.Background(), db.NewUser{Email: email, Name: "Ann", Verified: true}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// addVerified adds a method and verifies it with the code its message
// carried, as the person would.
func addVerified(t *testing.T, store *db.Store, u db.User, nm db.NewContactMethod) db.ContactMethod {
	t.Helper()
	ctx := context.Background()
	var code string
	m, err := store.AddContactMethod(ctx, u.ID, nm, func(_ db.ContactMethod, c string) (db.Notice, error) {
		code = c
		return db.Notice{Subject: "Your code", Body: "Code " + c}, nil
	}, db.Event{Kind: db.EventContactAdded})
	if err != nil {
		t.Fatalf("add %s %s: %v", nm.Kind, nm.Address, err)
	}
	if m, err = store.VerifyContactMethod(ctx, u.ID, m.ID, code, db.Event{Kind: db.EventContactVerified}); err != nil {
		t.Fatalf("verify %s: %v", nm.Address, err)
	}
	return m
}

func smtpMailer(t *testing.T, addr string) *mail.SMTP {
	t.Helper()
	m, err := mail.NewSMTP("smtp://"+addr, "Roster <roster@localhost>")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func quietLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
}

// drain runs the worker until a run claims nothing, and returns how many
// rows it claimed in all.
func drain(t *testing.T, w *notify.Worker) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("run once: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the worker never ran out of work")
	return total
}

// receiver is an httptest server that keeps the requests it gets.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	status   int
	endpoint string
}

func startReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.bodies = append(rc.bodies, b)
		rc.headers = append(rc.headers, r.Header.Clone())
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(srv.Close)
	rc.endpoint = srv.URL + "/hook"
	return rc
}

func TestDeliverEveryKindOverRealProtocols(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	smtp := smtptest.Start(t)
	twilio := twiliotest.Start(t)
	slack, hook := startReceiver(t), startReceiver(t)
	clk := newClock()
	w := notify.New(store, notify.Config{
		Mail:  smtpMailer(t, smtp.Addr),
		Phone: &notify.Twilio{AccountSID: twiliotest.AccountSID, AuthToken: twiliotest.AuthToken, From: twiliotest.From, BaseURL: twilio.URL},
		HTTP:  notify.HTTPClient(true), Now: clk.Now, Log: quietLog(t),
	})

	u := newUser(t, store, "ann@example.com")
	const secret = "whsec_test_secret"
	methods := []db.ContactMethod{
		addVerified(t, store, u, db.NewContactMethod{Kind: db.KindEmail, Address: "ann.work@example.com"}),
		addVerified(t, store, u, db.NewContactMethod{Kind: db.KindSMS, Address: "+14155550123"}),
		addVerified(t, store, u, db.NewContactMethod{Kind: db.KindVoice, Address: "+14155550124"}),
		addVerified(t, store, u, db.NewContactMethod{Kind: db.KindSlack, Address: slack.endpoint}),
		addVerified(t, store, u, db.NewContactMethod{Kind: db.KindWebhook, Address: hook.endpoint, Secret: secret}),
	}
	var rules []db.Rule
	for _, m := range methods {
		rules = append(rules, db.Rule{Circumstance: db.CircumstanceAlerts, Severity: 2, MethodID: m.ID})
	}
	if err := store.SetRules(ctx, u.ID, rules, db.Event{Kind: db.EventRoutingChanged}); err != nil {
		t.Fatal(err)
	}
	drain(t, w) // the five verification messages
	ids, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceAlerts, Severity: 2, Subject: "Disk full on db-1", Body: "97% used"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 5 {
		t.Fatalf("queued %d rows, want 5 (one per routed method; severity 2 is not routed to the account email)", len(ids))
	}
	if n := drain(t, w); n != 5 {
		t.Fatalf("delivered %d, want 5", n)
	}
	for _, id := range ids {
		d, err := store.DeliveryByID(ctx, id)
		if err != nil || d.State != db.DeliverySent || d.Attempts != 1 {
			t.Errorf("delivery %d: state %q after %d attempts (%v), want sent after 1", id, d.State, d.Attempts, err)
		}
	}

	if m := smtp.Wait(t, "ann.work@example.com", "Disk full on db-1"); !strings.Contains(m.Text, "97% used") {
		t.Errorf("mail text %q, want the body", m.Text)
	}
	if r := twilio.Wait(t, "sms", "+14155550123", "Disk full on db-1"); !strings.Contains(r.Text, "97% used") {
		t.Errorf("sms %q, want the body too", r.Text)
	}
	if r := twilio.Wait(t, "call", "+14155550124", "Disk full on db-1"); !strings.HasPrefix(r.Text, "<Response><Say>") {
		t.Errorf("call TwiML %q, want <Response><Say>", r.Text)
	}

	slack.mu.Lock()
	var msg struct{ Text string }
	last := slack.bodies[len(slack.bodies)-1]
	slack.mu.Unlock()
	if err := json.Unmarshal(last, &msg); err != nil || msg.Text != "*Disk full on db-1*\n97% used" {
		t.Errorf("slack got %s, want {\"text\": \"*Disk full on db-1*\\n97%% used\"}", last)
	}

	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.bodies) != 2 {
		t.Fatalf("webhook got %d posts, want 2 (its verification message and the alert)", len(hook.bodies))
	}
	for i, body := range hook.bodies {
		sig := hook.headers[i].Get(notify.SignatureHeader)
		if !notify.Verify(secret, body, sig) || notify.Verify("another secret", body, sig) {
			t.Errorf("webhook post %d: signature %q does not verify against its body under the secret", i, sig)
		}
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(hook.bodies[1], &p); err != nil {
		t.Fatal(err)
	}
	if p.Circumstance != "alerts" || p.Severity != 2 || p.Subject != "Disk full on db-1" || p.Body != "97% used" ||
		hook.headers[1].Get(notify.DeliveryHeader) != strconv.FormatInt(p.ID, 10) {
		t.Errorf("webhook payload %+v with delivery header %q, want the alert and its id", p, hook.headers[1].Get(notify.DeliveryHeader))
	}
}

// TestOutageAndRestart: SMTP down -> the rows wait with their error and
// next attempt; the process dies; a new one on the same file, with SMTP
// back, delivers every row exactly once.
func TestOutageAndRestart(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "roster.db")
	store := openStore(t, file)
	smtp := smtptest.Start(t)
	clk := newClock()
	first := notify.New(store, notify.Config{Mail: smtpMailer(t, smtp.Addr), Now: clk.Now, Log: quietLog(t), Name: "first"})

	u := newUser(t, store, "ann@example.com")
	var ids []int64
	for i := range 5 {
		got, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice " + strconv.Itoa(i), Body: "body"})
		if err != nil || len(got) != 1 {
			t.Fatalf("enqueue: %v %v", got, err)
		}
		ids = append(ids, got...)
	}

	smtp.Stop()
	if n, err := first.RunOnce(ctx); n != 5 || err != nil {
		t.Fatalf("run during the outage: claimed %d (%v), want 5", n, err)
	}
	for _, id := range ids {
		d, err := store.DeliveryByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != db.DeliveryQueued || d.LastError == "" || !d.NextAttemptAt.After(clk.Now()) || d.Attempts != 1 {
			t.Errorf("delivery %d during the outage: state %q, error %q, next attempt %v (now %v), attempts %d; want queued with an error and a later attempt",
				id, d.State, d.LastError, d.NextAttemptAt, clk.Now(), d.Attempts)
		}
	}
	if n, _ := first.RunOnce(ctx); n != 0 {
		t.Errorf("a second run before the backoff claimed %d rows, want 0", n)
	}
	// One more row is claimed and the process dies holding it.
	extra, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Notice 5", Body: "body"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, extra...)
	if claimed, err := store.ClaimDeliveries(ctx, "doomed", clk.Now(), notify.DefaultLease, 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claim before dying: %d rows, %v; want 1", len(claimed), err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process on the same file, SMTP back, a minute later: the
	// dead worker's row is still leased, the others wait for their backoff.
	smtp.Restart(t)
	store = openStore(t, file)
	defer store.Close()
	second := notify.New(store, notify.Config{Mail: smtpMailer(t, smtp.Addr), Now: clk.Now, Log: quietLog(t), Name: "second"})
	clk.Add(time.Second)
	if n := drain(t, second); n != 0 {
		t.Errorf("right after the restart %d rows were claimed, want 0 (backoff and lease)", n)
	}
	clk.Add(2 * time.Hour)
	if n := drain(t, second); n != 6 {
		t.Errorf("after the backoff and the lease %d rows were delivered, want 6", n)
	}
	for _, id := range ids {
		if d, err := store.DeliveryByID(ctx, id); err != nil || d.State != db.DeliverySent || d.LastError != "" {
			t.Errorf("delivery %d: state %q, error %q (%v), want sent", id, d.State, d.LastError, err)
		}
	}
	count := map[string]int{}
	for _, m := range smtp.Mails() {
		count[m.Subject]++
	}
	for i := range 6 {
		if s := "Notice " + strconv.Itoa(i); count[s] != 1 {
			t.Errorf("%q arrived %d times, want once", s, count[s])
		}
	}
}

// TestLeaseAcrossProcesses: two stores on one file (as two processes
// would have) claim at the same time; no row goes to both.
func TestLeaseAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "roster.db")
	a := openStore(t, file)
	defer a.Close()
	b := openStore(t, file)
	defer b.Close()
	u := newUser(t, a, "ann@example.com")
	for i := range 60 {
		if _, err := a.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	claims := make([][]db.Delivery, 2)
	var wg sync.WaitGroup
	for i, s := range []*db.Store{a, b} {
		wg.Go(func() {
			for {
				list, err := s.ClaimDeliveries(ctx, "worker-"+strconv.Itoa(i), now, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(list) == 0 {
					return
				}
				claims[i] = append(claims[i], list...)
			}
		})
	}
	wg.Wait()
	seen := map[int64]int{}
	for _, list := range claims {
		for _, d := range list {
			seen[d.ID]++
		}
	}
	if len(seen) != 60 {
		t.Errorf("%d rows claimed, want 60", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %d claimed %d times, want once", id, n)
		}
	}
}

func TestGiveUpAfterADay(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	smtp := smtptest.Start(t)
	smtp.Stop()
	clk := newClock()
	w := notify.New(store, notify.Config{Mail: smtpMailer(t, smtp.Addr), Now: clk.Now, Log: quietLog(t)})
	u := newUser(t, store, "ann@example.com")
	ids, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: "Lost"})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, w)
	clk.Add(23 * time.Hour)
	drain(t, w)
	if d, _ := store.DeliveryByID(ctx, ids[0]); d.State != db.DeliveryQueued {
		t.Fatalf("after 23 hours: state %q, want queued", d.State)
	}
	clk.Add(2 * time.Hour)
	drain(t, w)
	d, _ := store.DeliveryByID(ctx, ids[0])
	if d.State != db.DeliveryFailed || d.LastError == "" {
		t.Errorf("after 25 hours: state %q, error %q; want failed with the error", d.State, d.LastError)
	}
}

func TestPublicOnlyClient(t *testing.T) {
	hook := startReceiver(t)
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	clk := newClock()
	w := notify.New(store, notify.Config{Mail: mail.Log{Logger: quietLog(t)}, HTTP: notify.HTTPClient(false), Now: clk.Now, Log: quietLog(t)})
	u := newUser(t, store, "ann@example.com")
	m := addVerified(t, store, u, db.NewContactMethod{Kind: db.KindSlack, Address: hook.endpoint})
	drain(t, w)
	id, err := store.SendTest(context.Background(), u.ID, m.ID, db.Notice{Subject: "test"})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, w)
	d, _ := store.DeliveryByID(context.Background(), id)
	if d.State != db.DeliveryQueued || !strings.Contains(d.LastError, "non-public address") {
		t.Errorf("a post to loopback in production: state %q, error %q; want refused", d.State, d.LastError)
	}
	if len(hook.bodies) != 0 {
		t.Errorf("the loopback receiver got %d posts, want none", len(hook.bodies))
	}
}

// slowMailer is an SMTP server that takes a minute of the test's clock
// per message.
type slowMailer struct {
	clk  *clock
	sent []string
}

func (m *slowMailer) Send(_ context.Context, msg mail.Message) error {
	m.clk.Add(time.Minute)
	m.sent = append(m.sent, msg.Subject)
	return nil
}

// TestLeaseRunsOut: slow sends use up a lease that is not renewed (a
// renewal every hour, a wedged database would do the same); the rest of
// the batch is handed back unsent rather than sent while another process
// may claim it.
func TestLeaseRunsOut(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, filepath.Join(t.TempDir(), "roster.db"))
	defer store.Close()
	clk := newClock()
	slow := &slowMailer{clk: clk}
	w := notify.New(store, notify.Config{Mail: slow, Now: clk.Now, Log: quietLog(t), Lease: 2 * time.Minute, Renew: time.Hour, Batch: 5})
	u := newUser(t, store, "ann@example.com")
	for i := range 5 {
		if _, err := store.Enqueue(ctx, u.ID, db.Notice{Circumstance: db.CircumstanceSecurity, Subject: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.RunOnce(ctx); n != 5 || err != nil {
		t.Fatalf("run once: claimed %d (%v), want 5", n, err)
	}
	// Sent at 0 and 1 minute; at 2 minutes the 2-minute lease has no
	// room for another attempt.
	if len(slow.sent) != 2 {
		t.Fatalf("sent %v in one lease, want 2", slow.sent)
	}
	list, err := store.RecentDeliveries(ctx, u.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.State == db.DeliveryQueued && d.Attempts != 0 {
			t.Errorf("handed-back row %d: %d attempts, want 0", d.ID, d.Attempts)
		}
	}
	drain(t, w)
	if len(slow.sent) != 5 {
		t.Errorf("sent %v in all, want each of the 5 once", slow.sent)
	}
}
