// Leaving with your data: everything Roster holds about a person, as data
// they can take, and the deletion of their profile.

package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Export is everything Roster holds about one person, section by section,
// each a list of rows by column name (a time as RFC 3339). It never holds a
// secret, a hash or a token: each section's query names its columns, and
// TestExportHoldsNoSecret checks every such column's values against it.
type Export map[string]any

// exportSections are the sections of an Export and their queries, all with
// the user's id as ?1 (and the user's email as ?2). Columns ending in _at
// are times; detail is JSON.
// confirmedEmails is userEmails (invites.go) for the user ?1: the
// addresses confirmed to be theirs, the only ones invites are matched on.
const confirmedEmails = `SELECT address FROM contact_methods WHERE user_id = ?1 AND kind = 'email' AND verified_at IS NOT NULL`

var exportSections = []struct{ name, query string }{
	{"profile", `SELECT id, email, name, email_verified_at, created_at, updated_at,
		password_hash IS NOT NULL AS has_password, stripe_customer_id IS NOT NULL AS has_stripe_customer
		FROM users WHERE id = ?1`},
	{"contact_methods", `SELECT id, kind, address, label, is_account, verified_at, created_at
		FROM contact_methods WHERE user_id = ?1 ORDER BY id`},
	{"notification_rules", `SELECT circumstance, severity, contact_method_id
		FROM notification_rules WHERE user_id = ?1 ORDER BY circumstance, severity, contact_method_id`},
	{"memberships", `SELECT a.id AS account_id, a.name AS account, m.role, a.owner_id = m.user_id AS owner, m.created_at
		FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.user_id = ?1 ORDER BY a.id`},
	{"invites", `SELECT i.id, a.name AS account, i.role, i.state, i.created_at, i.expires_at
		FROM invites i JOIN accounts a ON a.id = i.account_id WHERE i.email = ?2 AND i.email IN (` + confirmedEmails + `) ORDER BY i.id`},
	{"logins", `SELECT id, provider, subject, email, email_verified, display_name, created_at, last_used_at
		FROM identities WHERE user_id = ?1 ORDER BY id`},
	{"sessions", `SELECT id, created_at, last_seen_at, expires_at, ip, user_agent
		FROM sessions WHERE user_id = ?1 ORDER BY id`},
	{"preferences", `SELECT * FROM preferences WHERE user_id = ?1`},
	{"pending_email_change", `SELECT new_email, created_at, expires_at FROM email_changes WHERE user_id = ?1`},
	{"cards", `SELECT id, brand, last4, exp_month, exp_year, is_default, created_at
		FROM payment_methods WHERE user_id = ?1 ORDER BY id`},
	{"notifications", `SELECT id, kind, address, circumstance, severity, subject, state, created_at, sent_at
		FROM outbox WHERE user_id = ?1 ORDER BY id`},
	// An entry someone else did (by_other) leaves out their IP address
	// and device.
	{"activity", `SELECT id, account_id, kind, detail_json AS detail, by_other,
		CASE WHEN by_other THEN NULL ELSE ip END AS ip, CASE WHEN by_other THEN NULL ELSE user_agent END AS user_agent, created_at
		FROM audit_events WHERE user_id = ?1 ORDER BY id`},
	// Two-factor authentication: on or off (or being set up), since when,
	// and how many recovery codes are left; never the secret or a code.
	{"two_factor", `SELECT t.confirmed_at IS NOT NULL AS enabled, t.confirmed_at AS enabled_at,
		t.user_id IS NOT NULL AND t.confirmed_at IS NULL AS setting_up,
		(SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS recovery_codes_left
		FROM users u LEFT JOIN totp_secrets t ON t.user_id = u.id WHERE u.id = ?1`},
	// Passkeys: their names and use; never the credential id, the public
	// key or the user handle.
	{"passkeys", `SELECT id, name, rp_id AS site, created_at, last_used_at
		FROM passkeys WHERE user_id = ?1 ORDER BY id`},
}

