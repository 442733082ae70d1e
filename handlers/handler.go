// Package handlers serves Roster's pages: the route table, middleware and one
// file per section.
package handlers

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/session"
	"github.com/rosterhq/roster/sso"
	"github.com/rosterhq/roster/views"
)

// Sign-up modes of ROSTER_SIGNUP.
const (
	SignupOpen   = "open"
	SignupInvite = "invite"
	SignupClosed = "closed"
)

// Config is what the handlers need to know about the deployment.
type Config struct {
	BaseURL         *url.URL
	Signup          string
	Secret          []byte   // keys the flash cookie
	TrustedProxies  []string // CIDRs whose X-Forwarded-For is believed
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	OAuth           []sso.Provider // the external logins offered, in button order
	APIToken        string         // bearer token of the /api/v1 routes; empty refuses every token
	Queued          func()         // called after a notification or mail is queued: wakes the delivery worker
	Stripe          StripeConfig   // saved cards; unset means card payments are not offered
	Phone           bool           // SMS and calls can be sent (Twilio is set); false means they are not offered
	Resolver        *net.Resolver  // looks up the TXT records of SAML domains; nil is net.DefaultResolver
	// Replica says whether the database is a LiteFS replica, which cannot
	// write, and names its primary (replica.go); nil on a single machine.
	Replica func() (primary string, ok bool)
	// TXID is the database's LiteFS position on the primary, as the
	// __txid cookie carries it; false on a replica. Nil on a single
	// machine.
	TXID func() (txid string, ok bool)
}

// Secure reports whether the site is served over https, which decides the
// cookie flags and HSTS.
func (c Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }

// Handler holds the dependencies every handler method uses.
type Handler struct {
	cfg      Config
	store    *db.Store
	views    *views.Renderer
	sessions *session.Store
	hasher   *password.Hasher
	log      *slog.Logger
	flash    *flasher
	throttle throttle
	// The external logins and the cookie that carries each flow's state.
	providers *sso.Providers
	flows     *flowCookie
	tickets   *ticketCookie // places kept in the hasher's line (signin_queue.go)
	saml      samlState     // SAML service provider key and clock (saml.go)
	// The WebAuthn relying party of the base URL; nil when passkeys are
	// not offered (passkeys.go).
	passkeys *webauthn.WebAuthn
}

// New wires a Handler.
func New(cfg Config, store *db.Store, v *views.Renderer, sessions *session.Store, hasher *password.Hasher, log *slog.Logger) *Handler {
	h := &Handler{
		cfg:      cfg,
		store:    store,
		views:    v,
		sessions: sessions,
		hasher:   hasher,
		log:      log,
		flash:    newFlasher(cfg.Secret, cfg.Secure()),
		throttle: defaultThrottle,
	}
	// Calls to the providers get a deadline: a slow one must not hold a
	// request, or a discovery, forever.
	client := &http.Client{Timeout: 15 * time.Second}
	h.providers = sso.NewProviders(cfg.OAuth, client, func(key string) string { return h.link("/auth/" + key + "/callback") })
	h.flows = newFlowCookie(cfg.Secret, cfg.Secure())
	h.tickets = newTicketCookie(cfg.Secret, cfg.Secure())
	if len(cfg.OAuth) > 0 {
		keys := make([]string, 0, len(cfg.OAuth))
		for _, p := range cfg.OAuth {
			keys = append(keys, p.Key)
		}
		log.Info("external logins offered; OpenID Connect issuers are discovered on first use", "providers", keys)
	}
	if !cfg.Phone {
		log.Info("SMS and voice contact methods are not offered: set ROSTER_TWILIO_ACCOUNT_SID, ROSTER_TWILIO_AUTH_TOKEN and ROSTER_TWILIO_FROM to offer them")
	}
	if rp, err := newRelyingParty(cfg.BaseURL); err != nil {
		log.Info("Passkeys are not offered", "reason", err)
	} else {
		h.passkeys = rp
	}
	if cfg.Stripe.Cards == nil {
		log.Info("Credit Cards are not offered: set ROSTER_STRIPE_SECRET_KEY and ROSTER_STRIPE_PUBLISHABLE_KEY (and ROSTER_STRIPE_WEBHOOK_SECRET) to offer them")
	}
	return h
}

// hasProvider reports whether the provider a contact method kind needs
// (db.KindProvider) is configured.
func (h *Handler) hasProvider(provider string) bool {
	switch provider {
	case db.ProviderNone:
		return true
	case db.ProviderPhone:
		return h.cfg.Phone
	}
	return false
}

// cardsOffered reports whether Credit Cards are set up (Stripe's keys).
func (h *Handler) cardsOffered() bool { return h.cfg.Stripe.Cards != nil }

// link builds an absolute URL for emails from the configured base URL, never
// from the request's Host header.
func (h *Handler) link(path string) string {
	u := *h.cfg.BaseURL
	u.Path = h.cfg.BaseURL.Path + path
	return u.String()
}
