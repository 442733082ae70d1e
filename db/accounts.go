package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The account rules of DESIGN section 4, as codes (rules.go).
const (
	ErrForbidden        = RuleError("not an admin of the account")
	ErrOwnerOnly        = RuleError("not the owner of the account")
	ErrOwnerStays       = RuleError("the owner cannot leave or stop being an admin")
	ErrLastAdmin        = RuleError("the last admin cannot leave or stop being an admin")
	ErrTransferToAdmin  = RuleError("ownership goes only to an admin")
	ErrAlreadyMember    = RuleError("already a member")
	ErrInvitePending    = RuleError("invite already pending")
	ErrInviteLimit      = RuleError("daily invite limit reached")
	ErrInviteGone       = RuleError("invite expired or answered")
	ErrInviteWrongEmail = RuleError("invite sent to another email")
	// ErrUnconfirmedEmail refuses creating an account or sending an invite
	// before the actor's account email is confirmed.
	ErrUnconfirmedEmail = RuleError("account or invite before the email is confirmed")
	// ErrTwoFactorFirst refuses requiring two-factor of an account's
	// members from an Admin who has no second factor.
	ErrTwoFactorFirst = RuleError("requiring two-factor before having it")
)

// Account is a tenant that users belong to.
type Account struct {
	ID        int64
	Name      string
	OwnerID   int64
	CreatedAt time.Time
	// RequireTwoFactor: members without a second factor (Factors.Any)
	// cannot open the account (handlers' member middleware).
	RequireTwoFactor bool
}

// Membership is one user's place in one account.
type Membership struct {
	Account   Account
	UserID    int64
	Role      string
	CreatedAt time.Time
}

// IsOwner reports whether the member owns the account.
func (m Membership) IsOwner() bool { return m.Account.OwnerID == m.UserID }

// IsAdmin reports whether the member may manage the account.
func (m Membership) IsAdmin() bool { return m.Role == RoleAdmin }

// CreateAccount creates an account owned by ownerID, who becomes its first
// Admin, and writes ev, in one transaction.
func (s *Store) CreateAccount(ctx context.Context, ownerID int64, name string, ev Event) (Account, error) {
	var a Account
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailConfirmed(ctx, tx, ownerID, ErrUnconfirmedEmail); err != nil {
			return err
		}
		now := unix(s.now())
		var created int64
		err := tx.QueryRowContext(ctx, `INSERT INTO accounts (name, owner_id, created_at) VALUES (?, ?, ?)
			RETURNING id, name, owner_id, created_at`, strings.TrimSpace(name), ownerID, now).Scan(&a.ID, &a.Name, &a.OwnerID, &created)
		if err != nil {
			return err
		}
		a.CreatedAt = fromUnix(created)
		if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, 'admin', ?)`,
			a.ID, ownerID, now); err != nil {
			return err
		}
		ev.UserID, ev.AccountID = ownerID, a.ID
		ev.Detail = withDetail(ev.Detail, "account", a.Name)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

const membershipColumns = `a.id, a.name, a.owner_id, a.created_at, m.user_id, m.role, m.created_at, a.require_two_factor`

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func scanMembership(row interface{ Scan(...any) error }) (Membership, error) {
	var m Membership
	var ac, mc int64
	if err := row.Scan(&m.Account.ID, &m.Account.Name, &m.Account.OwnerID, &ac, &m.UserID, &m.Role, &mc, &m.Account.RequireTwoFactor); err != nil {
		return Membership{}, mapErr(err)
	}
	m.Account.CreatedAt, m.CreatedAt = fromUnix(ac), fromUnix(mc)
	return m, nil
}

func membership(ctx context.Context, q queryer, accountID, userID int64) (Membership, error) {
	return scanMembership(q.QueryRowContext(ctx, `SELECT `+membershipColumns+`
		FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.account_id = ? AND m.user_id = ?`, accountID, userID))
}

// Membership is the one membership and role check: the user's place in the
// account, or ErrNotFound when the user is not a member (or there is no
// such account; the two look the same from outside).
func (s *Store) Membership(ctx context.Context, accountID, userID int64) (Membership, error) {
	return membership(ctx, s.r, accountID, userID)
}

// MembershipsForUser lists every account the user belongs to, by name.
func (s *Store) MembershipsForUser(ctx context.Context, userID int64) ([]Membership, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+membershipColumns+`
		FROM memberships m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = CAST(? AS INTEGER) ORDER BY a.name COLLATE NOCASE, a.id`, userID)
	list, err := collect(rows, err, scanMembership)
	if err != nil {
		return nil, fmt.Errorf("memberships of user %d: %w", userID, err)
	}
	return list, nil
}

// accountTx runs fn in a write transaction after checking, inside that same
// transaction, that actorID holds at least the role need in the account.
// Checking inside the transaction is what keeps the rules true when
// requests race: every write runs on the one writer, one at a time.
func (s *Store) accountTx(ctx context.Context, accountID, actorID int64, need string, fn func(tx *sql.Tx, actor Membership) error) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		actor, err := membership(ctx, tx, accountID, actorID)
		if err != nil {
			return err
		}
		switch {
		case need == "owner" && !actor.IsOwner():
			return ErrOwnerOnly
		case need == RoleAdmin && !actor.IsAdmin():
			return ErrForbidden
		}
		return fn(tx, actor)
	})
}

// auditBoth writes ev for the actor and, when someone else is concerned,
// for them too, so the change shows in each one's activity log; their copy
// keeps no IP address or device of the actor's (forOther). The event's
// notice goes to the other person only: the actor knows.
func auditBoth(ctx context.Context, tx *sql.Tx, ev Event, accountID, actorID, subjectID int64, now time.Time) error {
	ev.AccountID, ev.UserID = accountID, actorID
	other := subjectID != 0 && subjectID != actorID
	notice := ev.Notice
	if other {
		ev.Notice = nil
	}
	if err := addEvent(ctx, tx, ev, now); err != nil {
		return err
	}
	if other {
		ev = forOther(ev, subjectID)
		ev.Notice = notice
		return addEvent(ctx, tx, ev, now)
	}
	return nil
}

func withAccount(ev Event, a Account) Event {
	ev.Detail = withDetail(ev.Detail, "account", a.Name)
	return ev
}

// RenameAccount renames the account; actor must be an Admin.
func (s *Store) RenameAccount(ctx context.Context, accountID, actorID int64, name string, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name = ? WHERE id = ?`, strings.TrimSpace(name), accountID); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "name", strings.TrimSpace(name))
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
}

