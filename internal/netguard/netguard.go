// Package netguard keeps requests whose address a user chooses (webhooks,
// Slack hooks, SAML metadata URLs) from reaching the server's own network.
package netguard

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// PublicOnly is a net.Dialer Control function that refuses loopback,
// private, link-local, unspecified and multicast addresses. It runs on the
// address actually dialled, after DNS, so a name that resolves inward is
// refused too, and before any packet is sent.
func PublicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("refused to connect to non-public address %s", host)
	}
	return nil
}

// Dialer dials with timeout, and only public addresses unless allowLocal
// (a development install, whose base URL is http).
func Dialer(timeout time.Duration, allowLocal bool) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if !allowLocal {
		d.Control = PublicOnly
	}
	return d
}
