package handlers

import (
	"cmp"
	"context"
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
)

// Keys of the external-login providers, as they appear in /auth/{provider}.
const (
	ProviderGoogle = "google"
	ProviderGitHub = "github"
	ProviderSlack  = "slack"
	ProviderOIDC   = "oidc"
)

// OAuthProvider is one configured OAuth 2.0 or OpenID Connect login.
type OAuthProvider struct {
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
func (p OAuthProvider) identityProvider() string {
	if p.Key == ProviderOIDC {
		return "oidc:" + p.Name
	}
	return p.Key
}

// providerLabel names the provider of a stored identity for people.
func providerLabel(provider string) string {
	switch {
	case provider == ProviderGoogle:
		return "Google"
	case provider == ProviderGitHub:
		return "GitHub"
	case provider == ProviderSlack:
		return "Slack"
	case strings.HasPrefix(provider, "oidc:"):
		return strings.TrimPrefix(provider, "oidc:")
	case strings.HasPrefix(provider, "saml:"):
		return "SAML"
	}
	return provider
}

// login is the protocol of one provider: OpenID Connect (oidcLogin, for
// Google, Slack and the generic provider) or GitHub's OAuth app
// (githubLogin).
type login interface {
	// start returns where to send the person for flow f, and what the
	// callback needs back from the flow cookie.
	start(f oauthFlow) (to, session string, err error)
	// finish trades the callback's code for the person's identity.
	finish(ctx context.Context, f oauthFlow, code string) (db.External, error)
}

// providerSet holds the configured external logins. Each one is made on
// first use: OpenID Connect ones need their issuer's discovery document,
// and an issuer that is down must neither hold up start-up nor stop the
// other ways to sign in. A failed discovery is tried again by the next
// request; one that worked is kept.
type providerSet struct {
	list     []OAuthProvider
	client   *http.Client
	callback func(key string) string
	slots    map[string]*providerSlot
}

type providerSlot struct {
	mu    sync.Mutex
	login login
}

func newProviderSet(list []OAuthProvider, client *http.Client, callback func(string) string) *providerSet {
	limited := *client
	limited.Transport = cappedBodies{next: cmp.Or[http.RoundTripper](client.Transport, http.DefaultTransport)}
	ps := &providerSet{list: list, client: &limited, callback: callback, slots: map[string]*providerSlot{}}
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

// get returns the configured provider with key.
func (ps *providerSet) get(key string) (OAuthProvider, bool) {
	for _, p := range ps.list {
		if p.Key == key {
			return p, true
		}
	}
	return OAuthProvider{}, false
}

// login returns p's protocol, making it on first use.
func (ps *providerSet) login(ctx context.Context, p OAuthProvider) (login, error) {
	slot := ps.slots[p.Key]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.login != nil {
		return slot.login, nil
	}
	callback := ps.callback(p.Key)
	var l login
	if p.Key == ProviderGitHub {
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
	p        OAuthProvider
	client   *http.Client
	gp       *github.Provider
	emailURL string // GitHub's /user/emails
}

func newGitHubLogin(p OAuthProvider, client *http.Client, callback string) *githubLogin {
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

func (l *githubLogin) start(f oauthFlow) (string, string, error) {
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

// finish reads the person's GitHub account. Its email counts as verified
// only when /user/emails says GitHub verified it.
func (l *githubLogin) finish(ctx context.Context, f oauthFlow, code string) (db.External, error) {
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
