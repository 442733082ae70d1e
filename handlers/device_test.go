package handlers

import (
	"strconv"
	"strings"
	"testing"
)

// TestDeviceNamesAreRemembered: device answers as parsing does, the first
// time and from its memory, which stays bounded and keeps no huge key.
func TestDeviceNamesAreRemembered(t *testing.T) {
	firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	for range 2 {
		if got := device(firefox); got != "Firefox 128 on Linux" {
			t.Fatalf("device(firefox) = %q, want Firefox 128 on Linux", got)
		}
	}
	if got := device(""); got != "Unknown device" {
		t.Errorf(`device("") = %q`, got)
	}
	for i := range 3 * maxDevices {
		ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + strconv.Itoa(i) + ".0 Safari/537.36"
		if got, want := device(ua), parseDevice(ua); got != want {
			t.Fatalf("device(%q) = %q, parsed %q", ua, got, want)
		}
		if got, want := device(ua), "Chrome "+strconv.Itoa(i)+" on Windows"; got != want {
			t.Fatalf("device(%q) the second time = %q, want %q", ua, got, want)
		}
	}
	long := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 " + strings.Repeat("x", maxDeviceKey)
	if got := device(long); got != "Firefox 128 on Linux" {
		t.Errorf("device(long) = %q", got)
	}
	devices.Lock()
	defer devices.Unlock()
	if n := len(devices.names); n > maxDevices {
		t.Errorf("%d user agents remembered, want at most %d", n, maxDevices)
	}
	if _, ok := devices.names[long]; ok {
		t.Errorf("a user agent longer than %d bytes was kept", maxDeviceKey)
	}
}
