package netguard

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestPublicOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "10.0.0.1:443", "192.168.1.1:443", "172.16.0.1:443",
		"169.254.169.254:80", "0.0.0.0:443", "[fe80::1]:443", "[fc00::1]:443", "224.0.0.1:443"} {
		if err := PublicOnly("tcp", addr, nil); err == nil {
			t.Errorf("PublicOnly(%s): got nil, want a refusal", addr)
		}
	}
	for _, addr := range []string{"93.184.216.34:443", "[2606:2800:220:1::1]:443"} {
		if err := PublicOnly("tcp", addr, nil); err != nil {
			t.Errorf("PublicOnly(%s): got %v, want nil", addr, err)
		}
	}
}

// TestDialerRefusesLoopback dials a real loopback listener: refused unless
// local addresses are allowed.
func TestDialerRefusesLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	if c, err := Dialer(time.Second, false).DialContext(ctx, "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("public-only dialer reached loopback")
	}
	c, err := Dialer(time.Second, true).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dialer allowing local addresses: %v", err)
	}
	c.Close()
}
