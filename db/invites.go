package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Invite states.
const (
	InvitePending  = "pending"
	InviteAccepted = "accepted"
	InviteIgnored  = "ignored"
	InviteRevoked  = "revoked"
)

// InviteTTL is how long an invite link works.
const InviteTTL = 7 * 24 * time.Hour

// InvitesPerDay is how many invites one account may send in 24 hours.
const InvitesPerDay = 50

// Invite asks someone, by email, to join an account with a role.
type Invite struct {
	ID            int64
	AccountID     int64
	AccountName   string
	Email         string
	Role          string
	InvitedBy     int64
	InvitedByName string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	State         string
	Mail          MailState // filled by PendingInvites
	// RequireTwoFactor: the account requires two-factor of its members.
	RequireTwoFactor bool
}

// Open reports whether the invite can still be accepted at now.
func (i Invite) Open(now time.Time) bool { return i.State == InvitePending && now.Before(i.ExpiresAt) }

const inviteColumns = `i.id, i.account_id, a.name, i.email, i.role, COALESCE(i.invited_by, 0),
	COALESCE(NULLIF(u.name, ''), u.email, ''), i.created_at, i.expires_at, i.state, a.require_two_factor`

const inviteFrom = ` FROM invites i JOIN accounts a ON a.id = i.account_id LEFT JOIN users u ON u.id = i.invited_by `

func scanInvite(row interface{ Scan(...any) error }) (Invite, error) {
	var i Invite
	var created, expires int64
	err := row.Scan(&i.ID, &i.AccountID, &i.AccountName, &i.Email, &i.Role, &i.InvitedBy, &i.InvitedByName, &created, &expires, &i.State, &i.RequireTwoFactor)
	if err != nil {
		return Invite{}, mapErr(err)
	}
	i.CreatedAt, i.ExpiresAt = fromUnix(created), fromUnix(expires)
	return i, nil
}

func listInvites(ctx context.Context, s *Store, query string, args ...any) ([]Invite, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	list, err := collect(rows, err, scanInvite)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// CreateInvite invites email to the account with role; actor must be an
// Admin. Refused for members, for an address with a pending invite, and
// past InvitesPerDay. m, the mail with the invite's link, is queued in the
// same transaction; the link works for InviteTTL from its delivery. A nil
// m queues nothing (tests seed invites so) and the link works for
// InviteTTL from now.
func (s *Store) CreateInvite(ctx context.Context, accountID, actorID int64, email, role string, tokenHash []byte, m *Mail, ev Event) (Invite, error) {
	if !ValidRole(role) {
		return Invite{}, fmt.Errorf("create invite: invalid role %q", role)
	}
	email = NormalEmail(email)
	var inv Invite
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		if err := emailConfirmed(ctx, tx, actorID, ErrUnconfirmedEmail); err != nil {
			return err
		}
		now := s.now()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.account_id = ? AND u.email = ?`, accountID, email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAlreadyMember
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invites WHERE account_id = ? AND created_at > ?`,
			accountID, unix(now.Add(-24*time.Hour))).Scan(&n); err != nil {
			return err
		}
		if n >= InvitesPerDay {
			return ErrInviteLimit
		}
		// An expired invite no longer blocks a new one.
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET state = 'revoked'
			WHERE account_id = ? AND email = ? AND state = 'pending' AND expires_at <= ?`, accountID, email, unix(now)); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO invites (account_id, email, role, invited_by, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, accountID, email, role, actorID, tokenHash, unix(now), unix(linkExpiry(now, InviteTTL, m))).Scan(&id)
		if errors.Is(mapErr(err), ErrConflict) {
			return ErrInvitePending
		}
		if err != nil {
			return err
		}
		if inv, err = scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+inviteFrom+`WHERE i.id = ?`, id)); err != nil {
			return err
		}
		if m != nil {
			if _, err := queueMail(ctx, tx, 0, email, *m, tokenHash, InviteTTL, now); err != nil {
				return err
			}
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(withDetail(ev.Detail, "email", email), "role", role)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, now)
	})
	if err != nil {
		return Invite{}, fmt.Errorf("invite %s: %w", email, err)
	}
	return inv, nil
}

// PendingInvite is an invite of the account that is still pending
// (ErrInviteGone when it was answered or revoked).
func (s *Store) PendingInvite(ctx context.Context, accountID, inviteID int64) (Invite, error) {
	inv, err := scanInvite(s.r.QueryRowContext(ctx, `SELECT `+inviteColumns+inviteFrom+`WHERE i.id = ? AND i.account_id = ?`, inviteID, accountID))
	if err != nil {
		return Invite{}, mapErr(err)
	}
	if inv.State != InvitePending {
		return Invite{}, ErrInviteGone
	}
	return inv, nil
}

// pendingInvite loads an invite of the account that is still pending.
func pendingInvite(ctx context.Context, tx *sql.Tx, accountID, inviteID int64) (Invite, error) {
	inv, err := scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+inviteFrom+`WHERE i.id = ? AND i.account_id = ?`, inviteID, accountID))
	if err != nil {
		return Invite{}, err
	}
	if inv.State != InvitePending {
		return Invite{}, ErrInviteGone
	}
	return inv, nil
}

// ResendInvite gives a pending invite a new link and a new expiry, and
// queues m with the new link (as CreateInvite); actor must be an Admin.
// The old link stops working, and its mail, if it waits for a retry, goes
// no more (dropQueuedMail).
func (s *Store) ResendInvite(ctx context.Context, accountID, actorID, inviteID int64, tokenHash []byte, m *Mail, ev Event) (Invite, error) {
	var inv Invite
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		if err := emailConfirmed(ctx, tx, actorID, ErrUnconfirmedEmail); err != nil {
			return err
		}
		var err error
		if inv, err = pendingInvite(ctx, tx, accountID, inviteID); err != nil {
			return err
		}
		now := s.now()
		var old []byte
		if err := tx.QueryRowContext(ctx, `SELECT token_hash FROM invites WHERE id = ?`, inviteID).Scan(&old); err != nil {
			return err
		}
		if err := dropQueuedMail(ctx, tx, old, true, now); err != nil {
			return err
		}
		inv.ExpiresAt = linkExpiry(now, InviteTTL, m)
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET token_hash = ?, expires_at = ? WHERE id = ?`,
			tokenHash, unix(inv.ExpiresAt), inviteID); err != nil {
			return err
		}
		if m != nil {
			if _, err := queueMail(ctx, tx, 0, inv.Email, *m, tokenHash, InviteTTL, now); err != nil {
				return err
			}
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "email", inv.Email)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
	return inv, err
}

