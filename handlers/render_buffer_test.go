package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestRenderBuffersKeepAnswersApart: pages are rendered into reused buffers,
// so two people loading pages at the same time, big pages then small ones,
// whole pages then htmx fragments, must each get exactly their own answer,
// with a Content-Length that is its length.
func TestRenderBuffersKeepAnswersApart(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann, bob := a.client(t), a.client(t)
	// Names no page shows but on their own person's answers.
	ann.signup("Zed Quillon", "zq@example.org", "correct horse battery staple")
	bob.signup("Yan Prostowa", "yp@example.org", "correct horse battery staple")

	check := func(who *client, me, other, path string, htmx bool) {
		t.Helper()
		var res *response
		if htmx {
			res = who.do(http.MethodPost, path, url.Values{"name": {me}}, // the name kept
				http.Header{"Hx-Request": {"true"}, "X-Csrf-Token": {who.csrf()}, "Accept-Encoding": {"identity"}})
		} else {
			// identity: the Content-Length checked is the one render
			// sets (a compressed answer has none; TestCompressedPages).
			res = who.do(http.MethodGet, path, nil, http.Header{"Accept-Encoding": {"identity"}})
		}
		if res.status != http.StatusOK {
			t.Errorf("%s GET %s: got %d, want 200", me, path, res.status)
			return
		}
		if cl := res.header.Get("Content-Length"); cl != strconv.Itoa(len(res.body)) {
			t.Errorf("%s GET %s: Content-Length %q for a %d-byte body", me, path, cl, len(res.body))
		}
		if !strings.Contains(res.body, me) || strings.Contains(res.body, other) {
			t.Errorf("%s GET %s: the answer is not %s's alone:\n%s", me, path, me, res.body)
		}
		if whole := strings.Contains(res.body, "<html"); whole == htmx || strings.Count(res.body, "<html") > 1 {
			t.Errorf("%s GET %s (htmx %v): %d <html> in the answer", me, path, htmx, strings.Count(res.body, "<html"))
		}
		if !htmx && !strings.HasSuffix(res.body, "</html>\n") {
			t.Errorf("%s GET %s: the page does not end with </html>: %q", me, path, res.body[max(0, len(res.body)-80):])
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		for _, p := range []struct {
			who       *client
			me, other string
		}{{ann, "Zed Quillon", "Yan Prostowa"}, {bob, "Yan Prostowa", "Zed Quillon"}} {
			wg.Go(func() {
				for range 5 {
					check(p.who, p.me, p.other, "/profile", false)
					check(p.who, p.me, p.other, "/preferences", false)
					check(p.who, p.me, p.other, "/profile/name", true) // the contact section
				}
			})
		}
	}
	wg.Wait()
}
