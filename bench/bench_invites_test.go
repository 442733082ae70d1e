package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/session"
)

const (
	acceptWorkers   = 100 // each accepts its own invites, one after another
	invitesPerUser  = 20
	racers          = 50                                            // all accept the same invite at once
	benchCSRFToken  = "bench-csrf-token-bench-csrf-token-bench-csr" // any 43 characters: double-submit
	invitesPerBatch = db.InvitesPerDay
)

// BenchmarkAcceptInvites measures POST /invites/{id}/accept under load:
// 100 workers accept their own invites while 50 more race to accept one
// shared invite. Next to it, in the same run, the same 100 workers post to
// an endpoint that does one plain one-row UPDATE through the same stack.
// It reports accepts/s, updates/s, their ratio, how many racers won (must
// be 1) and how many requests failed with a server error (must be 0).
//
//	go test -run '^$' -bench AcceptInvites -benchtime 1x ./bench/
func BenchmarkAcceptInvites(b *testing.B) {
	for range b.N {
		b.StopTimer()
		r := newInviteBench(b)
		b.StartTimer()
		r.measure(b)
	}
}

type inviteBench struct {
	base    string
	store   *db.Store
	cookies []string  // per worker
	invites [][]int64 // per worker, the invite ids it accepts
	racers  []string  // cookies of the racers (all the same user)
	shared  int64     // the invite the racers want
	userIDs []int64
	racerID int64
}

