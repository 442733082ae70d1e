package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const serverError = "Something went wrong on our side. Please try again in a moment."

// TestHealthAndErrorPages: /healthz answers "ok"; unknown addresses get the
// error page, or a toast for htmx.
func TestHealthAndErrorPages(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			name: "health", path: "/healthz",
			wantStatus: http.StatusOK, wantHeader: map[string]string{"Content-Type": "text/plain; charset=UTF-8"},
			after: func(t *testing.T, _ *state, res *response) {
				if res.body != "ok" {
					t.Errorf("got body %q, want \"ok\"", res.body)
				}
			},
		},
		{
			name: "not found", path: "/no/such/page",
			wantStatus:   http.StatusNotFound,
			wantContains: []string{"<html", "<h1>Not Found</h1>", "There is nothing at this address.", `<meta name="csrf-token"`},
		},
		{
			name: "not found, htmx", path: "/no/such/page", htmx: true,
			wantStatus:   http.StatusNotFound,
			wantContains: []string{`<div class="toast error" role="alert">There is nothing at this address.</div>`},
			wantHeader:   map[string]string{"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"},
		},
		{
			name: "logged in, not found", setup: signedUp, path: "/profile/nothing",
			wantStatus:   http.StatusNotFound,
			wantContains: []string{`<nav id="user-menu" aria-label="User menu">`, "There is nothing at this address."},
		},
		{
			name: "wrong method", method: http.MethodPut, path: "/login", form: url.Values{},
			wantStatus:   http.StatusMethodNotAllowed,
			wantContains: []string{"This address does not take that kind of request."},
		},
		{
			name: "state change by GET", setup: signedUp, path: "/logout",
			wantStatus: http.StatusMethodNotAllowed,
			after: func(t *testing.T, s *state, _ *response) {
				if !s.c.signedIn() {
					t.Error("GET /logout signed the browser out, want only POST to")
				}
			},
		},
		{
			name: "static file", path: "/static/app.css",
			// A plain name (no content hash): the current file, cached briefly.
			wantStatus: http.StatusOK, wantHeader: map[string]string{"Cache-Control": "public, max-age=300"},
		},
		{
			name: "body too large", path: "/login",
			form:         url.Values{"email": {annEmail}, "password": {strings.Repeat("x", 300<<10)}},
			wantStatus:   http.StatusRequestEntityTooLarge,
			wantContains: []string{"What you sent is too large."},
		},
	})
}

// TestServerErrorHidesDetails breaks the database under a signed-in user:
// the answer is a 500 with a generic message, the cause is logged once.
func TestServerErrorHidesDetails(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	if err := a.store.Close(); err != nil {
		t.Fatalf("close database: %v", err)
	}

	page := c.get("/profile")
	fragment := c.postHTMX("/profile/name", url.Values{"name": {"Ann"}})
	for name, res := range map[string]*response{"page": page, "htmx": fragment} {
		if res.status != http.StatusInternalServerError {
			t.Errorf("%s: got %d, want 500", name, res.status)
		}
		if !strings.Contains(res.body, serverError) {
			t.Errorf("%s: body does not say %q:\n%s", name, serverError, res.body)
		}
		for _, leak := range []string{"sql", "database", "closed", "goroutine", ".go:"} {
			if strings.Contains(strings.ToLower(res.body), leak) {
				t.Errorf("%s: body contains %q, want no detail of the error:\n%s", name, leak, res.body)
			}
		}
	}
	if !strings.Contains(page.body, "<html") {
		t.Error("page: got a fragment, want the error page")
	}
	if strings.Contains(fragment.body, "<html") || fragment.header.Get("HX-Retarget") != "#toasts" {
		t.Errorf("htmx: got %q retargeted to %q, want a toast for #toasts", fragment.body, fragment.header.Get("HX-Retarget"))
	}

	// Each failure is logged once, with the request id it was answered with.
	logs := a.logs.String()
	if got := strings.Count(logs, `msg="request failed"`); got != 2 {
		t.Errorf("got %d \"request failed\" log lines, want 2 (one per request):\n%s", got, logs)
	}
	for _, res := range []*response{page, fragment} {
		id := res.header.Get("X-Request-Id")
		line := ""
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `msg="request failed"`) && strings.Contains(l, "request_id="+id) {
				line = l
			}
		}
		if id == "" || !strings.Contains(line, "database is closed") {
			t.Errorf("request %q: got log line %q, want the cause with its request id", id, line)
		}
	}

	if res := c.get("/healthz"); res.status != http.StatusServiceUnavailable || strings.Contains(res.body, "sql") {
		t.Errorf("GET /healthz with the database closed: got %d %q, want 503 without details", res.status, res.body)
	}
}

// TestHashingBusy: past the hasher's capacity a sign-in is answered 503
// with a message saying so and Retry-After (its expected wait, at least a
// second), not a generic failure.
func TestHashingBusy(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(ac *appConfig) { ac.workers, ac.queue = 1, 0 })
	c := a.client(t)
	a.seedUser(t, annName, annEmail, annPassword)
	form := url.Values{"email": {annEmail}, "password": {annPassword}}.Encode()
	token, cookies := c.csrf(), c.hc.Jar

	// One hash at a time: sign-ins sent together must overlap; the ones
	// that find the hasher taken are refused. Rounds repeat in case a slow
	// machine happens to serialise one.
	type result struct {
		status     int
		body       string
		retryAfter string
		err        error
	}
	busy := 0
	for round := 0; round < 10 && busy == 0; round++ {
		results := make(chan result, 6)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, a.server.URL+"/login", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("HX-Request", "true")
				req.Header.Set("X-CSRF-Token", token)
				hc := &http.Client{Jar: cookies, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := hc.Do(req)
				if err != nil {
					results <- result{err: err}
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				results <- result{status: res.StatusCode, body: string(b), retryAfter: res.Header.Get("Retry-After"), err: err}
			})
		}
		wg.Wait()
		close(results)
		for r := range results {
			switch {
			case r.err != nil:
				t.Fatalf("POST /login: %v", r.err)
			case r.status == http.StatusNoContent:
			case r.status == http.StatusServiceUnavailable:
				busy++
				if !strings.Contains(r.body, "Many people are signing in right now. Please try again in a second: your place in line is kept.") || r.retryAfter != "1" {
					t.Errorf("busy: got body %q and Retry-After %q, want the busy message and a Retry-After", r.body, r.retryAfter)
				}
			default:
				t.Errorf("POST /login: got %d %q, want 204 or 503", r.status, r.body)
			}
		}
	}
	if busy == 0 {
		t.Error("10 rounds of 6 simultaneous sign-ins with one hasher worker: got no 503, want some refused")
	}
}

// TestHealthCheckAbandoned: a checker that gives up before the database
// answers (its own time-out on a busy machine) gets 503 and leaves an INFO
// line, not an ERROR: the operators' and the LiteFS tests' alarms read
// ERROR lines as the server failing.
func TestHealthCheckAbandoned(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/healthz", nil)
	rec := httptest.NewRecorder()
	a.echo.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("abandoned check: got %d, want 503", rec.Code)
	}
	logs := a.logs.String()
	if strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "health check abandoned by the client") {
		t.Errorf("log of an abandoned check:\n%s", logs)
	}
}