// SetRequireTwoFactor turns on or off the account's requirement that its
// members have a second factor; actor must be an Admin and, to turn it on,
// have a second factor themselves (ErrTwoFactorFirst), checked in the
// transaction that writes it. A change writes ev; no change writes nothing.
func (s *Store) SetRequireTwoFactor(ctx context.Context, accountID, actorID int64, on bool, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		if on {
			f, err := secondFactors(ctx, tx, actorID, "") // Any() is the authenticator app alone
			if err != nil {
				return err
			}
			if !f.Any() {
				return ErrTwoFactorFirst
			}
		}
		if actor.Account.RequireTwoFactor == on {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET require_two_factor = ? WHERE id = ?`, on, accountID); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "on", on)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
}

// StopRequiringTwoFactor is the operator's way out (roster account
// require-2fa -off) of an account that requires two-factor when no Admin
// can open its console any more (every Admin turned theirs off): the
// requirement is lifted and ev written, marked as the operator's, to the
// activity of each Admin, in one transaction. changed is false when the
// account did not require it (nothing written); ErrNotFound when there is
// no such account.
func (s *Store) StopRequiringTwoFactor(ctx context.Context, accountID int64, ev Event) (a Account, changed bool, err error) {
	err = s.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, name, owner_id, require_two_factor FROM accounts WHERE id = ?`, accountID).
			Scan(&a.ID, &a.Name, &a.OwnerID, &a.RequireTwoFactor)
		if err != nil {
			return mapErr(err)
		}
		if !a.RequireTwoFactor {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET require_two_factor = 0 WHERE id = ?`, accountID); err != nil {
			return err
		}
		a.RequireTwoFactor, changed = false, true
		rows, err := tx.QueryContext(ctx, `SELECT user_id FROM memberships WHERE account_id = ? AND role = ? ORDER BY user_id`, accountID, RoleAdmin)
		admins, err := collect(rows, err, func(r rowScanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		ev = withAccount(ev, a)
		ev.Detail = withDetail(ev.Detail, "on", false)
		ev.Detail = withDetail(ev.Detail, "by", "operator")
		ev.AccountID = accountID
		for _, id := range admins {
			ev.UserID = id
			if err := addEvent(ctx, tx, ev, s.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return a, false, fmt.Errorf("stop requiring two-factor of account %d: %w", accountID, err)
	}
	return a, changed, nil
}

// TransferOwnership makes toUserID, an Admin, the owner; actor must be the
// owner and stays an Admin. The event's notice goes to the new owner.
func (s *Store) TransferOwnership(ctx context.Context, accountID, actorID, toUserID int64, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, "owner", func(tx *sql.Tx, actor Membership) error {
		target, err := membership(ctx, tx, accountID, toUserID)
		if errors.Is(err, ErrNotFound) || (err == nil && !target.IsAdmin()) {
			return ErrTransferToAdmin
		}
		if err != nil {
			return err
		}
		if toUserID == actorID {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET owner_id = ? WHERE id = ?`, toUserID, accountID); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "new_owner", toUserID)
		return auditBoth(ctx, tx, ev, accountID, actorID, toUserID, s.now())
	})
}

// DeleteAccount deletes the account with its memberships and invites; actor
// must be the owner. Users are kept. Every member is told in their log, and
// the event's notice goes to each of them but the owner who deleted it.
func (s *Store) DeleteAccount(ctx context.Context, accountID, actorID int64, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, "owner", func(tx *sql.Tx, actor Membership) error {
		members, err := memberIDs(ctx, tx, accountID, "")
		if err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		notice := ev.Notice
		for _, id := range members {
			e := forOther(ev, id)
			e.Notice = notice
			if id == actorID {
				e = ev
				e.UserID, e.Notice = id, nil
			}
			if err := addEvent(ctx, tx, e, s.now()); err != nil {
				return err
			}
		}
		// The SAML logins of its connections go with them (by the trigger
		// saml_connections_drop_logins, with the sessions they opened):
		// their people are told here.
		if _, err := noteSAMLLoginsGone(ctx, tx, accountID, 0, actorID, ev, s.now()); err != nil {
			return err
		}
		// The mails of its invites that have not gone yet would only
		// bring links that no longer work.
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE state = 'queued' AND claimed_until <= ?
			AND token_hash IN (SELECT token_hash FROM invites WHERE account_id = ? AND state = 'pending')`, unix(s.now()), accountID); err != nil {
			return err
		}
		// Memberships, invites and SAML connections go by ON DELETE
		// CASCADE. The trigger that guards the owner's membership lets it
		// go: by then the account row, and so its owner_id, is gone.
		_, err = tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, accountID)
		return err
	})
}
