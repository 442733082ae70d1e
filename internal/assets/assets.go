// Package assets holds the static files as Roster serves them: each with a
// content hash for its URL (/static/htmx.min.<hash>.js), and, for text
// types, its gzip and br bodies made once when the server starts, never per
// request.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// HashLen is the length of the hex content hash in a fingerprinted URL
// (64 bits of SHA-256: a collision between two versions of one file is not
// a concern at this length).
const HashLen = 16

// File is one static file.
type File struct {
	Name string // its path under /static/, as stored: "htmx.min.js"
	Hash string // HashLen hex characters of its SHA-256
	Type string // its Content-Type
	Body []byte
	Gzip []byte // nil when not worth it (already compressed, or no smaller)
	Br   []byte
}

// URL is the file's fingerprinted path: /static/htmx.min.<hash>.js.
func (f *File) URL() string {
	ext := path.Ext(f.Name)
	return "/static/" + strings.TrimSuffix(f.Name, ext) + "." + f.Hash + ext
}

// Set is every static file, by name.
type Set struct {
	files map[string]*File
}

// encoded are the compressed bodies made so far in this process, by the
// content's SHA-256: a set loaded again (every test's server) compresses
// nothing twice.
var encoded sync.Map // [32]byte -> [2][]byte{gzip, br}

// Load reads every file of fsys, hashes it and compresses the text ones.
func Load(fsys fs.FS) (*Set, error) {
	s := &Set{files: map[string]*File{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" {
			typ = "application/octet-stream"
		}
		f := &File{Name: p, Hash: hex.EncodeToString(sum[:])[:HashLen], Type: typ, Body: body}
		if compressible(typ) {
			both, ok := encoded.Load(sum)
			if !ok {
				both, _ = encoded.LoadOrStore(sum, compress(body))
			}
			b := both.([2][]byte)
			f.Gzip, f.Br = b[0], b[1]
		}
		s.files[p] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// compressible are the text types; images other than SVG, fonts and
// archives are compressed already.
func compressible(typ string) bool {
	mt, _, _ := mime.ParseMediaType(typ)
	switch mt {
	case "text/css", "text/javascript", "application/javascript", "image/svg+xml", "application/json", "text/plain", "text/html":
		return true
	}
	return false
}

// staticBrotli is the br quality for static files, made once at start:
// measured on htmx, pico, app.css, app.js and passkey.js together
// (175 KB), quality 8 gives 38.7 KB in ~80 ms, 9 38.6 KB in ~200 ms, 11
// 35.8 KB in 1-2.5 s, which every start (and failover) would wait for.
const staticBrotli = 8

// compress makes the gzip (best) and br (staticBrotli) bodies, once, so the
// time is spent at start; each is kept only when at least 5 % smaller.
func compress(body []byte) [2][]byte {
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	bw := brotli.NewWriterLevel(&br, staticBrotli)
	bw.Write(body)
	bw.Close()
	var out [2][]byte
	if gz.Len() < len(body)*95/100 {
		out[0] = gz.Bytes()
	}
	if br.Len() < len(body)*95/100 {
		out[1] = br.Bytes()
	}
	return out
}

// URL is the fingerprinted URL of the file named name, for templates; a
// name that is no file gets its plain /static/ path (which answers 404).
func (s *Set) URL(name string) string {
	if f, ok := s.files[name]; ok {
		return f.URL()
	}
	return "/static/" + name
}

// Lookup finds the file a path under /static/ names: its own name, or
// its name with a hash before the extension. current says the hash is the
// file's present one (the URL may be cached for good); a plain name or an
// older (or unknown) hash still gets the present file, for a short while.
func (s *Set) Lookup(p string) (f *File, current bool) {
	if f, ok := s.files[p]; ok {
		return f, false
	}
	ext := path.Ext(p)
	stem := strings.TrimSuffix(p, ext)
	dot := strings.LastIndexByte(stem, '.')
	if dot < 0 || len(stem)-dot-1 != HashLen || !isHex(stem[dot+1:]) {
		return nil, false
	}
	f, ok := s.files[stem[:dot]+ext]
	if !ok {
		return nil, false
	}
	return f, stem[dot+1:] == f.Hash
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// Files lists the files, for tests and the version check.
func (s *Set) Files() map[string]*File { return s.files }
