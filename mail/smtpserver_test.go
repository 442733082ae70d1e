package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServerOptions configures a testServer.
type testServerOptions struct {
	STARTTLS    bool   // advertise STARTTLS
	ImplicitTLS bool   // speak TLS from the first byte, like smtps
	User, Pass  string // if User is set, advertise AUTH PLAIN and require these credentials before MAIL
}

// received is one message accepted by a testServer.
type received struct {
	From     string   // MAIL FROM address
	To       []string // RCPT TO addresses
	Data     []byte   // message after DATA, dot-unstuffed, LF line ends
	TLS      bool     // TLS was active when DATA arrived
	AuthUser string   // user from AUTH PLAIN, "" if none
}

// testServer is a small in-process SMTP server on 127.0.0.1: enough of
// RFC 5321 for a real client, with optional STARTTLS, implicit TLS and
// AUTH PLAIN, using a self-signed certificate made for the test.
type testServer struct {
	Addr string // host:port to dial

	opts      testServerOptions
	serverTLS *tls.Config
	clientTLS *tls.Config
	ln        net.Listener
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	msgs  []received
}

// newTestServer starts a server that stops when the test ends.
func newTestServer(t testing.TB, opts testServerOptions) *testServer {
	t.Helper()
	s := &testServer{opts: opts, conns: map[net.Conn]bool{}}
	s.serverTLS, s.clientTLS = testCertificate(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Go(s.accept)
	t.Cleanup(s.close)
	return s
}

// ClientTLS returns a client config that trusts the server's certificate.
func (s *testServer) ClientTLS() *tls.Config { return s.clientTLS.Clone() }

// Messages returns the messages accepted so far.
func (s *testServer) Messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // listener closed
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.serve(conn)
		})
	}
}

// session is the state of one SMTP connection.
type session struct {
	conn     net.Conn
	text     *textproto.Conn
	tls      bool
	authUser string
	from     string
	to       []string
}

func (s *testServer) serve(conn net.Conn) {
	// A broken client must not hang the test run.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, isTLS := conn.(*tls.Conn)
	ss := &session{conn: conn, text: textproto.NewConn(conn), tls: isTLS}
	ss.reply("220 roster-test ESMTP")
	for {
		line, err := ss.text.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			s.ehlo(ss)
		case "STARTTLS":
			if !s.opts.STARTTLS || ss.tls {
				ss.reply("502 not available")
				continue
			}
			ss.reply("220 go ahead")
			tc := tls.Server(ss.conn, s.serverTLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			// RFC 3207: forget everything learned before TLS.
			*ss = session{conn: tc, text: textproto.NewConn(tc), tls: true}
		case "AUTH":
			s.auth(ss, arg)
		case "MAIL":
			if s.opts.User != "" && ss.authUser == "" {
				ss.reply("530 authentication required")
				continue
			}
			ss.from, ss.to = pathArg(arg), nil
			ss.reply("250 ok")
		case "RCPT":
			ss.to = append(ss.to, pathArg(arg))
			ss.reply("250 ok")
		case "DATA":
			if ss.from == "" || len(ss.to) == 0 {
				ss.reply("503 need MAIL and RCPT first")
				continue
			}
			ss.reply("354 end with <CRLF>.<CRLF>")
			data, err := ss.text.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, received{From: ss.from, To: ss.to, Data: data, TLS: ss.tls, AuthUser: ss.authUser})
			s.mu.Unlock()
			ss.from, ss.to = "", nil
			ss.reply("250 queued")
		case "RSET":
			ss.from, ss.to = "", nil
			ss.reply("250 ok")
		case "NOOP":
			ss.reply("250 ok")
		case "QUIT":
			ss.reply("221 bye")
			return
		default:
			ss.reply("502 unknown command")
		}
	}
}

func (s *testServer) ehlo(ss *session) {
	lines := []string{"roster-test"}
	if s.opts.STARTTLS && !ss.tls {
		lines = append(lines, "STARTTLS")
	}
	if s.opts.User != "" {
		lines = append(lines, "AUTH PLAIN")
	}
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		ss.reply("250" + sep + l)
	}
}

func (s *testServer) auth(ss *session, arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	if s.opts.User == "" || !strings.EqualFold(mech, "PLAIN") {
		ss.reply("504 mechanism not supported")
		return
	}
	if initial == "" {
		ss.reply("334 ")
		line, err := ss.text.ReadLine()
		if err != nil {
			return
		}
		initial = line
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != s.opts.User || parts[2] != s.opts.Pass {
		ss.reply("535 authentication failed")
		return
	}
	ss.authUser = parts[1]
	ss.reply("235 authenticated")
}

func (ss *session) reply(line string) { ss.text.PrintfLine("%s", line) }

// pathArg extracts the address from "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func pathArg(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// testCertificate makes a self-signed certificate for 127.0.0.1 and
// localhost, and a client config that trusts it.
func testCertificate(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "roster-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: pool}
}
