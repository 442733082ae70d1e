// Package twiliotest is a fake of Twilio's REST API for tests: it checks
// the account, the credentials and the form of each Messages.json and
// Calls.json request, and keeps the messages and calls it accepted.
package twiliotest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	AccountSID = "AC00000000000000000000000000000001"
	AuthToken  = "twilio-test-token"
	From       = "+15005550006"
)

// Request is one message (Kind "sms") or call (Kind "call").
type Request struct {
	Kind string
	To   string
	From string
	Text string // the SMS body, or the TwiML of the call
}

// Server is the fake API.
type Server struct {
	URL string

	mu       sync.Mutex
	requests []Request
	changed  chan struct{}
	problems []string
}

// Start serves the fake until the test ends; problems with requests fail
// the test at its end.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.problems {
			t.Errorf("twilio fake: %s", p)
		}
	})
	return s
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, problem string) {
		s.mu.Lock()
		s.problems = append(s.problems, problem)
		s.mu.Unlock()
		http.Error(w, `{"code": 20003, "message": "`+problem+`"}`, status)
	}
	prefix := "/2010-04-01/Accounts/" + AccountSID + "/"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) {
		fail(http.StatusNotFound, "unexpected "+r.Method+" "+r.URL.Path)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != AccountSID || pass != AuthToken {
		fail(http.StatusUnauthorized, "wrong credentials")
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail(http.StatusBadRequest, "not a form")
		return
	}
	req := Request{To: r.PostForm.Get("To"), From: r.PostForm.Get("From")}
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "Messages.json":
		req.Kind, req.Text = "sms", r.PostForm.Get("Body")
	case "Calls.json":
		req.Kind, req.Text = "call", r.PostForm.Get("Twiml")
	default:
		fail(http.StatusNotFound, "unknown resource "+r.URL.Path)
		return
	}
	if req.From != From || !strings.HasPrefix(req.To, "+") || req.Text == "" {
		fail(http.StatusBadRequest, "bad To, From or body: "+req.To+" "+req.From)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"sid": "SM0001", "status": "queued"}`))
}

// Requests returns what was accepted so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Wait waits up to 20 seconds for a request of kind to "to" whose text
// contains text, and returns it.
func (s *Server) Wait(t testing.TB, kind, to, text string) Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		for _, r := range s.requests {
			if r.Kind == kind && r.To == to && strings.Contains(r.Text, text) {
				s.mu.Unlock()
				return r
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("twilio fake: no %s to %s containing %q; got %+v", kind, to, text, s.Requests())
		}
	}
}

// WaitN waits up to 20 seconds until n requests were accepted, and
// returns them all.
func (s *Server) WaitN(t testing.TB, n int) []Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		if len(s.requests) >= n {
			defer s.mu.Unlock()
			return append([]Request(nil), s.requests...)
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("twilio fake: %d requests, want %d; got %+v", len(s.Requests()), n, s.Requests())
		}
	}
}
