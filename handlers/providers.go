package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/openidConnect"
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

// liveProvider is a goth provider ready to use, with the key set of its
// issuer when it speaks OpenID Connect (nil for GitHub).
type liveProvider struct {
	goth.Provider
	keys *keySet
	// emailURL is GitHub's /user/emails endpoint.
	emailURL string
}

// providerSet holds the configured external logins. Each goth provider is
// made on first use: OpenID Connect ones need their issuer's discovery
// document, and an issuer that is down must neither hold up start-up nor
// stop the other ways to sign in. A failed discovery is tried again by the
// next request.
type providerSet struct {
	list     []OAuthProvider
	client   *http.Client
	callback func(key string) string
	slots    map[string]*providerSlot
}

type providerSlot struct {
	mu   sync.Mutex
	live *liveProvider
}

func newProviderSet(list []OAuthProvider, client *http.Client, callback func(string) string) *providerSet {
	ps := &providerSet{list: list, client: client, callback: callback, slots: map[string]*providerSlot{}}
	for _, p := range list {
		ps.slots[p.Key] = &providerSlot{}
	}
	return ps
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

// live returns p's goth provider, making it on first use.
func (ps *providerSet) live(ctx context.Context, p OAuthProvider) (*liveProvider, error) {
	slot := ps.slots[p.Key]
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.live != nil {
		return slot.live, nil
	}
	lp, err := ps.make(ctx, p)
	if err != nil {
		return nil, err
	}
	slot.live = lp
	return lp, nil
}

func (ps *providerSet) make(ctx context.Context, p OAuthProvider) (*liveProvider, error) {
	callback := ps.callback(p.Key)
	if p.Key == ProviderGitHub {
		web, api := "https://github.com", "https://api.github.com"
		if p.GitHubURL != "" {
			web = strings.TrimSuffix(p.GitHubURL, "/")
			api = web + "/api/v3"
		}
		gp := github.NewCustomisedURL(p.ClientID, p.ClientSecret, callback,
			web+"/login/oauth/authorize", web+"/login/oauth/access_token", api+"/user", api+"/user/emails",
			"read:user", "user:email")
		gp.HTTPClient = ps.client
		return &liveProvider{Provider: gp, emailURL: api + "/user/emails"}, nil
	}
	md, err := discover(ctx, ps.client, p.Issuer)
	if err != nil {
		return nil, err
	}
	op, err := openidConnect.NewCustomisedURL(p.ClientID, p.ClientSecret, callback,
		md.AuthorizationEndpoint, md.TokenEndpoint, md.Issuer, md.UserinfoEndpoint, "", "openid", "email", "profile")
	if err != nil {
		return nil, err
	}
	op.SetName(p.Key)
	op.HTTPClient = ps.client
	return &liveProvider{Provider: op, keys: &keySet{uri: md.JWKSURI, client: ps.client}}, nil
}

// external turns what the provider said into the db.External that
// ResolveLogin and LinkIdentity take. The email counts as verified only
// when the provider says so: GitHub through /user/emails, the others
// through the email_verified claim.
func (ps *providerSet) external(ctx context.Context, p OAuthProvider, lp *liveProvider, u goth.User) (db.External, error) {
	ext := db.External{
		Provider:    p.identityProvider(),
		Subject:     u.UserID,
		Email:       strings.TrimSpace(u.Email),
		DisplayName: displayName(u),
	}
	switch p.Key {
	case ProviderGitHub:
		if ext.Subject == "" || ext.Subject == "0" {
			return ext, errors.New("github: the user has no id")
		}
		email, verified, err := githubEmail(ctx, ps.client, lp.emailURL, u.AccessToken)
		if err != nil {
			return ext, err
		}
		if email != "" {
			ext.Email = email
		}
		ext.EmailVerified = verified
	case ProviderSlack:
		// Slack's sub is a user id within a workspace: the workspace makes
		// it a stable subject across workspaces.
		team, _ := u.RawData["https://slack.com/team_id"].(string)
		if team == "" || ext.Subject == "" {
			return ext, errors.New("slack: the id token has no team_id or sub")
		}
		ext.Subject = team + "-" + ext.Subject
		ext.EmailVerified = claimTrue(u.RawData["email_verified"])
	default:
		if ext.Subject == "" {
			return ext, fmt.Errorf("%s: the id token has no sub", p.Key)
		}
		// Google's older userinfo said verified_email.
		ext.EmailVerified = claimTrue(u.RawData["email_verified"]) || (p.Key == ProviderGoogle && claimTrue(u.RawData["verified_email"]))
	}
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

// claimTrue reads a boolean claim, which some providers send as a string.
func claimTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}

func displayName(u goth.User) string {
	name := strings.TrimSpace(cmp.Or(u.Name, strings.TrimSpace(u.FirstName+" "+u.LastName), u.NickName))
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	return name
}
