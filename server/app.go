package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/session"
	"github.com/rosterhq/roster/views"
)

// OpenStore opens and migrates the database: what every command does first.
func OpenStore(ctx context.Context, path string) (*db.Store, error) {
	store, err := db.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// cookieSecretSetting is the settings key of the generated cookie secret.
const cookieSecretSetting = "cookie_secret"

// maxHashQueue bounds the password checks waiting for the hasher whatever
// the budget: each holds a goroutine and its request, no hashing memory.
const maxHashQueue = 1000

// secret returns ROSTER_SECRET, or the one generated at first start and
// kept in settings so that cookies survive restarts and are shared by every
// process on the database.
func secret(ctx context.Context, store *db.Store, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	// Read first: a LiteFS replica cannot write, and finds the primary's.
	v, err := store.Setting(ctx, cookieSecretSetting)
	if errors.Is(err, db.ErrNotFound) {
		b := make([]byte, 32)
		rand.Read(b)
		v, err = store.SettingOrInit(ctx, cookieSecretSetting, hex.EncodeToString(b))
	}
	if err != nil {
		return nil, fmt.Errorf("cookie secret: %w", err)
	}
	return hex.DecodeString(v)
}

func newMailer(cfg config, log *slog.Logger) (interface {
	Send(context.Context, mail.Message) error
}, error) {
	if cfg.SMTPURL == "" {
		return mail.Log{Logger: log}, nil
	}
	return mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
}

// newServer wires the whole application on an open store. The caller runs
// the notification worker it returns (serve does until shutdown). With obs,
// every request is timed and obs's gauges read this application. The
// worker's name is bootID, or a generated one when it is empty. With a
// role (ROSTER_LITEFS), requests that write are sent to the primary while
// role says this is a replica.
func (c Command) newServer(ctx context.Context, cfg config, store *db.Store, role *role, log *slog.Logger, obs *metrics.Metrics, bootID string) (*echo.Echo, *session.Store, *notify.Worker, *views.Renderer, error) {
	key, err := secret(ctx, store, cfg.Secret)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	v, err := views.New()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// The billing notice is queued inside the store's transactions; its words are views'.
	store.SetBillingComposer(v.BillingNotice)
	m, err := newMailer(cfg, log)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	sc := session.Config{
		Secure: cfg.baseURL.Scheme == "https", Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute,
		ClientIP: func(r *http.Request) string { return e.IPExtractor(r) },
	}
	var replica, txid func() (string, bool)
	if role != nil {
		sc.Replica, replica, txid = role.isReplica, role.current, role.txid
	}
	sessions := session.New(store, sc)
	// Argon2id takes ~19 MiB and a core for tens of milliseconds: one hash
	// per core; the others wait in arrival order, holding no hashing memory,
	// as long as their expected wait stays within ROSTER_SIGNIN_WAIT; past
	// it, a quick "busy" with the wait in Retry-After. The queue's length
	// is a backstop far above what the budget admits.
	hasher := password.NewHasher(runtime.NumCPU(), maxHashQueue)
	hasher.SetBudget(cfg.SigninWait)
	// In a child at a low CPU priority, so that a storm of sign-ins
	// takes only the CPU that pages leave idle.
	hasher.UseWorkerProcess(ctx, log)
	if obs != nil {
		// First in the chain: it sees the status the error handler sent.
		e.Use(obs.Observe)
		obs.Watch(metrics.Sources{Store: store, HashDepth: hasher.Depth, HashWait: hasher.ExpectedWait, IdleSince: sessions.IdleSince})
	}
	worker := notify.New(store, notify.Config{
		Mail: m, Phone: cfg.phone(), Log: log, Name: bootID,
		// Webhooks reach this machine only on a development install.
		HTTP: notify.HTTPClient(cfg.baseURL.Scheme == "http"),
	})
	h := handlers.New(handlers.Config{
		BaseURL: cfg.baseURL, Signup: cfg.Signup, Secret: key, TrustedProxies: cfg.trustedProxies(),
		SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute,
		APIToken: cfg.APIToken, Queued: worker.Kick,
		OAuth: cfg.oauthProviders(), Stripe: cfg.stripe(), Phone: cfg.phone() != nil, Resolver: cfg.resolver(),
		Replica: replica, TXID: txid,
	}, store, v, sessions, hasher, log)
	if err := h.Routes(e, c.Static); err != nil {
		return nil, nil, nil, nil, err
	}
	return e, sessions, worker, v, nil
}

// App is Roster wired on its database as `roster serve` wires it, for the
// tests and benchmarks that serve Echo on a listener of their own (a
// benchmark may add a reference route behind the same middleware).
type App struct {
	Echo     *echo.Echo
	Store    *db.Store
	Sessions *session.Store
	// Notifier delivers what the application queues; the caller runs it,
	// as serve does, and stops it before closing Store.
	Notifier *notify.Worker
	// Views renders the pages (benchmarks turn its render memo off).
	Views *views.Renderer
}

// Open reads the configuration with getenv, opens and migrates the
// database ROSTER_DB names and wires the application on it, as serve does
// but without listening, sweeping or seeding a demo user. ctx bounds the
// password hash worker. The caller closes App.Store.
func (c Command) Open(ctx context.Context, getenv func(string) string, log *slog.Logger) (*App, error) {
	cfg, err := parseConfig(nil, getenv)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	e, sessions, worker, v, err := c.newServer(ctx, cfg, store, nil, log, nil, "")
	if err != nil {
		store.Close()
		return nil, err
	}
	return &App{Echo: e, Store: store, Sessions: sessions, Notifier: worker, Views: v}, nil
}
