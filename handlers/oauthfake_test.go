package handlers_test

import (
	"crypto"
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

// fakeIdP is an identity provider on loopback that speaks just enough of
// its protocol for Roster's round trip: an OpenID Connect issuer
// (discovery, authorize, token, userinfo, JWKS, RS256 ID tokens) for
// Google, Slack and the generic provider, or GitHub's OAuth app endpoints
// under a GitHub Enterprise Server base URL.
type fakeIdP struct {
	t        *testing.T
	kind     string // "oidc", "slack" or "github"
	server   *httptest.Server
	clientID string
	secret   string

	// Under mu: who signs in at the next authorize, the codes and access
	// tokens given out, and what tests change to play a provider that
	// misbehaves or rotates its keys.
	mu     sync.Mutex
	next   fakeUser
	grants map[string]fakeGrant
	tokens map[string]fakeUser
	// issuer is what discovery and the ID tokens name: the server's URL
	// unless a test changes it.
	issuer string
	// published are the keys of the JWKS, by kid; signKid and signKey
	// sign the ID tokens.
	published map[string]*rsa.PrivateKey
	signKid   string
	signKey   *rsa.PrivateKey
	// algs is the discovery document's id_token_signing_alg_values_supported.
	algs []string
	// mint, when set, makes the ID token from its claims instead of sign.
	mint func(claims map[string]any) string
	// userinfoSub, when set, is the sub userinfo answers with.
	userinfoSub string
	// down makes discovery answer 503; padding adds that many bytes to it.
	down    bool
	padding int
	// discoveries and keyFetches count the requests for those documents.
	discoveries, keyFetches int
}

// fakeUser is a person at the provider.
type fakeUser struct {
	Sub      string // GitHub: a number
	Email    string
	Verified bool
	Name     string
	Team     string // Slack workspace
	// GitHub only: the public profile email and the /user/emails list;
	// without Emails, /user/emails lists Email as primary with Verified.
	PublicEmail string
	Emails      []fakeEmail
}

type fakeEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type fakeGrant struct {
	user                          fakeUser
	redirectURI, challenge, nonce string
}

// testKey is the fake issuers' signing key, made once per test binary.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsaKey()
	if err != nil {
		panic(err)
	}
	return k
})

func rsaKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func newFakeIdP(t *testing.T, kind string) *fakeIdP {
	f := &fakeIdP{t: t, kind: kind, clientID: "roster-" + kind, secret: "secret-" + kind,
		grants: map[string]fakeGrant{}, tokens: map[string]fakeUser{},
		published: map[string]*rsa.PrivateKey{"k1": testKey()}, signKid: "k1", signKey: testKey(), algs: []string{"RS256"}}
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
	f.server = httptest.NewServer(mux)
	f.issuer = f.server.URL
	t.Cleanup(f.server.Close)
	return f
}

