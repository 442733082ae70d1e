package server

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/proctest"
)

func TestParseConfigStripe(t *testing.T) {
	cfg, err := parseConfig(nil, proctest.Env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StripeJSURL != "https://js.stripe.com/v3/" || cfg.stripe().Cards != nil {
		t.Errorf("defaults: JS URL %q, cards %v; want Stripe's URL and no cards", cfg.StripeJSURL, cfg.stripe().Cards)
	}
	cfg, err = parseConfig(nil, proctest.Env(map[string]string{"ROSTER_STRIPE_SECRET_KEY": "sk_test_1", "ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_1"}))
	if err != nil || cfg.stripe().Cards == nil || cfg.stripe().PublishableKey != "pk_test_1" {
		t.Errorf("both keys: %v, %+v; want card payments on", err, cfg.stripe())
	}

	tests := []struct {
		env   map[string]string
		want  string // the error starts with this
		never string // must not appear in the error (a secret)
	}{
		{map[string]string{"ROSTER_STRIPE_SECRET_KEY": "sk_test_hunter2"}, "ROSTER_STRIPE_PUBLISHABLE_KEY: must be set along with ROSTER_STRIPE_SECRET_KEY", "hunter2"},
		{map[string]string{"ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_1"}, "ROSTER_STRIPE_SECRET_KEY: must be set along with ROSTER_STRIPE_PUBLISHABLE_KEY", ""},
		{map[string]string{"ROSTER_STRIPE_SECRET_KEY": "pk_test_hunter2", "ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_1"}, "ROSTER_STRIPE_SECRET_KEY", "hunter2"},
		{map[string]string{"ROSTER_STRIPE_SECRET_KEY": "sk_test_hunter2", "ROSTER_STRIPE_PUBLISHABLE_KEY": "sk_test_hunter2"}, "ROSTER_STRIPE_PUBLISHABLE_KEY", "hunter2"},
		{map[string]string{"ROSTER_STRIPE_WEBHOOK_SECRET": "hunter2"}, "ROSTER_STRIPE_WEBHOOK_SECRET", "hunter2"},
		{map[string]string{"ROSTER_STRIPE_API_BASE": "http://stripe.example.com"}, "ROSTER_STRIPE_API_BASE", ""},
		{map[string]string{"ROSTER_STRIPE_JS_URL": "http://js.example.com/v3/"}, "ROSTER_STRIPE_JS_URL", ""},
		{map[string]string{"ROSTER_STRIPE_JS_URL": "js.stripe.com/v3"}, "ROSTER_STRIPE_JS_URL", ""},
	}
	for _, tt := range tests {
		_, err := parseConfig(nil, proctest.Env(tt.env))
		switch {
		case err == nil:
			t.Errorf("%v: no error, want one starting %q", tt.env, tt.want)
		case !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("%v: got %q, want one line starting %q", tt.env, err, tt.want)
		case tt.never != "" && strings.Contains(err.Error(), tt.never):
			t.Errorf("%v: the error %q shows the secret", tt.env, err)
		}
	}
}
