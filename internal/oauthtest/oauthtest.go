// Package oauthtest runs a fake OAuth 2.0 provider on loopback for Roster's
// tests: an OpenID Connect issuer, or GitHub's OAuth app, that a test can
// make misbehave (forged or re-signed ID tokens, rotated keys, an issuer
// that is down). Only tests import it.
package oauthtest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IdP is an identity provider on loopback that speaks just enough of
// its protocol for Roster's round trip: an OpenID Connect issuer
// (discovery, authorize, token, userinfo, JWKS, RS256 ID tokens) for
// Google, Slack and the generic provider, or GitHub's OAuth app endpoints
// under a GitHub Enterprise Server base URL.
type IdP struct {
	t        *testing.T
	Kind     string // "oidc", "slack" or "github"
	Server   *httptest.Server
	ClientID string
	Secret   string

	// Under mu: who signs in at the next authorize, the codes and access
	// tokens given out, and what tests change (through Change) to play a
	// provider that misbehaves or rotates its keys.
	mu     sync.Mutex
	next   User
	grants map[string]grant
	tokens map[string]User
	// Issuer is what discovery and the ID tokens name: the server's URL
	// unless a test changes it.
	Issuer string
	// Published are the keys of the JWKS, by kid; SignKid and SignKey
	// sign the ID tokens.
	Published map[string]*rsa.PrivateKey
	SignKid   string
	SignKey   *rsa.PrivateKey
	// Algs is the discovery document's id_token_signing_alg_values_supported.
	Algs []string
	// Mint, when set, makes the ID token from its claims instead of Sign.
	Mint func(claims map[string]any) string
	// UserinfoSub, when set, is the sub userinfo answers with.
	UserinfoSub string
	// Down makes discovery answer 503; Padding adds that many bytes to it.
	Down    bool
	Padding int
	// Discoveries and KeyFetches count the requests for those documents.
	Discoveries, KeyFetches int
}

// User is a person at the provider.
type User struct {
	Sub      string // GitHub: a number
	Email    string
	Verified bool
	Name     string
	Team     string // Slack workspace
	// GitHub only: the public profile email and the /user/emails list;
	// without Emails, /user/emails lists Email as primary with Verified.
	PublicEmail string
	Emails      []Email
}

// Email is one address of GitHub's /user/emails.
type Email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type grant struct {
	user                          User
	redirectURI, challenge, nonce string
}

// signingKey is the fake issuers' signing key, made once per test binary.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := NewKey()
	if err != nil {
		panic(err)
	}
	return k
})

// Key is the key every fake issuer signs with until a test changes it.
func Key() *rsa.PrivateKey { return signingKey() }

// NewKey makes another RSA signing key.
func NewKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// New starts a provider of kind ("oidc", "slack" or "github") on loopback;
// it stops when the test ends.
func New(t *testing.T, kind string) *IdP {
	f := &IdP{t: t, Kind: kind, ClientID: "roster-" + kind, Secret: "secret-" + kind,
		grants: map[string]grant{}, tokens: map[string]User{},
		Published: map[string]*rsa.PrivateKey{"k1": Key()}, SignKid: "k1", SignKey: Key(), Algs: []string{"RS256"}}
	mux := http.NewServeMux()
	if kind == "github" {
		mux.HandleFunc("GET /login/oauth/authorize", f.authorize)
		mux.HandleFunc("POST /login/oauth/access_token", f.token)
		mux.HandleFunc("GET /api/v3/user", f.githubUser)
		mux.HandleFunc("GET /api/v3/user/emails", f.githubEmails)
	} else {
		mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
		mux.HandleFunc("GET /jwks", f.jwks)
		mux.HandleFunc("GET /authorize", f.authorize)
		mux.HandleFunc("POST /token", f.token)
		mux.HandleFunc("GET /userinfo", f.userinfo)
	}
	f.Server = httptest.NewServer(mux)
	f.Issuer = f.Server.URL
	t.Cleanup(f.Server.Close)
	return f
}

