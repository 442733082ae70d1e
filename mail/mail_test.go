package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"
)

const testFrom = "Roster <no-reply@roster.example>"

// newTestSMTP returns an SMTP client for srv that trusts its certificate.
// userinfo is "" or "user:pass@".
func newTestSMTP(t *testing.T, srv *testServer, scheme, userinfo string) *SMTP {
	t.Helper()
	s, err := NewSMTP(scheme+"://"+userinfo+srv.Addr, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	s.TLSConfig = srv.ClientTLS()
	return s
}

// onlyMessage returns the single message srv received, parsed.
func onlyMessage(t *testing.T, srv *testServer) (received, *netmail.Message) {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	return msgs[0], msg
}

func TestSMTPSend(t *testing.T) {
	// Long enough for a soft line break, with '=' to be escaped.
	text := "Hello,\n\nAccept your invite: https://roster.example/invite?token=" + strings.Repeat("abc", 40) + "\n"
	tests := []struct {
		name     string
		opts     testServerOptions
		scheme   string
		userinfo string
		wantTLS  bool
		wantAuth string
	}{
		{name: "plain to loopback without auth", scheme: "smtp"},
		{name: "starttls when offered", opts: testServerOptions{STARTTLS: true}, scheme: "smtp", wantTLS: true},
		{name: "auth over plain to loopback", opts: testServerOptions{User: "roster", Pass: "p@ss:w0rd"},
			scheme: "smtp", userinfo: "roster:p%40ss%3Aw0rd@", wantAuth: "roster"},
		{name: "auth after starttls", opts: testServerOptions{STARTTLS: true, User: "roster", Pass: "secret"},
			scheme: "smtp", userinfo: "roster:secret@", wantTLS: true, wantAuth: "roster"},
		{name: "smtps implicit tls", opts: testServerOptions{ImplicitTLS: true}, scheme: "smtps", wantTLS: true},
		{name: "smtps with auth", opts: testServerOptions{ImplicitTLS: true, User: "roster", Pass: "secret"},
			scheme: "smtps", userinfo: "roster:secret@", wantTLS: true, wantAuth: "roster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, tt.opts)
			s := newTestSMTP(t, srv, tt.scheme, tt.userinfo)
			err := s.Send(t.Context(), Message{To: "Ada <ada@example.com>", Subject: "Your invite", Text: text})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			rec, msg := onlyMessage(t, srv)
			if rec.TLS != tt.wantTLS {
				t.Errorf("TLS during DATA: got %v, want %v", rec.TLS, tt.wantTLS)
			}
			if rec.AuthUser != tt.wantAuth {
				t.Errorf("auth user: got %q, want %q", rec.AuthUser, tt.wantAuth)
			}
			if rec.From != "no-reply@roster.example" {
				t.Errorf("MAIL FROM: got %q, want %q", rec.From, "no-reply@roster.example")
			}
			if len(rec.To) != 1 || rec.To[0] != "ada@example.com" {
				t.Errorf("RCPT TO: got %q, want [ada@example.com]", rec.To)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != text {
				t.Errorf("body: got %q, want %q", body, text)
			}
		})
	}
}

func TestSMTPSendHeaders(t *testing.T) {
	srv := newTestServer(t, testServerOptions{})
	s := newTestSMTP(t, srv, "smtp", "")
	subject := "Willkommen bei Röster 👋"
	if err := s.Send(t.Context(), Message{To: "ada@example.com", Subject: subject, Text: "hi"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	rec, msg := onlyMessage(t, srv)

	head, _, _ := bytes.Cut(rec.Data, []byte("\n\n"))
	for _, r := range string(head) {
		if r > 0x7e {
			t.Fatalf("header has non-ASCII %q:\n%s", r, head)
		}
	}
	raw := msg.Header.Get("Subject")
	if !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw subject: got %q, want a Q-encoded word", raw)
	}
	got, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil || got != subject {
		t.Errorf("decoded subject: got %q (%v), want %q", got, err, subject)
	}

	want := map[string]string{
		"From":                      `"Roster" <no-reply@roster.example>`,
		"To":                        "<ada@example.com>",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	}
	for k, v := range want {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if date, err := msg.Header.Date(); err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("Date: got %v (%v), want about now", date, err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@roster.example>") {
		t.Errorf("Message-ID: got %q, want <random@roster.example>", id)
	}
}

func TestSMTPSendRefuses(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want error
	}{
		{"CRLF in to", Message{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "hi"}, errHeaderInjection},
		{"LF in subject", Message{To: "ada@example.com", Subject: "hi\nBcc: eve@example.com"}, errHeaderInjection},
		{"CR in subject", Message{To: "ada@example.com", Subject: "hi\rBcc: eve@example.com"}, errHeaderInjection},
		{"bad to address", Message{To: "not an address", Subject: "hi"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, testServerOptions{})
			err := newTestSMTP(t, srv, "smtp", "").Send(t.Context(), tt.msg)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("got error %v, want %v", err, tt.want)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("got %d messages delivered, want 0", n)
			}
		})
	}
}

