package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rosterhq/roster/backup"
)

// backupCommand runs `roster replicate` and `roster restore`. Neither opens
// the database through Roster's SQLite: replicate leaves it to Litestream
// (see package backup), restore writes a new file.
func backupCommand(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	path := getenv("ROSTER_DB")
	if path == "" {
		path = "roster.db"
	}
	raw := getenv(backup.EnvURL)
	if raw == "" {
		return fmt.Errorf("%s: set it to the replica, s3://bucket/path or file:///directory", backup.EnvURL)
	}
	client, err := backup.Client(raw, getenv)
	if err != nil {
		return err
	}
	if cmd == "replicate" {
		if len(args) > 0 {
			return errors.New("usage: roster replicate (ROSTER_DB to ROSTER_LITESTREAM_URL)")
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		log := newLogger(stderr).With("component", "litestream", "replica", redactURL(raw))
		return backup.Replicate(ctx, path, getenv(backup.EnvDir), client, log)
	}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the caller prints the error once
	to := fs.String("to", "", "the new database file (required)")
	at := fs.String("timestamp", "", "restore the database as it was at this time, RFC 3339 such as 2026-12-06T09:30:00Z; unset means the latest")
	if err := fs.Parse(args); err != nil || *to == "" || fs.NArg() > 0 {
		return errors.New("usage: roster restore -to FILE [-timestamp 2026-12-06T09:30:00Z]")
	}
	var ts time.Time
	if *at != "" {
		if ts, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("restore -timestamp: want RFC 3339 such as 2026-12-06T09:30:00Z, got %q", *at)
		}
	}
	if err := backup.Restore(ctx, client, *to, ts); err != nil {
		return err
	}
	as := "the latest"
	if !ts.IsZero() {
		as = "as of " + ts.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "restored %s (%s) to %s\n", redactURL(raw), as, *to)
	return nil
}

// isPrimary is the hook of the machine's role: whether this process may
// write the database, and so stream it. On one machine (r is nil) it always
// is; with LiteFS it answers from the role LiteFS gives, so the backup
// follows a promotion or a demotion.
func isPrimary(r *role) func() bool { return func() bool { return !r.isReplica() } }

// startReplication runs `roster replicate` as a supervised child while
// primary says so, until the returned stop is called; stop waits for the
// child's final sync. With no ROSTER_LITESTREAM_URL it does nothing.
func startReplication(ctx context.Context, cfg config, primary func() bool, log *slog.Logger, stderr io.Writer) (stop func(), err error) {
	if cfg.LitestreamURL == "" {
		return func() {}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot find the roster executable to run replicate: %w", backup.EnvURL, err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s := backup.Supervisor{Exe: exe, Args: []string{"replicate"}, Env: append(os.Environ(), cfg.replicaEnv...), Primary: primary, Log: log, Stderr: stderr}
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	log.Info("continuous backup with Litestream", "replica", redactURL(cfg.LitestreamURL))
	return func() {
		cancel()
		<-done
	}, nil
}

// redactURL is the replica URL without its query, which may name an
// endpoint's options, for the log.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unreadable)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}
