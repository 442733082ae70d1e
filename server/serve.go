package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rosterhq/roster/metrics"
)

func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func (c Command) serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	log := newLogger(stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	role := newRole(cfg, log)
	store, err := openServeStore(ctx, cfg, role, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while a replica waited for its primary
		}
		return err
	}
	defer func() {
		closeStore := store.Close
		if role.isReplica() {
			closeStore = store.CloseReadOnly
		}
		if err := closeStore(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	// Stopped before the database closes: the child's final sync reads
	// the WAL that Close then checkpoints away.
	stopBackup, err := startReplication(ctx, cfg, isPrimary(role), log, stderr)
	if err != nil {
		return err
	}
	defer stopBackup()
	if cfg.Demo {
		if role.isReplica() {
			log.Info("replica: the demo user is seeded by the primary")
		} else if err := seedDemo(ctx, store, stdout); err != nil {
			return err
		}
	}
	var obs *metrics.Metrics
	if cfg.MetricsAddr != "" {
		obs = metrics.New()
	}
	boot := newBoot()
	e, sessions, worker, _, err := c.newServer(ctx, cfg, store, role, log, obs, boot.ID)
	if err != nil {
		return err
	}
	bg := &background{store: store, sessions: sessions, worker: worker, boot: boot, log: log}
	// On the primary the workers start now, as on a single machine; on a
	// replica, when it is promoted.
	if !role.isReplica() {
		if err := bg.start(ctx); err != nil {
			return err
		}
	}
	// The workers finish what they have in hand before the database closes.
	defer bg.stop(context.WithoutCancel(ctx))
	if role != nil {
		go bg.follow(ctx, role)
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
	if cfg.StripeSecretKey != "" && cfg.StripeWebhookSecret == "" {
		log.Warn("ROSTER_STRIPE_WEBHOOK_SECRET is unset: cards removed or renewed at Stripe will not be updated here")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("Roster is listening", "url", cfg.baseURL.String(), "addr", ln.Addr().String(), "db", cfg.DB, "version", c.Version)

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