func TestSMTPSendFailures(t *testing.T) {
	t.Run("untrusted certificate does not fall back to plain", func(t *testing.T) {
		srv := newTestServer(t, testServerOptions{STARTTLS: true})
		s := newTestSMTP(t, srv, "smtp", "")
		s.TLSConfig = nil
		if err := s.Send(t.Context(), Message{To: "ada@example.com", Subject: "hi"}); err == nil {
			t.Error("got nil error, want certificate error")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("got %d messages delivered, want 0", n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := newTestServer(t, testServerOptions{STARTTLS: true, User: "roster", Pass: "secret"})
		s := newTestSMTP(t, srv, "smtp", "roster:wrong@")
		if err := s.Send(t.Context(), Message{To: "ada@example.com", Subject: "hi"}); err == nil {
			t.Error("got nil error, want auth error")
		}
	})
}

func TestSMTPSendHonoursContext(t *testing.T) {
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	s, err := NewSMTP("smtp://"+ln.Addr().String(), testFrom)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 100*time.Millisecond)
		}},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, Message{To: "ada@example.com", Subject: "hi"})
			if err == nil {
				t.Fatal("got nil error, want timeout")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Send took %v, want about 100ms", d)
			}
		})
	}
}

func TestMayAuthPlain(t *testing.T) {
	tests := []struct {
		host string
		tls  bool
		want bool
	}{
		{"smtp.example.com", true, true},
		{"smtp.example.com", false, false},
		{"192.0.2.1", false, false},
		{"::2", false, false},
		{"localhost", false, true},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, true},
		{"localhost.example.com", false, false},
	}
	for _, tt := range tests {
		if got := mayAuthPlain(tt.host, tt.tls); got != tt.want {
			t.Errorf("mayAuthPlain(%q, %v): got %v, want %v", tt.host, tt.tls, got, tt.want)
		}
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		url, from string
		wantAddr  string // "" means an error is wanted
		wantTLS   bool
	}{
		{"smtp://mail.example.com", testFrom, "mail.example.com:587", false},
		{"smtps://mail.example.com", testFrom, "mail.example.com:465", true},
		{"smtp://u:p@mail.example.com:2525", testFrom, "mail.example.com:2525", false},
		{"SMTPS://[::1]:1465", "no-reply@example.com", "[::1]:1465", true},
		{"http://mail.example.com", testFrom, "", false},
		{"mail.example.com:587", testFrom, "", false},
		{"smtp://", testFrom, "", false},
		{"smtp://mail.example.com:0", testFrom, "", false},
		{"smtp://mail.example.com:70000", testFrom, "", false},
		{"smtp://user:secret@mail.example.com:port", testFrom, "", false},
		{"smtp://user@mail.example.com", testFrom, "", false},
		{"smtp://:secret@mail.example.com", testFrom, "", false},
		{"smtp://mail.example.com", "", "", false},
		{"smtp://mail.example.com", "not an address", "", false},
		{"smtp://mail.example.com", "a@example.com\r\nBcc: eve@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.from, func(t *testing.T) {
			s, err := NewSMTP(tt.url, tt.from)
			if tt.wantAddr == "" {
				if err == nil {
					t.Fatalf("got nil error, want one")
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if s.addr != tt.wantAddr || s.implicitTLS != tt.wantTLS {
				t.Errorf("got addr %q tls %v, want %q %v", s.addr, s.implicitTLS, tt.wantAddr, tt.wantTLS)
			}
		})
	}
	_, err := NewSMTP("ftp://mail.example.com", testFrom)
	if want := "smtp url: scheme must be smtp or smtps"; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

func TestLogSend(t *testing.T) {
	var buf bytes.Buffer
	l := Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	link := "https://roster.example/reset?token=abc123"
	if err := l.Send(t.Context(), Message{To: "ada@example.com", Subject: "Reset", Text: "Reset: " + link + "\n"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", `msg="mail (not sent: no ROSTER_SMTP_URL)"`, "to=ada@example.com", "subject=Reset", link} {
		if !strings.Contains(out, want) {
			t.Errorf("got log %q, want it to contain %q", out, want)
		}
	}
}
