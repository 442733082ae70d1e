package sso

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/oauthtest"
)

// TestGitHubEmail: the address comes from /user/emails, verified first
// and primary before others; the public profile email proves nothing.
func TestGitHubEmail(t *testing.T) {
	tests := []struct {
		name     string
		emails   []oauthtest.Email
		email    string
		verified bool
	}{
		{"primary and verified", []oauthtest.Email{{Email: "a@example.com", Verified: true}, {Email: "p@example.com", Primary: true, Verified: true}}, "p@example.com", true},
		{"verified beats primary", []oauthtest.Email{{Email: "p@example.com", Primary: true}, {Email: "v@example.com", Verified: true}}, "v@example.com", true},
		{"primary, none verified", []oauthtest.Email{{Email: "o@example.com"}, {Email: "p@example.com", Primary: true}}, "p@example.com", false},
		{"the first, none primary or verified", []oauthtest.Email{{Email: "o@example.com"}, {Email: "q@example.com"}}, "o@example.com", false},
		{"none: the public email, unverified", []oauthtest.Email{}, "public@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := oauthtest.New(t, "github")
			p := provider(GitHub, "GitHub", f)
			f.SignInAs(oauthtest.User{Sub: "7", PublicEmail: "public@example.com", Emails: tt.emails})
			ext, err := signIn(t, newProviders(p), p, f)
			if err != nil || ext.Email != tt.email || ext.EmailVerified != tt.verified {
				t.Fatalf("got %+v, %v; want %s verified %v", ext, err, tt.email, tt.verified)
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	long := strings.Repeat("ä", 99) + "bc"
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"", "  ", " Ann Lee ", "ann"}, "Ann Lee"},
		{[]string{"", ""}, ""},
		{[]string{long}, strings.Repeat("ä", 99) + "b"},
	}
	for _, tt := range tests {
		if got := displayName(tt.names...); got != tt.want {
			t.Errorf("displayName(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}
