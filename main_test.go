package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/logtest"
	"github.com/rosterhq/roster/password"
)

// TestMain lets the test binary serve as the servers' password hash
// worker, as the roster binary does.
func TestMain(m *testing.M) {
	if password.IsHashWorker() {
		os.Exit(hashWorker())
	}
	os.Exit(m.Run())
}

// envOf turns a map into the getenv that run and parseConfig take.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, envOf(nil))
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
			cfg, err := parseConfig(nil, envOf(settingEnv(s)))
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
	cfg, err := parseConfig([]string{"-demo"}, envOf(nil))
	if err != nil || !cfg.Demo {
		t.Fatalf("-demo: got Demo=%v, %v; want true", cfg.Demo, err)
	}
}

func TestParseConfigFlagOverridesEnv(t *testing.T) {
	for _, s := range configSettings {
		t.Run(s.flag, func(t *testing.T) {
			// -flag=value works for every flag, the boolean-style -demo included.
			cfg, err := parseConfig([]string{"-" + s.flag + "=" + s.flagValue}, envOf(settingEnv(s)))
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
		cfg, err := parseConfig(nil, envOf(map[string]string{"ROSTER_DEMO": v}))
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
		{env: map[string]string{"ROSTER_SESSION_IDLE": "48h", "ROSTER_SESSION_MAX": "24h"}, want: "ROSTER_SESSION_MAX"},
		{env: map[string]string{"ROSTER_DEMO": "perhaps"}, want: "ROSTER_DEMO"},
		{env: map[string]string{"ROSTER_METRICS_ADDR": "9090"}, want: "ROSTER_METRICS_ADDR"},
		{env: map[string]string{"ROSTER_METRICS_ADDR": ":8080"}, want: "ROSTER_METRICS_ADDR"},
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
			_, err := parseConfig(tt.args, envOf(tt.env))
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

// cli runs the roster command line against the database file dbPath.
type cli struct {
	t      *testing.T
	dbPath string
}

func newCLI(t *testing.T) cli {
	return cli{t: t, dbPath: filepath.Join(t.TempDir(), "roster.db")}
}

// run returns stdout, stderr and the error of `roster args...`.
func (c cli) run(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(c.t.Context(), args, envOf(map[string]string{"ROSTER_DB": c.dbPath}), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustRun is run for commands that must succeed; it returns stdout.
func (c cli) mustRun(stdin string, args ...string) string {
	c.t.Helper()
	out, _, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("roster %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// store opens the CLI's database for checks, closed at the end of the test.
func (c cli) store() *db.Store {
	c.t.Helper()
	store, err := openStore(c.t.Context(), c.dbPath)
	if err != nil {
		c.t.Fatalf("open store: %v", err)
	}
	c.t.Cleanup(func() { store.Close() })
	return store
}

var printedPassword = regexp.MustCompile(`(?m)^password: (\S+)$`)

// wantPassword checks that pw is the password of the user with email.
func wantPassword(t *testing.T, store *db.Store, email, pw string, want bool) {
	t.Helper()
	u, err := store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("UserByEmail(%s): %v", email, err)
	}
	ok, err := password.NewHasher(1, 0).Verify(t.Context(), pw, u.PasswordHash)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if ok != want {
		t.Errorf("password %q of %s verifies: got %v, want %v", pw, email, ok, want)
	}
}

func TestRunVersion(t *testing.T) {
	out := newCLI(t).mustRun("", "version")
	if !regexp.MustCompile(`^roster \S+ go1\.\S+\n$`).MatchString(out) {
		t.Errorf("got %q, want \"roster VERSION GOVERSION\\n\"", out)
	}
}

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		out, errOut, err := newCLI(t).run("", arg)
		if err != nil || !strings.HasPrefix(out, "Roster: ") || errOut != "" {
			t.Errorf("roster %s: got stdout %q, stderr %q, %v, want the usage on stdout", arg, out, errOut, err)
		}
	}
	out := newCLI(t).mustRun("", "help")
	for _, o := range options {
		if !strings.Contains(out, o.env) || !strings.Contains(out, "-"+o.flag) {
			t.Errorf("help does not list %s and -%s", o.env, o.flag)
		}
	}
	for _, cmd := range []string{"[serve]", "migrate", "backup FILE", "user create", "user reset-password", "user verify-email", "version"} {
		if !strings.Contains(out, "roster "+cmd) {
			t.Errorf("help does not list roster %s", cmd)
		}
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"user"}, "usage: roster user"},
		{[]string{"user", "delete", "-email", "a@example.com"}, "unknown command: user delete"},
		{[]string{"user", "create"}, "-email is required"},
		{[]string{"user", "reset-password", "-email", "nobody@example.com"}, "no user has the email nobody@example.com"},
		{[]string{"user", "verify-email", "-email", "nobody@example.com"}, "no user has the email nobody@example.com"},
		{[]string{"backup"}, "usage: roster backup FILE"},
		{[]string{"backup", "a", "b"}, "usage: roster backup FILE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, err := newCLI(t).run("", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	// Every command reads the configuration; a bad value stops each one
	// with the variable's name.
	for _, cmd := range []string{"serve", "migrate", "user"} {
		t.Run(cmd, func(t *testing.T) {
			env := map[string]string{"ROSTER_DB": filepath.Join(t.TempDir(), "roster.db"), "ROSTER_SIGNUP": "maybe"}
			err := run(t.Context(), []string{cmd}, envOf(env), strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_SIGNUP") {
				t.Errorf("got %v, want an error starting with ROSTER_SIGNUP", err)
			}
		})
	}
	t.Run("serve on a bad address", func(t *testing.T) {
		env := map[string]string{"ROSTER_DB": filepath.Join(t.TempDir(), "roster.db"), "ROSTER_ADDR": "127.0.0.1:99999"}
		err := run(t.Context(), []string{"serve"}, envOf(env), strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "ROSTER_ADDR") {
			t.Errorf("got %v, want an error starting with ROSTER_ADDR", err)
		}
	})
}

func TestUserCreate(t *testing.T) {
	c := newCLI(t)
	out := c.mustRun("", "user", "create", "-email", "a@example.com", "-name", "A")
	if !strings.HasPrefix(out, "created user 1 <a@example.com>\n") {
		t.Errorf("got %q, want it to start with \"created user 1 <a@example.com>\"", out)
	}
	m := printedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("got %q, want a generated password on a \"password: \" line", out)
	}
	if err := password.Check(m[1]); err != nil {
		t.Errorf("generated password %q breaks the policy: %v", m[1], err)
	}

	store := c.store()
	u, err := store.UserByEmail(t.Context(), "a@example.com")
	if err != nil {
		t.Fatalf("UserByEmail: %v", err)
	}
	if u.Name != "A" || u.EmailVerified() {
		t.Errorf("got name %q verified %v, want \"A\" and false", u.Name, u.EmailVerified())
	}
	wantPassword(t, store, "a@example.com", m[1], true)

	out = c.mustRun("", "user", "create", "-email", "b@example.com", "-verified")
	if u, err := store.UserByEmail(t.Context(), "b@example.com"); err != nil || !u.EmailVerified() {
		t.Errorf("-verified: got user %+v, %v, want a verified user", u, err)
	}
	if !printedPassword.MatchString(out) {
		t.Errorf("got %q, want a generated password", out)
	}
}

func TestUserCreatePasswordStdin(t *testing.T) {
	c := newCLI(t)
	const pw = "correct horse battery staple"
	out := c.mustRun(pw+"\n", "user", "create", "-email", "a@example.com", "-password-stdin")
	if strings.Contains(out, pw) || printedPassword.MatchString(out) {
		t.Errorf("got %q, want no password printed", out)
	}
	wantPassword(t, c.store(), "a@example.com", pw, true)

	// Without a final newline, as from `printf %s "$PW" | roster ...`.
	c.mustRun(pw, "user", "create", "-email", "b@example.com", "-password-stdin")
	wantPassword(t, c.store(), "b@example.com", pw, true)
}

func TestUserCreatePasswordPolicy(t *testing.T) {
	tests := []struct {
		pw   string
		want error
	}{
		{"short\n", password.ErrTooShort},
		{"password1234\n", password.ErrCommon},
		{"\n", password.ErrTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			c := newCLI(t)
			_, _, err := c.run(tt.pw, "user", "create", "-email", "a@example.com", "-password-stdin")
			if err == nil || !strings.Contains(err.Error(), tt.want.Error()) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if n, err := c.store().CountUsers(t.Context()); err != nil || n != 0 {
				t.Errorf("got %d users (%v), want 0", n, err)
			}
		})
	}
}

func TestUserCreateDuplicate(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	for _, email := range []string{"a@example.com", "A@Example.COM"} {
		_, _, err := c.run("", "user", "create", "-email", email)
		want := "a user with email " + email + " already exists"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("create %s again: got %v, want %q", email, err, want)
		}
	}
	if n, err := c.store().CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("got %d users (%v), want 1", n, err)
	}
}

func TestUserCreateBadEmail(t *testing.T) {
	c := newCLI(t)
	for _, email := range []string{"foo", "Ann <a@example.com>", "a@"} {
		_, _, err := c.run("", "user", "create", "-email", email)
		if err == nil || !strings.Contains(err.Error(), "is not an email address") {
			t.Errorf("create %q: got %v, want an error naming the bad address", email, err)
		}
	}
	if n, err := c.store().CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("got %d users (%v), want 0", n, err)
	}
}

