package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/handlers"
)

// setDNSResolver reads ROSTER_DNS_RESOLVER: empty, or host:port of a DNS
// server (a host name is found with the system's resolver).
func setDNSResolver(c *config, v string) error {
	if v == "" {
		c.DNSResolver = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 || !hostName(host) {
		return fmt.Errorf("want host:port of a DNS server, such as 127.0.0.1:53 or [::1]:53, got %q", v)
	}
	c.DNSResolver = v
	return nil
}

// hostName reports whether s is an IP address or could be a host name.
func hostName(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	return s != "" && len(s) <= 253 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	})
}

// resolver is what the domain verification looks TXT records up with: the
// system's resolver, or Go's own sending every query to ROSTER_DNS_RESOLVER.
func (c config) resolver() *net.Resolver {
	if c.DNSResolver == "" {
		return net.DefaultResolver
	}
	return handlers.DNSResolver(c.DNSResolver)
}
