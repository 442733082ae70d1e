package handlers_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/oauthtest"
	"github.com/rosterhq/roster/sso"
)

// The ID token checks of the OpenID Connect logins (Google, Slack and the
// generic provider share them): each case is a provider, or someone in
// its place, handing Roster an ID token it must refuse.

func TestOIDCRefusesBadIDTokens(t *testing.T) {
	forger, err := oauthtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := &oauthtest.Key().PublicKey
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	// insecure is what a careless issuer's discovery document could list:
	// it must not widen what Roster accepts.
	insecure := []string{"RS256", "HS256", "none"}
	tests := []struct {
		name string
		mint func(f *oauthtest.IdP) func(map[string]any) string
		algs []string // advertised by discovery; RS256 when nil
	}{
		{"signed by another key under the issuer's kid", func(f *oauthtest.IdP) func(map[string]any) string {
			return oauthtest.SignedBy(t, forger, oauthtest.RS256Header("k1"))
		}, nil},
		{"signed by another key under a kid the issuer does not publish", func(f *oauthtest.IdP) func(map[string]any) string {
			return oauthtest.SignedBy(t, forger, oauthtest.RS256Header("forged"))
		}, nil},
		{"signed by another key that the header carries as jwk", func(f *oauthtest.IdP) func(map[string]any) string {
			return oauthtest.SignedBy(t, forger, map[string]any{"alg": "RS256", "kid": "k1", "jwk": oauthtest.PublicJWK("k1", &forger.PublicKey)})
		}, nil},
		{"alg none", func(f *oauthtest.IdP) func(map[string]any) string {
			return func(claims map[string]any) string {
				return oauthtest.CompactJWS(map[string]any{"alg": "none", "typ": "JWT"}, claims, func([]byte) []byte { return nil })
			}
		}, insecure},
		{"HS256 keyed with the issuer's public key as PEM", func(f *oauthtest.IdP) func(map[string]any) string {
			return oauthtest.HS256(pemKey)
		}, insecure},
		{"HS256 keyed with the issuer's public key as PKCS1 DER", func(f *oauthtest.IdP) func(map[string]any) string {
			return oauthtest.HS256(x509.MarshalPKCS1PublicKey(pub))
		}, insecure},
		{"for another client", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) { c["aud"] = "someone-else" })
		}, nil},
		{"for other clients only, in a list", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) { c["aud"] = []string{"someone-else", "and-another"} })
		}, nil},
		{"from another issuer", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) { c["iss"] = "https://evil.example" })
		}, nil},
		{"expired", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			})
		}, nil},
		{"with the nonce of another sign-in", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) { c["nonce"] = "nonce-of-another-sign-in" })
		}, nil},
		{"without a nonce", func(f *oauthtest.IdP) func(map[string]any) string {
			return f.Resign(func(c map[string]any) { delete(c, "nonce") })
		}, nil},
	}
	for _, oc := range oauthCases {
		if oc.kind == "github" {
			continue
		}
		for _, tt := range tests {
			t.Run(oc.key+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				a, fakes := oauthApp(t)
				f := fakes[oc.key]
				f.Change(func() {
					f.Mint = tt.mint(f)
					if tt.algs != nil {
						f.Algs = tt.algs
					}
				})
				f.SignInAs(person("5001", "victim@example.com", true))
				c := a.client(t)
				res := c.signInWith(oc, f, "/profile")
				wantRefused(t, c, res, http.StatusBadGateway, oc.name+" did not confirm the sign-in")
				if _, err := a.store.UserByEmail(context.Background(), "victim@example.com"); !errors.Is(err, db.ErrNotFound) {
					t.Fatalf("user after a bad ID token: got %v, want none", err)
				}
			})
		}
	}
}

// TestOIDCUserinfoOfAnotherSubject: userinfo that speaks of someone else
// than the ID token is not used (OpenID Connect Core 5.3.2).
func TestOIDCUserinfoOfAnotherSubject(t *testing.T) {
	a, fakes := oauthApp(t)
	oc, f := oauthCases[3], fakes["oidc"]
	f.Change(func() { f.UserinfoSub = "someone-else" })
	f.SignInAs(person("5002", "victim@example.com", true))
	c := a.client(t)
	wantRefused(t, c, c.signInWith(oc, f, "/profile"), http.StatusBadGateway, oc.name+" did not confirm the sign-in")
}

// TestOIDCKeyRotation: the issuer replaces its signing key. The next ID
// token, signed with the new key, is verified once Roster fetched the new
// key set; a token signed with the retired key is refused from then on.
func TestOIDCKeyRotation(t *testing.T) {
	for _, tt := range []struct{ name, kid string }{{"new kid", "k2"}, {"same kid", "k1"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, fakes := oauthApp(t)
			oc, f := oauthCases[3], fakes["oidc"]
			f.SignInAs(person("6001", "rotate@example.com", true))
			if res := a.client(t).signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
				t.Fatalf("sign-in before the rotation: got %d; body %s", res.status, res.body)
			}
			newKey, err := oauthtest.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			var fetches int
			f.Change(func() {
				fetches = f.KeyFetches
				f.Published = map[string]*rsa.PrivateKey{tt.kid: newKey}
				f.SignKid, f.SignKey = tt.kid, newKey
			})
			c := a.client(t)
			if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || c.profileEmail() != "rotate@example.com" {
				t.Fatalf("sign-in with the new key: got %d, logged in as %q; want 303 as rotate@example.com; body %s",
					res.status, c.profileEmail(), res.body)
			}
			f.Change(func() {
				if f.KeyFetches <= fetches {
					t.Errorf("key set fetches: got %d after the rotation, want more than %d", f.KeyFetches, fetches)
				}
				f.Mint = oauthtest.SignedBy(t, oauthtest.Key(), oauthtest.RS256Header("k1"))
			})
			old := a.client(t)
			wantRefused(t, old, old.signInWith(oc, f, "/profile"), http.StatusBadGateway, oc.name+" did not confirm the sign-in")
		})
	}
}