func TestUserResetPassword(t *testing.T) {
	c := newCLI(t)
	const old, next = "correct horse battery staple", "a different long passphrase"
	c.mustRun(old+"\n", "user", "create", "-email", "a@example.com", "-password-stdin")
	store := c.store()
	u, err := store.UserByEmail(t.Context(), "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.CreateSession(t.Context(), db.Session{IDHash: []byte("session-hash"), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	out := c.mustRun(next+"\n", "user", "reset-password", "-email", "a@example.com", "-password-stdin")
	if !strings.Contains(out, "1 sessions signed out") {
		t.Errorf("got %q, want it to say 1 session was signed out", out)
	}
	wantPassword(t, store, "a@example.com", old, false)
	wantPassword(t, store, "a@example.com", next, true)
	if ss, err := store.SessionsForUser(t.Context(), u.ID, time.Now().Add(-time.Hour)); err != nil || len(ss) != 0 {
		t.Errorf("got sessions %v (%v), want none after a reset", ss, err)
	}

	out = c.mustRun("", "user", "reset-password", "-email", "A@example.com")
	m := printedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("got %q, want a generated password", out)
	}
	wantPassword(t, store, "a@example.com", m[1], true)

	_, _, err = c.run("short\n", "user", "reset-password", "-email", "a@example.com", "-password-stdin")
	if err == nil || !strings.Contains(err.Error(), password.ErrTooShort.Error()) {
		t.Errorf("too short: got %v, want %q", err, password.ErrTooShort)
	}
	wantPassword(t, store, "a@example.com", m[1], true)
}

