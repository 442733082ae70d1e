package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
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
	// EventTwoFactorRequired: an Admin turned on or off (detail "on") the
	// account's requirement of two-factor authentication.
	EventTwoFactorRequired = "account_two_factor_required"

	EventLoginLinked   = "login_linked"
	EventLoginUnlinked = "login_unlinked"

	// Two-factor authentication (twofactor.go). EventSecondFactor is the
	// second step of an external login's sign-in, whose first step wrote
	// EventSignIn; a password sign-in writes EventSignIn once, after both.
	EventTwoFactorEnabled  = "two_factor_enabled"
	EventTwoFactorDisabled = "two_factor_disabled"
	EventTwoFactorReset    = "two_factor_reset" // by an operator: roster user reset-2fa
	EventRecoveryCodesNew  = "recovery_codes_regenerated"
	EventRecoveryCodeUsed  = "recovery_code_used"
	EventSecondFactor      = "second_factor"
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
	// ByOther: someone other than UserID did it (an Admin acting on them,
	// the person who accepted their invite, the owner who deleted an
	// account). The entry keeps no IP address or device, which would be
	// the other person's: addEvent drops them, and the table's CHECK
	// (migration 00025) refuses them. Write such entries with forOther.
	ByOther   bool
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

// forOther is ev as written in the log of userID, who did not do it:
// without the IP address and device of the request that did.
func forOther(ev Event, userID int64) Event {
	ev.UserID, ev.ByOther = userID, true
	ev.IP, ev.UserAgent = "", ""
	return ev
}

func addEvent(ctx context.Context, tx *sql.Tx, ev Event, now time.Time) error {
	if ev.ByOther {
		ev.IP, ev.UserAgent = "", ""
	}
	detail := []byte("{}")
	if len(ev.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(ev.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	// A person's own entry leaves by_other to its default, 0: the tests of
	// older migrations write such entries with this code.
	insert := `INSERT INTO audit_events (user_id, account_id, kind, detail_json, ip, user_agent, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	if ev.ByOther {
		insert = `INSERT INTO audit_events (user_id, account_id, kind, detail_json, ip, user_agent, created_at, by_other)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1)`
	}
	_, err := tx.ExecContext(ctx, insert,
		sql.NullInt64{Int64: ev.UserID, Valid: ev.UserID != 0}, sql.NullInt64{Int64: ev.AccountID, Valid: ev.AccountID != 0},
		ev.Kind, string(detail), ev.IP, ev.UserAgent, unix(now))
	if err != nil || ev.Notice == nil || ev.UserID == 0 {
		return err
	}
	_, err = enqueue(ctx, tx, ev.UserID, *ev.Notice, now)
	return err
}

// EventKey is where a page of a user's activity log starts, as the links
// of the page before it say: the events just older than ID or, with Newer,
// just newer than ID. ID 0 is an end of the log: the zero EventKey is the
// newest page, and EventKey{Newer: true} the oldest.
type EventKey struct {
	ID    int64
	Newer bool
}

// EventPage is one page of a user's activity log, newest first, and
// whether the log goes on past it either way.
type EventPage struct {
	Events []Event
	Newer  bool // events newer than the first exist
	Older  bool // events older than the last exist
}

// EventsForUser returns the page of at most limit of the user's events at
// key, by keyset on (user_id, id) so that the oldest page costs what the
// newest does. A page that would run past an end of the log is the full
// page at that end: newer than the newest is the newest page, and older
// than the oldest the oldest.
func (s *Store) EventsForUser(ctx context.Context, userID int64, key EventKey, limit int) (EventPage, error) {
	limit = max(limit, 1)
	page, err := s.eventsFrom(ctx, userID, key, limit)
	if err == nil && key.ID > 0 {
		switch {
		case key.Newer && len(page.Events) < limit:
			page, err = s.eventsFrom(ctx, userID, EventKey{}, limit)
		case !key.Newer && len(page.Events) == 0:
			page, err = s.eventsFrom(ctx, userID, EventKey{Newer: true}, limit)
		}
	}
	if err != nil {
		return EventPage{}, fmt.Errorf("events of user %d: %w", userID, err)
	}
	return page, nil
}

// The keyset queries read limit+1 rows to learn whether the log goes on.
// Their LIMIT and their user_id, which the planner weighs between the two
// indexes on (user_id, ...), are CASTs: see reprepareNote in db.go. Bound
// bare, the page costs 37 us instead of 27 us (10k events, 26 rows). The
// EXISTS probes measured the same bound as inline, so they stay plain.
const (
	eventColumns = `id, COALESCE(account_id, 0), kind, detail_json, ip, user_agent, by_other, created_at`
	eventsOlder  = `SELECT ` + eventColumns + ` FROM audit_events
		WHERE user_id = CAST(? AS INTEGER) AND id < ? ORDER BY id DESC LIMIT CAST(? AS INTEGER)`
	eventsNewer = `SELECT ` + eventColumns + ` FROM audit_events
		WHERE user_id = CAST(? AS INTEGER) AND id > ? ORDER BY id ASC LIMIT CAST(? AS INTEGER)`
	eventsExistOlder = `SELECT EXISTS (SELECT 1 FROM audit_events WHERE user_id = ? AND id < ?)`
	eventsExistNewer = `SELECT EXISTS (SELECT 1 FROM audit_events WHERE user_id = ? AND id > ?)`
)

// eventsFrom reads the page at key as it falls, without the fallbacks at
// the ends. Only a page in the middle needs a second query, to learn
// whether the log goes on behind it.
func (s *Store) eventsFrom(ctx context.Context, userID int64, key EventKey, limit int) (EventPage, error) {
	var p EventPage
	scan := func(r rowScanner) (Event, error) { return scanEvent(r, userID) }
	if key.Newer {
		rows, err := s.r.QueryContext(ctx, eventsNewer, userID, key.ID, limit+1)
		events, err := collect(rows, err, scan)
		if err != nil {
			return EventPage{}, err
		}
		p.Newer = len(events) > limit
		p.Events = events[:min(len(events), limit)]
		slices.Reverse(p.Events)
	} else {
		before := key.ID
		if before == 0 {
			before = math.MaxInt64
		}
		rows, err := s.r.QueryContext(ctx, eventsOlder, userID, before, limit+1)
		events, err := collect(rows, err, scan)
		if err != nil {
			return EventPage{}, err
		}
		p.Older = len(events) > limit
		p.Events = events[:min(len(events), limit)]
	}
	if key.ID == 0 || len(p.Events) == 0 {
		return p, nil // at an end: nothing lies behind
	}
	var err error
	if key.Newer {
		err = s.r.QueryRowContext(ctx, eventsExistOlder, userID, p.Events[len(p.Events)-1].ID).Scan(&p.Older)
	} else {
		err = s.r.QueryRowContext(ctx, eventsExistNewer, userID, p.Events[0].ID).Scan(&p.Newer)
	}
	return p, err
}

func scanEvent(r rowScanner, userID int64) (Event, error) {
	ev := Event{UserID: userID}
	var detail string
	var created int64
	if err := r.Scan(&ev.ID, &ev.AccountID, &ev.Kind, &detail, &ev.IP, &ev.UserAgent, &ev.ByOther, &created); err != nil {
		return Event{}, err
	}
	ev.CreatedAt = fromUnix(created)
	if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
		return Event{}, fmt.Errorf("event %d detail: %w", ev.ID, err)
	}
	return ev, nil
}