// TestOIDCDiscoveryRetried: an issuer that is down makes its button answer
// 503 until it is back; the first discovery that works is kept, so the
// issuer's discovery being down later changes nothing.
func TestOIDCDiscoveryRetried(t *testing.T) {
	a, fakes := oauthApp(t)
	oc, f := oauthCases[3], fakes["oidc"]
	c := a.client(t)
	f.Change(func() { f.Down = true })
	if res := c.startSignIn("/auth/oidc"); res.status != http.StatusServiceUnavailable {
		t.Fatalf("issuer down: got %d, want 503", res.status)
	}
	f.Change(func() { f.Down = false })
	f.SignInAs(person("7001", "back@example.com", true))
	if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
		t.Fatalf("issuer back: got %d, want 303; body %s", res.status, res.body)
	}
	f.Change(func() { f.Down = true })
	again := a.client(t)
	if res := again.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || again.profileEmail() != "back@example.com" {
		t.Fatalf("discovery down after it worked: got %d, want 303; body %s", res.status, res.body)
	}
	f.Change(func() {
		if f.Discoveries != 2 {
			t.Errorf("discoveries: got %d, want 2 (one refused, one kept)", f.Discoveries)
		}
	})
}

// TestOIDCIssuerTrailingSlash: an issuer that names itself with a trailing
// slash (Auth0 does) works when configured without it, as ROSTER_OIDC_ISSUER
// is normalised; its ID tokens must then carry the issuer it names.
func TestOIDCIssuerTrailingSlash(t *testing.T) {
	f := oauthtest.New(t, "oidc")
	f.Change(func() { f.Issuer = f.Server.URL + "/" })
	oc := oauthCases[3]
	a := newApp(t, func(ac *appConfig) {
		ac.OAuth = []sso.Provider{{Key: oc.key, Name: oc.name, ClientID: f.ClientID, ClientSecret: f.Secret, Issuer: f.Server.URL}}
	})
	f.SignInAs(person("8001", "slash@example.com", true))
	c := a.client(t)
	if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || c.profileEmail() != "slash@example.com" {
		t.Fatalf("sign-in: got %d, want 303; body %s", res.status, res.body)
	}
	f.Change(func() {
		f.Mint = f.Resign(func(c map[string]any) { c["iss"] = strings.TrimSuffix(c["iss"].(string), "/") })
	})
	other := a.client(t)
	wantRefused(t, other, other.signInWith(oc, f, "/profile"), http.StatusBadGateway, oc.name+" did not confirm the sign-in")
}

// TestOIDCAnswerTooLarge: an answer of more than 1 MiB is cut, so a
// discovery document that large is not used.
func TestOIDCAnswerTooLarge(t *testing.T) {
	a, fakes := oauthApp(t)
	f := fakes["oidc"]
	f.Change(func() { f.Padding = 1 << 20 })
	if res := a.client(t).startSignIn("/auth/oidc"); res.status != http.StatusServiceUnavailable {
		t.Fatalf("a discovery document over 1 MiB: got %d, want 503", res.status)
	}
	f.Change(func() { f.Padding = 1<<20 - 4096 })
	if res := a.client(t).startSignIn("/auth/oidc"); res.status != http.StatusSeeOther {
		t.Fatalf("a discovery document just under 1 MiB: got %d, want 303", res.status)
	}
}

// TestOIDCEmailFromUserinfo: userinfo completes an ID token without an
// email, but its email_verified vouches only for the address it names.
func TestOIDCEmailFromUserinfo(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(claims map[string]any)
		email    string
		verified bool
	}{
		{"no email in the ID token", func(c map[string]any) { delete(c, "email"); delete(c, "email_verified") }, "info@example.com", true},
		{"no email_verified in the ID token", func(c map[string]any) { delete(c, "email_verified") }, "info@example.com", true},
		{"another email in the ID token", func(c map[string]any) {
			c["email"] = "token@example.com"
			delete(c, "email_verified")
		}, "token@example.com", false},
		{"the ID token says unverified", func(c map[string]any) { c["email_verified"] = false }, "info@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, fakes := oauthApp(t)
			oc, f := oauthCases[3], fakes["oidc"]
			f.Change(func() { f.Mint = f.Resign(tt.edit) })
			f.SignInAs(person("9001", "info@example.com", true))
			c := a.client(t)
			if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
				t.Fatalf("sign-in: got %d, want 303; body %s", res.status, res.body)
			}
			u, err := a.store.UserByEmail(context.Background(), tt.email)
			if err != nil || u.EmailVerified() != tt.verified {
				t.Fatalf("new profile %s: got %+v, %v; want email verified %v", tt.email, u, err, tt.verified)
			}
		})
	}
}
