package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Session is a signed-in browser. The cookie value is never stored: IDHash is
// its SHA-256.
type Session struct {
	ID         int64
	IDHash     []byte
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	IP         string
	UserAgent  string
	Data       []byte
	IdentityID int64 // the external login that opened it, 0 for none (written, not read back)
}

const sessionColumns = `id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data`

// sessionRow is a session's columns as they are scanned.
type sessionRow struct {
	ss                     Session
	created, seen, expires int64
}

// targets are Scan's destinations for sessionColumns.
func (r *sessionRow) targets() []any {
	return []any{&r.ss.ID, &r.ss.IDHash, &r.ss.UserID, &r.created, &r.seen, &r.expires, &r.ss.IP, &r.ss.UserAgent, &r.ss.Data}
}

func (r *sessionRow) session() Session {
	r.ss.CreatedAt, r.ss.LastSeenAt, r.ss.ExpiresAt = fromUnix(r.created), fromUnix(r.seen), fromUnix(r.expires)
	return r.ss
}

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var r sessionRow
	if err := row.Scan(r.targets()...); err != nil {
		return Session{}, mapErr(err)
	}
	return r.session(), nil
}

// CreateSession stores a new session. CreatedAt and LastSeenAt are set to now.
// A session opened through an external login names it (IdentityID), so
// that whatever removes the login (its SAML connection going, the first
// verification of the account email) signs the session out; the login must
// still be the user's when the session is stored, else ErrNotFound: one
// removed between the sign-in and this write would otherwise leave a
// session that nothing signs out.
func (s *Store) CreateSession(ctx context.Context, ss Session) (Session, error) {
	now := unix(s.now())
	row := s.w.QueryRowContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data, identity_id)
		SELECT ?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8
		WHERE ?8 IS NULL OR EXISTS (SELECT 1 FROM identities WHERE id = ?8 AND user_id = ?2)
		RETURNING `+sessionColumns,
		ss.IDHash, ss.UserID, now, unix(ss.ExpiresAt), ss.IP, ss.UserAgent, ss.Data, sql.NullInt64{Int64: ss.IdentityID, Valid: ss.IdentityID != 0})
	identity, userID := ss.IdentityID, ss.UserID
	ss, err := scanSession(row)
	if errors.Is(err, ErrNotFound) {
		return Session{}, fmt.Errorf("create session: login %d of user %d is gone: %w", identity, userID, err)
	}
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	ss.IdentityID = identity
	return ss, nil
}

// SignedIn is what every signed-in request reads first: of its session
// what a request needs, the user, and the user's preferences (the
// defaults when none are saved).
type SignedIn struct {
	SessionID  int64
	IDHash     []byte // the session id's SHA-256
	LastSeenAt time.Time
	Data       []byte // the session's stored values
	User       User
	Prefs      Preferences
}

// signedInColumns are the session's columns SignedIn holds, userColumns
// and prefsColumns, of sessions s JOIN users u LEFT JOIN preferences p.
var signedInColumns = `s.id, s.last_seen_at, s.data,
	u.id, u.email, u.email_verified_at, u.name, COALESCE(u.password_hash, ''), u.created_at, u.updated_at, ` + prefsColumns

// activeSessionQuery is ActiveSession's statement, put together once.
var activeSessionQuery = `SELECT ` + signedInColumns + `
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN preferences p ON p.user_id = u.id
		WHERE s.id_hash = CAST(? AS BLOB) AND s.expires_at > ? AND s.last_seen_at > ?`

// ActiveSession returns the session with that hash, its user and their
// preferences, if it has neither passed its absolute expiry nor been idle
// since before idleSince. They are one statement because under writes
// each read statement starts with a cold page cache (S2 in
// docs/BENCHMARKS.md). The hash is CAST(? AS BLOB) for the reason in the
// package comment: as a bare parameter the join was planned again on every
// execution (24 us instead of 5).
func (s *Store) ActiveSession(ctx context.Context, hash []byte, idleSince time.Time) (SignedIn, error) {
	return s.activeSession(ctx, s.r, hash, idleSince)
}

// ActiveSessionToWrite is ActiveSession on the writer connection, for a
// request that is about to write (a POST). A reader connection drops its
// whole page cache whenever the WAL has changed since its last read, so
// under writes every read on a reader starts cold and reads its pages
// again; the one writer made every change itself and keeps its cache, so
// the same statement there finds its pages warm (S2 in docs/BENCHMARKS.md).
// It reads the committed rows as a reader does.
func (s *Store) ActiveSessionToWrite(ctx context.Context, hash []byte, idleSince time.Time) (SignedIn, error) {
	return s.activeSession(ctx, s.w, hash, idleSince)
}

func (s *Store) activeSession(ctx context.Context, from *sql.DB, hash []byte, idleSince time.Time) (SignedIn, error) {
	in := SignedIn{IDHash: hash}
	var seen int64
	var ur userRow
	var pr prefsRow
	err := from.QueryRowContext(ctx, activeSessionQuery, hash, unix(s.now()), unix(idleSince)).
		Scan(slices.Concat([]any{&in.SessionID, &seen, &in.Data}, ur.targets(), pr.targets())...)
	if err != nil {
		return SignedIn{}, mapErr(err)
	}
	in.LastSeenAt, in.User, in.Prefs = fromUnix(seen), ur.user(), pr.preferences()
	return in, nil
}

// TouchSession records that the session was just used, from ip.
func (s *Store) TouchSession(ctx context.Context, hash []byte, ip string) error {
	_, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ?, ip = ? WHERE id_hash = ?`, unix(s.now()), ip, hash)
	return err
}

