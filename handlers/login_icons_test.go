package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// loginIconRE reads the "Log in with:" row: each icon's link, accessible
// name and image. A provider's icon is a form's button, which posts with
// the CSRF token and next (login CSRF): its href here is the form's action
// with the next it carries, as the link had it; the SAML icon is a link to
// the discovery page, which starts nothing.
var loginIconRE = regexp.MustCompile(`(?:<a href="([^"]+)"|<form method="post" action="([^"]+)"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="next" value="([^"]*)"><button type="submit") class="login-icon" aria-label="([^"]+)"[^>]*><img src="([^"]+)" alt=""`)

type shownIcon struct{ href, name, img string }

func loginIcons(t *testing.T, body string) []shownIcon {
	t.Helper()
	var list []shownIcon
	for _, m := range loginIconRE.FindAllStringSubmatch(body, -1) {
		href := m[1]
		if m[2] != "" {
			href = m[2] + "?next=" + url.QueryEscape(html.UnescapeString(m[3]))
		}
		list = append(list, shownIcon{href, m[4], m[5]})
	}
	if got := strings.Count(body, `class="login-icon"`); got != len(list) {
		t.Fatalf("/login: %d login-icon links, %d of them with an aria-label and an img", got, len(list))
	}
	return list
}

// TestLoginIcons: the login page shows exactly the configured providers'
// icons, each named for screen readers, and the SAML icon, leading to
// email-domain discovery, only when a SAML connection exists.
func TestLoginIcons(t *testing.T) {
	t.Run("none configured", func(t *testing.T) {
		body := newApp(t).client(t).get("/login").body
		if icons := loginIcons(t, body); len(icons) != 0 || strings.Contains(body, "Log in with:") {
			t.Errorf("/login without providers: icons %v, want none and no Log in with:", icons)
		}
		if !strings.Contains(body, "<h1>Log in</h1>") || !strings.Contains(body, `<button type="submit">Log in</button>`) {
			t.Errorf("/login: no Log in heading and button in %s", body)
		}
	})
	t.Run("all providers", func(t *testing.T) {
		a, _ := oauthApp(t)
		body := a.client(t).get("/login?next=/accounts/new").body
		want := []shownIcon{
			{"/auth/google?next=%2Faccounts%2Fnew", "Log in with Google", staticURL(t, "icons/google.svg")},
			{"/auth/github?next=%2Faccounts%2Fnew", "Log in with GitHub", staticURL(t, "icons/github.svg")},
			{"/auth/slack?next=%2Faccounts%2Fnew", "Log in with Slack", staticURL(t, "icons/slack.svg")},
			{"/auth/oidc?next=%2Faccounts%2Fnew", "Log in with Acme ID", staticURL(t, "icons/openid.svg")},
		}
		if got := loginIcons(t, body); !slices.Equal(got, want) {
			t.Errorf("/login icons:\n got %v\nwant %v", got, want)
		}
		if !strings.Contains(body, "Log in with:") {
			t.Errorf("/login: no Log in with: heading")
		}
	})
	t.Run("saml", func(t *testing.T) {
		e := newSAMLEnv(t, "", nil)
		c := e.app.client(t)
		icons := loginIcons(t, c.get("/login?next=/profile").body)
		want := []shownIcon{{"/login/saml?next=%2fprofile", "Log in with SAML single sign-on", staticURL(t, "icons/saml.svg")}}
		if !slices.Equal(icons, want) {
			t.Fatalf("/login icons with a SAML connection:\n got %v\nwant %v", icons, want)
		}
		page := c.get(icons[0].href)
		if page.status != http.StatusOK || !strings.Contains(page.body, `id="login-saml-form"`) || !strings.Contains(page.body, `name="next" value="/profile"`) {
			t.Errorf("GET %s: got %d, want the email-domain discovery form keeping next; body %s", icons[0].href, page.status, page.body)
		}
		for _, ic := range icons {
			if res := c.get(ic.img); res.status != http.StatusOK || !strings.Contains(res.body, "<svg") {
				t.Errorf("GET %s: got %d, want the SVG", ic.img, res.status)
			}
		}
	})
}

// TestStaticVersions: every vendored file in static/VERSIONS has the
// recorded sha256, and every login icon is recorded there.
func TestStaticVersions(t *testing.T) {
	dir := filepath.Join("..", "static")
	b, err := os.ReadFile(filepath.Join(dir, "VERSIONS"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[2], "sha256:") {
			t.Errorf("VERSIONS line %q: want <file> <source> sha256:<hex>", line)
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f[0])))
		if err != nil {
			t.Errorf("VERSIONS names %s: %v", f[0], err)
			continue
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != f[2] {
			t.Errorf("%s: %s, VERSIONS says %s", f[0], got, f[2])
		}
		seen[f[0]] = true
	}
	icons, err := filepath.Glob(filepath.Join(dir, "icons", "*.svg"))
	if err != nil || len(icons) == 0 {
		t.Fatalf("static/icons: %v, %v", icons, err)
	}
	for _, p := range icons {
		if name := "icons/" + filepath.Base(p); !seen[name] {
			t.Errorf("%s is not in static/VERSIONS", name)
		}
	}
	for _, name := range []string{"htmx.min.js", "pico.min.css", "icons/google.svg", "icons/github.svg", "icons/slack.svg", "icons/openid.svg", "icons/saml.svg"} {
		if !seen[name] {
			t.Errorf("static/VERSIONS has no line for %s", name)
		}
	}
}
