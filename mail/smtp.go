package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// defaultTimeout bounds a whole send when ctx has no deadline, so a stalled
// server cannot hold a request forever.
const defaultTimeout = 30 * time.Second

var (
	errHeaderInjection = errors.New("mail: to or subject contains a line break")
	errInsecureAuth    = errors.New("mail: refusing to send credentials over a connection without tls")
)

// SMTP sends through an SMTP server.
type SMTP struct {
	// TLSConfig, if set, is used for STARTTLS and smtps (tests set it to
	// trust their own certificate). An empty ServerName defaults to the host.
	TLSConfig *tls.Config

	addr        string // host:port
	host        string
	implicitTLS bool
	user, pass  string
	from        *netmail.Address
}

// NewSMTP parses a ROSTER_SMTP_URL-style URL, smtp://user:pass@host:port
// (STARTTLS when offered, port 587 by default) or smtps://user:pass@host:port
// (implicit TLS, port 465 by default). from is the From address
// (ROSTER_MAIL_FROM), e.g. "Roster <no-reply@example.com>".
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A *url.Error repeats the whole URL, password included; keep only the reason.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	s := &SMTP{host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicitTLS = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, errors.New("smtp url: scheme must be smtp or smtps")
	}
	if s.host == "" {
		return nil, errors.New("smtp url: missing host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("smtp url: invalid port %q", port)
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		pass, ok := u.User.Password()
		if s.user == "" || !ok {
			return nil, errors.New("smtp url: credentials need both user and password")
		}
		s.pass = pass
	}
	if s.from, err = netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", from, err)
	}
	return s, nil
}

// Send delivers m. It gives up when ctx is done, or after 30 seconds if ctx
// has no deadline.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	rcpt, msg, err := s.compose(m)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	if err := s.send(ctx, rcpt, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", s.addr, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, rcpt string, msg []byte) error {
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return err
	}
	// A deadline alone would ignore cancellation (client gone, shutdown).
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host) // closes conn on failure
	if err != nil {
		return err
	}
	defer c.Close()
	if _, on := c.TLSConnectionState(); !on {
		if ok, _ := c.Extension("STARTTLS"); ok {
			// Never fall back to plain text once the server offered TLS.
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		}
	}
	if s.user != "" {
		_, on := c.TLSConnectionState()
		if !mayAuthPlain(s.host, on) {
			return errInsecureAuth
		}
		if err := c.Auth(plainAuth{s.user, s.pass}); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func (s *SMTP) dial(ctx context.Context) (net.Conn, error) {
	if s.implicitTLS {
		d := tls.Dialer{Config: s.tlsConfig()}
		return d.DialContext(ctx, "tcp", s.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.addr)
}

func (s *SMTP) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.host
	}
	return cfg
}

// compose refuses header values that could start a header of their own,
// and renders m for its one recipient.
func (s *SMTP) compose(m Message) (rcpt string, msg []byte, err error) {
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return "", nil, errHeaderInjection
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return "", nil, fmt.Errorf("mail to %q: %w", m.To, err)
	}
	return to.Address, s.message(to, m), nil
}

// message renders m as an RFC 5322 message. Callers have already rejected
// line breaks in the header values.
func (s *SMTP) message(to *netmail.Address, m Message) []byte {
	_, domain, _ := strings.Cut(s.from.Address, "@")
	var b bytes.Buffer // writes to a bytes.Buffer cannot fail
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	// Quoted-printable keeps long links within SMTP's line limit and
	// survives relays that are not 8-bit clean.
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	// Every line end becomes \n first: the writer turns each into CRLF,
	// but loses the one after a lone CR and text ("\r=\n" ends "=3D").
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(lineEnds.Replace(m.Text)))
	qp.Close()
	return b.Bytes()
}

var lineEnds = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// encodeSubject encodes s for the Subject header. Plain text that only
// looks like an encoded word ("=?utf-8?q?=0D=0A...?=") is encoded too, or
// mail programs would decode it and show something other than was written.
func encodeSubject(s string) string {
	if enc := mime.QEncoding.Encode("utf-8", s); enc != s || !strings.Contains(s, "=?") {
		return enc
	}
	// mime encodes only text that needs it. s is printable ASCII here, cut
	// into words within RFC 2047's 75 characters.
	var words []string
	for s != "" {
		n := min(len(s), 45)
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// mayAuthPlain reports whether credentials may be sent to host: only over
// TLS, or to this machine (a local relay), where nobody can listen in.
func mayAuthPlain(host string, tls bool) bool {
	if tls || host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// plainAuth is AUTH PLAIN without net/smtp's own TLS check, which knows
// only 127.0.0.1 as loopback; mayAuthPlain has already decided.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected auth challenge")
	}
	return nil, nil
}
