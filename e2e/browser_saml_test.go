package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
)

// TestBrowserSAML logs in through a SAML connection in Chromium: the login
// page's "Log in with:" icons (Google, GitHub, Slack and an OpenID Connect
// provider configured, and SAML since a connection exists), each loaded
// and named, the SAML icon to /login/saml,
// the email there, samlidp's real login form, its self-posting response
// page, and the profile with the account the connection brought the
// person into.
func TestBrowserSAML(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base, store := startBrowserApp(t, map[string]string{
		"ROSTER_GITHUB_CLIENT_ID": "gh-id", "ROSTER_GITHUB_CLIENT_SECRET": "gh-secret",
		"ROSTER_SLACK_CLIENT_ID": "slack-id", "ROSTER_SLACK_CLIENT_SECRET": "slack-secret",
		"ROSTER_GOOGLE_CLIENT_ID": "google-id", "ROSTER_GOOGLE_CLIENT_SECRET": "google-secret",
		// Discovery happens on first use, so a name that never resolves is fine.
		"ROSTER_OIDC_NAME": "Acme ID", "ROSTER_OIDC_ISSUER": "https://id.acme.test",
		"ROSTER_OIDC_CLIENT_ID": "acme-id", "ROSTER_OIDC_CLIENT_SECRET": "acme-secret",
	})
	idp := samltest.New(t, nil)
	idp.AddUser(t, "grace", "grace@example.com", "Grace Hopper", "compiler cobol navy 1906")

	owner, err := store.CreateUser(ctx, db.NewUser{Email: "owner@acme.test", Name: "Owner", Verified: true}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := store.CreateAccount(ctx, owner.ID, "Acme Research", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	metadata := httpGet(t, idp.URL+"/metadata")
	conn, err := store.CreateSAMLConnection(ctx, acc.ID, owner.ID, db.NewSAMLConnection{
		Name: "Test IdP", IdPMetadataXML: metadata, IdPEntityID: idp.URL + "/metadata",
		EmailDomains: []string{"example.com"}, DefaultRole: db.RoleNormal,
	}, db.Event{Kind: db.EventSAMLConnectionAdded})
	if err != nil {
		t.Fatal(err)
	}
	// Only a verified domain routes from /login/saml and makes profiles.
	if err := store.VerifySAMLDomain(ctx, conn.ID, "example.com", db.Event{Kind: db.EventSAMLDomainVerified}); err != nil {
		t.Fatal(err)
	}
	idp.Register(t, "roster", []byte(httpGet(t, base+"/saml/"+strconv.FormatInt(conn.ID, 10)+"/metadata")))

	browserCtx := startChromium(t, ctx)
	tab := newBrowserTab(t, browserCtx, "SAML tab", browserUAChrome, true, false)
	tab.navigate(t, base+"/login", "#sso-buttons")
	tab.wantText(t, "#login-with-heading", "Log in with:")
	// Each icon: its accessible name (what a screen reader says for the
	// link) and whether its SVG loaded under the CSP.
	const want = "Log in with Google /auth/google loaded; Log in with GitHub /auth/github loaded; Log in with Slack /auth/slack loaded; " +
		"Log in with Acme ID /auth/oidc loaded; Log in with SAML single sign-on /login/saml loaded"
	var icons string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// A provider's icon is a form's button (a sign-in starts from a
		// POST): its path is the form's action; the SAML icon is a link.
		icons = tab.eval(t, `[...document.querySelectorAll('#sso-buttons .login-icon')].map(a => {
			const img = a.querySelector('img');
			return a.getAttribute('aria-label') + ' ' + new URL(a.href || a.form.action).pathname + ' ' + (img.complete && img.naturalWidth > 0 ? 'loaded' : 'missing');
		}).join('; ')`)
		if icons == want || time.Now().After(deadline) {
			break
		}
	}
	if icons != want {
		tab.fatalf(t, "login icons: %q, want %q", icons, want)
	}
	// `make screenshot`: the login screen with every kind of provider.
	if dir := browserShotDir(); dir != "" {
		tab.fullScreenshot(t, 1200, base+"/login", "#sso-buttons", filepath.Join(dir, "screenshot-login.png"))
	}
	tab.submit(t, "open SAML single sign-on from its icon", "/login/saml",
		chromedp.Click(chromedp.CSS(`#sso-buttons a[href^="/login/saml"]`)),
	)
	tab.submit(t, "go to the IdP", "/sso",
		chromedp.SendKeys(chromedp.CSS("#saml-email"), "grace@example.com"),
		chromedp.Click(chromedp.CSS("#login-saml-form button[type=submit]")),
	)
	tab.do(t, "log in at the IdP and come back",
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "grace"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "compiler cobol navy 1906"),
		chromedp.Click(chromedp.CSS(`input[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("section#my-accounts")),
	)
	tab.wantPath(t, "/profile")
	tab.wantText(t, "main > .flash.success", "You are logged in.")
	accounts := tab.eval(t, `document.querySelector('section#my-accounts').textContent`)
	if !strings.Contains(accounts, "Acme Research") || !strings.Contains(accounts, "Normal") {
		tab.fatalf(t, "#my-accounts is %q, want Acme Research with the role Normal", strings.Join(strings.Fields(accounts), " "))
	}
	tab.wantCleanConsole(t)
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d, %v", u, res.StatusCode, err)
	}
	return string(b)
}
