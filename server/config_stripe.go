package server

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/internal/netguard"
	"github.com/rosterhq/roster/payments"
)

// validateStripe checks the card-payment settings: off (no keys) or both
// keys, each of the right kind; the URLs https, or http on this machine.
func (c *config) validateStripe() error {
	if err := bothOrNeither("ROSTER_STRIPE_SECRET_KEY", c.StripeSecretKey, "ROSTER_STRIPE_PUBLISHABLE_KEY", c.StripePublishableKey); err != nil {
		return err
	}
	if c.StripeSecretKey != "" && !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		return fmt.Errorf("ROSTER_STRIPE_SECRET_KEY: want a secret key starting with sk_ (or a restricted key, rk_)")
	}
	if c.StripePublishableKey != "" && !strings.HasPrefix(c.StripePublishableKey, "pk_") {
		return fmt.Errorf("ROSTER_STRIPE_PUBLISHABLE_KEY: want a publishable key starting with pk_")
	}
	if c.StripeWebhookSecret != "" && !strings.HasPrefix(c.StripeWebhookSecret, "whsec_") {
		return fmt.Errorf("ROSTER_STRIPE_WEBHOOK_SECRET: want a signing secret starting with whsec_")
	}
	if c.StripeAPIBase != "" {
		u, err := providerURL(c.StripeAPIBase)
		if err != nil {
			return fmt.Errorf("ROSTER_STRIPE_API_BASE: %v", err)
		}
		c.StripeAPIBase = u
	}
	u, err := url.Parse(c.StripeJSURL)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" ||
		(u.Scheme != "https" && (u.Scheme != "http" || !netguard.Loopback(u.Hostname()))) {
		return fmt.Errorf("ROSTER_STRIPE_JS_URL: want an https URL such as %s (http only for localhost)", handlers.DefaultStripeJSURL)
	}
	return nil
}

// stripe is the handlers' card-payment configuration: empty, so the cards
// page says payments are not set up, unless the keys are set.
func (c config) stripe() handlers.StripeConfig {
	if c.StripeSecretKey == "" {
		return handlers.StripeConfig{}
	}
	return handlers.StripeConfig{
		Cards:          payments.New(payments.Config{SecretKey: c.StripeSecretKey, APIBase: c.StripeAPIBase}),
		PublishableKey: c.StripePublishableKey,
		WebhookSecret:  c.StripeWebhookSecret,
		JSURL:          c.StripeJSURL,
	}
}
