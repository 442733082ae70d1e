package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/rosterhq/roster/db"
	"golang.org/x/oauth2"
)

// OpenID Connect sign-in (Google, Slack and the generic provider) through
// go-oidc: discovery, and ID tokens checked for signature (against the
// issuer's key set, fetched again when the issuer rotates its keys),
// issuer, audience and expiry. The nonce is ours to check.

// discoveryTimeout bounds one fetch of a discovery document.
const discoveryTimeout = 10 * time.Second

// oidcLogin is one discovered OpenID Connect issuer.
type oidcLogin struct {
	p        Provider
	client   *http.Client
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	config   oauth2.Config
}

// discoverOIDC fetches p's discovery document. go-oidc requires the
// document to name the issuer it was asked for, exactly; an issuer that
// names itself with a trailing slash (Auth0 does), configured without it,
// is taken at its word, since the document came from the configured URL.
func discoverOIDC(ctx context.Context, client *http.Client, p Provider, callback string) (*oidcLogin, error) {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), discoveryTimeout)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, p.Issuer)
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) && mismatch.Discovered == strings.TrimSuffix(p.Issuer, "/")+"/" {
		provider, err = oidc.NewProvider(ctx, mismatch.Discovered)
	}
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", p.Issuer, err)
	}
	return &oidcLogin{
		p:        p,
		client:   client,
		provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: p.ClientID}),
		config: oauth2.Config{
			ClientID:     p.ClientID,
			ClientSecret: p.ClientSecret,
			RedirectURL:  callback,
			Endpoint:     provider.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile},
		},
	}, nil
}

// Start sends the person to the issuer with PKCE (S256) and the nonce the
// ID token must bring back.
func (l *oidcLogin) Start(f Flow) (string, string, error) {
	return l.config.AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce)), "", nil
}

// Finish trades the code for tokens, checks the ID token, and reads who
// signed in from its claims, completed by userinfo.
func (l *oidcLogin) Finish(ctx context.Context, f Flow, code string) (db.External, error) {
	ctx = oidc.ClientContext(ctx, l.client)
	tok, err := l.config.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return db.External{}, fmt.Errorf("token exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return db.External{}, errors.New("the token answer has no id_token")
	}
	idt, err := l.verifier.Verify(ctx, raw)
	if err != nil {
		return db.External{}, fmt.Errorf("id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return db.External{}, errors.New("id token: nonce does not match this sign-in")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return db.External{}, fmt.Errorf("id token claims: %w", err)
	}
	if err := l.userinfo(ctx, tok, idt.Subject, claims); err != nil {
		return db.External{}, err
	}
	return l.external(idt.Subject, claims)
}

// userinfo adds the claims of the userinfo endpoint that the ID token
// lacks. Userinfo about another subject is not used (OpenID Connect Core
// 1.0 section 5.3.2). email_verified speaks of the email beside it, so
// userinfo's counts only for the ID token's address, or when the ID token
// has none.
func (l *oidcLogin) userinfo(ctx context.Context, tok *oauth2.Token, sub string, claims map[string]any) error {
	if l.provider.UserInfoEndpoint() == "" {
		return nil
	}
	info, err := l.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if info.Subject != sub {
		return fmt.Errorf("userinfo: sub %q is not the id token's %q", info.Subject, sub)
	}
	more := map[string]any{}
	if err := info.Claims(&more); err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	if email, ok := claims["email"]; !ok {
		delete(claims, "email_verified")
	} else if more["email"] != email {
		delete(more, "email_verified")
	}
	for k, v := range more {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return nil
}

// external is the identity the claims describe. The email counts as
// verified only when the email_verified claim says so.
func (l *oidcLogin) external(sub string, claims map[string]any) (db.External, error) {
	str := func(name string) string { s, _ := claims[name].(string); return strings.TrimSpace(s) }
	ext := db.External{
		Provider: l.p.identityProvider(),
		Subject:  sub,
		Email:    str("email"),
		// Google's older userinfo said verified_email.
		EmailVerified: claimTrue(claims["email_verified"]) || (l.p.Key == Google && claimTrue(claims["verified_email"])),
		DisplayName: displayName(str("name"), strings.TrimSpace(str("given_name")+" "+str("family_name")),
			str("nickname"), str("preferred_username")),
	}
	if sub == "" {
		return ext, fmt.Errorf("%s: the id token has no sub", l.p.Key)
	}
	if l.p.Key == Slack {
		// Slack's sub is a user id within a workspace: the workspace makes
		// it a stable subject across workspaces.
		team := str("https://slack.com/team_id")
		if team == "" {
			return ext, errors.New("slack: the id token has no team_id")
		}
		ext.Subject = team + "-" + sub
	}
	return ext, nil
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
