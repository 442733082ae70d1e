package handlers

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// FuzzCheckPhone checks the SMS and voice number validator: what it
// accepts comes back in E.164, which the SMS gateway dials as it is, and
// accepting that again gives the same number.
func FuzzCheckPhone(f *testing.F) {
	for _, s := range []string{
		"+1 415 555 0100", "+14155550100", "+44 20 7946 0958", "+33 1 23 45 67 89", "+49 (030) 1234567",
		"+1-415-555-0100 ext. 12", "+1 415 555 0100;ext=12", "4155550100", "+", "++14155550100", "+0 123",
		"+1 415 555 0100\n", "+١٤١٥٥٥٥٠١٠٠", "+1 800 FLOWERS", "+999 999 999", "+86 10 1234 5678 9999 9999",
		"+1\x00415", "tel:+14155550100",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, address string) {
		var form views.Form
		got := checkPhone(&form, address)
		if form.Failed() {
			if got != "" {
				t.Fatalf("checkPhone(%q) refused it but returned %q", address, got)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("checkPhone(%q) = %q, want E.164 (+ and up to 15 digits)", address, got)
		}
		var again views.Form
		if n := checkPhone(&again, got); again.Failed() || n != got {
			t.Fatalf("checkPhone(%q) = %q, %v, want %q again", got, n, again.Errors, got)
		}
	})
}

// FuzzCheckHookURL checks the Slack and webhook URL validator: it accepts
// only https URLs with a host and no credentials, and plain http only to
// this machine while Roster itself runs on http; for Slack, only its
// incoming webhooks.
func FuzzCheckHookURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.slack.com/services/T0/B0/x", "https://example.com:8443/hook?a=1#f", "http://localhost:9000/hook",
		"http://127.0.0.1/hook", "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://127.1/", "http://localhost.evil.com/",
		"http://evil.com/", "https://user:pw@example.com/", "https:///path", "ftp://example.com/", "//example.com/x",
		"javascript:alert(1)", "https://exa mple.com/", "https://example.com\r\n/", "HTTPS://EXAMPLE.COM/", "http://LOCALHOST/",
		"https://%65xample.com/", "http://0x7f000001/", "http://localhost%2eevil.com/", "https://[fe80::1%25eth0]/",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, address string, secure bool) {
		base := &url.URL{Scheme: "http", Host: "localhost:8080"}
		if secure {
			base.Scheme = "https"
		}
		h := &Handler{cfg: Config{BaseURL: base}}
		for _, kind := range []string{db.KindSlack, db.KindWebhook} {
			var form views.Form
			got := h.checkHookURL(&form, kind, address)
			if form.Failed() {
				if got != "" {
					t.Fatalf("checkHookURL(%q) refused it but returned %q", address, got)
				}
				continue
			}
			u, err := url.Parse(got)
			if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil {
				t.Fatalf("checkHookURL(%q) = %q: want a URL with a host and no credentials (err %v)", address, got, err)
			}
			switch u.Scheme {
			case "https":
			case "http":
				if secure || !loopback(u.Hostname()) {
					t.Fatalf("checkHookURL(%q) = %q: plain http to %q on a site served over https=%v", address, got, u.Hostname(), secure)
				}
			default:
				t.Fatalf("checkHookURL(%q) = %q: scheme %q, want https", address, got, u.Scheme)
			}
			if kind == db.KindSlack && (u.Scheme != "https" || strings.ToLower(u.Host) != "hooks.slack.com" || !strings.HasPrefix(u.Path, "/services/")) {
				t.Fatalf("checkHookURL(slack, %q) = %q: want only Slack's incoming webhooks", address, got)
			}
			if strings.ContainsAny(got, "\r\n\t ") {
				t.Fatalf("checkHookURL(%q) = %q: want no whitespace", address, got)
			}
			var again views.Form
			if n := h.checkHookURL(&again, kind, got); again.Failed() || n != got {
				t.Fatalf("checkHookURL(%q) = %q, %v, want %q again", got, n, again.Errors, got)
			}
		}
	})
}

// loopback is this machine's own addresses, worked out apart from
// netguard.Loopback so that the two can be checked against each other.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// FuzzParseRule checks the routing form's values, "circumstance:severity:id":
// a value accepted names one rule, and writing that rule out reads back
// the same.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"alerts:3:12", "security:0:1", "a:b:c", "::", "alerts:3", "alerts:3:12:4",
		"alerts:+3:12", "alerts:-1:-1", "alerts:99999999999999999999:1", "alerts:1:9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, ok := parseRule(v)
		if !ok {
			return
		}
		if strings.Count(v, ":") != 2 || strings.Contains(r.Circumstance, ":") {
			t.Fatalf("parseRule(%q) accepted a value that is not three fields", v)
		}
		if back, ok := parseRule(ruleValue(r)); !ok || back != r {
			t.Fatalf("parseRule(ruleValue(%+v)) = %+v, %v, want the same rule", r, back, ok)
		}
	})
}
