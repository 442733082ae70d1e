package sso

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/markbates/goth/providers/github"
	"github.com/rosterhq/roster/db"
	"golang.org/x/oauth2"
)

// Keys of the external-login providers, as they appear in /auth/{provider}.
const (
	Google = "google"
	GitHub = "github"
	Slack  = "slack"
	OIDC   = "oidc"
)

// Provider is one configured OAuth 2.0 or OpenID Connect login.
type Provider struct {
	Key          string // in URLs: google, github, slack or oidc
	Name         string // on buttons: "Log in with <Name>"
	ClientID     string
	ClientSecret string
	// Issuer is the OpenID Connect issuer of google, slack and oidc (Google
	// is https://accounts.google.com), discovered on first use.
	Issuer string
	// GitHubURL is a GitHub Enterprise Server base URL; empty means github.com.
	GitHubURL string
}

// identityProvider is what identities.provider says for p's logins.
func (p Provider) identityProvider() string {
	if p.Key == OIDC {
		return "oidc:" + p.Name
	}
	return p.Key
}

// Flow is what one trip to a provider carries from Start to Finish; the
// caller keeps it in between (Roster, in an encrypted cookie).
type Flow struct {
	State    string
	Verifier string // PKCE code_verifier
	Nonce    string // OpenID Connect nonce
	Session  string // GitHub: goth's session, marshalled, as Start returned it
}

// NewFlow is a fresh flow: a random state and nonce, and a PKCE verifier.
func NewFlow() Flow {
	return Flow{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
}

// Login is the protocol of one provider: OpenID Connect (oidcLogin, for
// Google, Slack and the generic provider) or GitHub's OAuth app
// (githubLogin).
type Login interface {
	// Start returns where to send the person for flow f, and what Finish
	// needs back in f.Session.
	Start(f Flow) (to, session string, err error)
	// Finish trades the callback's code for the person's identity.
	Finish(ctx context.Context, f Flow, code string) (db.External, error)
}

// Providers holds the configured external logins. Each one is made on
// first use: OpenID Connect ones need their issuer's discovery document,
// and an issuer that is down must neither hold up start-up nor stop the
// other ways to sign in. A failed discovery is tried again by the next
// request; one that worked is kept.
type Providers struct {
	list     []Provider
	client   *http.Client
	callback func(key string) string
	slots    map[string]*providerSlot
}

type providerSlot struct {
	mu    sync.Mutex
	login Login
}

// NewProviders holds list; client makes every call to the providers, and
// callback(key) is the redirect URL of the provider with key.
func NewProviders(list []Provider, client *http.Client, callback func(key string) string) *Providers {
	limited := *client
	limited.Transport = cappedBodies{next: cmp.Or[http.RoundTripper](client.Transport, http.DefaultTransport)}
	ps := &Providers{list: list, client: &limited, callback: callback, slots: map[string]*providerSlot{}}
	for _, p := range list {
		ps.slots[p.Key] = &providerSlot{}
	}
	return ps
}

// maxProviderAnswer caps each answer of a provider: go-oidc and oauth2
// read discovery documents, key sets and tokens whole.
const maxProviderAnswer = 1 << 20

// cappedBodies cuts the body of every answer at maxProviderAnswer; a cut
// JSON document no longer parses.
type cappedBodies struct{ next http.RoundTripper }

func (b cappedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := b.next.RoundTrip(r)
	if err == nil {
		res.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(res.Body, maxProviderAnswer), res.Body}
	}
	return res, err
}

// Get returns the configured provider with key.
func (ps *Providers) Get(key string) (Provider, bool) {
	for _, p := range ps.list {
		if p.Key == key {
			return p, true
		}
	}
	return Provider{}, false
}

// Login returns p's protocol, making it on first use.
func (ps *Providers) Login(ctx context.Context, p Provider) (Login, error) {
	slot := ps.slots[p.Key]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.login != nil {
		return slot.login, nil
	}
	callback := ps.callback(p.Key)
	var l Login
	if p.Key == GitHub {
		l = newGitHubLogin(p, ps.client, callback)
	} else {
		ol, err := discoverOIDC(ctx, ps.client, p, callback)
		if err != nil {
			return nil, err
		}
		l = ol
	}
	slot.login = l
	return l, nil
}