func newInviteBench(b *testing.B) *inviteBench {
	b.Helper()
	ctx := b.Context()
	ln, base, store, e, sessions := benchApp(b, "")
	// The reference: one plain one-row UPDATE behind the same middleware.
	// TouchSession is one UPDATE of one row by its key, of the session
	// made for the user below.
	e.POST("/bench/update", func(c echo.Context) error {
		if err := store.TouchSession(c.Request().Context(), []byte("bench-"+c.QueryParam("user")), "bench"); err != nil {
			return err
		}
		return c.NoContent(http.StatusSeeOther)
	})
	serveOn(b, ln, e)

	r := &inviteBench{base: base, store: store}
	ev := db.Event{Kind: db.EventSignUp, IP: "bench"}
	newUser := func(email string) db.User {
		u, err := store.CreateUser(ctx, db.NewUser{Email: email, Verified: true}, ev)
		if err != nil {
			b.Fatal(err)
		}
		return u
	}
	owner := newUser("owner@example.com")
	users := make([]db.User, acceptWorkers)
	r.invites = make([][]int64, acceptWorkers)
	for i := range users {
		users[i] = newUser(fmt.Sprintf("worker%d@example.com", i))
		r.cookies = append(r.cookies, signInCookie(b, sessions, users[i].ID))
		r.userIDs = append(r.userIDs, users[i].ID)
		if _, err := store.CreateSession(ctx, db.Session{IDHash: []byte(fmt.Sprintf("bench-%d", users[i].ID)), UserID: users[i].ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	// Each account may send InvitesPerDay invites a day, so the invites are
	// spread over as many accounts as that takes.
	token := 0
	for k := range invitesPerUser {
		for start := 0; start < acceptWorkers; start += invitesPerBatch {
			a, err := store.CreateAccount(ctx, owner.ID, fmt.Sprintf("Account %d-%d", k, start), db.Event{Kind: db.EventAccountCreated})
			if err != nil {
				b.Fatal(err)
			}
			for i := start; i < min(start+invitesPerBatch, acceptWorkers); i++ {
				token++
				inv, err := store.CreateInvite(ctx, a.ID, owner.ID, users[i].Email, db.RoleNormal, fmt.Appendf(nil, "t%d", token), nil, db.Event{Kind: db.EventInviteSent})
				if err != nil {
					b.Fatal(err)
				}
				r.invites[i] = append(r.invites[i], inv.ID)
			}
		}
	}
	racer := newUser("racer@example.com")
	a, err := store.CreateAccount(ctx, owner.ID, "Contested", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		b.Fatal(err)
	}
	inv, err := store.CreateInvite(ctx, a.ID, owner.ID, racer.Email, db.RoleNormal, []byte("contested"), nil, db.Event{Kind: db.EventInviteSent})
	if err != nil {
		b.Fatal(err)
	}
	r.shared, r.racerID = inv.ID, racer.ID
	for range racers {
		r.racers = append(r.racers, signInCookie(b, sessions, racer.ID))
	}
	return r
}

// signInCookie starts a session for userID as the sign-in form would and
// returns the Cookie header of that browser, CSRF cookie included.
func signInCookie(b *testing.B, sessions *session.Store, userID int64) string {
	b.Helper()
	w := httptest.NewRecorder()
	if err := sessions.SignIn(w, httptest.NewRequest(http.MethodPost, "/login", nil), userID); err != nil {
		b.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	return c.Name + "=" + c.Value + "; roster_csrf=" + benchCSRFToken
}

// outcome counts the answers of one load.
type outcome struct {
	ok, refused, serverErrors, transportErrors atomic.Int64
}

func (o *outcome) post(client *http.Client, url, cookie string) {
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-CSRF-Token", benchCSRFToken)
	resp, err := client.Do(req)
	if err != nil {
		o.transportErrors.Add(1)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		o.serverErrors.Add(1)
	case resp.StatusCode >= 400:
		o.refused.Add(1)
	default:
		o.ok.Add(1)
	}
}

func benchClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: acceptWorkers + racers},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (r *inviteBench) measure(b *testing.B) {
	client := benchClient()
	defer client.CloseIdleConnections()

	// Reference first: the same workers, one plain UPDATE per request.
	var ref outcome
	start := time.Now()
	var wg sync.WaitGroup
	for i := range acceptWorkers {
		wg.Go(func() {
			for range invitesPerUser {
				ref.post(client, fmt.Sprintf("%s/bench/update?user=%d", r.base, r.userIDs[i]), r.cookies[i])
			}
		})
	}
	wg.Wait()
	refElapsed := time.Since(start)

	var accepts, race outcome
	begin := make(chan struct{})
	start = time.Now()
	for i := range acceptWorkers {
		wg.Go(func() {
			<-begin
			for _, id := range r.invites[i] {
				accepts.post(client, fmt.Sprintf("%s/invites/%d/accept", r.base, id), r.cookies[i])
			}
		})
	}
	for i := range racers {
		wg.Go(func() {
			<-begin
			race.post(client, fmt.Sprintf("%s/invites/%d/accept", r.base, r.shared), r.racers[i])
		})
	}
	close(begin)
	wg.Wait()
	elapsed := time.Since(start)

	total := int64(acceptWorkers * invitesPerUser)
	dbErrors := accepts.serverErrors.Load() + race.serverErrors.Load() + ref.serverErrors.Load()
	transport := accepts.transportErrors.Load() + race.transportErrors.Load() + ref.transportErrors.Load()
	acceptRate := float64(accepts.ok.Load()) / elapsed.Seconds()
	refRate := float64(ref.ok.Load()) / refElapsed.Seconds()
	b.ReportMetric(acceptRate, "accepts/s")
	b.ReportMetric(refRate, "updates/s")
	b.ReportMetric(acceptRate/refRate, "ratio")
	b.ReportMetric(float64(race.ok.Load()), "winners")
	b.ReportMetric(float64(dbErrors), "db-errors")
	b.ReportMetric(0, "ns/op")
	b.Logf("POST /invites/{id}/accept: %d of %d accepted by %d workers, %.0f accepts/s | plain one-row UPDATE endpoint: %.0f req/s | ratio %.2f | racers on one invite: %d won, %d refused | server errors %d, transport errors %d",
		accepts.ok.Load(), total, acceptWorkers, acceptRate, refRate, acceptRate/refRate, race.ok.Load(), race.refused.Load(), dbErrors, transport)
	if accepts.ok.Load() != total || race.ok.Load() != 1 || dbErrors != 0 || transport != 0 {
		b.Fatalf("got %d of %d accepts, %d winners, %d server errors, %d transport errors; want all, 1, 0, 0",
			accepts.ok.Load(), total, race.ok.Load(), dbErrors, transport)
	}
	// The database agrees: the racer belongs to the contested account once.
	list, err := r.store.MembershipsForUser(b.Context(), r.racerID)
	if err != nil || len(list) != 1 {
		b.Fatalf("racer's memberships: got %d, %v; want 1", len(list), err)
	}
}
