package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/proctest"
)

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, proctest.Env(nil))
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Addr", cfg.Addr, ":8080"},
		{"DB", cfg.DB, "roster.db"},
		{"BaseURL", cfg.BaseURL, "http://localhost:8080"},
		{"baseURL", cfg.baseURL.String(), "http://localhost:8080"},
		{"Secret", cfg.Secret, ""},
		{"Signup", cfg.Signup, "open"},
		{"Demo", cfg.Demo, false},
		{"SMTPURL", cfg.SMTPURL, ""},
		{"MailFrom", cfg.MailFrom, "Roster <roster@localhost>"},
		{"TrustedProxies", len(cfg.trustedProxies()), 0},
		{"MetricsAddr", cfg.MetricsAddr, ""},
		{"SessionIdle", cfg.SessionIdle, 7 * 24 * time.Hour},
		{"SessionAbsolute", cfg.SessionAbsolute, 30 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

// configSetting is one ROSTER_* variable: a value for it, another for its
// flag, and what each turns into.
type configSetting struct {
	env, flag        string
	value, flagValue string
	get              func(config) any
	want, flagWant   any
}

var secret32 = strings.Repeat("s", 32)

// Two API tokens of the shortest accepted length.
var apiToken1, apiToken2 = strings.Repeat("a", 32), strings.Repeat("b", 32)

var configSettings = []configSetting{
	{"ROSTER_ADDR", "addr", "127.0.0.1:9000", "127.0.0.1:9001",
		func(c config) any { return c.Addr }, "127.0.0.1:9000", "127.0.0.1:9001"},
	{"ROSTER_DB", "db", "/data/roster.db", "/tmp/other.db",
		func(c config) any { return c.DB }, "/data/roster.db", "/tmp/other.db"},
	{"ROSTER_BASE_URL", "base-url", "https://roster.example.com/", "http://127.0.0.1:8080/app/",
		func(c config) any { return c.baseURL.String() }, "https://roster.example.com", "http://127.0.0.1:8080/app"},
	{"ROSTER_SECRET", "secret", secret32, strings.Repeat("t", 40),
		func(c config) any { return c.Secret }, secret32, strings.Repeat("t", 40)},
	{"ROSTER_SIGNUP", "signup", "invite", "closed",
		func(c config) any { return c.Signup }, "invite", "closed"},
	{"ROSTER_DEMO", "demo", "1", "0",
		func(c config) any { return c.Demo }, true, false},
	{"ROSTER_LITEFS", "litefs", "yes", "false",
		func(c config) any { return c.LiteFS }, true, false},
	{"ROSTER_SMTP_URL", "smtp-url", "smtp://user:pass@mail.example.com:587", "smtps://mail.example.com",
		func(c config) any { return c.SMTPURL }, "smtp://user:pass@mail.example.com:587", "smtps://mail.example.com"},
	{"ROSTER_MAIL_FROM", "mail-from", "Roster <no-reply@example.com>", "ops@example.com",
		func(c config) any { return c.MailFrom }, "Roster <no-reply@example.com>", "ops@example.com"},
	{"ROSTER_TRUSTED_PROXIES", "trusted-proxies", "10.0.0.0/8, fd00::/8", "192.168.1.0/24",
		func(c config) any { return len(c.trustedProxies()) }, 2, 1},
	{"ROSTER_METRICS_ADDR", "metrics-addr", "127.0.0.1:9090", ":9091",
		func(c config) any { return c.MetricsAddr }, "127.0.0.1:9090", ":9091"},
	{"ROSTER_DNS_RESOLVER", "dns-resolver", "127.0.0.1:5353", "[::1]:53",
		func(c config) any { return c.DNSResolver }, "127.0.0.1:5353", "[::1]:53"},
	{"ROSTER_SESSION_IDLE", "session-idle", "24h", "1h30m",
		func(c config) any { return c.SessionIdle }, 24 * time.Hour, 90 * time.Minute},
	{"ROSTER_SESSION_MAX", "session-max", "240h", "2160h",
		func(c config) any { return c.SessionAbsolute }, 240 * time.Hour, 2160 * time.Hour},
	{"ROSTER_SIGNIN_WAIT", "signin-wait", "5s", "500ms",
		func(c config) any { return c.SigninWait }, 5 * time.Second, 500 * time.Millisecond},
	{"ROSTER_GOOGLE_CLIENT_ID", "google-client-id", "g-id", "g-id-2",
		func(c config) any { return c.GoogleClientID }, "g-id", "g-id-2"},
	{"ROSTER_GOOGLE_CLIENT_SECRET", "google-client-secret", "g-secret", "g-secret-2",
		func(c config) any { return c.GoogleClientSecret }, "g-secret", "g-secret-2"},
	{"ROSTER_GITHUB_CLIENT_ID", "github-client-id", "gh-id", "gh-id-2",
		func(c config) any { return c.GitHubClientID }, "gh-id", "gh-id-2"},
	{"ROSTER_GITHUB_CLIENT_SECRET", "github-client-secret", "gh-secret", "gh-secret-2",
		func(c config) any { return c.GitHubClientSecret }, "gh-secret", "gh-secret-2"},
	{"ROSTER_GITHUB_URL", "github-url", "https://github.example.com/", "http://127.0.0.1:3000",
		func(c config) any { return c.GitHubURL }, "https://github.example.com", "http://127.0.0.1:3000"},
	{"ROSTER_SLACK_CLIENT_ID", "slack-client-id", "s-id", "s-id-2",
		func(c config) any { return c.SlackClientID }, "s-id", "s-id-2"},
	{"ROSTER_SLACK_CLIENT_SECRET", "slack-client-secret", "s-secret", "s-secret-2",
		func(c config) any { return c.SlackClientSecret }, "s-secret", "s-secret-2"},
	{"ROSTER_SLACK_ISSUER", "slack-issuer", "https://slack.example.com/", "http://localhost:9000",
		func(c config) any { return c.SlackIssuer }, "https://slack.example.com", "http://localhost:9000"},
	{"ROSTER_OIDC_NAME", "oidc-name", "Okta", " Keycloak ",
		func(c config) any { return c.OIDCName }, "Okta", "Keycloak"},
	{"ROSTER_OIDC_ISSUER", "oidc-issuer", "https://example.okta.com/", "https://id.example.com/realms/main",
		func(c config) any { return c.OIDCIssuer }, "https://example.okta.com", "https://id.example.com/realms/main"},
	{"ROSTER_OIDC_CLIENT_ID", "oidc-client-id", "o-id", "o-id-2",
		func(c config) any { return c.OIDCClientID }, "o-id", "o-id-2"},
	{"ROSTER_OIDC_CLIENT_SECRET", "oidc-client-secret", "o-secret", "o-secret-2",
		func(c config) any { return c.OIDCClientSecret }, "o-secret", "o-secret-2"},
	{"ROSTER_API_TOKEN", "api-token", apiToken1, apiToken2,
		func(c config) any { return c.APIToken }, apiToken1, apiToken2},
	{"ROSTER_TWILIO_ACCOUNT_SID", "twilio-account-sid", "AC1", "AC2",
		func(c config) any { return c.TwilioAccountSID }, "AC1", "AC2"},
	{"ROSTER_TWILIO_AUTH_TOKEN", "twilio-auth-token", "t1", "t2",
		func(c config) any { return c.TwilioAuthToken }, "t1", "t2"},
	{"ROSTER_TWILIO_FROM", "twilio-from", "+14155550100", "+14155550101",
		func(c config) any { return c.TwilioFrom }, "+14155550100", "+14155550101"},
	{"ROSTER_TWILIO_API_BASE", "twilio-api-base", "https://twilio.example.com/", "http://127.0.0.1:9999",
		func(c config) any { return c.TwilioAPIBase }, "https://twilio.example.com", "http://127.0.0.1:9999"},
	{"ROSTER_STRIPE_SECRET_KEY", "stripe-secret-key", "sk_test_1", "sk_live_2",
		func(c config) any { return c.StripeSecretKey }, "sk_test_1", "sk_live_2"},
	{"ROSTER_STRIPE_PUBLISHABLE_KEY", "stripe-publishable-key", "pk_test_1", "pk_live_2",
		func(c config) any { return c.StripePublishableKey }, "pk_test_1", "pk_live_2"},
	{"ROSTER_STRIPE_WEBHOOK_SECRET", "stripe-webhook-secret", "whsec_1", "whsec_2",
		func(c config) any { return c.StripeWebhookSecret }, "whsec_1", "whsec_2"},
	{"ROSTER_STRIPE_API_BASE", "stripe-api-base", "https://stripe.example.com/", "http://127.0.0.1:12111",
		func(c config) any { return c.StripeAPIBase }, "https://stripe.example.com", "http://127.0.0.1:12111"},
	{"ROSTER_LITESTREAM_URL", "litestream-url", "file:///data/replica", "s3://roster-backups/prod",
		func(c config) any { return c.LitestreamURL }, "file:///data/replica", "s3://roster-backups/prod"},
	{"ROSTER_LITESTREAM_DIR", "litestream-dir", "/var/lib/litefs/litestream", "/data/litestream",
		func(c config) any { return c.LitestreamDir }, "/var/lib/litefs/litestream", "/data/litestream"},
	{"ROSTER_LITESTREAM_S3_ENDPOINT", "litestream-s3-endpoint", "https://fly.storage.tigris.dev", "http://127.0.0.1:9000",
		func(c config) any { return c.LitestreamEndpoint }, "https://fly.storage.tigris.dev", "http://127.0.0.1:9000"},
	{"ROSTER_STRIPE_JS_URL", "stripe-js-url", "https://js.example.com/v3/", "http://localhost:9000/stripe.js",
		func(c config) any { return c.StripeJSURL }, "https://js.example.com/v3/", "http://localhost:9000/stripe.js"},
}

// configCompanions are the variables a setting is only valid with, such as
// a provider's client secret with its client id.
var configCompanions = map[string]map[string]string{
	"ROSTER_GOOGLE_CLIENT_ID":       {"ROSTER_GOOGLE_CLIENT_SECRET": "x"},
	"ROSTER_GOOGLE_CLIENT_SECRET":   {"ROSTER_GOOGLE_CLIENT_ID": "x"},
	"ROSTER_GITHUB_CLIENT_ID":       {"ROSTER_GITHUB_CLIENT_SECRET": "x"},
	"ROSTER_GITHUB_CLIENT_SECRET":   {"ROSTER_GITHUB_CLIENT_ID": "x"},
	"ROSTER_SLACK_CLIENT_ID":        {"ROSTER_SLACK_CLIENT_SECRET": "x"},
	"ROSTER_SLACK_CLIENT_SECRET":    {"ROSTER_SLACK_CLIENT_ID": "x"},
	"ROSTER_TWILIO_ACCOUNT_SID":     twilioEnv,
	"ROSTER_TWILIO_AUTH_TOKEN":      twilioEnv,
	"ROSTER_TWILIO_FROM":            twilioEnv,
	"ROSTER_OIDC_NAME":              oidcEnv,
	"ROSTER_OIDC_ISSUER":            oidcEnv,
	"ROSTER_OIDC_CLIENT_ID":         oidcEnv,
	"ROSTER_OIDC_CLIENT_SECRET":     oidcEnv,
	"ROSTER_LITESTREAM_S3_ENDPOINT": {"ROSTER_LITESTREAM_URL": "s3://roster-backups/prod"},
	"ROSTER_STRIPE_SECRET_KEY":      {"ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_x"},
	"ROSTER_STRIPE_PUBLISHABLE_KEY": {"ROSTER_STRIPE_SECRET_KEY": "sk_test_x"},
}

var twilioEnv = map[string]string{
	"ROSTER_TWILIO_ACCOUNT_SID": "AC1", "ROSTER_TWILIO_AUTH_TOKEN": "t1", "ROSTER_TWILIO_FROM": "+14155550100",
}

var oidcEnv = map[string]string{
	"ROSTER_OIDC_NAME": "Okta", "ROSTER_OIDC_ISSUER": "https://example.okta.com",
	"ROSTER_OIDC_CLIENT_ID": "x", "ROSTER_OIDC_CLIENT_SECRET": "x",
}

// settingEnv is the environment of a test of one setting: its value and
// its companions.
func settingEnv(s configSetting) map[string]string {
	env := map[string]string{}
	for k, v := range configCompanions[s.env] {
		env[k] = v
	}
	env[s.env] = s.value
	return env
}

func TestParseConfigEnv(t *testing.T) {
	for _, s := range configSettings {
		t.Run(s.env, func(t *testing.T) {
			cfg, err := parseConfig(nil, proctest.Env(settingEnv(s)))
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if got := s.get(cfg); got != s.want {
				t.Errorf("%s=%q: got %#v, want %#v", s.env, s.value, got, s.want)
			}
		})
	}
}

func TestDemoFlagAlone(t *testing.T) {
	cfg, err := parseConfig([]string{"-demo"}, proctest.Env(nil))
	if err != nil || !cfg.Demo {
		t.Fatalf("-demo: got Demo=%v, %v; want true", cfg.Demo, err)
	}
	cfg, err = parseConfig([]string{"-litefs"}, proctest.Env(nil))
	if err != nil || !cfg.LiteFS {
		t.Fatalf("-litefs: got LiteFS=%v, %v; want true", cfg.LiteFS, err)
	}
	if cfg, _ := parseConfig(nil, proctest.Env(nil)); cfg.LiteFS {
		t.Error("LiteFS is on by default, want off")
	}
}

func TestParseConfigFlagOverridesEnv(t *testing.T) {
	for _, s := range configSettings {
		t.Run(s.flag, func(t *testing.T) {
			// -flag=value works for every flag, the boolean-style -demo included.
			cfg, err := parseConfig([]string{"-" + s.flag + "=" + s.flagValue}, proctest.Env(settingEnv(s)))
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if got := s.get(cfg); got != s.flagWant {
				t.Errorf("%s=%q -%s %q: got %#v, want %#v", s.env, s.value, s.flag, s.flagValue, got, s.flagWant)
			}
		})
	}
}

// TestConfigSettingsComplete keeps the tables above in step with options:
// a new variable without a test fails here.
func TestConfigSettingsComplete(t *testing.T) {
	tested := map[string]bool{}
	for _, s := range configSettings {
		tested[s.env] = true
	}
	for _, o := range options {
		if !tested[o.env] {
			t.Errorf("%s (-%s) has no row in configSettings", o.env, o.flag)
		}
	}
}

func TestParseConfigDemoValues(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "true": true, "YES": true, "0": false, "false": false, "no": false} {
		cfg, err := parseConfig(nil, proctest.Env(map[string]string{"ROSTER_DEMO": v}))
		if err != nil {
			t.Errorf("ROSTER_DEMO=%q: %v", v, err)
			continue
		}
		if cfg.Demo != want {
			t.Errorf("ROSTER_DEMO=%q: got %v, want %v", v, cfg.Demo, want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		env   map[string]string
		args  []string
		want  string // the error starts with this
		never string // must not appear in the error (a secret)
	}{
		{env: map[string]string{"ROSTER_BASE_URL": "ftp://x"}, want: "ROSTER_BASE_URL"},
		{env: map[string]string{"ROSTER_BASE_URL": "not a url"}, want: "ROSTER_BASE_URL"},
		{env: map[string]string{"ROSTER_BASE_URL": "https://"}, want: "ROSTER_BASE_URL"},
		{env: map[string]string{"ROSTER_BASE_URL": "https://x.example/?q=1"}, want: "ROSTER_BASE_URL"},
		{env: map[string]string{"ROSTER_SIGNUP": "maybe"}, want: "ROSTER_SIGNUP"},
		{env: map[string]string{"ROSTER_SECRET": "short-secret"}, want: "ROSTER_SECRET", never: "short-secret"},
		{env: map[string]string{"ROSTER_API_TOKEN": "hunter2-api-token-too-short"}, want: "ROSTER_API_TOKEN", never: "hunter2"},
		{env: map[string]string{"ROSTER_SMTP_URL": "http://x"}, want: "ROSTER_SMTP_URL"},
		{env: map[string]string{"ROSTER_SMTP_URL": "smtp://user:hunter2-secret@mail.example.com:99999"}, want: "ROSTER_SMTP_URL", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_SMTP_URL": "smtp://user:hunter2-secret@mail example.com"}, want: "ROSTER_SMTP_URL", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_TRUSTED_PROXIES": "abc"}, want: "ROSTER_TRUSTED_PROXIES"},
		{env: map[string]string{"ROSTER_TRUSTED_PROXIES": "10.0.0.0/8,abc"}, want: "ROSTER_TRUSTED_PROXIES"},
		{env: map[string]string{"ROSTER_SESSION_IDLE": "-1h"}, want: "ROSTER_SESSION_IDLE"},
		{env: map[string]string{"ROSTER_SESSION_IDLE": "a week"}, want: "ROSTER_SESSION_IDLE"},
		{env: map[string]string{"ROSTER_SESSION_MAX": "0s"}, want: "ROSTER_SESSION_MAX"},
		{env: map[string]string{"ROSTER_SIGNIN_WAIT": "0s"}, want: "ROSTER_SIGNIN_WAIT"},
		{env: map[string]string{"ROSTER_SESSION_IDLE": "48h", "ROSTER_SESSION_MAX": "24h"}, want: "ROSTER_SESSION_MAX"},
		{env: map[string]string{"ROSTER_DEMO": "perhaps"}, want: "ROSTER_DEMO"},
		{env: map[string]string{"ROSTER_LITEFS": "on"}, want: "ROSTER_LITEFS"},
		{env: map[string]string{"ROSTER_METRICS_ADDR": "9090"}, want: "ROSTER_METRICS_ADDR"},
		{env: map[string]string{"ROSTER_METRICS_ADDR": ":8080"}, want: "ROSTER_METRICS_ADDR"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "/data/replica"}, want: "ROSTER_LITESTREAM_URL"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "file://data/replica"}, want: "ROSTER_LITESTREAM_URL"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "file:///"}, want: "ROSTER_LITESTREAM_URL"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "gs://bucket/path"}, want: "ROSTER_LITESTREAM_URL"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3:///path"}, want: "ROSTER_LITESTREAM_URL"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3://AKIA:hunter2-secret@bucket/path"}, want: "ROSTER_LITESTREAM_URL", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_LITESTREAM_S3_ENDPOINT": "http://127.0.0.1:9000"}, want: "ROSTER_LITESTREAM_S3_ENDPOINT"},
		{env: map[string]string{"ROSTER_LITESTREAM_DIR": "litestream"}, want: "ROSTER_LITESTREAM_DIR"},
		// On LiteFS, Litestream's state cannot be in the mount.
		{env: map[string]string{"ROSTER_LITEFS": "1", "ROSTER_DB": "/litefs/roster.db", "ROSTER_LITESTREAM_URL": "file:///data/replica"}, want: "ROSTER_LITESTREAM_DIR"},
		{env: map[string]string{"ROSTER_LITEFS": "1", "ROSTER_DB": "/litefs/roster.db", "ROSTER_LITESTREAM_URL": "file:///data/replica", "ROSTER_LITESTREAM_DIR": "/litefs/state"}, want: "ROSTER_LITESTREAM_DIR"},
		{env: map[string]string{"ROSTER_LITEFS": "1", "ROSTER_DB": "/litefs/roster.db", "ROSTER_LITESTREAM_DIR": "/litefs"}, want: "ROSTER_LITESTREAM_DIR"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3://bucket/path", "ROSTER_LITESTREAM_S3_ENDPOINT": "minio:9000"}, want: "ROSTER_LITESTREAM_S3_ENDPOINT"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3://bucket/path", "AWS_ENDPOINT_URL_S3": "storage.example.com"}, want: "AWS_ENDPOINT_URL_S3"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3://bucket/path", "AWS_ACCESS_KEY_ID": "AKIA"}, want: "AWS_ACCESS_KEY_ID"},
		{env: map[string]string{"ROSTER_LITESTREAM_URL": "s3://bucket/path", "AWS_CA_BUNDLE": "/etc/ca.pem"}, want: "AWS_CA_BUNDLE"},
		{args: []string{"-signup", "maybe"}, want: "ROSTER_SIGNUP"},
		{args: []string{"-session-idle", "-1h"}, want: "ROSTER_SESSION_IDLE"},
		{args: []string{"-addr", ""}, want: "ROSTER_ADDR"},
		{args: []string{"-db", ""}, want: "ROSTER_DB"},
		{args: []string{"extra"}, want: "serve: unexpected argument"},
		{env: map[string]string{"ROSTER_GOOGLE_CLIENT_ID": "id"}, want: "ROSTER_GOOGLE_CLIENT_SECRET"},
		{env: map[string]string{"ROSTER_GOOGLE_CLIENT_SECRET": "hunter2-secret"}, want: "ROSTER_GOOGLE_CLIENT_ID", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_GITHUB_CLIENT_ID": "id"}, want: "ROSTER_GITHUB_CLIENT_SECRET"},
		{env: map[string]string{"ROSTER_GITHUB_CLIENT_SECRET": "hunter2-secret"}, want: "ROSTER_GITHUB_CLIENT_ID", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_GITHUB_URL": "http://github.example.com"}, want: "ROSTER_GITHUB_URL"},
		{env: map[string]string{"ROSTER_GITHUB_URL": "https://github.example.com/?x=1"}, want: "ROSTER_GITHUB_URL"},
		{env: map[string]string{"ROSTER_SLACK_CLIENT_ID": "id"}, want: "ROSTER_SLACK_CLIENT_SECRET"},
		{env: map[string]string{"ROSTER_SLACK_CLIENT_SECRET": "hunter2-secret"}, want: "ROSTER_SLACK_CLIENT_ID", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_SLACK_ISSUER": "not a url"}, want: "ROSTER_SLACK_ISSUER"},
		{env: map[string]string{"ROSTER_OIDC_NAME": "Okta"}, want: "ROSTER_OIDC_ISSUER"},
		{env: map[string]string{"ROSTER_OIDC_NAME": "Okta", "ROSTER_OIDC_ISSUER": "https://example.okta.com", "ROSTER_OIDC_CLIENT_ID": "id"}, want: "ROSTER_OIDC_CLIENT_SECRET"},
		{env: map[string]string{"ROSTER_OIDC_NAME": "Okta", "ROSTER_OIDC_ISSUER": "ftp://example.okta.com", "ROSTER_OIDC_CLIENT_ID": "id", "ROSTER_OIDC_CLIENT_SECRET": "hunter2-secret"}, want: "ROSTER_OIDC_ISSUER", never: "hunter2-secret"},
		{env: map[string]string{"ROSTER_OIDC_NAME": "Ok\tta", "ROSTER_OIDC_ISSUER": "https://example.okta.com", "ROSTER_OIDC_CLIENT_ID": "id", "ROSTER_OIDC_CLIENT_SECRET": "s"}, want: "ROSTER_OIDC_NAME"},
	}
	for _, tt := range tests {
		name := fmt.Sprint(tt.env, tt.args)
		t.Run(name, func(t *testing.T) {
			_, err := parseConfig(tt.args, proctest.Env(tt.env))
			if err == nil {
				t.Fatalf("got no error, want one starting with %s", tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want) {
				t.Errorf("got %q, want it to start with %s", msg, tt.want)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("got %q, want one line", msg)
			}
			if tt.never != "" && strings.Contains(msg, tt.never) {
				t.Errorf("got %q, which repeats the secret %q", msg, tt.never)
			}
		})
	}
}

// TestOAuthProviders: a provider is offered exactly when its keys are set,
// with the settings it needs.
func TestOAuthProviders(t *testing.T) {
	cfg, err := parseConfig(nil, proctest.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.oauthProviders(); len(got) != 0 {
		t.Fatalf("no keys set: got %+v, want no providers", got)
	}
	env := map[string]string{
		"ROSTER_GOOGLE_CLIENT_ID": "g", "ROSTER_GOOGLE_CLIENT_SECRET": "gs",
		"ROSTER_GITHUB_CLIENT_ID": "h", "ROSTER_GITHUB_CLIENT_SECRET": "hs", "ROSTER_GITHUB_URL": "https://git.example.com/",
		"ROSTER_SLACK_CLIENT_ID": "s", "ROSTER_SLACK_CLIENT_SECRET": "ss",
	}
	for k, v := range oidcEnv {
		env[k] = v
	}
	cfg, err = parseConfig(nil, proctest.Env(env))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.oauthProviders() {
		got = append(got, fmt.Sprintf("%s %s %s %s%s", p.Key, p.Name, p.ClientID, p.Issuer, p.GitHubURL))
	}
	want := []string{
		"google Google g https://accounts.google.com",
		"github GitHub h https://git.example.com",
		"slack Slack s https://slack.com",
		"oidc Okta x https://example.okta.com",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got providers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