// RevokeInvite withdraws a pending invite; actor must be an Admin.
func (s *Store) RevokeInvite(ctx context.Context, accountID, actorID, inviteID int64, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		inv, err := pendingInvite(ctx, tx, accountID, inviteID)
		if err != nil {
			return err
		}
		var hash []byte
		if err := tx.QueryRowContext(ctx, `UPDATE invites SET state = 'revoked' WHERE id = ? RETURNING token_hash`, inviteID).Scan(&hash); err != nil {
			return err
		}
		// A revoked invite's mail that has not gone yet goes no more.
		if err := dropQueuedMail(ctx, tx, hash, false, s.now()); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "email", inv.Email)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
}

// PendingInvites lists one page of the account's pending invites, newest
// first, expired ones included so they can be resent.
func (s *Store) PendingInvites(ctx context.Context, accountID int64, limit, offset int) ([]Invite, bool, error) {
	// The mail of each invite's current link, by the outbox's token index.
	rows, err := s.r.QueryContext(ctx, `SELECT `+inviteColumns+`, `+mailStateColumns+inviteFrom+`
		LEFT JOIN outbox o ON o.token_hash = i.token_hash
		WHERE i.account_id = CAST(? AS INTEGER) AND i.state = 'pending' ORDER BY i.created_at DESC, i.id DESC LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		accountID, limit+1, offset)
	list, err := collect(rows, err, func(r rowScanner) (Invite, error) {
		var i Invite
		var created, expires, sent int64
		err := r.Scan(&i.ID, &i.AccountID, &i.AccountName, &i.Email, &i.Role, &i.InvitedBy, &i.InvitedByName, &created, &expires, &i.State, &i.RequireTwoFactor,
			&i.Mail.State, &i.Mail.Failing, &sent)
		i.CreatedAt, i.ExpiresAt, i.Mail.SentAt = fromUnix(created), fromUnix(expires), fromUnix(sent)
		return i, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("invites of account %d: %w", accountID, err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return list, more, nil
}

// userEmails is the set of verified addresses a user can accept invites
// for: the account email once it is verified (its contact method mirrors
// it) and every verified email contact method.
const userEmails = `SELECT address AS email FROM contact_methods WHERE user_id = CAST(? AS INTEGER) AND kind = 'email' AND verified_at IS NOT NULL`

// InvitesForUser lists the open invites addressed to the user's verified
// emails, for accounts the user is not in yet.
func (s *Store) InvitesForUser(ctx context.Context, userID int64) ([]Invite, error) {
	list, err := listInvites(ctx, s, `SELECT `+inviteColumns+inviteFrom+`
		WHERE i.state = 'pending' AND i.expires_at > ? AND i.email IN (`+userEmails+`)
		AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = i.account_id AND m.user_id = CAST(? AS INTEGER))
		ORDER BY i.created_at DESC, i.id DESC`, unix(s.now()), userID, userID)
	if err != nil {
		return nil, fmt.Errorf("invites of user %d: %w", userID, err)
	}
	return list, nil
}

// CountInvitesForUser counts what InvitesForUser lists, for the menu badge.
func (s *Store) CountInvitesForUser(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM invites i
		WHERE i.state = 'pending' AND i.expires_at > ? AND i.email IN (`+userEmails+`)
		AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.account_id = i.account_id AND m.user_id = CAST(? AS INTEGER))`,
		unix(s.now()), userID, userID).Scan(&n)
	return n, err
}

