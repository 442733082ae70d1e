// Package netguard keeps requests whose address a user chooses (webhooks,
// Slack hooks, SAML metadata URLs) from reaching the server's own network.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Loopback reports whether host names this machine: "localhost" or a
// loopback address. Plain http is allowed only to such a host.
func Loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// refused is every range a user's address must not lead to: the IANA IPv4
// and IPv6 Special-Purpose Address Registries (all of their entries, the
// globally reachable ones too: NAT64, 6to4 and Teredo carry an IPv4
// address that may be private, anycast services are no one's webhook),
// multicast, deprecated site-local, and the IPv6 space outside 2000::/3,
// the only block IANA hands out for global unicast.
var refused = []struct {
	prefix netip.Prefix
	name   string
}{
	// IPv4 Special-Purpose Address Registry (RFC 6890), and multicast.
	{netip.MustParsePrefix("0.0.0.0/8"), "this network (RFC 791)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (RFC 1122)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link local (RFC 3927)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (RFC 6890)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("192.31.196.0/24"), "AS112-v4 (RFC 7535)"},
	{netip.MustParsePrefix("192.52.193.0/24"), "AMT (RFC 7450)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("192.175.48.0/24"), "direct delegation AS112 (RFC 7534)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (RFC 5737)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (RFC 5771)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112), with the limited broadcast address"},

	// IPv6 Special-Purpose Address Registry (RFC 6890). IPv4-mapped
	// addresses (::ffff:0:0/96) are judged by the IPv4 address they map.
	{netip.MustParsePrefix("::/128"), "unspecified (RFC 4291)"},
	{netip.MustParsePrefix("::1/128"), "loopback (RFC 4291)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible, deprecated (RFC 4291)"},
	{netip.MustParsePrefix("64:ff9b::/96"), "IPv4/IPv6 translation (RFC 6052)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use IPv4/IPv6 translation (RFC 8215)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (RFC 6666)"},
	{netip.MustParsePrefix("100:0:0:1::/64"), "dummy prefix (RFC 9780)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments, with Teredo, ORCHID and benchmarking (RFC 2928)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (RFC 3056)"},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "direct delegation AS112 (RFC 7534)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (RFC 9637)"},
	{netip.MustParsePrefix("5f00::/16"), "SRv6 SIDs (RFC 9602)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link local (RFC 4291)"},
	{netip.MustParsePrefix("fec0::/10"), "site local, deprecated (RFC 3879)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (RFC 4291)"},

	// IPv6 outside 2000::/3 (IANA IPv6 Address Space): not global unicast.
	{netip.MustParsePrefix("::/3"), "outside global unicast (RFC 4291)"},
	{netip.MustParsePrefix("4000::/2"), "outside global unicast (RFC 4291)"},
	{netip.MustParsePrefix("8000::/1"), "outside global unicast (RFC 4291)"},
}

// check refuses ip when it lies in a refused range. An IPv4-mapped IPv6
// address is the IPv4 address it maps, and is judged as one.
func check(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	for _, r := range refused {
		if r.prefix.Contains(ip) {
			return fmt.Errorf("refused to connect to non-public address %s: %s", ip, r.name)
		}
	}
	return nil
}

// PublicOnly is a net.Dialer Control function that refuses every address
// in the refused table. It runs on the address actually dialled, after
// DNS, so a name that resolves inward is refused too (DNS rebinding
// included), and before any packet is sent.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refused to connect to non-public address %q: not an IP address", host)
	}
	return check(ip)
}

// PublicOrLoopback is PublicOnly that also lets loopback addresses
// through: the guard of a development install, whose webhook receivers
// and IdPs run on the same machine. Everything else PublicOnly refuses
// (private networks, cloud metadata, NAT64 forms of them) stays refused.
func PublicOrLoopback(network, address string, c syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.WithZone("").Unmap().IsLoopback() {
		return nil
	}
	return PublicOnly(network, address, c)
}

// Dialer dials with timeout, only to public addresses, and also to
// loopback when allowLoopback (a development install, whose base URL is
// http).
func Dialer(timeout time.Duration, allowLoopback bool) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, Control: PublicOnly}
	if allowLoopback {
		d.Control = PublicOrLoopback
	}
	return d
}
