package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/sso"
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

// oauthProviders lists the configured external logins, in the order of
// their buttons.
func (c config) oauthProviders() []sso.Provider {
	var list []sso.Provider
	if c.GoogleClientID != "" {
		list = append(list, sso.Provider{Key: sso.Google, Name: "Google",
			ClientID: c.GoogleClientID, ClientSecret: c.GoogleClientSecret, Issuer: googleIssuer})
	}
	if c.GitHubClientID != "" {
		list = append(list, sso.Provider{Key: sso.GitHub, Name: "GitHub",
			ClientID: c.GitHubClientID, ClientSecret: c.GitHubClientSecret, GitHubURL: c.GitHubURL})
	}
	if c.SlackClientID != "" {
		list = append(list, sso.Provider{Key: sso.Slack, Name: "Slack",
			ClientID: c.SlackClientID, ClientSecret: c.SlackClientSecret, Issuer: c.SlackIssuer})
	}
	if c.OIDCClientID != "" {
		list = append(list, sso.Provider{Key: sso.OIDC, Name: c.OIDCName,
			ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret, Issuer: c.OIDCIssuer})
	}
	return list
}