func TestUserVerifyEmail(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	out := c.mustRun("", "user", "verify-email", "-email", "a@example.com")
	if out != "marked <a@example.com> as verified\n" {
		t.Errorf("got %q", out)
	}
	u, err := c.store().UserByEmail(t.Context(), "a@example.com")
	if err != nil || !u.EmailVerified() {
		t.Errorf("got %+v, %v, want a verified user", u, err)
	}
	// Again: still fine, still verified.
	c.mustRun("", "user", "verify-email", "-email", "a@example.com")

	// A first verification ends the logins linked while the email was
	// unverified, and says so.
	ext := db.External{Provider: "oidc:Acme", Subject: "m1", Email: "b@example.com"}
	b, _, err := c.store().ResolveLogin(t.Context(), ext, true, db.Event{Kind: db.EventSignIn}, db.LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	out = c.mustRun("", "user", "verify-email", "-email", "b@example.com")
	if want := "marked <b@example.com> as verified\n" +
		"removed the oidc:Acme login \"m1\" (b@example.com): it was linked before the email was verified\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if ids, err := c.store().IdentitiesForUser(t.Context(), b.ID); err != nil || len(ids) != 0 {
		t.Errorf("logins after verify-email: got %+v, %v; want none", ids, err)
	}
}

func TestMigrate(t *testing.T) {
	c := newCLI(t)
	out := c.mustRun("", "migrate")
	if want := c.dbPath + " is up to date\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := os.Stat(c.dbPath); err != nil {
		t.Fatalf("database file: %v", err)
	}
	c.mustRun("", "migrate") // idempotent
	store, err := db.Open(t.Context(), c.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	applied, err := store.Migrate(t.Context())
	if err != nil || len(applied) != 0 {
		t.Errorf("after roster migrate, Migrate applied %v (%v), want nothing", applied, err)
	}
	if n, err := store.CountUsers(t.Context()); err != nil || n != 0 {
		t.Errorf("CountUsers: got %d, %v, want 0 and no error", n, err)
	}
}

