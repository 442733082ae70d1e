// Package backup streams the database to a Litestream replica (a directory
// or an S3-compatible bucket) and brings it back from one to a point in
// time. Litestream does the work; this package only wires it.
//
// Litestream reads SQLite through modernc.org/sqlite while Roster uses
// mattn/go-sqlite3. SQLite's locks are per process on POSIX systems, so two
// SQLite libraries in one process do not see each other's locks (Litestream's
// library README: "You must use modernc.org/sqlite for your app"). The
// replication therefore runs in a child process of its own, `roster
// replicate`, which the server supervises (Supervise); there, its locks meet
// Roster's as another process's, as with the litestream command. Restore
// never touches a live database and runs in the calling process.
package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// The variables read besides the replica URL. The AWS ones are the SDK's
// own; when the keys are unset the SDK's default chain (shared credentials
// file, instance or task role) is used.
const (
	EnvURL      = "ROSTER_LITESTREAM_URL"
	EnvEndpoint = "ROSTER_LITESTREAM_S3_ENDPOINT"
	// EnvDir is where Litestream keeps its state (its copy of the
	// transactions not yet shipped); unset, .<db>-litestream beside the
	// database. On a LiteFS mount, which holds only databases, it must be
	// elsewhere.
	EnvDir       = "ROSTER_LITESTREAM_DIR"
	envKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretKey = "AWS_SECRET_ACCESS_KEY"
	envRegion    = "AWS_REGION"
	// envSDKEndpoint stands in for EnvEndpoint when that is unset.
	envSDKEndpoint = "AWS_ENDPOINT_URL_S3"
)

// Client returns the Litestream replica client of rawURL: file:///dir, or
// s3://bucket/path with the endpoint (ROSTER_LITESTREAM_S3_ENDPOINT, else
// AWS_ENDPOINT_URL_S3, for S3-compatible services; path-style requests),
// region (AWS_REGION) and
// keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) read with getenv.
// Litestream's own query parameters (endpoint, region, forcePathStyle,
// skipVerify) are accepted as well. An error names the variable at fault
// and does not repeat the URL.
func Client(rawURL string, getenv func(string) string) (litestream.ReplicaClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: want file:///directory or s3://bucket/path", EnvURL)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("%s: want file:///directory (three slashes, an absolute path)", EnvURL)
		}
		if !filepath.IsAbs(u.Path) || filepath.Clean(u.Path) == "/" {
			return nil, fmt.Errorf("%s: want file:///directory (an absolute path other than /)", EnvURL)
		}
		return file.NewReplicaClient(filepath.Clean(u.Path)), nil
	case "s3":
		return s3Client(u, getenv)
	}
	return nil, fmt.Errorf("%s: want file:///directory or s3://bucket/path", EnvURL)
}

func s3Client(u *url.URL, getenv func(string) string) (litestream.ReplicaClient, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("%s: want s3://bucket/path: the bucket is missing", EnvURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: keep the keys out of the URL; set %s and %s", EnvURL, envKeyID, envSecretKey)
	}
	if getenv("AWS_CA_BUNDLE") != "" {
		// Litestream gives the AWS SDK a plain *http.Client, to which the
		// SDK cannot add a CA bundle: every request would fail.
		return nil, errors.New("AWS_CA_BUNDLE: Litestream's S3 client cannot use it; unset it and name the CA file in SSL_CERT_FILE instead")
	}
	q := u.Query()
	name, ep := EnvEndpoint, getenv(EnvEndpoint)
	if ep == "" {
		// The SDK's variable for the S3 endpoint, which `fly storage
		// create` (Tigris) sets along with the keys.
		name, ep = envSDKEndpoint, getenv(envSDKEndpoint)
	}
	if ep != "" && q.Get("endpoint") == "" {
		e, err := url.Parse(ep)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return nil, fmt.Errorf("%s: want an http or https URL such as https://s3.example.com", name)
		}
		q.Set("endpoint", ep)
	}
	if r := getenv(envRegion); r != "" && q.Get("region") == "" {
		q.Set("region", r)
	}
	c, err := s3.NewReplicaClientFromURL("s3", u.Host, strings.TrimPrefix(u.Path, "/"), q, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", EnvURL, err)
	}
	sc := c.(*s3.ReplicaClient)
	// From getenv rather than the process environment, as every other setting.
	sc.AccessKeyID, sc.SecretAccessKey = getenv(envKeyID), getenv(envSecretKey)
	if (sc.AccessKeyID == "") != (sc.SecretAccessKey == "") {
		return nil, fmt.Errorf("%s and %s: set both or neither", envKeyID, envSecretKey)
	}
	return sc, nil
}