// Change runs fn with f locked, for tests that change how f behaves.
func (f *IdP) Change(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// SignInAs sets who the next authorize signs in.
func (f *IdP) SignInAs(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = u
}

func (f *IdP) discovery(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.Discoveries++
	down, issuer, algs, padding := f.Down, f.Issuer, f.Algs, f.Padding
	f.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	u := f.Server.URL
	writeJSON(w, map[string]any{
		"issuer": issuer, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"userinfo_endpoint": u + "/userinfo", "jwks_uri": u + "/jwks",
		"response_types_supported": []string{"code"}, "id_token_signing_alg_values_supported": algs,
		"code_challenge_methods_supported": []string{"S256"}, "x_padding": strings.Repeat(" ", padding),
	})
}

func (f *IdP) jwks(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.KeyFetches++
	keys := []map[string]string{}
	for kid, k := range f.Published {
		keys = append(keys, PublicJWK(kid, &k.PublicKey))
	}
	writeJSON(w, map[string]any{"keys": keys})
}

// PublicJWK is the JSON Web Key of an RSA signing key.
func PublicJWK(kid string, pub *rsa.PublicKey) map[string]string {
	b64 := base64.RawURLEncoding
	return map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64.EncodeToString(pub.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// authorize signs in f.next at once and sends the browser back with a code.
func (f *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.ClientID || q.Get("redirect_uri") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if f.Kind != "github" && (q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "") {
		http.Error(w, "PKCE and a nonce are required", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	f.mu.Lock()
	f.grants[code] = grant{user: f.next, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	f.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token trades a code for an access token (and an ID token), once, after
// checking the client, the redirect URI and the PKCE verifier.
func (f *IdP) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	g, found := f.grants[r.PostForm.Get("code")]
	delete(f.grants, r.PostForm.Get("code"))
	f.mu.Unlock()
	switch {
	case id != f.ClientID || secret != f.Secret:
		tokenError(w, "invalid_client")
		return
	case !found || r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, "invalid_grant")
		return
	case g.challenge != "":
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			tokenError(w, "invalid_grant")
			return
		}
	}
	access := rand.Text()
	f.mu.Lock()
	f.tokens[access] = g.user
	f.mu.Unlock()
	res := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	if f.Kind != "github" {
		claims := f.claims(g.user)
		f.mu.Lock()
		claims["iss"], claims["aud"], claims["nonce"] = f.Issuer, f.ClientID, g.nonce
		mint := f.Mint
		f.mu.Unlock()
		claims["iat"], claims["exp"] = time.Now().Unix(), time.Now().Add(time.Hour).Unix()
		if mint == nil {
			mint = f.Sign
		}
		res["id_token"] = mint(claims)
	}
	writeJSON(w, res)
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// claims are what the ID token and userinfo say about u.
func (f *IdP) claims(u User) map[string]any {
	c := map[string]any{"sub": u.Sub, "email": u.Email, "email_verified": u.Verified, "name": u.Name}
	if f.Kind == "slack" {
		c["https://slack.com/team_id"] = u.Team
	}
	return c
}

// Sign makes a compact RS256 JWS of claims with f.SignKey.
func (f *IdP) Sign(claims map[string]any) string {
	f.mu.Lock()
	kid, key := f.SignKid, f.SignKey
	f.mu.Unlock()
	return CompactJWS(RS256Header(kid), claims, RS256(f.t, key))
}

// RS256 signs a JWS signing input with key.
func RS256(t *testing.T, key *rsa.PrivateKey) func(input []byte) []byte {
	return func(input []byte) []byte {
		digest := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			t.Errorf("sign id token: %v", err)
		}
		return sig
	}
}

// CompactJWS is header.payload.signature, each base64url, with the
// signature that sign makes of the first two.
func CompactJWS(header, claims map[string]any, sign func(input []byte) []byte) string {
	b64 := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

// bearer is the user of the request's access token.
func (f *IdP) bearer(w http.ResponseWriter, r *http.Request) (User, bool) {
	f.mu.Lock()
	u, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "bad token", http.StatusUnauthorized)
	}
	return u, ok
}

func (f *IdP) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	claims := f.claims(u)
	f.mu.Lock()
	if f.UserinfoSub != "" {
		claims["sub"] = f.UserinfoSub
	}
	f.mu.Unlock()
	writeJSON(w, claims)
}

func (f *IdP) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	id, err := strconv.Atoi(u.Sub)
	if err != nil {
		f.t.Errorf("GitHub user id %q is not a number", u.Sub)
	}
	writeJSON(w, map[string]any{"id": id, "login": "user" + u.Sub, "name": u.Name, "email": u.PublicEmail})
}

func (f *IdP) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	list := u.Emails
	if list == nil {
		list = []Email{{Email: u.Email, Primary: true, Verified: u.Verified}}
	}
	writeJSON(w, list)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// AuthorizeURL asks the provider to authorize and returns the path and
// query of the callback it sends the browser to.
func (f *IdP) AuthorizeURL(t *testing.T, to string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(to)
	if err != nil {
		t.Fatalf("GET %s: %v", to, err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize at the provider: got %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	return back.RequestURI()
}

// RS256Header is the JWS header of an RS256 token signed with key kid.
func RS256Header(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
}

// Resign returns a mint that edits the claims and signs them with the
// provider's key, as a real provider would sign a token it should not.
func (f *IdP) Resign(edit func(claims map[string]any)) func(map[string]any) string {
	return func(claims map[string]any) string {
		edit(claims)
		return f.Sign(claims)
	}
}

// SignedBy returns a mint that signs with key under header, whoever
// publishes the key.
func SignedBy(t *testing.T, key *rsa.PrivateKey, header map[string]any) func(map[string]any) string {
	return func(claims map[string]any) string { return CompactJWS(header, claims, RS256(t, key)) }
}

// HS256 returns a mint that MACs the token with secret: the key confusion
// attack, where the issuer's public key, which anyone can read, serves as
// an HMAC secret.
func HS256(secret []byte) func(map[string]any) string {
	return func(claims map[string]any) string {
		return CompactJWS(map[string]any{"alg": "HS256", "kid": "k1", "typ": "JWT"}, claims, func(input []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return m.Sum(nil)
		})
	}
}
