package sso

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/oauthtest"
)

// The protocols alone, each against a fake provider on loopback: no router,
// no database. The round trips through Roster's routes are in handlers.

const callbackBase = "https://roster.example.com/auth/"

// provider is the configuration of a login at fake f.
func provider(key, name string, f *oauthtest.IdP) Provider {
	p := Provider{Key: key, Name: name, ClientID: f.ClientID, ClientSecret: f.Secret, Issuer: f.Server.URL}
	if f.Kind == "github" {
		p.Issuer, p.GitHubURL = "", f.Server.URL
	}
	return p
}

func newProviders(list ...Provider) *Providers {
	return NewProviders(list, &http.Client{Timeout: 10 * time.Second}, func(key string) string { return callbackBase + key + "/callback" })
}

// signIn goes to the provider and back as a browser would, and returns
// who Finish says signed in.
func signIn(t *testing.T, ps *Providers, p Provider, f *oauthtest.IdP) (db.External, error) {
	t.Helper()
	ctx := context.Background()
	l, err := ps.Login(ctx, p)
	if err != nil {
		t.Fatalf("login %s: %v", p.Key, err)
	}
	flow := NewFlow()
	to, session, err := l.Start(flow)
	if err != nil {
		t.Fatalf("start %s: %v", p.Key, err)
	}
	flow.Session = session
	back, err := url.Parse(f.AuthorizeURL(t, to))
	if err != nil {
		t.Fatal(err)
	}
	if want := "/auth/" + p.Key + "/callback"; back.Path != want || back.Query().Get("state") != flow.State {
		t.Fatalf("provider sent the browser to %s, want %s with the flow's state", back, want)
	}
	return l.Finish(ctx, flow, back.Query().Get("code"))
}

