package handlers_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/rosterhq/roster/handlers"
)

// TestNegotiateEncoding: q-values decide, br wins a tie, q=0 refuses, "*"
// stands for what is not named.
func TestNegotiateEncoding(t *testing.T) {
	t.Parallel()
	for accept, want := range map[string]string{
		"":                           "",
		"identity":                   "",
		"gzip":                       "gzip",
		"br":                         "br",
		"gzip, deflate, br, zstd":    "br",
		"gzip;q=1.0, br;q=0.5":       "gzip",
		"br;q=0, gzip":               "gzip",
		"BR;Q=0.8, GZIP;q=0.8":       "br",
		"gzip;q=0, br;q=0":           "",
		"*":                          "br",
		"*;q=0.5, br;q=0":            "gzip",
		"gzip;q=0.2, *;q=0.9":        "br",
		"x-gzip":                     "gzip",
		"gzip;q=nonsense":            "",
		"deflate, compress":          "",
		"br;q=0.001, gzip;q=0.0001 ": "br",
	} {
		if got := handlers.NegotiateEncoding(accept); got != want {
			t.Errorf("Accept-Encoding %q: got %q, want %q", accept, got, want)
		}
	}
}

// rawGet asks for path with c's cookies and this Accept-Encoding, reading
// the bytes as they came (no transparent gunzip).
func rawGet(t *testing.T, c *client, method, path, accept string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.app.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	hc := &http.Client{Jar: c.hc.Jar, Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if cl := res.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(b)) && method != http.MethodHead {
		t.Errorf("%s %s (%s): Content-Length %s, body %d bytes", method, path, accept, cl, len(b))
	}
	return res, b
}

// decode undoes a Content-Encoding.
func decode(t *testing.T, enc string, b []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return string(b)
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("unknown encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	return string(out)
}

func varies(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// TestCompressedPages: pages, htmx fragments and JSON go out as br or
// gzip as the browser asks, decode to what an uncompressed answer holds
// (the masked token and nonce aside, new in every answer), say Vary:
// Accept-Encoding, and carry no wrong Content-Length; small bodies and
// HEAD go out as they are.
func TestCompressedPages(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	anon := a.client(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)

	hx := http.Header{"Hx-Request": {"true"}}
	for _, tc := range []struct {
		who    *client
		path   string
		header http.Header
	}{
		{anon, "/login", nil},
		{anon, "/signup", nil},
		{c, "/profile", nil},
		{c, "/profile/notifications", nil},
		{c, "/profile/notifications", hx},
		{c, "/profile/activity", hx},
	} {
		res, plain := rawGet(t, tc.who, http.MethodGet, tc.path, "", tc.header)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, res.StatusCode)
		}
		if res.Header.Get("Content-Encoding") != "" || !varies(res.Header) {
			t.Errorf("GET %s without Accept-Encoding: Content-Encoding %q, Vary %q", tc.path, res.Header.Get("Content-Encoding"), res.Header.Values("Vary"))
		}
		for accept, want := range map[string]string{"gzip": "gzip", "br": "br", "gzip, deflate, br, zstd": "br", "br;q=0.5, gzip": "gzip", "identity": ""} {
			res, b := rawGet(t, tc.who, http.MethodGet, tc.path, accept, tc.header)
			got := res.Header.Get("Content-Encoding")
			if got != want {
				t.Errorf("GET %s (%s): Content-Encoding %q, want %q", tc.path, accept, got, want)
			}
			if !varies(res.Header) {
				t.Errorf("GET %s (%s): Vary %q lacks Accept-Encoding", tc.path, accept, res.Header.Values("Vary"))
			}
			if want != "" && len(b) >= len(plain)*7/10 {
				t.Errorf("GET %s (%s): %d bytes on the wire for %d", tc.path, accept, len(b), len(plain))
			}
			if body := decode(t, got, b); withoutNonce(body) != withoutNonce(string(plain)) {
				t.Errorf("GET %s (%s): decodes to another page: %s", tc.path, accept, firstDiff(withoutNonce(body), withoutNonce(string(plain))))
			}
		}
	}

	// Small bodies are sent as they are; so is HEAD.
	for _, path := range []string{"/healthz", "/api/v1/me/preferences"} {
		res, b := rawGet(t, c, http.MethodGet, path, "br, gzip", nil)
		if len(b) < 1024 && res.Header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: %d bytes compressed (%q)", path, len(b), res.Header.Get("Content-Encoding"))
		}
	}
	if res, b := rawGet(t, c, http.MethodHead, "/healthz", "br, gzip", nil); res.Header.Get("Content-Encoding") != "" || len(b) != 0 {
		t.Errorf("HEAD /healthz: Content-Encoding %q, %d bytes", res.Header.Get("Content-Encoding"), len(b))
	}
}

// TestSecretAnswersNotCompressed: an answer that shows a secret once (the
// TOTP key while enrolling) is not compressed, as a page, as a fragment and
// in the enrolment's answer itself.
func TestSecretAnswersNotCompressed(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.verify(t, a.seedUser(t, annName, annEmail, annPassword)).ID) // factors need a confirmed email
	if res := c.postHTMX("/profile/two-factor", url.Values{}); res.status != http.StatusOK || !strings.Contains(res.body, `id="totp-secret"`) {
		t.Fatalf("POST /profile/two-factor: %d, key shown %v", res.status, strings.Contains(res.body, `id="totp-secret"`))
	}
	for _, hdr := range []http.Header{nil, {"Hx-Request": {"true"}}} {
		res, b := rawGet(t, c, http.MethodGet, "/profile", "br, gzip", hdr)
		if !strings.Contains(string(b), `id="totp-secret"`) {
			t.Fatalf("GET /profile while enrolling (%v): no key shown (Content-Encoding %q)", hdr, res.Header.Get("Content-Encoding"))
		}
		if res.Header.Get("Content-Encoding") != "" || !varies(res.Header) {
			t.Errorf("GET /profile while enrolling: Content-Encoding %q, Vary %q", res.Header.Get("Content-Encoding"), res.Header.Values("Vary"))
		}
	}
	// Once the enrolment is cancelled the page is compressed again.
	c.postHTMX("/profile/two-factor/cancel", url.Values{})
	if res, _ := rawGet(t, c, http.MethodGet, "/profile", "br, gzip", nil); res.Header.Get("Content-Encoding") != "br" {
		t.Errorf("GET /profile after: Content-Encoding %q, want br", res.Header.Get("Content-Encoding"))
	}
}
