// Package server is the roster program: its configuration, the wiring of
// the application, the HTTP server, the background sweeps and the
// maintenance commands. main.go hands it what is fixed when the binary is
// built: the static files and the version.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	// The tz database goes into the binary: distroless has no
	// /usr/share/zoneinfo, and time zone preferences need every zone.
	_ "time/tzdata"

	"github.com/rosterhq/roster/password"
)

// Command is the roster command line, holding what main.go fixes when the
// binary is built.
type Command struct {
	Static  fs.FS  // the files served under /static
	Version string // set with -ldflags "-X main.version=..."
}

// HashWorker is the whole of a password hash worker, the child process the
// server hashes in (password.Hasher.UseWorkerProcess): the same executable,
// started again with password.IsHashWorker true. main calls it then, and so
// does the TestMain of every test package that serves in its own process.
func HashWorker() int {
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
  roster restore -to FILE [-timestamp RFC3339]
                                    bring the database back from ROSTER_LITESTREAM_URL (as it was at the time)
  roster replicate                  stream ROSTER_DB to ROSTER_LITESTREAM_URL (serve runs it as a child)
  roster user create -email E [-name N] [-password-stdin] [-verified]
  roster user reset-password -email E [-password-stdin]
  roster user verify-email -email E
  roster user delete -email E
  roster user reset-2fa -email E [-passkeys]
                                    turn off the authenticator app and recovery codes of someone who lost them (and the passkeys);
                                    signs every session of the person out
  roster saml verify-domain -connection ID -domain D
                                    trust emails at D from SAML connection ID (after checking its owner)
  roster account require-2fa -account ID -off
                                    stop requiring two-factor of account ID's members (when no Admin can open it)
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

// Run runs `roster args...` (args without the program's name) with the
// environment getenv reads and the standard streams given.
func (c Command) Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
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
		return c.serve(ctx, cfg, stdout, stderr)
	case "migrate", "backup", "user", "saml", "account":
		cfg, err := parseConfig(nil, getenv)
		if err != nil {
			return err
		}
		return admin(ctx, cmd, args, cfg, stdin, stdout)
	case "replicate", "restore":
		return backupCommand(ctx, cmd, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "roster %s %s\n", c.Version, runtime.Version())
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
