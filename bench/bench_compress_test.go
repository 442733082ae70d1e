package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/rosterhq/roster/password"
)

// BenchmarkCompress (issue 19 item 2): the CPU a /profile answer costs
// through the real router uncompressed, gzip and br, in one run (the memo
// on, as served), with its bytes on the wire; and, as metrics of the wire
// sub-benchmarks, the bytes of /login and htmx.min.js per encoding.
func BenchmarkCompress(b *testing.B) {
	hash, err := password.NewHasher(1, 0).Hash(b.Context(), benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	s1 := startS1(b, "", hash)
	e, cookies := s1.handler, s1.cookies

	get := func(path, cookies, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if cookies != "" {
			req.Header.Set("Cookie", cookies)
		}
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
		return rec
	}
	login := get("/login", "", "").Body.Bytes()
	htmx := regexp.MustCompile(`src="(/static/htmx\.min\.[0-9a-f]+\.js)"`).FindSubmatch(login)
	if htmx == nil {
		b.Fatal("/login names no fingerprinted htmx")
	}
	for _, enc := range []string{"identity", "gzip", "br"} {
		b.Run("wire/"+enc, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(float64(get("/login", "", enc).Body.Len()), "login-bytes")
			b.ReportMetric(float64(get(string(htmx[1]), "", enc).Body.Len()), "htmx-bytes")
			b.ReportMetric(float64(get("/profile", cookies, enc).Body.Len()), "profile-bytes")
		})
	}
	var identityCPU float64
	for _, enc := range []string{"identity", "gzip", "br"} {
		b.Run("profile/"+enc, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			cpu := processCPU()
			for b.Loop() {
				rec := get("/profile", cookies, enc)
				if !bytes.Contains(rec.Body.Bytes(), []byte(`id="sessions"`)) && enc == "identity" {
					b.Fatal("GET /profile: not the signed-in page")
				}
				size = rec.Body.Len()
			}
			perOp := float64(processCPU()-cpu) / float64(b.N) / float64(time.Microsecond)
			b.ReportMetric(perOp, "cpu-us/op")
			b.ReportMetric(float64(size), "wire-bytes")
			if enc == "identity" {
				identityCPU = perOp
			} else if identityCPU > 0 {
				b.ReportMetric(perOp-identityCPU, "extra-cpu-us/op")
			}
		})
	}
}
