// Package db is Roster's storage: one SQLite file opened as a single writer
// connection and a pool of readers, with embedded goose migrations.
//
// # Parameters written as CAST(? AS INTEGER) (reprepareNote)
//
// When SQLite's planner looks at the value bound to a parameter while it
// chooses a plan (a LIMIT or OFFSET, an equality it weighs between two
// indexes or against an ORDER BY), it marks the statement to be re-planned
// whenever that parameter is bound again, and the driver clears the
// bindings of a cached statement before each use. Such a statement is
// parsed and planned again on every execution: 10-14 us instead of 3 us for
// the lists of the profile page (BenchmarkReads). CAST(? AS INTEGER) is an
// expression, not a bare parameter, so the planner does not look inside it
// and the prepared plan is kept, with the same index. List queries on hot
// paths write their integer parameters that way, and the session read
// (a join) its BLOB hash as CAST(? AS BLOB).
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

var migrationsFS, _ = fs.Sub(migrations, "migrations")

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule.
var ErrConflict = errors.New("conflict")

// Store holds the two pools on one SQLite file. Writes go through w, which has
// exactly one connection, so SQLite never has to arbitrate between writers and
// no transaction ever sees SQLITE_BUSY from another writer in this process.
type Store struct {
	w    *sql.DB
	r    *sql.DB
	path string
	now  func() time.Time
	// billing writes the billing notice (cards.go: SetBillingComposer).
	billing BillingComposer
}

// Open opens (creating if needed) the database at path. It does not migrate;
// call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, false)
}

// OpenQueryOnly opens the database at path as Open does, but every write
// fails ("attempt to write a readonly database") as it does on a LiteFS
// replica: for the tests of Roster on a replica.
func OpenQueryOnly(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, true)
}

func open(ctx context.Context, path string, queryOnly bool) (*Store, error) {
	dsn := func(mode string) string {
		q := url.Values{}
		q.Set("_journal_mode", "WAL")
		q.Set("_foreign_keys", "on")
		q.Set("_busy_timeout", "10000")
		q.Set("_synchronous", "NORMAL")
		// Every page runs the same few dozen statements: keep them prepared
		// per connection rather than parsing the SQL on every query.
		q.Set("_stmt_cache_size", "128")
		q.Set("mode", mode)
		if queryOnly {
			q.Set("_query_only", "1")
		}
		if mode == "rwc" {
			q.Set("_txlock", "immediate")
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite3", dsn("rwc"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn("ro"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &Store{w: w, r: r, path: path, now: time.Now}, nil
}

// migrator is the goose provider of the embedded SQL migrations and the
// ones written in Go (normalEmailsMigration), on the writer connection.
func (s *Store) migrator() (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, migrationsFS, goose.WithGoMigrations(normalEmailsMigration()))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate brings the schema up to date with the embedded migrations.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	p, err := s.migrator()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		// A table rebuild (-- +goose NO TRANSACTION) runs its own
		// transaction with foreign keys off on the one writer connection:
		// never leave either behind.
		s.w.ExecContext(ctx, "ROLLBACK")
		s.w.ExecContext(ctx, "PRAGMA foreign_keys = ON")
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []string
	for _, r := range results {
		name := r.Source.Path
		if name == "" {
			name = fmt.Sprintf("%05d (Go)", r.Source.Version)
		}
		applied = append(applied, name)
	}
	return applied, nil
}

// SchemaVersion returns the version of the last migration applied to the
// database (0 for a new one) and the version Migrate brings it to. It only
// reads, so a LiteFS replica can wait on it for its primary to migrate.
func (s *Store) SchemaVersion(ctx context.Context) (have, want int64, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	for _, src := range p.ListSources() {
		want = max(want, src.Version)
	}
	var tables int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&tables); err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	if tables == 0 {
		return 0, want, nil
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&have); err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	return have, want, nil
}

// Ping reports whether the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close checkpoints the WAL into the main file and closes both pools.
func (s *Store) Close() error {
	_, cerr := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	rerr := s.r.Close()
	werr := s.w.Close()
	return errors.Join(cerr, rerr, werr)
}

// CloseReadOnly closes both pools without the checkpoint of Close: on a
// LiteFS replica, which cannot write, LiteFS keeps the file.
func (s *Store) CloseReadOnly() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Backup writes a consistent copy of the live database to file, which must
// not exist yet. It runs while the server keeps serving: VACUUM INTO reads one
// snapshot inside a read transaction.
func (s *Store) Backup(ctx context.Context, file string) error {
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", file); err != nil {
		return fmt.Errorf("backup to %s: %w", file, err)
	}
	return nil
}

// SetClock makes the store read the time from now instead of the system
// clock, for tests that play hours passing (an outage longer than a
// link's life). Call it before the store is used.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Tx runs fn inside one immediate write transaction on the writer connection,
// committing when fn returns nil and rolling back otherwise.
func (s *Store) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// exec runs one write statement outside an explicit transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	return res, mapErr(err)
}

// mapErr is the one place SQLite errors become the package's sentinel errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// rowScanner is what *sql.Row and *sql.Rows both offer; each table's
// scan function takes one, so it reads a single row and a list alike.
type rowScanner = interface{ Scan(...any) error }

// collect reads every row of a query with scan. It takes the query's own
// results, so a failed query passes straight through.
func collect[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// unix turns a time into the integer seconds every table stores.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix is the inverse of unix; zero stays the zero time.
func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// nullTime reads a nullable unix column.
func nullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromUnix(n.Int64)
}
