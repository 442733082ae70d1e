package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// staticURL is the fingerprinted URL of a file of static/, worked out here
// from its bytes: /static/<name>.<16 hex of its sha256>.<ext>.
func staticURL(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "static", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ext := path.Ext(name)
	return "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:16] + ext
}

// TestStaticFingerprinted: pages name static files by fingerprinted URLs
// only (the hash is the start of the sha256 static/VERSIONS records); such
// a URL is cached for a year, immutable, with an ETag, in the encoding
// asked, with the precompressed bytes decoding to the file; a 304 answers
// a matching If-None-Match; HEAD has the headers and no body; a plain
// name or an unknown hash still gets the current file, cached briefly; an
// unknown file is 404.
func TestStaticFingerprinted(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	page := c.get("/login").body
	refs := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 5 {
		t.Fatalf("/login: %d static references, want the favicon, two style sheets, htmx, app.js, passkey.js", len(refs))
	}
	for _, r := range refs {
		if !regexp.MustCompile(`\.[0-9a-f]{16}\.[a-z]+$`).MatchString(r[1]) {
			t.Errorf("/login names %s: not fingerprinted", r[1])
		}
	}
	htmx := staticURL(t, "htmx.min.js")
	if !strings.Contains(page, `src="`+htmx+`"`) {
		t.Fatalf("/login does not name htmx as %s", htmx)
	}
	versions, err := os.ReadFile(filepath.Join("..", "static", "VERSIONS"))
	if err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSuffix(strings.TrimPrefix(htmx, "/static/htmx.min."), ".js")
	if !strings.Contains(string(versions), "htmx.min.js htmx.org@2.0.11 sha256:"+hash) {
		t.Errorf("the hash in %s is not the start of VERSIONS' sha256 for htmx.min.js", htmx)
	}
	file, err := os.ReadFile(filepath.Join("..", "static", "htmx.min.js"))
	if err != nil {
		t.Fatal(err)
	}

	etags := map[string]string{} // ETag -> encoding
	for _, tc := range []struct{ accept, enc string }{{"", ""}, {"gzip", "gzip"}, {"br", "br"}, {"gzip, deflate, br, zstd", "br"}, {"br;q=0.1, gzip", "gzip"}} {
		res, b := rawGet(t, c, http.MethodGet, htmx, tc.accept, nil)
		h := res.Header
		if res.StatusCode != http.StatusOK || h.Get("Content-Encoding") != tc.enc {
			t.Errorf("GET %s (%q): %d, Content-Encoding %q, want 200 and %q", htmx, tc.accept, res.StatusCode, h.Get("Content-Encoding"), tc.enc)
		}
		if got := h.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", htmx, got)
		}
		if !varies(h) || h.Get("ETag") == "" || (etags[h.Get("ETag")] != "" && etags[h.Get("ETag")] != tc.enc+"!") || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s (%q): Vary %q, ETag %q (one per encoding), Content-Type %q", htmx, tc.accept, h.Values("Vary"), h.Get("ETag"), h.Get("Content-Type"))
		}
		etags[h.Get("ETag")] = tc.enc + "!"
		if h.Get("Content-Length") == "" {
			t.Errorf("GET %s (%q): no Content-Length", htmx, tc.accept)
		}
		if got := decode(t, tc.enc, b); got != string(file) {
			t.Errorf("GET %s (%q): decodes to %d bytes, not the file's %d", htmx, tc.accept, len(got), len(file))
		}
		if tc.enc != "" && len(b) > len(file)/2 {
			t.Errorf("GET %s (%q): %d bytes on the wire for %d", htmx, tc.accept, len(b), len(file))
		}
		// Revalidation: 304, no body, same validators.
		res304, b304 := rawGet(t, c, http.MethodGet, htmx, tc.accept, http.Header{"If-None-Match": {`"x", ` + h.Get("ETag")}})
		if res304.StatusCode != http.StatusNotModified || len(b304) != 0 || res304.Header.Get("ETag") != h.Get("ETag") || !varies(res304.Header) {
			t.Errorf("GET %s (%q) If-None-Match: %d, %d bytes, ETag %q", htmx, tc.accept, res304.StatusCode, len(b304), res304.Header.Get("ETag"))
		}
		resHead, bHead := rawGet(t, c, http.MethodHead, htmx, tc.accept, nil)
		if resHead.StatusCode != http.StatusOK || len(bHead) != 0 || resHead.Header.Get("Content-Length") != h.Get("Content-Length") ||
			resHead.Header.Get("Content-Encoding") != tc.enc || resHead.Header.Get("ETag") != h.Get("ETag") {
			t.Errorf("HEAD %s (%q): %d, %d bytes, Content-Length %q (GET's %q), encoding %q", htmx, tc.accept, resHead.StatusCode, len(bHead),
				resHead.Header.Get("Content-Length"), h.Get("Content-Length"), resHead.Header.Get("Content-Encoding"))
		}
	}
	// Another ETag (an older version's) gets the body.
	if res, b := rawGet(t, c, http.MethodGet, htmx, "br", http.Header{"If-None-Match": {`"0123456789abcdef-br"`}}); res.StatusCode != http.StatusOK || len(b) == 0 {
		t.Errorf("GET %s with an old ETag: %d, %d bytes", htmx, res.StatusCode, len(b))
	}

	// A plain name, or a hash of another version: the current file, briefly.
	for _, p := range []string{"/static/htmx.min.js", "/static/htmx.min.0123456789abcdef.js"} {
		res, b := rawGet(t, c, http.MethodGet, p, "", nil)
		if res.StatusCode != http.StatusOK || string(b) != string(file) {
			t.Errorf("GET %s: %d, %d bytes, want the current file", p, res.StatusCode, len(b))
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=300" {
			t.Errorf("GET %s: Cache-Control %q, want a short one", p, got)
		}
	}
	// Already compressed or not text: no Content-Encoding. Unknown: 404.
	for p, want := range map[string]int{"/static/nothere.js": 404, "/static/htmx.min.0123.js": 404, "/static/nothere.0123456789abcdef.js": 404, "/static/../go.mod": 404} {
		if res, _ := rawGet(t, c, http.MethodGet, p, "br", nil); res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", p, res.StatusCode, want)
		}
	}
	for _, name := range []string{"pico.min.css", "app.css", "app.js", "favicon.svg", "icons/github.svg"} {
		res, b := rawGet(t, c, http.MethodGet, staticURL(t, name), "br", nil)
		want, _ := os.ReadFile(filepath.Join("..", "static", filepath.FromSlash(name)))
		if res.StatusCode != http.StatusOK || decode(t, res.Header.Get("Content-Encoding"), b) != string(want) {
			t.Errorf("GET %s: %d, %q, not the file", staticURL(t, name), res.StatusCode, res.Header.Get("Content-Encoding"))
		}
	}
}
