package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
)

func TestParsePos(t *testing.T) {
	for in, want := range map[string]string{
		"000000000000002a/8c3d0e6f1a2b3c4d\n": "000000000000002a",
		"00000000000000FF/0000000000000000":   "00000000000000ff",
		"":                                    "",
		"000000000000002a":                    "", // no checksum
		"2a/8c3d0e6f1a2b3c4d\n":               "", // not 16 digits
		"zzzzzzzzzzzzzzzz/8c3d0e6f1a2b3c4d\n": "",
		"0000000000000000/0000000000000000\n": "", // an empty database: nothing to wait for
	} {
		got, ok := parsePos(in)
		if got != want || ok != (want != "") {
			t.Errorf("parsePos(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestTXIDCookie: a writing GET answered on the LiteFS primary sets the
// __txid cookie from the mount's <db>-pos file, as LiteFS's proxy does
// after a POST; on a replica (replayed) and on a single machine it does
// not.
func TestTXIDCookie(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "roster.db")
	cfg, err := parseConfig(nil, proctest.Env(map[string]string{"ROSTER_DB": dbPath}))
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenStore(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := os.WriteFile(dbPath+"-pos", []byte("00000000000004d2/0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	litefs := cfg
	litefs.LiteFS = true
	get := func(t *testing.T, r *role, path string) *http.Response {
		t.Helper()
		e, _, _, _, err := testCommand.newServer(t.Context(), cfg, store, r, slog.New(slog.DiscardHandler), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Result()
	}
	txid := func(res *http.Response) *http.Cookie {
		for _, c := range res.Cookies() {
			if c.Name == "__txid" {
				return c
			}
		}
		return nil
	}
	// The one GET that writes: an external sign-in coming back (every other
	// GET only reads, TestGETsDoNotWrite).
	const verify = "/auth/google/callback?state=nope&code=nope"

	t.Run("primary", func(t *testing.T) {
		res := get(t, newRole(litefs, slog.New(slog.DiscardHandler)), verify)
		c := txid(res)
		if c == nil {
			t.Fatalf("GET %s on the primary: %d, no __txid cookie (Set-Cookie %q)", verify, res.StatusCode, res.Header.Values("Set-Cookie"))
		}
		if c.Value != "00000000000004d2" || c.Path != "/" || !c.HttpOnly || c.Secure {
			t.Errorf("__txid cookie = %+v, want value 00000000000004d2, path /, HttpOnly, as LiteFS's proxy sets it", c)
		}
		if left := time.Until(c.Expires); left < 4*time.Minute || left > 5*time.Minute {
			t.Errorf("__txid expires in %v, want 5 minutes as LiteFS's proxy", left)
		}
		// A GET that does not write gets none.
		if c := txid(get(t, newRole(litefs, slog.New(slog.DiscardHandler)), "/login")); c != nil {
			t.Errorf("GET /login on the primary set %+v", c)
		}
	})
	t.Run("no position", func(t *testing.T) {
		other := litefs
		other.DB = filepath.Join(t.TempDir(), "roster.db")
		if c := txid(get(t, newRole(other, slog.New(slog.DiscardHandler)), verify)); c != nil {
			t.Errorf("without a -pos file: %+v", c)
		}
	})
	t.Run("replica", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, ".primary"), []byte("node-a\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(dir, ".primary"))
		res := get(t, newRole(litefs, slog.New(slog.DiscardHandler)), verify)
		if res.Header.Get("Fly-Replay") != "instance=node-a" {
			t.Errorf("GET %s on a replica: %d, Fly-Replay %q", verify, res.StatusCode, res.Header.Get("Fly-Replay"))
		}
		if c := txid(res); c != nil {
			t.Errorf("a replica set %+v", c)
		}
	})
	t.Run("single machine", func(t *testing.T) {
		res := get(t, newRole(cfg, slog.New(slog.DiscardHandler)), verify)
		if c := txid(res); c != nil {
			t.Errorf("a single machine set %+v", c)
		}
	})
}
