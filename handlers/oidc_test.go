package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/sso"
)

// The ID token checks of the OpenID Connect logins (Google, Slack and the
// generic provider share them): each case is a provider, or someone in
// its place, handing Roster an ID token it must refuse.

// resign returns a mint that edits the claims and signs them with the
// provider's key, as a real provider would sign a token it should not.
func (f *fakeIdP) resign(edit func(claims map[string]any)) func(map[string]any) string {
	return func(claims map[string]any) string {
		edit(claims)
		return f.sign(claims)
	}
}

// signedBy returns a mint that signs with key under header, whoever
// publishes the key.
func signedBy(t *testing.T, key *rsa.PrivateKey, header map[string]any) func(map[string]any) string {
	return func(claims map[string]any) string { return compactJWS(header, claims, rs256(t, key)) }
}

func rs256Header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
}

// hs256 returns a mint that MACs the token with secret: the key confusion
// attack, where the issuer's public key, which anyone can read, serves as
// an HMAC secret.
func hs256(secret []byte) func(map[string]any) string {
	return func(claims map[string]any) string {
		return compactJWS(map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}, claims, func(input []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return m.Sum(nil)
		})
	}
}

func TestOIDCRefusesBadIDTokens(t *testing.T) {
	forger, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := &testKey().PublicKey
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
		mint func(f *fakeIdP) func(map[string]any) string
		algs []string // advertised by discovery; RS256 when nil
	}{
		{"signed by another key under the issuer's kid", func(f *fakeIdP) func(map[string]any) string {
			return signedBy(t, forger, rs256Header("k1"))
		}, nil},
		{"signed by another key under a kid the issuer does not publish", func(f *fakeIdP) func(map[string]any) string {
			return signedBy(t, forger, rs256Header("forged"))
		}, nil},
		{"signed by another key that the header carries as jwk", func(f *fakeIdP) func(map[string]any) string {
			return signedBy(t, forger, map[string]any{"alg": "RS256", "kid": "k1", "jwk": publicJWK("k1", &forger.PublicKey)})
		}, nil},
		{"alg none", func(f *fakeIdP) func(map[string]any) string {
			return func(claims map[string]any) string {
				return compactJWS(map[string]any{"alg": "none", "typ": "JWT"}, claims, func([]byte) []byte { return nil })
			}
		}, insecure},
		{"HS256 keyed with the issuer's public key as PEM", func(f *fakeIdP) func(map[string]any) string {
			return hs256(pemKey)
		}, insecure},
		{"HS256 keyed with the issuer's public key as PKCS1 DER", func(f *fakeIdP) func(map[string]any) string {
			return hs256(x509.MarshalPKCS1PublicKey(pub))
		}, insecure},
		{"for another client", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) { c["aud"] = "someone-else" })
		}, nil},
		{"for other clients only, in a list", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) { c["aud"] = []string{"someone-else", "and-another"} })
		}, nil},
		{"from another issuer", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) { c["iss"] = "https://evil.example" })
		}, nil},
		{"expired", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			})
		}, nil},
		{"with the nonce of another sign-in", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) { c["nonce"] = "nonce-of-another-sign-in" })
		}, nil},
		{"without a nonce", func(f *fakeIdP) func(map[string]any) string {
			return f.resign(func(c map[string]any) { delete(c, "nonce") })
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
				f.change(func() {
					f.mint = tt.mint(f)
					if tt.algs != nil {
						f.algs = tt.algs
					}
				})
				f.signInAs(person("5001", "victim@example.com", true))
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
	f.change(func() { f.userinfoSub = "someone-else" })
	f.signInAs(person("5002", "victim@example.com", true))
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
			f.signInAs(person("6001", "rotate@example.com", true))
			if res := a.client(t).signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
				t.Fatalf("sign-in before the rotation: got %d; body %s", res.status, res.body)
			}
			newKey, err := rsaKey()
			if err != nil {
				t.Fatal(err)
			}
			var fetches int
			f.change(func() {
				fetches = f.keyFetches
				f.published = map[string]*rsa.PrivateKey{tt.kid: newKey}
				f.signKid, f.signKey = tt.kid, newKey
			})
			c := a.client(t)
			if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || c.profileEmail() != "rotate@example.com" {
				t.Fatalf("sign-in with the new key: got %d, signed in as %q; want 303 as rotate@example.com; body %s",
					res.status, c.profileEmail(), res.body)
			}
			f.change(func() {
				if f.keyFetches <= fetches {
					t.Errorf("key set fetches: got %d after the rotation, want more than %d", f.keyFetches, fetches)
				}
				f.mint = signedBy(t, testKey(), rs256Header("k1"))
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
	f.change(func() { f.down = true })
	if res := c.get("/auth/oidc"); res.status != http.StatusServiceUnavailable {
		t.Fatalf("issuer down: got %d, want 503", res.status)
	}
	f.change(func() { f.down = false })
	f.signInAs(person("7001", "back@example.com", true))
	if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther {
		t.Fatalf("issuer back: got %d, want 303; body %s", res.status, res.body)
	}
	f.change(func() { f.down = true })
	again := a.client(t)
	if res := again.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || again.profileEmail() != "back@example.com" {
		t.Fatalf("discovery down after it worked: got %d, want 303; body %s", res.status, res.body)
	}
	f.change(func() {
		if f.discoveries != 2 {
			t.Errorf("discoveries: got %d, want 2 (one refused, one kept)", f.discoveries)
		}
	})
}

// TestOIDCIssuerTrailingSlash: an issuer that names itself with a trailing
// slash (Auth0 does) works when configured without it, as ROSTER_OIDC_ISSUER
// is normalised; its ID tokens must then carry the issuer it names.
func TestOIDCIssuerTrailingSlash(t *testing.T) {
	f := newFakeIdP(t, "oidc")
	f.change(func() { f.issuer = f.server.URL + "/" })
	oc := oauthCases[3]
	a := newApp(t, func(ac *appConfig) {
		ac.OAuth = []sso.Provider{{Key: oc.key, Name: oc.name, ClientID: f.clientID, ClientSecret: f.secret, Issuer: f.server.URL}}
	})
	f.signInAs(person("8001", "slash@example.com", true))
	c := a.client(t)
	if res := c.signInWith(oc, f, "/profile"); res.status != http.StatusSeeOther || c.profileEmail() != "slash@example.com" {
		t.Fatalf("sign-in: got %d, want 303; body %s", res.status, res.body)
	}
	f.change(func() {
		f.mint = f.resign(func(c map[string]any) { c["iss"] = strings.TrimSuffix(c["iss"].(string), "/") })
	})
	other := a.client(t)
	wantRefused(t, other, other.signInWith(oc, f, "/profile"), http.StatusBadGateway, oc.name+" did not confirm the sign-in")
}

// TestOIDCAnswerTooLarge: an answer of more than 1 MiB is cut, so a
// discovery document that large is not used.
func TestOIDCAnswerTooLarge(t *testing.T) {
	a, fakes := oauthApp(t)
	f := fakes["oidc"]
	f.change(func() { f.padding = 1 << 20 })
	if res := a.client(t).get("/auth/oidc"); res.status != http.StatusServiceUnavailable {
		t.Fatalf("a discovery document over 1 MiB: got %d, want 503", res.status)
	}
	f.change(func() { f.padding = 1<<20 - 4096 })
	if res := a.client(t).get("/auth/oidc"); res.status != http.StatusSeeOther {
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
			f.change(func() { f.mint = f.resign(tt.edit) })
			f.signInAs(person("9001", "info@example.com", true))
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
