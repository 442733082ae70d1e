// Members of an account: their roles, the member list, role changes, removal and leaving.

package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Roles of a member in an account.
const (
	RoleAdmin    = "admin"
	RoleNormal   = "normal"
	RoleReadOnly = "readonly"
)

// roleList declares the roles, from most to least powerful, and how
// people see them. Roles, ValidRole, RoleName and RoleAtLeast derive from
// it; the tables' CHECKs list the same roles.
var roleList = []struct{ role, name string }{
	{RoleAdmin, "Admin"},
	{RoleNormal, "Normal"},
	{RoleReadOnly, "Read-Only"},
}

// Roles lists the roles from most to least powerful.
var Roles = func() []string {
	var list []string
	for _, r := range roleList {
		list = append(list, r.role)
	}
	return list
}()

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// RoleName is how a role is shown to people.
func RoleName(r string) string {
	for _, d := range roleList {
		if d.role == r {
			return d.name
		}
	}
	return r
}

// RoleAtLeast reports whether the role have is need or more powerful.
func RoleAtLeast(have, need string) bool {
	h, n := slices.Index(Roles, have), slices.Index(Roles, need)
	return h >= 0 && n >= 0 && h <= n
}

// Member is a user as listed among an account's members.
type Member struct {
	UserID    int64
	Email     string
	Name      string
	Role      string
	IsOwner   bool
	CreatedAt time.Time
}

// DisplayName is the name, or the email when no name is set.
func (m Member) DisplayName() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}

const memberQuery = `SELECT u.id, u.email, u.name, m.role, u.id = a.owner_id, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id JOIN accounts a ON a.id = m.account_id
		WHERE m.account_id = CAST(? AS INTEGER) AND (? = '' OR m.role = ?)
		ORDER BY u.id = a.owner_id DESC, CASE m.role WHEN 'admin' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,
			COALESCE(NULLIF(u.name, ''), u.email) COLLATE NOCASE, u.id
		LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`

// listMembers lists members in the order of Members, only those with role
// unless it is "". A negative limit means no limit. q is the reader pool,
// or a write transaction that needs the list as it stands inside it.
func listMembers(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, accountID int64, role string, limit, offset int) ([]Member, error) {
	rows, err := q.QueryContext(ctx, memberQuery, accountID, role, role, limit, offset)
	list, err := collect(rows, err, scanMember)
	if err != nil {
		return nil, fmt.Errorf("members of account %d: %w", accountID, err)
	}
	return list, nil
}

func scanMember(row rowScanner) (Member, error) {
	var m Member
	var created int64
	if err := row.Scan(&m.UserID, &m.Email, &m.Name, &m.Role, &m.IsOwner, &created); err != nil {
		return Member{}, err
	}
	m.CreatedAt = fromUnix(created)
	return m, nil
}

// Members lists one page of an account's members: Admins first, then by name.
func (s *Store) Members(ctx context.Context, accountID int64, limit, offset int) ([]Member, bool, error) {
	list, err := listMembers(ctx, s.r, accountID, "", limit+1, offset)
	if err != nil {
		return nil, false, err
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return list, more, nil
}

// Admins lists every Admin of the account, the owner first: the people
// ownership can be transferred to.
func (s *Store) Admins(ctx context.Context, accountID int64) ([]Member, error) {
	return listMembers(ctx, s.r, accountID, RoleAdmin, -1, 0)
}

// adminCount counts the Admins of an account.
func adminCount(ctx context.Context, tx *sql.Tx, accountID int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE account_id = ? AND role = 'admin'`, accountID).Scan(&n)
	return n, err
}

// SetRole changes a member's role; actor must be an Admin. The owner stays
// an Admin and the account keeps at least one Admin.
func (s *Store) SetRole(ctx context.Context, accountID, actorID, userID int64, role string, ev Event) error {
	if !ValidRole(role) {
		return fmt.Errorf("set role: invalid role %q", role)
	}
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		target, err := membership(ctx, tx, accountID, userID)
		if err != nil {
			return err
		}
		if target.Role == role {
			return nil
		}
		if target.IsOwner() {
			return ErrOwnerStays
		}
		if target.IsAdmin() {
			if n, err := adminCount(ctx, tx, accountID); err != nil || n <= 1 {
				return cmp(err, ErrLastAdmin)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE account_id = ? AND user_id = ?`, role, accountID, userID); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(withDetail(ev.Detail, "role", role), "member", userID)
		return auditBoth(ctx, tx, ev, accountID, actorID, userID, s.now())
	})
}

// cmp returns err when there is one, else rule.
func cmp(err error, rule error) error {
	if err != nil {
		return err
	}
	return rule
}

// removeMember deletes a membership under the rules shared by Remove and
// Leave. The user is never deleted.
func removeMember(ctx context.Context, tx *sql.Tx, compose BillingComposer, accountID, userID int64) (Membership, error) {
	target, err := membership(ctx, tx, accountID, userID)
	if err != nil {
		return Membership{}, err
	}
	if target.IsOwner() {
		return Membership{}, ErrOwnerStays
	}
	if target.IsAdmin() {
		if n, err := adminCount(ctx, tx, accountID); err != nil || n <= 1 {
			return Membership{}, cmp(err, ErrLastAdmin)
		}
	}
	if _, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE account_id = ? AND user_id = ?`, accountID, userID); err != nil {
		return Membership{}, err
	}
	// Only members' cards pay for an account: theirs stops, and the
	// Admins are told (cards.go).
	_, err = clearMemberBilling(ctx, tx, compose, accountID, userID, time.Now())
	return target, err
}

// RemoveMember removes userID from the account; actor must be an Admin.
func (s *Store) RemoveMember(ctx context.Context, accountID, actorID, userID int64, ev Event) error {
	return s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		if _, err := removeMember(ctx, tx, s.billing, accountID, userID); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "member", userID)
		return auditBoth(ctx, tx, ev, accountID, actorID, userID, s.now())
	})
}

// Leave takes userID out of the account. Coming back needs a new invite.
// The event's notice, if any, goes to the account's Admins (the leaver
// knows), queued in the same transaction.
func (s *Store) Leave(ctx context.Context, accountID, userID int64, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		m, err := removeMember(ctx, tx, s.billing, accountID, userID)
		if err != nil {
			return err
		}
		notice := ev.Notice
		ev.Notice = nil
		now := s.now()
		if err := auditBoth(ctx, tx, withAccount(ev, m.Account), accountID, userID, 0, now); err != nil || notice == nil {
			return err
		}
		admins, err := memberIDs(ctx, tx, accountID, RoleAdmin)
		if err != nil {
			return err
		}
		for _, id := range admins {
			if _, err := enqueue(ctx, tx, id, *notice, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// memberIDs lists the ids of the account's members, only those with role
// unless it is "".
func memberIDs(ctx context.Context, tx *sql.Tx, accountID int64, role string) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM memberships WHERE account_id = ? AND (? = '' OR role = ?) ORDER BY user_id`,
		accountID, role, role)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CountMembers counts the members of an account, for the last page's link.
func (s *Store) CountMembers(ctx context.Context, accountID int64) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM memberships WHERE account_id = ?`, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members of account %d: %w", accountID, err)
	}
	return n, nil
}
