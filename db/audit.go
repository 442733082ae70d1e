package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Audit event kinds.
const (
	EventSignUp          = "signup"
	EventSignIn          = "signin"
	EventSignInFailed    = "signin_failed"
	EventSignOut         = "signout"
	EventPasswordChanged = "password_changed"
	EventPasswordReset   = "password_reset"
	EventSessionRevoked  = "session_revoked"
	EventSessionsRevoked = "other_sessions_revoked"
	EventEmailVerified   = "email_verified"
	EventProfileUpdated  = "profile_updated"

	EventAccountCreated   = "account_created"
	EventAccountRenamed   = "account_renamed"
	EventAccountDeleted   = "account_deleted"
	EventRoleChanged      = "role_changed"
	EventMemberRemoved    = "member_removed"
	EventAccountLeft      = "account_left"
	EventOwnerTransferred = "owner_transferred"
	EventInviteSent       = "invite_sent"
	EventInviteResent     = "invite_resent"
	EventInviteRevoked    = "invite_revoked"
	EventInviteAccepted   = "invite_accepted"
	EventInviteIgnored    = "invite_ignored"

	EventLoginLinked   = "login_linked"
	EventLoginUnlinked = "login_unlinked"
)

// Event is one entry of a user's security/activity log.
type Event struct {
	ID        int64
	UserID    int64
	AccountID int64 // 0 when not about an account
	Kind      string
	Detail    map[string]any
	IP        string
	UserAgent string
	CreatedAt time.Time
	// Notice, when set, is queued to the event's user by their rules in
	// the transaction that writes the event: the change and its
	// notification commit together or not at all.
	Notice *Notice
}

func withDetail(d map[string]any, k string, v any) map[string]any {
	if d == nil {
		d = map[string]any{}
	}
	d[k] = v
	return d
}

// AddEvent appends ev to the audit log.
func (s *Store) AddEvent(ctx context.Context, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return addEvent(ctx, tx, ev, s.now()) })
}

func addEvent(ctx context.Context, tx *sql.Tx, ev Event, now time.Time) error {
	detail := []byte("{}")
	if len(ev.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(ev.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (user_id, account_id, kind, detail_json, ip, user_agent, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sql.NullInt64{Int64: ev.UserID, Valid: ev.UserID != 0}, sql.NullInt64{Int64: ev.AccountID, Valid: ev.AccountID != 0},
		ev.Kind, string(detail), ev.IP, ev.UserAgent, unix(now))
	if err != nil || ev.Notice == nil || ev.UserID == 0 {
		return err
	}
	_, err = enqueue(ctx, tx, ev.UserID, *ev.Notice, now)
	return err
}

// EventsForUser returns one page of the user's events, newest first, and
// whether older events exist past it.
func (s *Store) EventsForUser(ctx context.Context, userID int64, limit, offset int) ([]Event, bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, COALESCE(account_id, 0), kind, detail_json, ip, user_agent, created_at
		FROM audit_events WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, userID, limit+1, offset)
	if err != nil {
		return nil, false, fmt.Errorf("events of user %d: %w", userID, err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		ev := Event{UserID: userID}
		var detail string
		var created int64
		if err := rows.Scan(&ev.ID, &ev.AccountID, &ev.Kind, &detail, &ev.IP, &ev.UserAgent, &created); err != nil {
			return nil, false, err
		}
		ev.CreatedAt = fromUnix(created)
		if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
			return nil, false, fmt.Errorf("event %d detail: %w", ev.ID, err)
		}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	return events, more, nil
}

// CountEventsForUser counts the user's events, for the last page's link.
func (s *Store) CountEventsForUser(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events of user %d: %w", userID, err)
	}
	return n, nil
}
