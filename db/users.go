package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// User is a person who can sign in.
type User struct {
	ID              int64
	Email           string
	EmailVerifiedAt time.Time // zero while unverified
	Name            string
	PasswordHash    string // empty when the user signs in only through SSO
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// EmailVerified reports whether the account email has been confirmed.
func (u User) EmailVerified() bool { return !u.EmailVerifiedAt.IsZero() }

// DisplayName is the name, or the email when no name is set.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// NewUser holds what is needed to create a user.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
	Verified     bool
}

const userColumns = `id, email, email_verified_at, name, COALESCE(password_hash, ''), created_at, updated_at`

// userRow is a user's columns as they are scanned.
type userRow struct {
	u                User
	verified         sql.NullInt64
	created, updated int64
}

// targets are Scan's destinations for userColumns.
func (r *userRow) targets() []any {
	return []any{&r.u.ID, &r.u.Email, &r.verified, &r.u.Name, &r.u.PasswordHash, &r.created, &r.updated}
}

func (r *userRow) user() User {
	r.u.EmailVerifiedAt = nullTime(r.verified)
	r.u.CreatedAt, r.u.UpdatedAt = fromUnix(r.created), fromUnix(r.updated)
	return r.u
}

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var r userRow
	if err := row.Scan(r.targets()...); err != nil {
		return User{}, mapErr(err)
	}
	return r.user(), nil
}

// CreateUser inserts a user and writes ev (with the new user's id) to the
// audit log in the same transaction. A taken email gives ErrConflict.
func (s *Store) CreateUser(ctx context.Context, nu NewUser, ev Event) (User, error) {
	var u User
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = createUser(ctx, tx, nu, s.now())
		if err != nil {
			return err
		}
		ev.UserID = u.ID
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func createUser(ctx context.Context, tx *sql.Tx, nu NewUser, now time.Time) (User, error) {
	var verified sql.NullInt64
	if nu.Verified {
		verified = sql.NullInt64{Int64: unix(now), Valid: true}
	}
	var hash sql.NullString
	if nu.PasswordHash != "" {
		hash = sql.NullString{String: nu.PasswordHash, Valid: true}
	}
	row := tx.QueryRowContext(ctx, `INSERT INTO users (email, email_verified_at, name, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+userColumns,
		NormalEmail(nu.Email), verified, strings.TrimSpace(nu.Name), hash, unix(now), unix(now))
	u, err := scanUser(row)
	if err != nil {
		return User{}, err
	}
	// Every user has the account email as a contact method, with every
	// circumstance routed to it.
	return u, insertAccountContact(ctx, tx, u, now)
}

// UserByID returns the user with that id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByEmail returns the user whose account email is email in its normal
// form (NormalEmail).
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, NormalEmail(email)))
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// UpdateName sets the user's display name and writes ev, in one transaction.
func (s *Store) UpdateName(ctx context.Context, userID int64, name string, ev Event) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, updated_at = ? WHERE id = ?`,
			strings.TrimSpace(name), unix(s.now()), userID)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return fmt.Errorf("update name of user %d: %w", userID, err)
	}
	return nil
}

// ChangePassword sets a new password hash, revokes every session of the user
// except keepSession (nil keeps none) and every sign-in waiting for its
// second step (endSessions), and writes ev, all in one transaction.
// It returns how many sessions were revoked.
func (s *Store) ChangePassword(ctx context.Context, userID int64, hash string, keepSession []byte, ev Event) (int64, error) {
	var revoked int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		revoked, err = setPassword(ctx, tx, userID, hash, keepSession, s.now())
		if err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "sessions_revoked", revoked)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return 0, fmt.Errorf("change password of user %d: %w", userID, err)
	}
	return revoked, nil
}

func setPassword(ctx context.Context, tx *sql.Tx, userID int64, hash string, keepSession []byte, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, unix(now), userID)
	if err != nil {
		return 0, err
	}
	if err := oneRow(res); err != nil {
		return 0, err
	}
	// A change of the account email asked for before is ended with the
	// sessions: it may come from one of them, and its link would hand the
	// profile to another mailbox.
	if _, err := tx.ExecContext(ctx, `DELETE FROM email_changes WHERE user_id = ?`, userID); err != nil {
		return 0, err
	}
	return endSessions(ctx, tx, userID, keepSession)
}

// SetPasswordHash replaces a user's hash without touching sessions; used to
// upgrade hashes made with weaker parameters at sign-in. It writes only
// while the hash is still old, the one the sign-in checked the password
// against: a password changed in between stays, and the answer is then
// ErrConflict.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, old, hash string) error {
	res, err := s.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, hash, userID, old)
	if err != nil {
		return fmt.Errorf("rehash password of user %d: %w", userID, err)
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("rehash password of user %d: %w", userID, ErrConflict)
	}
	return nil
}

// MarkEmailVerified records that the user's current email is verified and
// writes ev, in one transaction; for the operator, who vouches for the
// address. Verifying twice keeps the first time. A first verification
// ends what was attached before it (confirmAddress): the logins, and the
// sessions when a login went.
func (s *Store) MarkEmailVerified(ctx context.Context, userID int64, ev Event) (Verified, error) {
	var v Verified
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = confirmAddress(ctx, tx, userID, "", byOperator, nil, ev, s.now()); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withVerified(ev.Detail, v)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return Verified{}, fmt.Errorf("mark email of user %d verified: %w", userID, err)
	}
	return v, nil
}

// oneRow turns "no row changed" into ErrNotFound.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