// githubLogin is GitHub's OAuth app, at github.com or a GitHub Enterprise
// Server, through goth.
type githubLogin struct {
	p        Provider
	client   *http.Client
	gp       *github.Provider
	emailURL string // GitHub's /user/emails
}

func newGitHubLogin(p Provider, client *http.Client, callback string) *githubLogin {
	web, api := "https://github.com", "https://api.github.com"
	if p.GitHubURL != "" {
		web = strings.TrimSuffix(p.GitHubURL, "/")
		api = web + "/api/v3"
	}
	gp := github.NewCustomisedURL(p.ClientID, p.ClientSecret, callback,
		web+"/login/oauth/authorize", web+"/login/oauth/access_token", api+"/user", api+"/user/emails",
		"read:user", "user:email")
	gp.HTTPClient = client
	return &githubLogin{p: p, client: client, gp: gp, emailURL: api + "/user/emails"}
}

// Start begins goth's session for f's state.
func (l *githubLogin) Start(f Flow) (string, string, error) {
	sess, err := l.gp.BeginAuth(f.State)
	if err != nil {
		return "", "", err
	}
	to, err := sess.GetAuthURL()
	if err != nil {
		return "", "", err
	}
	return to, sess.Marshal(), nil
}

// Finish reads the person's GitHub account. Its email counts as verified
// only when /user/emails says GitHub verified it.
func (l *githubLogin) Finish(ctx context.Context, f Flow, code string) (db.External, error) {
	sess, err := l.gp.UnmarshalSession(f.Session)
	if err != nil {
		return db.External{}, err
	}
	if _, err := sess.Authorize(l.gp, url.Values{"code": {code}}); err != nil {
		return db.External{}, fmt.Errorf("token exchange: %w", err)
	}
	u, err := l.gp.FetchUser(sess)
	// goth gives up when a GitHub user has no verified primary email;
	// githubEmail below looks at every address itself.
	if err != nil && !errors.Is(err, github.ErrNoVerifiedGitHubPrimaryEmail) {
		return db.External{}, fmt.Errorf("fetch user: %w", err)
	}
	if u.UserID == "" || u.UserID == "0" {
		return db.External{}, errors.New("github: the user has no id")
	}
	ext := db.External{
		Provider:    l.p.identityProvider(),
		Subject:     u.UserID,
		Email:       strings.TrimSpace(u.Email),
		DisplayName: displayName(u.Name, strings.TrimSpace(u.FirstName+" "+u.LastName), u.NickName),
	}
	email, verified, err := githubEmail(ctx, l.client, l.emailURL, u.AccessToken)
	if err != nil {
		return ext, err
	}
	if email != "" {
		ext.Email = email
	}
	ext.EmailVerified = verified
	return ext, nil
}

// githubEmail asks GitHub's /user/emails for the person's verified address,
// the primary one first. The email on the public profile proves nothing:
// anyone can type any address there. Without a verified address the
// primary (or first) one is returned, unverified.
func githubEmail(ctx context.Context, client *http.Client, url, token string) (string, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	res, err := client.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("github emails: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("github emails: status %d", res.StatusCode)
	}
	var list []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&list); err != nil {
		return "", false, fmt.Errorf("github emails: %w", err)
	}
	best, bestRank := "", 0
	for _, e := range list {
		rank := 1
		switch {
		case e.Primary && e.Verified:
			rank = 4
		case e.Verified:
			rank = 3
		case e.Primary:
			rank = 2
		}
		if rank > bestRank {
			best, bestRank = e.Email, rank
		}
	}
	return best, bestRank >= 3, nil
}

// displayName is the first of names that is not blank, at most 100
// characters long.
func displayName(names ...string) string {
	var name string
	for _, n := range names {
		if name = strings.TrimSpace(n); name != "" {
			break
		}
	}
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	return name
}
