package server

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/backup"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/netguard"
	"github.com/rosterhq/roster/mail"
)

// config is everything `roster serve` reads from flags and ROSTER_* variables.
type config struct {
	Addr            string
	DB              string
	BaseURL         string
	Secret          string
	Signup          string
	Demo            bool
	LiteFS          bool // the database is on a LiteFS mount (role.go)
	SMTPURL         string
	MailFrom        string
	TrustedProxies  string
	MetricsAddr     string
	DNSResolver     string // host:port of the DNS server for TXT look-ups; "" is the system's
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	SigninWait      time.Duration // the longest a password check waits for the hasher before a 503

	// External logins: a provider is offered when its client id is set.
	GoogleClientID, GoogleClientSecret string
	GitHubClientID, GitHubClientSecret string
	GitHubURL                          string
	SlackClientID, SlackClientSecret   string
	SlackIssuer                        string
	OIDCName, OIDCIssuer               string
	OIDCClientID, OIDCClientSecret     string

	// Card payments through Stripe: offered when the keys are set.
	StripeSecretKey, StripePublishableKey string
	StripeWebhookSecret                   string
	StripeAPIBase, StripeJSURL            string

	// Notifications: the notify API's token, and SMS and voice calls
	// through Twilio (or an API that speaks it) when the three are set.
	APIToken                          string
	TwilioAccountSID, TwilioAuthToken string
	TwilioFrom, TwilioAPIBase         string

	// Continuous backup: Litestream streams the database to this replica.
	LitestreamURL      string
	LitestreamEndpoint string
	LitestreamDir      string

	baseURL *url.URL
	// queryOnly opens the database so that every write fails, as on a
	// LiteFS replica. Only tests set it.
	queryOnly bool
	// replicaEnv are the backup's settings as getenv read them, NAME=value,
	// which the `roster replicate` child gets over the process's environment.
	replicaEnv []string
	// timeouts of the HTTP server; zero means defaultTimeouts. Only tests
	// set them, to see a slow client cut off in milliseconds.
	timeouts timeouts
}

// option is one setting: its flag, its variable and its help.
type option struct {
	flag, env, def, help string
	set                  func(*config, string) error
}

func str(p func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *p(c) = v; return nil }
}

func dur(p func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 168h, got %q", v)
		}
		*p(c) = d
		return nil
	}
}

func boolean(p func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		switch strings.ToLower(v) {
		case "", "0", "false", "no":
			*p(c) = false
		case "1", "true", "yes":
			*p(c) = true
		default:
			return fmt.Errorf("want 1 or 0, got %q", v)
		}
		return nil
	}
}