// TestBackupWhileWriting copies the database while another connection keeps
// writing, as a live server would, and checks that the copy is one
// consistent snapshot.
func TestBackupWhileWriting(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	store := c.store()

	ctx, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	var writes atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		defer close(writeErr)
		for i := 0; i < 100_000 && ctx.Err() == nil; i++ {
			// Each user and its audit event are written in one transaction.
			_, err := store.CreateUser(ctx, db.NewUser{Email: fmt.Sprintf("w%d@example.com", i), PasswordHash: "x"},
				db.Event{Kind: db.EventSignUp, IP: "test"})
			if err != nil && ctx.Err() == nil {
				writeErr <- err
				return
			}
			writes.Add(1)
		}
	}()
	waitFor(t, "writes to start", func() bool { return writes.Load() >= 20 })

	backup := filepath.Join(t.TempDir(), "copy.db")
	before := writes.Load()
	out := c.mustRun("", "backup", backup)
	after := writes.Load()
	waitFor(t, "writes to go on after the backup", func() bool { return writes.Load() >= after+20 })
	stop()
	if err := <-writeErr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if !strings.Contains(out, "wrote a consistent copy") {
		t.Errorf("got %q", out)
	}

	copyDB, err := sql.Open("sqlite3", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: got %q, %v, want ok", check, err)
	}
	var users, events int64
	if err := copyDB.QueryRow("SELECT count(*) FROM users WHERE email LIKE 'w%'").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if err := copyDB.QueryRow("SELECT count(*) FROM audit_events WHERE ip = 'test'").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if users != events {
		t.Errorf("copy has %d users but %d of their sign-up events, want one snapshot", users, events)
	}
	if users < before || users > after+1 {
		t.Errorf("copy has %d written users, want between %d (before the backup) and %d (after)", users, before, after+1)
	}
	t.Logf("copied %d of the writer's users; %d were written before the backup, %d when it returned", users, before, after)

	copyStore, err := db.Open(t.Context(), backup)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer copyStore.Close()
	if u, err := copyStore.UserByEmail(t.Context(), "a@example.com"); err != nil || u.ID != 1 {
		t.Errorf("a@example.com in the copy: got %+v, %v", u, err)
	}

	// A second backup never overwrites a file.
	info, _ := os.Stat(backup)
	_, _, err = c.run("", "backup", backup)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup to an existing file: got %v, want \"already exists\"", err)
	}
	if info2, _ := os.Stat(backup); info2.Size() != info.Size() || !info2.ModTime().Equal(info.ModTime()) {
		t.Error("backup to an existing file changed it")
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var demoLine = regexp.MustCompile(`^Demo user created\. Sign in as (\S+) with the password (\S+) \(shown only this once\)\.\n$`)

func TestSeedDemo(t *testing.T) {
	store := newCLI(t).store()
	var out bytes.Buffer
	if err := seedDemo(t.Context(), store, &out); err != nil {
		t.Fatalf("seedDemo: %v", err)
	}
	m := demoLine.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("got %q, want one line with the email and password", out.String())
	}
	wantPassword(t, store, m[1], m[2], true)
	if u, _ := store.UserByEmail(t.Context(), m[1]); !u.EmailVerified() {
		t.Error("demo user's email is not verified")
	}

	out.Reset()
	if err := seedDemo(t.Context(), store, &out); err != nil {
		t.Fatalf("seedDemo again: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("second seedDemo printed %q, want nothing", out.String())
	}
	if n, err := store.CountUsers(t.Context()); err != nil || n != 1 {
		t.Errorf("got %d users (%v), want 1", n, err)
	}
}

func TestSeedDemoNotEmpty(t *testing.T) {
	c := newCLI(t)
	c.mustRun("", "user", "create", "-email", "a@example.com")
	var out bytes.Buffer
	if err := seedDemo(t.Context(), c.store(), &out); err != nil {
		t.Fatalf("seedDemo: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("seedDemo on a database with users printed %q, want nothing", out.String())
	}
}

// listenAddr finds the address in serve's "listening" log line.
func listenAddr(log string) string {
	for line := range strings.Lines(log) {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "Roster is listening" {
			return rec.Addr
		}
	}
	return ""
}

// waitListening waits for an in-process serve, whose result comes on done,
// to log that it listens, and returns the address; serve returning first
// fails the test.
func waitListening(t *testing.T, done <-chan error, log *logtest.Buffer) string {
	t.Helper()
	var addr string
	waitFor(t, "the listening log line", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, log.String())
		default:
		}
		addr = listenAddr(log.String())
		return addr != ""
	})
	return addr
}

