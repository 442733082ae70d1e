package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserSudoPasskeyWhileAdding: the re-authentication prompt shown
// when a passkey is being added offers the person's existing passkey, and
// it works in Chromium: static/passkey.js fills the prompt's own
// credential field (the new passkey's is carried under another name) and
// the check keeps its own ceremony, so the passkey being added is added.
func TestBrowserSudoPasskeyWhileAdding(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A first passkey, with the password at the prompt.
	g := gracesPasskey(t, ctx, false)
	tab, authenticator := g.tab, g.authenticator

	// A new session (signed in with the passkey, by autofill) has not
	// re-authenticated: adding another passkey asks again, and the
	// existing passkey answers.
	tab.submit(t, "log out", "/login", openUserMenu, chromedp.Click(chromedp.CSS(`nav#user-menu form[action="/logout"] button`)))
	tab.do(t, "log in by passkey autofill", chromedp.WaitVisible(chromedp.CSS("section#passkeys")))
	tab.wantPath(t, "/profile")
	tab.markPage(t)
	// One authenticator refuses to make a second passkey for a profile it
	// holds one of (the begin excludes it), as a real one does: the
	// laptop's passkey is taken out while the phone's is made, and put
	// back (as it is now, its counter included) for the prompt.
	laptop := tab.takeCredentials(t, authenticator)
	tab.do(t, "add a second passkey",
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Grace's phone"),
		chromedp.Click(chromedp.CSS("#add-passkey button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#passkeys.sudo-prompt form[data-passkey="check"] button[type=submit]`)),
		htmxSettled,
	)
	// A device holds one passkey per profile: the phone's device goes
	// away, and the laptop's comes back (Chromium has one platform
	// authenticator at a time).
	tab.removeAuthenticator(t, authenticator)
	authenticator = tab.virtualAuthenticator(t)
	tab.putCredentials(t, authenticator, laptop)
	tab.do(t, "confirm with the first passkey at the prompt",
		chromedp.Click(chromedp.CSS(`#passkeys.sudo-prompt form[data-passkey="check"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#passkeys .flash.success")),
	)
	tab.wantText(t, "#passkeys .flash.success", "The passkey Grace's phone is added: it logs you in without a password.")
	tab.wantSamePage(t, "/profile")
	tab.wantTextAt(t, browserRow("passkeys", "Grace's phone")+"/td[3]", "Never")
	if n := tab.credentials(t, authenticator); n != 1 {
		t.Errorf("the laptop's authenticator: got %d credentials, want the laptop's", n)
	}
	tab.wantCleanConsole(t)
}

// takeCredentials removes every passkey the virtual authenticator holds
// and returns them, private keys and counters included.
func (tb *browserTab) takeCredentials(t *testing.T, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		tb.fatalf(t, "credentials of the virtual authenticator: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: id}); err != nil {
		tb.fatalf(t, "clear the virtual authenticator: %v", err)
	}
	return res.Credentials
}

// putCredentials gives the virtual authenticator the passkeys back.
func (tb *browserTab) putCredentials(t *testing.T, id webauthn.AuthenticatorID, creds []*webauthn.Credential) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	// cdproto's Credential always sends generateCmtgKeyOnNextOperation,
	// which this authenticator refuses: the fields it takes, alone.
	type credential struct {
		CredentialID         []byte  `json:"credentialId"`
		IsResidentCredential bool    `json:"isResidentCredential"`
		RpID                 string  `json:"rpId"`
		PrivateKey           []byte  `json:"privateKey"`
		UserHandle           []byte  `json:"userHandle,omitempty"`
		SignCount            float64 `json:"signCount"`
	}
	type params struct {
		AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
		Credential      credential               `json:"credential"`
	}
	add := cdp.Command[params, cdp.Empty]{Method: webauthn.CommandAddCredential}
	for _, c := range creds {
		cred := credential{c.CredentialID, c.IsResidentCredential, c.RpID, c.PrivateKey, c.UserHandle, c.SignCount}
		if _, err := chromedp.Call(ctx, add, params{AuthenticatorID: id, Credential: cred}); err != nil {
			tb.fatalf(t, "add a credential to the virtual authenticator: %v", err)
		}
	}
}

// removeAuthenticator takes the virtual authenticator away.
func (tb *browserTab) removeAuthenticator(t *testing.T, id webauthn.AuthenticatorID) {
	t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id}); err != nil {
		tb.fatalf(t, "remove the virtual authenticator: %v", err)
	}
}
