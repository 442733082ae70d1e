package handlers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/rosterhq/roster/internal/dnstest"
)

// TestLookupVerification: what a TXT look-up found, in the four outcomes
// the Verify button tells apart, against a real DNS server.
func TestLookupVerification(t *testing.T) {
	t.Parallel()
	server := dnstest.New(t)
	const want = "roster-verification=abc"
	server.SetTXT("found.test", "v=spf1 -all", want)
	server.SetTXT("longer.test", want+"x")
	server.SetTXT("other.test", "roster-verification=abd", "roster-verification=ab", " roster-verification=abc")
	server.SetTXT("nothing.test")
	server.SetTXT("unrelated.test", "v=spf1 -all")
	server.Fail("servfail.test", dns.RcodeServerFailure)
	server.Fail("refused.test", dns.RcodeRefused)
	server.Silent("silent.test")
	r := DNSResolver(server.Addr)
	tests := []struct {
		domain string
		want   txtOutcome
	}{
		{"found.test", txtFound},
		{"longer.test", txtOther},
		{"other.test", txtOther},
		{"nothing.test", txtMissing},
		{"unrelated.test", txtMissing},
		{"absent.test", txtMissing},
		{"servfail.test", txtFailed},
		{"refused.test", txtFailed},
		{"silent.test", txtFailed},
	}
	for _, tt := range tests {
		// The button's own timeout is 5 s; a shorter one keeps the silent
		// server's case quick.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := lookupVerification(ctx, r, tt.domain, want)
		cancel()
		if got != tt.want {
			t.Errorf("%s: got outcome %d (%v), want %d", tt.domain, got, err, tt.want)
		}
		if (got == txtFailed) != (err != nil) {
			t.Errorf("%s: outcome %d with error %v", tt.domain, got, err)
		}
	}
	// A record longer than one TXT string (255 bytes) arrives in pieces
	// that the resolver joins.
	long := "roster-verification=" + strings.Repeat("a", 280)
	server.SetTXT("pieces.test", long)
	if got, err := lookupVerification(context.Background(), r, "pieces.test", long); got != txtFound {
		t.Errorf("a record in two strings: got %d (%v), want found", got, err)
	}
}