// change runs fn with f locked, for tests that change how f behaves.
func (f *fakeIdP) change(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// signInAs sets who the next authorize signs in.
func (f *fakeIdP) signInAs(u fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = u
}

func (f *fakeIdP) discovery(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.discoveries++
	down, issuer, algs, padding := f.down, f.issuer, f.algs, f.padding
	f.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	u := f.server.URL
	writeJSON(w, map[string]any{
		"issuer": issuer, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"userinfo_endpoint": u + "/userinfo", "jwks_uri": u + "/jwks",
		"response_types_supported": []string{"code"}, "id_token_signing_alg_values_supported": algs,
		"code_challenge_methods_supported": []string{"S256"}, "x_padding": strings.Repeat(" ", padding),
	})
}

func (f *fakeIdP) jwks(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyFetches++
	keys := []map[string]string{}
	for kid, k := range f.published {
		keys = append(keys, publicJWK(kid, &k.PublicKey))
	}
	writeJSON(w, map[string]any{"keys": keys})
}

// publicJWK is the JSON Web Key of an RSA signing key.
func publicJWK(kid string, pub *rsa.PublicKey) map[string]string {
	b64 := base64.RawURLEncoding
	return map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64.EncodeToString(pub.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// authorize signs in f.next at once and sends the browser back with a code.
func (f *fakeIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.clientID || q.Get("redirect_uri") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if f.kind != "github" && (q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "") {
		http.Error(w, "PKCE and a nonce are required", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	f.mu.Lock()
	f.grants[code] = fakeGrant{user: f.next, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	f.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token trades a code for an access token (and an ID token), once, after
// checking the client, the redirect URI and the PKCE verifier.
func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
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
	case id != f.clientID || secret != f.secret:
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
	if f.kind != "github" {
		claims := f.claims(g.user)
		f.mu.Lock()
		claims["iss"], claims["aud"], claims["nonce"] = f.issuer, f.clientID, g.nonce
		mint := f.mint
		f.mu.Unlock()
		claims["iat"], claims["exp"] = time.Now().Unix(), time.Now().Add(time.Hour).Unix()
		if mint == nil {
			mint = f.sign
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
func (f *fakeIdP) claims(u fakeUser) map[string]any {
	c := map[string]any{"sub": u.Sub, "email": u.Email, "email_verified": u.Verified, "name": u.Name}
	if f.kind == "slack" {
		c["https://slack.com/team_id"] = u.Team
	}
	return c
}

// sign makes a compact RS256 JWS of claims with f.signKey.
func (f *fakeIdP) sign(claims map[string]any) string {
	f.mu.Lock()
	kid, key := f.signKid, f.signKey
	f.mu.Unlock()
	return compactJWS(rs256Header(kid), claims, rs256(f.t, key))
}

// rs256 signs a JWS signing input with key.
func rs256(t *testing.T, key *rsa.PrivateKey) func(input []byte) []byte {
	return func(input []byte) []byte {
		digest := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			t.Errorf("sign id token: %v", err)
		}
		return sig
	}
}

// compactJWS is header.payload.signature, each base64url, with the
// signature that sign makes of the first two.
func compactJWS(header, claims map[string]any, sign func(input []byte) []byte) string {
	b64 := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

// bearer is the user of the request's access token.
func (f *fakeIdP) bearer(w http.ResponseWriter, r *http.Request) (fakeUser, bool) {
	f.mu.Lock()
	u, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "bad token", http.StatusUnauthorized)
	}
	return u, ok
}

func (f *fakeIdP) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	claims := f.claims(u)
	f.mu.Lock()
	if f.userinfoSub != "" {
		claims["sub"] = f.userinfoSub
	}
	f.mu.Unlock()
	writeJSON(w, claims)
}

func (f *fakeIdP) githubUser(w http.ResponseWriter, r *http.Request) {
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

func (f *fakeIdP) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	list := u.Emails
	if list == nil {
		list = []fakeEmail{{Email: u.Email, Primary: true, Verified: u.Verified}}
	}
	writeJSON(w, list)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// viaIdP follows Roster's redirect to the provider (start is the answer to
// GET /auth/x or POST /profile/logins/x), lets the provider sign in, and
// brings the browser back to Roster's callback. It returns the callback's
// answer and the callback's path and query.
func (c *client) viaIdP(f *fakeIdP, start *response) (*response, string) {
	c.t.Helper()
	to := start.header.Get("Location")
	if start.status != http.StatusSeeOther || !strings.HasPrefix(to, f.server.URL+"/") {
		c.t.Fatalf("start: got %d to %q, want 303 to the provider at %s; body %s", start.status, to, f.server.URL, start.body)
	}
	callback := f.authorizeURL(c.t, to)
	return c.get(callback), callback
}

// authorizeURL asks the provider to authorize and returns the path and
// query of the callback it sends the browser to.
func (f *fakeIdP) authorizeURL(t *testing.T, to string) string {
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
