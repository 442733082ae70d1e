package db

import (
	"context"
	"fmt"
	"time"
)

// RecordLoginFailure counts one failed sign-in against each key.
func (s *Store) RecordLoginFailure(ctx context.Context, keys ...string) error {
	now := unix(s.now())
	for _, k := range keys {
		if _, err := s.exec(ctx, `INSERT INTO login_failures (key, created_at) VALUES (?, ?)`, k, now); err != nil {
			return fmt.Errorf("record login failure: %w", err)
		}
	}
	return nil
}

// LoginFailures counts failures against key since since.
func (s *Store) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE key = ? AND created_at >= ?`, key, unix(since)).Scan(&n)
	return n, err
}

// ClearLoginFailures forgets the failures against key, after a success.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
	return err
}