// InviteByToken finds the invite an emailed link names, in any state.
func (s *Store) InviteByToken(ctx context.Context, tokenHash []byte) (Invite, error) {
	return scanInvite(s.r.QueryRowContext(ctx, `SELECT `+inviteColumns+inviteFrom+`WHERE i.token_hash = ?`, tokenHash))
}

// openInviteFor loads an invite the user may answer: still open and sent to
// one of the user's verified addresses.
func openInviteFor(ctx context.Context, tx *sql.Tx, inviteID, userID int64, now time.Time) (Invite, error) {
	inv, err := scanInvite(tx.QueryRowContext(ctx, `SELECT `+inviteColumns+inviteFrom+`WHERE i.id = ?`, inviteID))
	if err != nil {
		return Invite{}, err
	}
	if !inv.Open(now) {
		return Invite{}, ErrInviteGone
	}
	var ok bool
	if err := tx.QueryRowContext(ctx, hasUserEmail, userID, inv.Email).Scan(&ok); err != nil {
		return Invite{}, err
	}
	if !ok {
		return Invite{}, ErrInviteWrongEmail
	}
	return inv, nil
}

// hasUserEmail asks whether an address is among a user's userEmails.
const hasUserEmail = `SELECT EXISTS (SELECT 1 FROM (` + userEmails + `) WHERE email = ?)`

// HasVerifiedEmail reports whether email is one of the addresses the user
// can accept an invite for (userEmails), as AcceptInvite decides it.
func (s *Store) HasVerifiedEmail(ctx context.Context, userID int64, email string) (bool, error) {
	var ok bool
	err := s.r.QueryRowContext(ctx, hasUserEmail, userID, NormalEmail(email)).Scan(&ok)
	return ok, err
}

// AcceptInvite makes the user a member with the invite's role and spends
// the invite, in one transaction: of two racing accepts, one wins.
func (s *Store) AcceptInvite(ctx context.Context, inviteID, userID int64, ev Event) (Membership, error) {
	var m Membership
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		inv, err := openInviteFor(ctx, tx, inviteID, userID, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET state = 'accepted' WHERE id = ?`, inviteID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
			inv.AccountID, userID, inv.Role, unix(now))
		if errors.Is(mapErr(err), ErrConflict) {
			return ErrAlreadyMember
		}
		if err != nil {
			return err
		}
		if m, err = membership(ctx, tx, inv.AccountID, userID); err != nil {
			return err
		}
		ev.Detail = withDetail(withDetail(ev.Detail, "account", inv.AccountName), "role", inv.Role)
		return auditBoth(ctx, tx, ev, inv.AccountID, userID, inv.InvitedBy, now)
	})
	if err != nil {
		return Membership{}, fmt.Errorf("accept invite %d: %w", inviteID, err)
	}
	return m, nil
}

// IgnoreInvite declines an invite addressed to the user.
func (s *Store) IgnoreInvite(ctx context.Context, inviteID, userID int64, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		inv, err := openInviteFor(ctx, tx, inviteID, userID, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET state = 'ignored' WHERE id = ?`, inviteID); err != nil {
			return err
		}
		ev.Detail = withDetail(ev.Detail, "account", inv.AccountName)
		return auditBoth(ctx, tx, ev, inv.AccountID, userID, 0, s.now())
	})
}

// CountPendingInvites counts the account's pending invites, as
// PendingInvites lists them, for the last page's link.
func (s *Store) CountPendingInvites(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM invites WHERE account_id = ? AND state = 'pending'`, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count invites of account %d: %w", accountID, err)
	}
	return n, nil
}
