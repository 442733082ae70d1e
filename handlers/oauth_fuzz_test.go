package handlers

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzOAuthCallback feeds the callback a raw query and a raw flow cookie.
// A cookie this server did not make never decodes, and yields a flow that
// matches no callback; a flow it made comes back whole, once, and matches
// exactly the callback that brings back its own state.
func FuzzOAuthCallback(f *testing.F) {
	for _, s := range [][3]string{
		{"code=abc&state=S1", "", "S1"},
		{"state=S1&error=access_denied", "", "S1"},
		{"state=", "", ""},
		{"state=S1&state=S2", "x", "S2"},
		{"state=%00", "MTIzNDU2Nzg5MA==", "\x00"},
		{"state=s1", "MTYxNjE2MTYxNnxBQUFBQUFBQQ==|", "S1"},
		{"%zz&state=S1", "a=b; roster_oauth=c", "S1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	fc := newFlowCookie([]byte("fuzz secret 0123456789abcdef0123"), true)
	e := echo.New()
	// callback takes the flow as the callback does, and checks that a
	// flow is given once: its cookie is deleted in the same answer.
	callback := func(t *testing.T, rawQuery, cookie string) (oauthFlow, bool, string) {
		r := httptest.NewRequest(http.MethodGet, "/auth/github/callback", nil)
		r.URL.RawQuery = rawQuery
		if cookie != "" {
			r.Header.Set("Cookie", flowCookieName+"="+cookie)
		}
		w := httptest.NewRecorder()
		c := e.NewContext(r, w)
		fl, ok := fc.take(c)
		if sc := w.Result().Cookies(); ok && (len(sc) != 1 || sc[0].Name != flowCookieName || sc[0].MaxAge >= 0) {
			t.Fatalf("flow %+v was taken, but the answer sets cookies %v, want %s deleted", fl, sc, flowCookieName)
		}
		return fl, ok, c.QueryParam("state")
	}
	browser := sha256.Sum256([]byte("the browser's CSRF token"))
	f.Fuzz(func(t *testing.T, rawQuery, cookie, flowState string) {
		// Whatever the browser sends, it is not a flow of ours.
		fl, ok, state := callback(t, rawQuery, cookie)
		if ok {
			t.Fatalf("cookie %q decoded to %+v", cookie, fl)
		}
		if fl != (oauthFlow{}) || flowMatches(fl, "github", state, browser) || flowMatches(fl, "", state, browser) {
			t.Fatalf("an undecodable cookie gave flow %+v that matches state %q", fl, state)
		}

		// A flow we made, carrying the fuzzed state.
		want := oauthFlow{Provider: "github", State: flowState, Mode: modeLogin, Next: string(safeNext("/" + flowState)), Browser: browser}
		setter := e.NewContext(httptest.NewRequest(http.MethodGet, "/auth/github", nil), httptest.NewRecorder())
		if err := fc.set(setter, want); err != nil {
			t.Fatal(err)
		}
		sc := setter.Response().Header().Get("Set-Cookie")
		value, _, _ := strings.Cut(strings.TrimPrefix(sc, flowCookieName+"="), ";")
		got, ok, state := callback(t, rawQuery, value)
		if !ok || got != want {
			t.Fatalf("flow %+v came back as %+v, %v", want, got, ok)
		}
		wantMatch := flowState != "" && state == flowState
		if flowMatches(got, "github", state, browser) != wantMatch {
			t.Fatalf("flow state %q, callback state %q: match = %v, want %v", flowState, state, !wantMatch, wantMatch)
		}
		if flowMatches(got, "google", state, browser) {
			t.Fatalf("a github flow matched a google callback")
		}
		if flowMatches(got, "github", state, sha256.Sum256([]byte("another browser's token"))) {
			t.Fatalf("a flow matched a callback in another browser")
		}
		if tampered := value[:len(value)/2] + "A" + value[len(value)/2+1:]; tampered != value {
			if fl, ok, _ := callback(t, rawQuery, tampered); ok {
				t.Fatalf("tampered cookie %q decoded to %+v", tampered, fl)
			}
		}
	})
}
