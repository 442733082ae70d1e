package handlers_test

import (
	"context"
	"net/http"
	"testing"
)

// TestSAMLTrustedOnlyForItsOwnProfiles: an account's identity provider is
// trusted to have asked its own second factor for the profiles it made (a
// SAML sign-in that created the profile), not for a profile someone made
// and protected themselves. Alice signed up with her own password and
// turned two-factor on; she is no member of Acme. Acme's Admins verify
// example.com and their IdP answers for alice@example.com: Roster asks
// Alice's own second factor (the second step), and starts no session.
// A profile the IdP made keeps no second step after SAML, even once its
// owner turned two-factor on (the rule for the account's people).
func TestSAMLTrustedOnlyForItsOwnProfiles(t *testing.T) {
	t.Parallel()
	t.Run("a profile of its own", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, "", nil)
		alice := e.app.verify(t, e.app.seedUser(t, "Alice", idpEmail, "alice's own roster password"))
		preReleaseTwoFactor(t, e.app, alice.ID)
		verifyDomain(t, e, "example.com")
		b := e.app.client(t)
		res := e.postACS(b, e.idpResponse(t, b))
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login/two-factor" {
			t.Errorf("ACS for a profile with its own two-factor: got %d to %q, want 303 to the second step", res.status, res.header.Get("Location"))
		}
		if got := b.profileEmail(); got != "" {
			t.Fatalf("the IdP of an account Alice is not in opened her profile (%q) without her second factor", got)
		}
	})
	t.Run("a profile the IdP made", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, "", nil)
		verifyDomain(t, e, "example.com")
		first := e.app.client(t)
		if res := e.postACS(first, e.idpResponse(t, first)); res.status != http.StatusSeeOther || first.profileEmail() != idpEmail {
			t.Fatalf("first SAML sign-in: got %d, signed in to %q; want the new profile", res.status, first.profileEmail())
		}
		made, err := e.app.store.UserByEmail(context.Background(), idpEmail)
		if err != nil {
			t.Fatal(err)
		}
		preReleaseTwoFactor(t, e.app, made.ID)
		b := e.app.client(t)
		res := e.postACS(b, e.idpResponse(t, b))
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" || b.profileEmail() != idpEmail {
			t.Fatalf("SAML sign-in to a profile the IdP made, with two-factor on: got %d to %q, signed in to %q; want /profile without a second step",
				res.status, res.header.Get("Location"), b.profileEmail())
		}
	})
}
