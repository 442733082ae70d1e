package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/internal/assets"
)

// Cache lifetimes of static files: a fingerprinted URL names one content
// for good; a plain or outdated one may change at the next deploy.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=300"
)

// staticFiles answers /static/*: the file named, or named with a content hash
// (assets.Set.Lookup), in the encoding the browser prefers among those
// made at start, with an ETag per encoding and 304 for a matching
// If-None-Match.
func staticFiles(set *assets.Set) echo.HandlerFunc {
	return func(c echo.Context) error {
		f, current := set.Lookup(c.Param("*"))
		if f == nil {
			return echo.ErrNotFound
		}
		hd := c.Response().Header()
		hd.Add("Vary", "Accept-Encoding")
		if current {
			hd.Set(echo.HeaderCacheControl, cacheImmutable)
		} else {
			hd.Set(echo.HeaderCacheControl, cacheShort)
		}
		body, etag := f.Body, `"`+f.Hash+`"`
		switch negotiateEncoding(c.Request().Header.Get("Accept-Encoding")) {
		case "br":
			if f.Br != nil {
				body, etag = f.Br, `"`+f.Hash+`-br"`
				hd.Set(echo.HeaderContentEncoding, "br")
			} else if f.Gzip != nil && strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
				body, etag = f.Gzip, `"`+f.Hash+`-gz"`
				hd.Set(echo.HeaderContentEncoding, "gzip")
			}
		case "gzip":
			if f.Gzip != nil {
				body, etag = f.Gzip, `"`+f.Hash+`-gz"`
				hd.Set(echo.HeaderContentEncoding, "gzip")
			}
		}
		hd.Set("ETag", etag)
		hd.Set(echo.HeaderContentType, f.Type)
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			hd.Del(echo.HeaderContentEncoding)
			return c.NoContent(http.StatusNotModified)
		}
		hd.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
		c.Response().WriteHeader(http.StatusOK)
		if c.Request().Method == http.MethodHead {
			return nil
		}
		_, err := c.Response().Write(body)
		return err
	}
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
