// Package smtptest is an SMTP server on loopback for tests: enough of the
// protocol for net/smtp's client (no TLS, no AUTH, which mail.SMTP allows
// to this machine). It keeps what it receives, and can be stopped and
// started again on the same address to play an outage.
package smtptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message the server accepted.
type Mail struct {
	From    string
	Rcpt    []string
	Header  netmail.Header
	Subject string // decoded
	Text    string // body, transfer encoding undone
}

// Server is the running server.
type Server struct {
	Addr string

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]bool
	mails   []Mail
	changed chan struct{}
	wg      sync.WaitGroup
	gate    chan struct{} // while not nil, new sessions wait for it (Hold)
	held    int
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{conns: map[net.Conn]bool{}, changed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[conn] = true
			s.mu.Unlock()
			s.wg.Go(func() {
				s.session(conn)
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
			})
		}
	})
}

// Stop closes the listener and every connection: the server is down, and
// connecting is refused.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.Release()
	s.wg.Wait()
}

// Hold makes the server hang, as a mail server that stopped answering
// does: it accepts connections but says nothing on them until Release. A
// client that gives up or dies meanwhile has sent nothing. Stop releases.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// Release lets the held connections, and every new one, go on.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// Held is how many connections wait for Release.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// wait waits for Release while the server is held.
func (s *Server) wait() {
	s.mu.Lock()
	gate := s.gate
	if gate != nil {
		s.held++
	}
	s.mu.Unlock()
	if gate == nil {
		return
	}
	<-gate
	s.mu.Lock()
	s.held--
	s.mu.Unlock()
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

// Mails returns every message received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits up to 10 seconds for a message to "to" whose subject
// contains subject.
func (s *Server) Wait(t testing.TB, to, subject string) Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		for _, m := range s.mails {
			if len(m.Rcpt) == 1 && m.Rcpt[0] == to && strings.Contains(m.Subject, subject) {
				s.mu.Unlock()
				return m
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("no mail to %s about %q arrived; got %d messages", to, subject, len(s.Mails()))
		}
	}
}

func (s *Server) add(m Mail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails = append(s.mails, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) session(conn net.Conn) {
	defer conn.Close()
	s.wait()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := textproto.NewConn(conn)
	c.PrintfLine("220 smtptest ESMTP")
	var from string
	var rcpt []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			c.PrintfLine("250 smtptest")
		case "MAIL":
			from, rcpt = path(arg, "FROM:"), nil
			c.PrintfLine("250 OK")
		case "RCPT":
			rcpt = append(rcpt, path(arg, "TO:"))
			c.PrintfLine("250 OK")
		case "DATA":
			if from == "" || len(rcpt) == 0 {
				c.PrintfLine("503 need MAIL and RCPT first")
				continue
			}
			c.PrintfLine("354 end with <CRLF>.<CRLF>")
			data, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			m, err := parse(from, rcpt, data)
			if err != nil {
				c.PrintfLine("554 %v", err)
				continue
			}
			s.add(m)
			from, rcpt = "", nil
			c.PrintfLine("250 OK")
		case "RSET":
			from, rcpt = "", nil
			c.PrintfLine("250 OK")
		case "NOOP":
			c.PrintfLine("250 OK")
		case "QUIT":
			c.PrintfLine("221 bye")
			return
		default:
			c.PrintfLine("502 not implemented")
		}
	}
}

func path(arg, prefix string) string {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return ""
	}
	p, _, _ := strings.Cut(strings.TrimSpace(arg[len(prefix):]), " ")
	return strings.TrimSuffix(strings.TrimPrefix(p, "<"), ">")
}

func parse(from string, rcpt []string, data []byte) (Mail, error) {
	m := Mail{From: from, Rcpt: rcpt}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("subject: %w", err)
	}
	body := msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return m, err
	}
	m.Text = string(text)
	return m, nil
}