// ExportUser gathers everything Roster holds about userID, in one read
// transaction so that the sections agree.
func (s *Store) ExportUser(ctx context.Context, userID int64) (Export, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var email string
	if err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE id = ?`, userID).Scan(&email); err != nil {
		return nil, fmt.Errorf("export user %d: %w", userID, mapErr(err))
	}
	out := Export{"exported_at": s.now().UTC().Format(time.RFC3339)}
	for _, sec := range exportSections {
		rows, err := exportRows(ctx, tx, sec.query, userID, email)
		if err != nil {
			return nil, fmt.Errorf("export user %d, %s: %w", userID, sec.name, err)
		}
		switch sec.name {
		case "profile", "preferences", "pending_email_change", "two_factor":
			if len(rows) == 0 {
				out[sec.name] = nil
			} else {
				out[sec.name] = rows[0]
			}
		default:
			out[sec.name] = rows
		}
	}
	return out, nil
}

func exportRows(ctx context.Context, tx *sql.Tx, query string, userID int64, email string) ([]map[string]any, error) {
	rows, err := tx.QueryContext(ctx, query, userID, email)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := map[string]any{}
		for i, col := range cols {
			if col == "user_id" {
				continue
			}
			v := vals[i] // a blob stays []byte: base64 in the JSON
			switch {
			case strings.HasSuffix(col, "_at"):
				if n, ok := v.(int64); ok && n != 0 {
					v = fromUnix(n).Format(time.RFC3339)
				}
			case col == "detail":
				if s, ok := v.(string); ok {
					v = json.RawMessage(s)
				}
			}
			row[col] = v
		}
		list = append(list, row)
	}
	return list, rows.Err()
}

// ErrOwnsAccounts refuses deleting a profile that owns accounts: ownership
// must move first (or the account go), since an account always has its
// owner. OwnsAccounts names them.
var ErrOwnsAccounts = errors.New("the profile owns accounts")

// OwnsAccounts is ErrOwnsAccounts with the accounts owned.
type OwnsAccounts struct{ Accounts []Account }

func (e *OwnsAccounts) Error() string { return ErrOwnsAccounts.Error() }

// Is makes errors.Is(err, ErrOwnsAccounts) true.
func (e *OwnsAccounts) Is(target error) bool { return target == ErrOwnsAccounts }

// Deleted is what deleting a profile removed, for what follows outside
// the database (its Stripe customer).
type Deleted struct {
	User             User
	StripeCustomerID string
}

// DeleteUser deletes userID's profile and its personal rows, in one
// transaction: everything that points at the user goes with it
// (sessions, logins, contact methods and rules, memberships, cards,
// preferences, links and queued mail), invites it sent stay without their
// sender, and its audit entries stay, anonymised: no user, address, device
// or detail, and its email and name taken out of the entries of others.
// A profile that owns an account is refused (*OwnsAccounts).
func (s *Store) DeleteUser(ctx context.Context, userID int64) (Deleted, error) {
	var d Deleted
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var customer sql.NullString
		row := tx.QueryRowContext(ctx, `SELECT email, name, COALESCE(stripe_customer_id, '') FROM users WHERE id = ?`, userID)
		if err := row.Scan(&d.User.Email, &d.User.Name, &customer); err != nil {
			return err
		}
		d.User.ID, d.StripeCustomerID = userID, customer.String
		owned, err := ownedAccounts(ctx, tx, userID)
		if err != nil {
			return err
		}
		if len(owned) > 0 {
			return &OwnsAccounts{Accounts: owned}
		}
		// The person's own entries: kept for the accounts' history, but
		// no longer anyone's.
		if _, err := tx.ExecContext(ctx, `UPDATE audit_events SET user_id = NULL, ip = '', user_agent = '', detail_json = '{}'
			WHERE user_id = ?`, userID); err != nil {
			return err
		}
		// Others' entries that name the person (an Admin's "Removed Bob"):
		// by reference, never by searching the text, which anyone could
		// aim at every log by choosing a name such as "password".
		if err := anonymiseMentions(ctx, tx, userID); err != nil {
			return err
		}
		// Invites to the address and mail to it queued without a profile
		// (an invite's) are the person's too, once the address is
		// confirmed theirs: an unconfirmed one may be someone else's.
		if _, err := tx.ExecContext(ctx, `DELETE FROM invites WHERE email = ?2 AND email IN (`+confirmedEmails+`)`, userID, d.User.Email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE user_id IS NULL AND address = ?2 AND address IN (`+confirmedEmails+`)`, userID, d.User.Email); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Deleted{}, fmt.Errorf("delete user %d: %w", userID, err)
	}
	return d, nil
}

// DeletedPerson is what the entries of others say instead of the name or
// address of a person who deleted their profile.
const DeletedPerson = "a deleted person"

// personFields are the fields of audit details that name a person, by the
// field that holds that person's user id: an Admin's "Changed the role of
// Bob" (member, member_name), "Bob accepted your invite" (member, email),
// "The card of Bob no longer pays" (card_owner_id, card_owner).
var personFields = []struct {
	ref    string
	fields []string
}{
	{"member", []string{"member_name", "email"}},
	{"card_owner_id", []string{"card_owner"}},
}

// inviteKinds are the events whose email is the invited address, which no
// user id stands for: it names the person once the address is confirmed
// theirs (confirmedEmails).
var inviteKinds = []string{EventInviteSent, EventInviteResent, EventInviteRevoked}

// anonymiseMentions replaces, in the audit entries of others, the known
// person fields of the entries that point at userID, and only those: no
// other entry and no other field changes, whatever the person's name.
func anonymiseMentions(ctx context.Context, tx *sql.Tx, userID int64) error {
	// detail_json is always written by json.Marshal; CASE keeps a row
	// that is not JSON from failing the deletion.
	field := func(key string) string {
		return `CASE WHEN json_valid(detail_json) THEN json_extract(detail_json, '$.` + key + `') END`
	}
	kind := func(key string) string {
		return `CASE WHEN json_valid(detail_json) THEN json_type(detail_json, '$.` + key + `') END`
	}
	for _, p := range personFields {
		for _, f := range p.fields {
			if _, err := tx.ExecContext(ctx, `UPDATE audit_events SET detail_json = json_set(detail_json, '$.`+f+`', ?2)
				WHERE `+field(p.ref)+` = ?1 AND `+kind(f)+` = 'text'`, userID, DeletedPerson); err != nil {
				return err
			}
		}
	}
	kinds := `'` + strings.Join(inviteKinds, `', '`) + `'`
	_, err := tx.ExecContext(ctx, `UPDATE audit_events SET detail_json = json_set(detail_json, '$.email', ?2)
		WHERE kind IN (`+kinds+`) AND `+kind("email")+` = 'text'
		AND `+field("email")+` IN (`+confirmedEmails+`)`, userID, DeletedPerson)
	return err
}

// OwnedAccounts lists the accounts userID owns.
func (s *Store) OwnedAccounts(ctx context.Context, userID int64) ([]Account, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return ownedAccounts(ctx, tx, userID)
}

func ownedAccounts(ctx context.Context, tx *sql.Tx, userID int64) ([]Account, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM accounts WHERE owner_id = ? ORDER BY name, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Account
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.ID, &a.Name); err != nil {
			return nil, err
		}
		a.OwnerID = userID
		list = append(list, a)
	}
	return list, rows.Err()
}
