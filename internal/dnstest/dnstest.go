// Package dnstest runs a DNS server (github.com/miekg/dns) on loopback for
// Roster's tests of SAML domain verification: it answers TXT queries from
// the records a test sets, and can fail or stay silent on purpose. Only
// tests import it.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running DNS server on 127.0.0.1, over UDP.
type Server struct {
	Addr string // host:port, for ROSTER_DNS_RESOLVER

	mu      sync.Mutex
	txt     map[string][]string // by lowercase fully qualified name
	rcode   map[string]int
	silent  map[string]bool
	queries []string
}

// New starts a server on a free loopback port; it stops when the test ends.
func New(t *testing.T) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: pc.LocalAddr().String(), txt: map[string][]string{}, rcode: map[string]int{}, silent: map[string]bool{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ActivateAndServe(); err != nil {
			t.Errorf("dns server: %v", err)
		}
	}()
	<-started
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
	return s
}

// SetTXT makes name answer with these TXT records (none: no TXT record,
// though the name exists).
func (s *Server) SetTXT(name string, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[dns.Fqdn(strings.ToLower(name))] = values
}

// Fail makes every query for name answer with rcode, such as
// dns.RcodeServerFailure.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[dns.Fqdn(strings.ToLower(name))] = rcode
}

// Silent makes every query for name go unanswered, as a server that times out.
func (s *Server) Silent(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent[dns.Fqdn(strings.ToLower(name))] = true
}

// Queries lists the names asked so far, each as "TYPE name.", in order.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative, m.RecursionAvailable = true, true
	s.mu.Lock()
	for _, q := range req.Question {
		name := strings.ToLower(q.Name)
		s.queries = append(s.queries, dns.TypeToString[q.Qtype]+" "+name)
		if s.silent[name] {
			s.mu.Unlock()
			return
		}
		if rcode, ok := s.rcode[name]; ok {
			m.Rcode = rcode
			continue
		}
		values, ok := s.txt[name]
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range values {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: splitTXT(v),
			})
		}
	}
	s.mu.Unlock()
	w.WriteMsg(m)
}

// splitTXT cuts a value into the 255-byte strings a TXT record is made
// of; a resolver joins them again.
func splitTXT(v string) []string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, v[:255])
		v = v[255:]
	}
	return append(parts, v)
}