// SaveSessionData replaces the session's stored values.
func (s *Store) SaveSessionData(ctx context.Context, hash, data []byte) error {
	_, err := s.exec(ctx, `UPDATE sessions SET data = ? WHERE id_hash = ?`, data, hash)
	return err
}

// DeleteSession removes the session with that hash, if it exists.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hash)
	return err
}

// SessionsForUser lists the user's live sessions, most recently used first.
func (s *Store) SessionsForUser(ctx context.Context, userID int64, idleSince time.Time) ([]Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = CAST(? AS INTEGER) AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC, id DESC`,
		userID, unix(s.now()), unix(idleSince))
	list, err := collect(rows, err, scanSession)
	if err != nil {
		return nil, fmt.Errorf("sessions of user %d: %w", userID, err)
	}
	return list, nil
}

// RevokeSession deletes one of the user's sessions by its public id and
// writes ev. A session that is not the user's gives ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, userID, sessionID int64, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, sessionID, userID)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, s.now())
	})
}

// RevokeOtherSessions deletes every session of the user but keep, and
// every sign-in of theirs waiting for its second step (endSessions), and
// writes ev, returning how many sessions were deleted.
func (s *Store) RevokeOtherSessions(ctx context.Context, userID int64, keep []byte, ev Event) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = endSessions(ctx, tx, userID, keep); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "count", n)
		return addEvent(ctx, tx, ev, s.now())
	})
	return n, err
}

// endSessions signs the user out everywhere but keep (nil keeps none) and
// says how many sessions ended. A sign-in waiting for its second step
// (pending_signins) is a session not started yet, begun with the
// credentials of before: every one of the user's ends too, whatever keep,
// else it would open a session after the change that ended the others (a
// password reset, the first verification, an email change). Every path
// that ends a person's sessions calls this, in its transaction.
func endSessions(ctx context.Context, tx *sql.Tx, userID int64, keep []byte) (int64, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_signins WHERE user_id = ?`, userID); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?`, userID, keep)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpired removes sessions past their absolute expiry or idle since
// before idleSince, spent or expired email tokens, authenticator-app
// set-ups never confirmed, and expired throttle slots. It returns how many
// sessions went.
func (s *Store) DeleteExpired(ctx context.Context, idleSince time.Time) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := unix(s.now())
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`, now, unix(idleSince))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_signins WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		// Authenticator-app set-ups never confirmed (TOTPSetUpTTL).
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_secrets WHERE confirmed_at IS NULL AND created_at <= ?`, now-int64(TOTPSetUpTTL/time.Second)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM throttle_slots WHERE expires_at <= ?`, now)
		return err
	})
	return n, err
}
