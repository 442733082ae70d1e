package main

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/netguard"
)

// googleIssuer is Google's OpenID Connect issuer: Sign in with Google goes
// through its discovery document, like Slack and the generic provider.
const googleIssuer = "https://accounts.google.com"

// validateOAuth checks the external-login settings: a provider is either
// off (none of its keys set) or complete.
func (c *config) validateOAuth() error {
	pairs := []struct{ idEnv, id, secretEnv, secret string }{
		{"ROSTER_GOOGLE_CLIENT_ID", c.GoogleClientID, "ROSTER_GOOGLE_CLIENT_SECRET", c.GoogleClientSecret},
		{"ROSTER_GITHUB_CLIENT_ID", c.GitHubClientID, "ROSTER_GITHUB_CLIENT_SECRET", c.GitHubClientSecret},
		{"ROSTER_SLACK_CLIENT_ID", c.SlackClientID, "ROSTER_SLACK_CLIENT_SECRET", c.SlackClientSecret},
	}
	for _, p := range pairs {
		if err := bothOrNeither(p.idEnv, p.id, p.secretEnv, p.secret); err != nil {
			return err
		}
	}
	if c.GitHubURL != "" {
		u, err := providerURL(c.GitHubURL)
		if err != nil {
			return fmt.Errorf("ROSTER_GITHUB_URL: %v", err)
		}
		c.GitHubURL = u
	}
	u, err := providerURL(c.SlackIssuer)
	if err != nil {
		return fmt.Errorf("ROSTER_SLACK_ISSUER: %v", err)
	}
	c.SlackIssuer = u
	return c.validateOIDC()
}

// validateOIDC checks the generic OpenID Connect provider: all four
// settings or none.
func (c *config) validateOIDC() error {
	oidc := []struct{ env, value string }{
		{"ROSTER_OIDC_NAME", c.OIDCName}, {"ROSTER_OIDC_ISSUER", c.OIDCIssuer},
		{"ROSTER_OIDC_CLIENT_ID", c.OIDCClientID}, {"ROSTER_OIDC_CLIENT_SECRET", c.OIDCClientSecret},
	}
	var set []string
	for _, o := range oidc {
		if o.value != "" {
			set = append(set, o.env)
		}
	}
	if len(set) == 0 {
		return nil
	}
	for _, o := range oidc {
		if o.value == "" {
			return fmt.Errorf("%s: must be set along with %s", o.env, set[0])
		}
	}
	c.OIDCName = strings.TrimSpace(c.OIDCName)
	if n := utf8.RuneCountInString(c.OIDCName); n == 0 || n > 40 || strings.IndexFunc(c.OIDCName, unicode.IsControl) >= 0 {
		return fmt.Errorf("ROSTER_OIDC_NAME: want a name of 1 to 40 characters for the sign-in button, such as Okta")
	}
	u, err := providerURL(c.OIDCIssuer)
	if err != nil {
		return fmt.Errorf("ROSTER_OIDC_ISSUER: %v", err)
	}
	c.OIDCIssuer = u
	return nil
}

func bothOrNeither(idEnv, id, secretEnv, secret string) error {
	switch {
	case id != "" && secret == "":
		return fmt.Errorf("%s: must be set along with %s", secretEnv, idEnv)
	case id == "" && secret != "":
		return fmt.Errorf("%s: must be set along with %s", idEnv, secretEnv)
	}
	return nil
}

// providerURL checks an issuer or server base URL: https, or http for a
// server on this machine (a local test IdP); no query, no trailing slash.
// Its errors do not repeat the URL, which could hold a password.
func providerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("want an https URL")
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !netguard.Loopback(u.Hostname())) {
		return "", fmt.Errorf("want an https URL (http only for localhost)")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// oauthProviders lists the configured external logins, in the order of
// their buttons.
func (c config) oauthProviders() []handlers.OAuthProvider {
	var list []handlers.OAuthProvider
	if c.GoogleClientID != "" {
		list = append(list, handlers.OAuthProvider{Key: handlers.ProviderGoogle, Name: "Google",
			ClientID: c.GoogleClientID, ClientSecret: c.GoogleClientSecret, Issuer: googleIssuer})
	}
	if c.GitHubClientID != "" {
		list = append(list, handlers.OAuthProvider{Key: handlers.ProviderGitHub, Name: "GitHub",
			ClientID: c.GitHubClientID, ClientSecret: c.GitHubClientSecret, GitHubURL: c.GitHubURL})
	}
	if c.SlackClientID != "" {
		list = append(list, handlers.OAuthProvider{Key: handlers.ProviderSlack, Name: "Slack",
			ClientID: c.SlackClientID, ClientSecret: c.SlackClientSecret, Issuer: c.SlackIssuer})
	}
	if c.OIDCClientID != "" {
		list = append(list, handlers.OAuthProvider{Key: handlers.ProviderOIDC, Name: c.OIDCName,
			ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, Issuer: c.OIDCIssuer})
	}
	return list
}
