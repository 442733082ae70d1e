// Command roster is a self-hosted user-profile and account-membership
// service: one binary, one SQLite file, server-rendered pages.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
	// The tz database goes into the binary: distroless has no
	// /usr/share/zoneinfo, and time zone preferences need every zone.
	_ "time/tzdata"

	"embed"

	"github.com/labstack/echo/v4"
	"github.com/mattn/go-isatty"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/mail"
	"github.com/rosterhq/roster/metrics"
	"github.com/rosterhq/roster/notify"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/session"
	"github.com/rosterhq/roster/views"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

//go:embed static
var staticFiles embed.FS

func main() {
	if password.IsHashWorker() {
		os.Exit(hashWorker())
	}
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roster:", err)
		os.Exit(1)
	}
}

// hashWorker is the whole of a password hash worker, the child process the
// server hashes in (password.Hasher.UseWorkerProcess).
func hashWorker() int {
	if err := password.ServeHashWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "roster hash worker:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Roster: user profiles and account memberships, self-hosted.

Usage:
  roster [serve] [flags]            start the server (the default)
  roster migrate                    bring the database schema up to date
  roster backup FILE                write a consistent copy of the live database to FILE
  roster user create -email E [-name N] [-password-stdin] [-verified]
  roster user reset-password -email E [-password-stdin]
  roster user verify-email -email E
  roster saml verify-domain -connection ID -domain D
                                    trust emails at D from SAML connection ID (after checking its owner)
  roster version

Every flag of serve can also be set by its environment variable:
`)
	for _, o := range options {
		def := o.def
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(w, "  -%-20s %-27s %s (default %s)\n", o.flag, o.env, o.help, def)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && (args[0][0] != '-' || isHelpFlag(args[0])) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseConfig(args, getenv)
		if err != nil {
			return quietHelp(err)
		}
		return serve(ctx, cfg, stdout, stderr)
	case "migrate", "backup", "user", "saml":
		cfg, err := parseConfig(nil, getenv)
		if err != nil {
			return err
		}
		return admin(ctx, cmd, args, cfg, stdin, stdout)
	case "version":
		fmt.Fprintf(stdout, "roster %s %s\n", version, runtime.Version())
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

// isHelpFlag is true for `roster -h` and `roster --help`, which print the
// usage to stdout rather than go to serve's flags.
func isHelpFlag(arg string) bool { return arg == "-h" || arg == "--help" }

// quietHelp makes -h exit cleanly after flag has printed the usage.
func quietHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// openStore opens and migrates the database.
func openStore(ctx context.Context, path string) (*db.Store, error) {
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

// secret returns ROSTER_SECRET, or the one generated at first start and
// kept in settings so that cookies survive restarts and are shared by every
// process on the database.
func secret(ctx context.Context, store *db.Store, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	b := make([]byte, 32)
	rand.Read(b)
	v, err := store.SettingOrInit(ctx, "cookie_secret", hex.EncodeToString(b))
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
// every request is timed and obs's gauges read this application.
func newServer(ctx context.Context, cfg config, store *db.Store, log *slog.Logger, obs *metrics.Metrics) (*echo.Echo, *session.Store, *notify.Worker, error) {
	key, err := secret(ctx, store, cfg.Secret)
	if err != nil {
		return nil, nil, nil, err
	}
	v, err := views.New()
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := newMailer(cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	sessions := session.New(store, session.Config{
		Secure: cfg.baseURL.Scheme == "https", Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute,
		ClientIP: func(r *http.Request) string { return e.IPExtractor(r) },
	})
	// Argon2id takes ~19 MiB and a core for tens of milliseconds: one hash
	// per core, a short queue, and a quick "busy" past that.
	hasher := password.NewHasher(runtime.NumCPU(), 4*runtime.NumCPU())
	// In a child at a low CPU priority, so that a storm of sign-ins
	// takes only the CPU that pages leave idle.
	hasher.UseWorkerProcess(ctx, log)
	if obs != nil {
		// First in the chain: it sees the status the error handler sent.
		e.Use(obs.Observe)
		obs.Watch(metrics.Sources{Store: store, HashDepth: hasher.Depth, IdleSince: sessions.IdleSince})
	}
	worker := notify.New(store, notify.Config{
		Mail: m, Phone: cfg.phone(), Log: log,
		// Webhooks reach this machine only on a development install.
		HTTP: notify.HTTPClient(cfg.baseURL.Scheme == "http"),
	})
	h := handlers.New(handlers.Config{
		BaseURL: cfg.baseURL, Signup: cfg.Signup, Secret: key, TrustedProxies: cfg.trustedProxies(),
		SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute,
		APIToken: cfg.APIToken, Queued: worker.Kick,
		OAuth: cfg.oauthProviders(), Stripe: cfg.stripe(), Resolver: cfg.resolver(),
	}, store, v, sessions, hasher, m, log)
	static, _ := fs.Sub(staticFiles, "static")
	if err := h.Routes(e, static); err != nil {
		return nil, nil, nil, err
	}
	return e, sessions, worker, nil
}

func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	log := newLogger(stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	store, err := openStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	if cfg.Demo {
		if err := seedDemo(ctx, store, stdout); err != nil {
			return err
		}
	}
	var obs *metrics.Metrics
	if cfg.MetricsAddr != "" {
		obs = metrics.New()
	}
	e, sessions, worker, err := newServer(ctx, cfg, store, log, obs)
	if err != nil {
		return err
	}
	if obs != nil {
		stopMetrics, err := serveMetrics(cfg.MetricsAddr, obs, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ROSTER_ADDR: %w", err)
	}
	srv := newHTTPServer(e, cfg.httpTimeouts(), log)
	go sweep(ctx, sessions, log)
	go sweepSpent(ctx, store, log)
	// The worker finishes the delivery in hand before the database closes.
	workerCtx, stopWorker := context.WithCancel(ctx)
	var delivering sync.WaitGroup
	delivering.Go(func() { worker.Run(workerCtx) })
	defer delivering.Wait()
	defer stopWorker()
	go sweepExpiredCards(ctx, store, log)
	if cfg.StripeSecretKey != "" && cfg.StripeWebhookSecret == "" {
		log.Warn("ROSTER_STRIPE_WEBHOOK_SECRET is unset: cards removed or renewed at Stripe will not be updated here")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("Roster is listening", "url", cfg.baseURL.String(), "addr", ln.Addr().String(), "db", cfg.DB, "version", version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still running after 10s were cut off", "err", err)
	}
	return nil
}

// sweepExpiredCards takes expired cards off the accounts they paid for,
// hourly; the Admins' billing notices are queued with each change.
func sweepExpiredCards(ctx context.Context, store *db.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		cleared, err := store.ClearExpiredBilling(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("clear expired cards from accounts", "err", err)
		}
		for _, b := range cleared {
			log.Info("expired card no longer pays for an account", "account_id", b.AccountID)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepSpent hourly forgets SAML sign-in requests and assertion ids once a
// day old (by then they are refused on their age alone), notifications
// sent or given up more than db.DeliveryRetention ago, and Stripe webhook
// ids older than db.StripeEventRetention.
func sweepSpent(ctx context.Context, store *db.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		if err := store.DeleteSpentSAML(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			log.Error("delete spent saml requests", "err", err)
		}
		n, err := store.DeleteOldDeliveries(ctx, now.Add(-db.DeliveryRetention))
		if err != nil && ctx.Err() == nil {
			log.Error("delete old notifications", "err", err)
		} else if n > 0 {
			log.Info("deleted old notifications", "count", n)
		}
		if _, err := store.DeleteOldStripeEvents(ctx, now.Add(-db.StripeEventRetention)); err != nil && ctx.Err() == nil {
			log.Error("delete old stripe events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes expired sessions, spent email links and expired throttle slots
// every few minutes. Any number of processes can run it: each delete is
// idempotent.
func sweep(ctx context.Context, sessions *session.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		n, err := sessions.DeleteExpired(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("delete expired sessions", "err", err)
		} else if n > 0 {
			log.Info("deleted expired sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveMetrics serves /metrics on its own listener, away from the public
// address, until the returned stop is called.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ROSTER_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := newHTTPServer(mux, defaultTimeouts, log)
	go srv.Serve(ln)
	log.Info("metrics are served", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
