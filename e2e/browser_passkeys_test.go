package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserPasskeys: a passkey in Chromium, made and used by the DevTools
// virtual authenticator (a platform authenticator with resident keys and
// user verification), through the Passkeys panel, static/passkey.js and
// go-webauthn: added from the panel (htmx), listed, then "Log in with a
// passkey" after logging out; removed, after which it no longer logs in.
// The site is http://localhost:port, as a relying-party id cannot be an
// IP address.
func TestBrowserPasskeys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A passkey added from the panel: htmx swaps the panel in place.
	g := gracesPasskey(t, ctx, false)
	base, tab, authenticator, email, pw := g.base, g.tab, g.authenticator, graceEmail, gracePassword
	tab.wantText(t, "#passkeys .flash.success", "The passkey Grace's laptop is added: it logs you in without a password.")
	tab.wantSamePage(t, "/profile")
	row := browserRow("passkeys", "Grace's laptop")
	tab.wantTextAt(t, row+"/td[3]", "Never")
	if n := tab.credentials(t, authenticator); n != 1 {
		t.Fatalf("virtual authenticator: got %d credentials, want 1", n)
	}

	// Log out: the login page asks for a passkey for the email field's
	// autofill (conditional mediation), which the virtual authenticator,
	// needing no one to pick it, answers at once: signed in again.
	tab.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tab.do(t, "log in by passkey autofill", chromedp.WaitVisible(chromedp.CSS("section#passkeys")))
	tab.wantPath(t, "/profile")
	tab.wantText(t, "main > .flash.success", "You are logged in.")

	// A browser without passkey autofill: the button signs in.
	tab.hideAutofill(t)
	tab.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	if got := tab.eval(t, `document.getElementById('email').getAttribute('autocomplete')`); got != "username webauthn" {
		t.Errorf("email field autocomplete: got %q, want %q (passkey autofill)", got, "username webauthn")
	}
	tab.submit(t, "log in with the passkey", "/profile", chromedp.Click(chromedp.CSS("#passkey-login button[type=submit]")))
	tab.wantText(t, "main > .flash.success", "You are logged in.")
	if got := tab.text(t, chromedp.Search(row+"/td[3]")); got == "Never" || got == "" {
		t.Errorf("last used after the sign-in: got %q, want a time", got)
	}

	// The browser refusing (user verification fails): the error is said
	// next to the button, and nobody is signed in.
	tab.submit(t, "log out again", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tab.setUserVerified(t, authenticator, false)
	tab.do(t, "log in with a passkey the browser refuses",
		chromedp.Click(chromedp.CSS("#passkey-login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login-error")),
	)
	if got := tab.text(t, chromedp.Search(`//*[@id="passkey-login-error"]`)); !strings.Contains(got, "The browser did not use a passkey") {
		t.Errorf("error next to the button: got %q, want the browser's refusal in words", got)
	}
	tab.wantPath(t, "/login")
	tab.setUserVerified(t, authenticator, true)

	// Remove it (signed in with the password), then it no longer logs in.
	tab.signIn(t, base, email, pw)
	tab.markPage(t)
	// Removing a passkey is a sensitive action: the panel turns into the
	// re-authentication prompt, and the password there resumes it.
	tab.do(t, "remove the passkey",
		chromedp.Click(chromedp.Search(row+"//summary[@aria-label=\"Remove passkey Grace's laptop\"]")),
		chromedp.Click(chromedp.Search(row+"//button[normalize-space()=\"Remove passkey Grace's laptop\"]")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys #sudo_password")),
		htmxSettled,
		chromedp.SendKeys(chromedp.CSS("#passkeys #sudo_password"), pw),
		chromedp.Click(chromedp.CSS("#passkeys form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passkeys .flash.success")),
		chromedp.WaitNotPresent(chromedp.Search(row)),
	)
	tab.wantText(t, "#passkeys .flash.success", "The passkey Grace's laptop is removed: it no longer logs you in.")
	tab.wantSamePage(t, "/profile")
	tab.wantCleanConsole(t) // before the refusal below, whose 422 the console reports
	tab.submit(t, "log out a third time", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tab.do(t, "log in with the removed passkey",
		chromedp.Click(chromedp.CSS("#passkey-login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-login-error")),
	)
	tab.wantText(t, "#passkey-login-error", "That passkey was not accepted. Try again, or use another way to log in.")
	tab.wantSignedOut(t, base)
}

// graceEmail and gracePassword are Grace's, who has passkeys.
const (
	graceEmail    = "grace@example.com"
	gracePassword = "compiler harbour lantern 1906"
)

// passkeySite is Roster served at http://localhost:port (a relying-party id
// cannot be an IP address) with Grace signed in, in a Chromium tab with a
// DevTools virtual authenticator.
type passkeySite struct {
	browser       context.Context // Chromium, for more tabs
	base          string
	tab           *browserTab
	authenticator webauthn.AuthenticatorID
}

// gracesPasskey makes a passkeySite and adds Grace's first passkey,
// "Grace's laptop", from the Passkeys panel: adding one is a sensitive
// action, so the browser makes it, then the panel turns into the
// re-authentication prompt and her password there adds it. hideAutofill
// keeps the login page from signing in with the passkey alone.
func gracesPasskey(t *testing.T, ctx context.Context, hideAutofill bool) passkeySite {
	t.Helper()
	base, app := serveBrowserAppAt(t, nil, "localhost")
	createBrowserUser(t, app.Store, "Grace Hopper", graceEmail, gracePassword)
	browser := startChromium(t, ctx)
	tab := newBrowserTab(t, browser, "Grace (Chrome)", browserUAChrome, true, true)
	authenticator := tab.virtualAuthenticator(t)
	if hideAutofill {
		tab.hideAutofill(t)
	}
	tab.signIn(t, base, graceEmail, gracePassword)
	tab.markPage(t)
	tab.do(t, "add a passkey",
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Grace's laptop"),
		chromedp.Click(chromedp.CSS("#add-passkey button[type=submit]")),
		confirmItIsYou("passkeys", gracePassword),
		chromedp.WaitVisible(chromedp.CSS("#passkeys .flash.success")),
	)
	return passkeySite{browser: browser, base: base, tab: tab, authenticator: authenticator}
}

// virtualAuthenticator gives the tab a DevTools virtual authenticator: a
// platform one (internal transport, CTAP2) holding discoverable
// credentials, which verifies its user.
func (tb *browserTab) virtualAuthenticator(t *testing.T) webauthn.AuthenticatorID {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	off := false
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: &off}); err != nil {
		tb.fatalf(t, "enable WebAuthn: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		tb.fatalf(t, "add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// hideAutofill makes the tab's pages see a browser without passkey
// autofill (PublicKeyCredential.isConditionalMediationAvailable false).
func (tb *browserTab) hideAutofill(t *testing.T) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	js := `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		tb.fatalf(t, "hide passkey autofill: %v", err)
	}
}

// credentials counts the passkeys the virtual authenticator holds.
func (tb *browserTab) credentials(t *testing.T, id webauthn.AuthenticatorID) int {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		tb.fatalf(t, "credentials of the virtual authenticator: %v", err)
	}
	return len(res.Credentials)
}

// setUserVerified makes the virtual authenticator's user verification
// succeed or fail.
func (tb *browserTab) setUserVerified(t *testing.T, id webauthn.AuthenticatorID, ok bool) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: ok}); err != nil {
		tb.fatalf(t, "set user verified: %v", err)
	}
}