// TestServeGracefulShutdown runs `roster serve` with a demo user, starts a
// sign-in whose body is still arriving, cancels: the server stops accepting,
// finishes that request, returns nil and leaves the WAL checkpointed.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "roster.db")
	env := map[string]string{"ROSTER_DB": dbPath, "ROSTER_ADDR": "127.0.0.1:0", "ROSTER_DEMO": "1"}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr logtest.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), strings.NewReader(""), &stdout, &stderr) }()

	addr := waitListening(t, done, &stderr)
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	waitFor(t, "GET /healthz 200", func() bool {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(body) == "ok"
	})
	m := demoLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("ROSTER_DEMO=1: got stdout %q, want the demo credentials", stdout.String())
	}
	if info, err := os.Stat(dbPath + "-wal"); err != nil || info.Size() == 0 {
		t.Fatalf("while serving: want a non-empty WAL to checkpoint, got %v, %v", info, err)
	}

	// A sign-in hashes in a worker process, a child of the server.
	before := hashWorkers(t)
	const token = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG" // 43 characters, as the CSRF cookie
	form := url.Values{"email": {m[1]}, "password": {m[2]}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "roster_csrf="+token)
	req.Header.Set("X-CSRF-Token", token)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("sign-in with the demo credentials: got %d to %q, want 303 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}
	var worker int
	for _, pid := range hashWorkers(t) {
		if !slices.Contains(before, pid) {
			if worker != 0 {
				t.Fatalf("hash workers %d and %d started for one sign-in", worker, pid)
			}
			worker = pid
		}
	}
	if worker == 0 {
		t.Fatal("no hash worker started for a sign-in")
	}

	// A sign-in whose body has not all arrived is in flight at shutdown.
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\nCookie: roster_csrf=%s\r\nX-CSRF-Token: %s\r\n\r\n%s",
		addr, len(form), token, token, form[:10])
	time.Sleep(200 * time.Millisecond)

	cancel()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	io.WriteString(conn, form[10:])
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		t.Errorf("in-flight sign-in with the demo credentials: got %d to %q, want 303 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return within 15s of cancel")
	}
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() != 0 {
		t.Errorf("after shutdown the WAL has %d bytes, want it checkpointed (empty or gone)", info.Size())
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Error(err)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("log does not say it is shutting down:\n%s", stderr.String())
	}
	waitFor(t, "the hash worker to exit", func() bool { return !slices.Contains(hashWorkers(t), worker) })
}

// hashWorkers are the test process's children that are password hash
// workers: started with only ROSTER_HASH_WORKER=1 in their environment, at
// nice 10.
func hashWorkers(t *testing.T) []int {
	t.Helper()
	var workers []int
	for _, pid := range children(os.Getpid()) {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil || string(env) != "ROSTER_HASH_WORKER=1\x00" {
			continue // exited, or some other child
		}
		stat, err := procStat(pid)
		if err != nil {
			continue
		}
		if nice := stat[16]; nice != "10" {
			t.Errorf("hash worker %d has nice %s, want 10", pid, nice)
		}
		workers = append(workers, pid)
	}
	return workers
}

// TestOAuthProviders: a provider is offered exactly when its keys are set,
// with the settings it needs.
func TestOAuthProviders(t *testing.T) {
	cfg, err := parseConfig(nil, envOf(nil))
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
	cfg, err = parseConfig(nil, envOf(env))
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