// Replicate streams the database at path to client until ctx ends, then
// syncs what is left and returns; Litestream keeps its state in stateDir
// ("" is .<db>-litestream beside the database). It is the whole of `roster
// replicate`: run it in a process that has no other SQLite connection to
// path.
//
// The start (the replica's first copy) and the final sync each have
// syncWait and are not cut short by ctx: a server stopped a moment after it
// started still leaves its writes in the replica.
func Replicate(ctx context.Context, path, stateDir string, client litestream.ReplicaClient, log *slog.Logger) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("replicate %s: %w", path, err)
	}
	ldb := litestream.NewDB(path)
	if stateDir != "" {
		ldb.SetMetaPath(filepath.Join(stateDir, "."+filepath.Base(path)+litestream.MetaDirSuffix))
	}
	ldb.SetLogger(log)
	r := litestream.NewReplicaWithClient(ldb, client)
	ldb.Replica = r
	if fc, ok := client.(*file.ReplicaClient); ok {
		fc.Replica = r // the replica's files take the database's owner and mode
	}
	store := litestream.NewStore([]*litestream.DB{ldb}, litestream.DefaultCompactionLevels)
	store.Logger = log
	startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncWait)
	defer cancel()
	if err := store.Open(startCtx); err != nil {
		return fmt.Errorf("replicate %s: %w", path, err)
	}
	// Litestream reads the database at its first monitor tick; a sync now
	// makes the first copy at once.
	if err := ldb.SyncAndWait(startCtx); err != nil {
		store.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("replicate %s: first sync: %w", path, err)
	}
	log.Info("continuous backup is streaming", "db", path)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncWait)
	defer cancel()
	serr := ldb.SyncAndWait(closeCtx)
	if err := errors.Join(serr, store.Close(closeCtx)); err != nil {
		return fmt.Errorf("replicate %s: final sync: %w", path, err)
	}
	log.Info("continuous backup stopped after a final sync", "db", path)
	return nil
}

// syncWait bounds Replicate's first and last syncs (Supervisor's stopWait
// leaves room for both).
const syncWait = 15 * time.Second

// ErrExists is returned by Restore when the target file is already there.
var ErrExists = errors.New("already exists")

// ErrNoBackup is returned by Restore when the replica holds nothing to
// restore (at that time).
var ErrNoBackup = errors.New("no backup")

// Restore writes the database as the replica had it at ts (the latest when
// ts is zero) to the new file to. It refuses to overwrite a file, checks the
// result's integrity, and leaves no partial file behind on failure.
func Restore(ctx context.Context, client litestream.ReplicaClient, to string, ts time.Time) error {
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("restore to %s: %w; pick a new file name", to, ErrExists)
	}
	if err := client.Init(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	r := litestream.NewReplicaWithClient(nil, client)
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = to
	opt.Timestamp = ts
	opt.IntegrityCheck = litestream.IntegrityCheckQuick
	if err := r.Restore(ctx, opt); err != nil {
		if errors.Is(err, litestream.ErrNoSnapshots) || errors.Is(err, litestream.ErrTxNotAvailable) {
			if ts.IsZero() {
				return fmt.Errorf("restore: %w in the replica", ErrNoBackup)
			}
			return fmt.Errorf("restore: %w in the replica at or before %s", ErrNoBackup, ts.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("restore to %s: %w", to, err)
	}
	return nil
}