func TestLogins(t *testing.T) {
	tests := []struct {
		key, name, kind string
		user            oauthtest.User
		want            db.External
	}{
		{"google", "Google", "oidc", oauthtest.User{Sub: "101", Email: " ann@example.com ", Verified: true, Name: "Ann Lee"},
			db.External{Provider: "google", Subject: "101", Email: "ann@example.com", EmailVerified: true, DisplayName: "Ann Lee"}},
		{"slack", "Slack", "slack", oauthtest.User{Sub: "U7", Email: "bo@example.com", Verified: true, Team: "T0TEAM"},
			db.External{Provider: "slack", Subject: "T0TEAM-U7", Email: "bo@example.com", EmailVerified: true}},
		{"oidc", "Acme ID", "oidc", oauthtest.User{Sub: "s-1", Email: "cy@example.com", Name: strings.Repeat("é", 120)},
			db.External{Provider: "oidc:Acme ID", Subject: "s-1", Email: "cy@example.com", DisplayName: strings.Repeat("é", 100)}},
		{"github", "GitHub", "github", oauthtest.User{Sub: "42", Email: "di@example.com", Verified: true, Name: "Di"},
			db.External{Provider: "github", Subject: "42", Email: "di@example.com", EmailVerified: true, DisplayName: "Di"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			f := oauthtest.New(t, tt.kind)
			p := provider(tt.key, tt.name, f)
			f.SignInAs(tt.user)
			got, err := signIn(t, newProviders(p), p, f)
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestOIDCClaims: what the ID token says, completed by userinfo, and what
// makes it refused.
func TestOIDCClaims(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		edit     func(claims map[string]any)
		email    string
		verified bool
		refused  bool
	}{
		{"email_verified as a string", "oidc", func(c map[string]any) { c["email_verified"] = "true" }, "ann@example.com", true, false},
		{"Google's older verified_email", "google", func(c map[string]any) {
			c["email"], c["verified_email"] = "token@example.com", true
			delete(c, "email_verified")
		}, "token@example.com", true, false},
		{"verified_email from another provider", "oidc", func(c map[string]any) {
			c["email"], c["verified_email"] = "token@example.com", true
			delete(c, "email_verified")
		}, "token@example.com", false, false},
		{"userinfo vouches only for its own address", "oidc", func(c map[string]any) {
			c["email"] = "token@example.com"
			delete(c, "email_verified")
		}, "token@example.com", false, false},
		{"the nonce of another sign-in", "oidc", func(c map[string]any) { c["nonce"] = "another" }, "", false, true},
		{"no sub", "oidc", func(c map[string]any) { c["sub"] = "" }, "", false, true},
		{"Slack without its team", "slack", func(c map[string]any) { c["https://slack.com/team_id"] = "" }, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kind := "oidc"
			if tt.key == Slack {
				kind = "slack"
			}
			f := oauthtest.New(t, kind)
			p := provider(tt.key, "Some ID", f)
			f.Change(func() { f.Mint = f.Resign(tt.edit) })
			f.SignInAs(oauthtest.User{Sub: "9001", Email: "ann@example.com", Verified: true, Team: "T0TEAM"})
			ext, err := signIn(t, newProviders(p), p, f)
			if tt.refused {
				if err == nil {
					t.Fatalf("got %+v, want refused", ext)
				}
				return
			}
			if err != nil || ext.Email != tt.email || ext.EmailVerified != tt.verified {
				t.Fatalf("got %+v, %v; want %s verified %v", ext, err, tt.email, tt.verified)
			}
		})
	}
}

// TestOIDCIDTokenForged: a token signed by someone else, or MACed with the
// issuer's public key, never verifies, whatever discovery advertises.
func TestOIDCIDTokenForged(t *testing.T) {
	forger, err := oauthtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := oauthtest.New(t, "oidc")
	p := provider("oidc", "Acme ID", f)
	ps := newProviders(p)
	f.SignInAs(oauthtest.User{Sub: "1", Email: "ann@example.com", Verified: true})
	for _, mint := range []func(map[string]any) string{
		oauthtest.SignedBy(t, forger, oauthtest.RS256Header("k1")),
		oauthtest.HS256(oauthtest.Key().PublicKey.N.Bytes()),
	} {
		f.Change(func() { f.Mint, f.Algs = mint, []string{"RS256", "HS256", "none"} })
		if ext, err := signIn(t, ps, p, f); err == nil {
			t.Fatalf("forged ID token accepted: %+v", ext)
		}
	}
}

// TestDiscovery: an issuer that is down is asked again by the next Login;
// the first discovery that works is kept; a document over 1 MiB is cut;
// an issuer that names itself with a trailing slash is taken at its word.
func TestDiscovery(t *testing.T) {
	ctx := context.Background()
	f := oauthtest.New(t, "oidc")
	p := provider("oidc", "Acme ID", f)
	ps := newProviders(p)
	f.Change(func() { f.Down = true })
	if _, err := ps.Login(ctx, p); err == nil {
		t.Fatal("issuer down: Login worked")
	}
	f.Change(func() { f.Down, f.Padding = false, 1<<20 })
	if _, err := ps.Login(ctx, p); err == nil {
		t.Fatal("discovery document over 1 MiB: Login worked")
	}
	f.Change(func() { f.Padding = 1<<20 - 4096 })
	if _, err := ps.Login(ctx, p); err != nil {
		t.Fatalf("discovery document just under 1 MiB: %v", err)
	}
	f.Change(func() { f.Down = true })
	if _, err := ps.Login(ctx, p); err != nil {
		t.Fatalf("issuer down after a discovery worked: %v", err)
	}
	f.Change(func() {
		if f.Discoveries != 3 {
			t.Errorf("discoveries: got %d, want 3", f.Discoveries)
		}
	})

	slash := oauthtest.New(t, "oidc")
	slash.Change(func() { slash.Issuer = slash.Server.URL + "/" })
	sp := provider("oidc", "Slash", slash)
	slash.SignInAs(oauthtest.User{Sub: "2", Email: "bo@example.com", Verified: true})
	if ext, err := signIn(t, newProviders(sp), sp, slash); err != nil || ext.Subject != "2" {
		t.Fatalf("issuer with a trailing slash: got %+v, %v", ext, err)
	}
}

func TestUnknownProvider(t *testing.T) {
	if p, ok := newProviders(Provider{Key: "google"}).Get("github"); ok {
		t.Fatalf("Get(github) = %+v, want none", p)
	}
}
