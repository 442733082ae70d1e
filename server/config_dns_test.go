package server

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/dnstest"
	"github.com/rosterhq/roster/internal/proctest"
)

func TestParseConfigDNSResolver(t *testing.T) {
	for _, bad := range []string{"127.0.0.1", "127.0.0.1:", ":53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:dns", "dns server:53", "[::1]53"} {
		_, err := parseConfig(nil, proctest.Env(map[string]string{"ROSTER_DNS_RESOLVER": bad}))
		if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_DNS_RESOLVER (-dns-resolver): want host:port") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ROSTER_DNS_RESOLVER=%q: got %v, want one line naming the variable", bad, err)
		}
	}
	for _, good := range []string{"127.0.0.1:53", "[::1]:5353", "resolver.internal:53"} {
		if cfg, err := parseConfig(nil, proctest.Env(map[string]string{"ROSTER_DNS_RESOLVER": good})); err != nil || cfg.DNSResolver != good {
			t.Errorf("ROSTER_DNS_RESOLVER=%q: got %q, %v", good, cfg.DNSResolver, err)
		}
	}
}

// TestConfigResolver: unset, the system's resolver; set, every look-up
// goes to that server.
func TestConfigResolver(t *testing.T) {
	cfg, err := parseConfig(nil, proctest.Env(nil))
	if err != nil || cfg.resolver() != net.DefaultResolver {
		t.Fatalf("unset: got %v, %v; want net.DefaultResolver", cfg.resolver(), err)
	}
	server := dnstest.New(t)
	server.SetTXT("roster.example", "roster-verification=abc")
	cfg, err = parseConfig([]string{"-dns-resolver", server.Addr}, proctest.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.resolver().LookupTXT(context.Background(), "roster.example.")
	if err != nil || !slices.Equal(got, []string{"roster-verification=abc"}) {
		t.Errorf("TXT roster.example through -dns-resolver: got %v, %v", got, err)
	}
}