var options = []option{
	{"addr", "ROSTER_ADDR", ":8080", "address to listen on", str(func(c *config) *string { return &c.Addr })},
	{"db", "ROSTER_DB", "roster.db", "SQLite database file", str(func(c *config) *string { return &c.DB })},
	{"base-url", "ROSTER_BASE_URL", "http://localhost:8080", "public URL of this server, used in emailed links and cookie flags", str(func(c *config) *string { return &c.BaseURL })},
	{"secret", "ROSTER_SECRET", "", "key material for signed cookies (at least 32 characters); generated and kept in the database when unset", str(func(c *config) *string { return &c.Secret })},
	{"signup", "ROSTER_SIGNUP", handlers.SignupOpen, "who may sign up: open, invite or closed", str(func(c *config) *string { return &c.Signup })},
	{"demo", "ROSTER_DEMO", "", "seed a demo user into an empty database (1/true; -demo alone means 1)", boolean(func(c *config) *bool { return &c.Demo })},
	{"litefs", "ROSTER_LITEFS", "", "the database is on a LiteFS mount: on a replica (a .primary file beside the database) never write, and replay writes on the primary with Fly-Replay (1/true)", boolean(func(c *config) *bool { return &c.LiteFS })},
	{"smtp-url", "ROSTER_SMTP_URL", "", "SMTP server, smtp://user:pass@host:587 (STARTTLS) or smtps://...:465; unset logs mail instead", str(func(c *config) *string { return &c.SMTPURL })},
	{"mail-from", "ROSTER_MAIL_FROM", "Roster <roster@localhost>", "From address of outgoing mail", str(func(c *config) *string { return &c.MailFrom })},
	{"trusted-proxies", "ROSTER_TRUSTED_PROXIES", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted", str(func(c *config) *string { return &c.TrustedProxies })},
	{"metrics-addr", "ROSTER_METRICS_ADDR", "", "address of a separate listener serving Prometheus /metrics, such as 127.0.0.1:9090; unset serves none", str(func(c *config) *string { return &c.MetricsAddr })},
	{"dns-resolver", "ROSTER_DNS_RESOLVER", "", "host:port of the DNS server that SAML domain verification asks for TXT records, such as 127.0.0.1:53; unset uses the system's resolver", setDNSResolver},
	{"session-idle", "ROSTER_SESSION_IDLE", "168h", "log out sessions unused for this long", dur(func(c *config) *time.Duration { return &c.SessionIdle })},
	{"session-max", "ROSTER_SESSION_MAX", "720h", "log out sessions this long after sign-in", dur(func(c *config) *time.Duration { return &c.SessionAbsolute })},
	{"signin-wait", "ROSTER_SIGNIN_WAIT", "2s", "the longest a sign-in (or any password check) is expected to wait for a hash; past it, 503 with Retry-After and its place kept", dur(func(c *config) *time.Duration { return &c.SigninWait })},
	{"google-client-id", "ROSTER_GOOGLE_CLIENT_ID", "", "OAuth client id of Sign in with Google", str(func(c *config) *string { return &c.GoogleClientID })},
	{"google-client-secret", "ROSTER_GOOGLE_CLIENT_SECRET", "", "OAuth client secret of Sign in with Google", str(func(c *config) *string { return &c.GoogleClientSecret })},
	{"github-client-id", "ROSTER_GITHUB_CLIENT_ID", "", "client id of the GitHub OAuth app", str(func(c *config) *string { return &c.GitHubClientID })},
	{"github-client-secret", "ROSTER_GITHUB_CLIENT_SECRET", "", "client secret of the GitHub OAuth app", str(func(c *config) *string { return &c.GitHubClientSecret })},
	{"github-url", "ROSTER_GITHUB_URL", "", "GitHub Enterprise Server base URL, such as https://github.example.com; unset means github.com", str(func(c *config) *string { return &c.GitHubURL })},
	{"slack-client-id", "ROSTER_SLACK_CLIENT_ID", "", "client id of the Slack app (Sign in with Slack)", str(func(c *config) *string { return &c.SlackClientID })},
	{"slack-client-secret", "ROSTER_SLACK_CLIENT_SECRET", "", "client secret of the Slack app", str(func(c *config) *string { return &c.SlackClientSecret })},
	{"slack-issuer", "ROSTER_SLACK_ISSUER", "https://slack.com", "OpenID Connect issuer of Sign in with Slack", str(func(c *config) *string { return &c.SlackIssuer })},
	{"oidc-name", "ROSTER_OIDC_NAME", "", "name of the OpenID Connect provider on the sign-in button, such as Okta", str(func(c *config) *string { return &c.OIDCName })},
	{"oidc-issuer", "ROSTER_OIDC_ISSUER", "", "issuer URL of the OpenID Connect provider", str(func(c *config) *string { return &c.OIDCIssuer })},
	{"oidc-client-id", "ROSTER_OIDC_CLIENT_ID", "", "client id at the OpenID Connect provider", str(func(c *config) *string { return &c.OIDCClientID })},
	{"oidc-client-secret", "ROSTER_OIDC_CLIENT_SECRET", "", "client secret at the OpenID Connect provider", str(func(c *config) *string { return &c.OIDCClientSecret })},
	{"api-token", "ROSTER_API_TOKEN", "", "bearer token of the API (POST /api/v1/notify, GET /api/v1/me/preferences), at least 32 characters; unset refuses tokens", str(func(c *config) *string { return &c.APIToken })},
	{"twilio-account-sid", "ROSTER_TWILIO_ACCOUNT_SID", "", "Twilio account SID for SMS and voice notifications", str(func(c *config) *string { return &c.TwilioAccountSID })},
	{"twilio-auth-token", "ROSTER_TWILIO_AUTH_TOKEN", "", "Twilio auth token", str(func(c *config) *string { return &c.TwilioAuthToken })},
	{"twilio-from", "ROSTER_TWILIO_FROM", "", "the number (E.164) SMS and calls come from", str(func(c *config) *string { return &c.TwilioFrom })},
	{"twilio-api-base", "ROSTER_TWILIO_API_BASE", "https://api.twilio.com", "base URL of the Twilio-compatible REST API", str(func(c *config) *string { return &c.TwilioAPIBase })},
	{"stripe-secret-key", "ROSTER_STRIPE_SECRET_KEY", "", "Stripe secret key (sk_...); with the publishable key, offers saved cards", str(func(c *config) *string { return &c.StripeSecretKey })},
	{"stripe-publishable-key", "ROSTER_STRIPE_PUBLISHABLE_KEY", "", "Stripe publishable key (pk_...), given to Stripe.js", str(func(c *config) *string { return &c.StripePublishableKey })},
	{"stripe-webhook-secret", "ROSTER_STRIPE_WEBHOOK_SECRET", "", "signing secret (whsec_...) of the webhook endpoint /stripe/webhook; unset refuses webhooks", str(func(c *config) *string { return &c.StripeWebhookSecret })},
	{"stripe-api-base", "ROSTER_STRIPE_API_BASE", "", "Stripe API base URL, such as stripe-mock's; unset means https://api.stripe.com", str(func(c *config) *string { return &c.StripeAPIBase })},
	{"litestream-url", "ROSTER_LITESTREAM_URL", "", "continuous backup with Litestream to s3://bucket/path or file:///directory; unset streams nothing", str(func(c *config) *string { return &c.LitestreamURL })},
	{"litestream-dir", backup.EnvDir, "", "where Litestream keeps its state; unset means .<db>-litestream beside the database. With ROSTER_LITEFS, required along with ROSTER_LITESTREAM_URL: a directory outside the LiteFS mount, such as /var/lib/litefs/litestream", str(func(c *config) *string { return &c.LitestreamDir })},
	{"litestream-s3-endpoint", backup.EnvEndpoint, "", "endpoint of an S3-compatible service for ROSTER_LITESTREAM_URL, such as https://s3.example.com; unset means AWS_ENDPOINT_URL_S3, else AWS", str(func(c *config) *string { return &c.LitestreamEndpoint })},
	{"stripe-js-url", "ROSTER_STRIPE_JS_URL", handlers.DefaultStripeJSURL, "where the cards page loads Stripe.js from", str(func(c *config) *string { return &c.StripeJSURL })},
}

// parseConfig reads flags over variables over defaults. An error names the
// variable (or flag) at fault in one line.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// The caller prints the returned error once; flag's own printing would
	// repeat it along with the whole usage.
	fs.SetOutput(io.Discard)
	values := map[string]*string{}
	for _, o := range options {
		v := o.def
		if e := getenv(o.env); e != "" {
			v = e
		}
		if o.flag == "demo" || o.flag == "litefs" {
			// -demo (-litefs) alone means on, like a boolean flag.
			p := &v
			fs.BoolFunc(o.flag, o.help, func(s string) error { *p = s; return nil })
			values[o.flag] = p
			continue
		}
		values[o.flag] = fs.String(o.flag, v, o.help)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	for _, o := range options {
		if err := o.set(&cfg, *values[o.flag]); err != nil {
			return cfg, fmt.Errorf("%s (-%s): %v", o.env, o.flag, err)
		}
	}
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, cfg.validateBackup(getenv)
}

// minAPIToken is the shortest ROSTER_API_TOKEN accepted: the token is a
// password that guards every user's notifications and preferences.
const minAPIToken = 32

func (c *config) validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("ROSTER_BASE_URL: want an http or https URL such as https://roster.example.com, got %q", c.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.baseURL = u
	if c.Addr == "" {
		return fmt.Errorf("ROSTER_ADDR: must not be empty")
	}
	if c.DB == "" {
		return fmt.Errorf("ROSTER_DB: must not be empty")
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		return fmt.Errorf("ROSTER_SECRET: use at least 32 characters (or leave it unset to have one generated)")
	}
	if c.APIToken != "" && len(c.APIToken) < minAPIToken {
		return fmt.Errorf("ROSTER_API_TOKEN: use at least %d characters (a random one: openssl rand -base64 33)", minAPIToken)
	}
	switch c.Signup {
	case handlers.SignupOpen, handlers.SignupInvite, handlers.SignupClosed:
	default:
		return fmt.Errorf("ROSTER_SIGNUP: want open, invite or closed, got %q", c.Signup)
	}
	if c.SMTPURL != "" {
		if _, err := mail.NewSMTP(c.SMTPURL, c.MailFrom); err != nil {
			return fmt.Errorf("ROSTER_SMTP_URL: %v", err)
		}
	}
	for _, cidr := range c.trustedProxies() {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
			return fmt.Errorf("ROSTER_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", cidr)
		}
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return fmt.Errorf("ROSTER_METRICS_ADDR: want host:port such as 127.0.0.1:9090, got %q", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr {
			return fmt.Errorf("ROSTER_METRICS_ADDR: must differ from ROSTER_ADDR")
		}
	}
	if c.SessionAbsolute < c.SessionIdle {
		return fmt.Errorf("ROSTER_SESSION_MAX: must not be shorter than ROSTER_SESSION_IDLE")
	}
	if err := c.validateOAuth(); err != nil {
		return err
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.validateStripe(); err != nil {
		return err
	}
	return nil
}

func (c config) trustedProxies() []string {
	if c.TrustedProxies == "" {
		return nil
	}
	return strings.Split(c.TrustedProxies, ",")
}

// The checks that several groups of settings share.

// bothOrNeither checks two settings that go together, such as a client id
// and its secret.
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
