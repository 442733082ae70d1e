package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestCompressWriterLeavesAlone: the compress middleware sends as they are
// bodies already encoded, of types already compressed, under compressMin,
// 304s and HEAD; it compresses a text body written in small pieces and one
// whose type it must sniff.
func TestCompressWriterLeavesAlone(t *testing.T) {
	big := strings.Repeat("<p>roster roster roster</p>\n", 200)
	// A body that stays over compressMin once gzip'd: hex of random bytes.
	noise := make([]byte, 4096)
	rand.Read(noise)
	randomText := hex.EncodeToString(noise)
	e := echo.New()
	e.Use((&Handler{}).compress)
	e.GET("/encoded", func(c echo.Context) error {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(randomText))
		zw.Close()
		c.Response().Header().Set(echo.HeaderContentEncoding, "gzip")
		return c.Blob(http.StatusOK, "text/html", b.Bytes())
	})
	e.GET("/png", func(c echo.Context) error { return c.Blob(http.StatusOK, "image/png", []byte(big)) })
	e.GET("/small", func(c echo.Context) error { return c.HTML(http.StatusOK, big[:compressMin-1]) })
	e.GET("/304", func(c echo.Context) error { return c.NoContent(http.StatusNotModified) })
	e.GET("/pieces", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, "text/css")
		for i := 0; i < len(big); i += 100 {
			c.Response().Write([]byte(big[i:min(i+100, len(big))]))
		}
		return nil
	})
	e.GET("/sniffed", func(c echo.Context) error {
		_, err := c.Response().Write([]byte("<!doctype html>" + big))
		return err
	})
	e.HEAD("/head", func(c echo.Context) error { return c.HTML(http.StatusOK, big) })

	do := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	for path, wantEnc := range map[string]string{"/encoded": "gzip", "/png": "", "/small": "", "/304": "", "/pieces": "gzip", "/sniffed": "gzip"} {
		rec := do(http.MethodGet, path)
		if got := rec.Header().Get(echo.HeaderContentEncoding); got != wantEnc {
			t.Errorf("GET %s: Content-Encoding %q, want %q", path, got, wantEnc)
		}
		if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("GET %s: no Vary: Accept-Encoding", path)
		}
		body := rec.Body.Bytes()
		if path != "/304" && wantEnc == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			out, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			if _, err := gzip.NewReader(bytes.NewReader(out)); err == nil {
				t.Errorf("GET %s: compressed twice", path)
			}
			if want := strings.TrimPrefix(string(out), "<!doctype html>"); want != big && want != randomText {
				t.Errorf("GET %s: decodes to %d bytes, want %d", path, len(out), len(big))
			}
		}
		if path == "/304" && (rec.Code != http.StatusNotModified || len(body) != 0) {
			t.Errorf("GET /304: %d, %d bytes", rec.Code, len(body))
		}
	}
	if rec := do(http.MethodHead, "/head"); rec.Header().Get(echo.HeaderContentEncoding) != "" {
		t.Errorf("HEAD: Content-Encoding %q", rec.Header().Get(echo.HeaderContentEncoding))
	}
}
