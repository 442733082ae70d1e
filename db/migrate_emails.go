package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
)

// normalEmailsVersion is migration 00009, written in Go because SQLite's
// lower() folds ASCII only and NormalEmail then folded every letter: it puts
// every stored address in that form (fold09). Nothing in it can be undone
// (the spellings are gone) and the normal form suits the older code as well,
// so its down step changes nothing.
const normalEmailsVersion = 9

// fold09 is NormalEmail as it was when 00009 was written, which every
// letter folded (strings.ToLower): a migration does what it did, whatever
// NormalEmail becomes. Both leave an address that SQLite's CHECK of 00010
// (lower, ASCII only) takes.
func fold09(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normalEmailsMigration() *goose.Migration {
	return goose.NewGoMigration(normalEmailsVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return normalEmails(ctx, tx, time.Now()) }},
		&goose.GoFunc{RunTx: func(context.Context, *sql.Tx) error { return nil }})
}

// normalEmails rewrites every address column. The columns compare NOCASE,
// so two spellings that differ in ASCII case cannot both exist, but two that
// differ in the case of another letter (Ä, ä) can, and become one address:
//   - contact methods of one user: one row stays (the account email, else a
//     verified one, else the oldest), the others' routing moves to it;
//   - pending invites of one account: the newest stays, the others are revoked;
//   - users: the one whose email is verified (else the oldest) keeps the
//     address; each other one gets <address>.duplicate-<id>.invalid,
//     unverified, and an entry in its activity log. None is deleted and no
//     login moves: who owns the mailbox is for the operator to decide.
//
// It never stops on such a pair, so nobody can block an upgrade by signing
// up with two spellings.
func normalEmails(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if err := normalContactEmails(ctx, tx); err != nil {
		return fmt.Errorf("contact methods: %w", err)
	}
	if err := normalInviteEmails(ctx, tx); err != nil {
		return fmt.Errorf("invites: %w", err)
	}
	if err := normalUserEmails(ctx, tx, now); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	for _, col := range []struct{ table, column string }{
		{"identities", "email"}, {"email_tokens", "email"}, {"email_changes", "new_email"},
	} {
		if err := normalColumn(ctx, tx, col.table, col.column); err != nil {
			return fmt.Errorf("%s.%s: %w", col.table, col.column, err)
		}
	}
	return nil
}

// emailRow is one stored address.
type emailRow struct {
	id      int64
	group   int64 // the user or account within which addresses must differ
	address string
	keeper  int64 // for a row byNormalForm drops: the row that keeps its address
}

func readEmailRows(ctx context.Context, tx *sql.Tx, query string) ([]emailRow, error) {
	rows, err := tx.QueryContext(ctx, query)
	return collect(rows, err, func(r rowScanner) (emailRow, error) {
		var e emailRow
		err := r.Scan(&e.id, &e.group, &e.address)
		return e, err
	})
}

// byNormalForm splits rows, which come best first within each group, into
// the first of each normal form in its group, which keeps the address, and
// the others.
func byNormalForm(rows []emailRow) (keep, drop []emailRow) {
	type key struct {
		group   int64
		address string
	}
	kept := map[key]int64{}
	for _, e := range rows {
		k := key{e.group, fold09(e.address)}
		if id, ok := kept[k]; ok {
			e.keeper = id
			drop = append(drop, e)
			continue
		}
		kept[k] = e.id
		keep = append(keep, e)
	}
	return keep, drop
}

func normalContactEmails(ctx context.Context, tx *sql.Tx) error {
	rows, err := readEmailRows(ctx, tx, `SELECT id, user_id, address FROM contact_methods WHERE kind = 'email'
		ORDER BY user_id, is_account DESC, verified_at IS NULL, id`)
	if err != nil {
		return err
	}
	keep, drop := byNormalForm(rows)
	for _, e := range drop {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notification_rules (user_id, circumstance, severity, contact_method_id)
			SELECT user_id, circumstance, severity, ? FROM notification_rules WHERE contact_method_id = ?`, e.keeper, e.id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_methods WHERE id = ?`, e.id); err != nil {
			return err
		}
	}
	// The account email's row follows users (trigger users_account_contact).
	for _, e := range keep {
		if n := fold09(e.address); n != e.address {
			if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET address = ? WHERE id = ? AND is_account = 0`, n, e.id); err != nil {
				return err
			}
		}
	}
	return nil
}

func normalInviteEmails(ctx context.Context, tx *sql.Tx) error {
	pending, err := readEmailRows(ctx, tx, `SELECT id, account_id, email FROM invites WHERE state = 'pending' ORDER BY account_id, id DESC`)
	if err != nil {
		return err
	}
	_, drop := byNormalForm(pending)
	for _, e := range drop {
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET state = 'revoked' WHERE id = ?`, e.id); err != nil {
			return err
		}
	}
	return normalColumn(ctx, tx, "invites", "email")
}

func normalUserEmails(ctx context.Context, tx *sql.Tx, now time.Time) error {
	rows, err := readEmailRows(ctx, tx, `SELECT id, 0, email FROM users ORDER BY email_verified_at IS NULL, id`)
	if err != nil {
		return err
	}
	keep, drop := byNormalForm(rows)
	// The others go first, so that the address is free when its keeper
	// takes its normal form.
	for _, e := range drop {
		if err := setDuplicateEmail(ctx, tx, e, now); err != nil {
			return err
		}
	}
	for _, e := range keep {
		if n := fold09(e.address); n != e.address {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ? WHERE id = ?`, n, e.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// setDuplicateEmail gives a user whose address another user keeps an
// address nobody can receive mail at, unique, and tells the user's log.
func setDuplicateEmail(ctx context.Context, tx *sql.Tx, e emailRow, now time.Time) error {
	for n := 1; ; n++ {
		email := fmt.Sprintf("%s.duplicate-%d.invalid", fold09(e.address), e.id)
		if n > 1 {
			email = fmt.Sprintf("%s.duplicate-%d-%d.invalid", fold09(e.address), e.id, n)
		}
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)`, email).Scan(&taken); err != nil {
			return err
		}
		if taken {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, email_verified_at = NULL, updated_at = ? WHERE id = ?`,
			email, unix(now), e.id); err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]any{"old_email": e.address, "new_email": email, "reason": "another profile has this address"})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (user_id, kind, detail_json, created_at) VALUES (?, ?, ?, ?)`,
			e.id, EventEmailChanged, string(detail), unix(now))
		return err
	}
}

// normalColumn rewrites a column that no unique index covers.
func normalColumn(ctx context.Context, tx *sql.Tx, table, column string) error {
	rows, err := tx.QueryContext(ctx, `SELECT rowid, `+column+` FROM `+table)
	type cell struct {
		rowid   int64
		address string
	}
	cells, err := collect(rows, err, func(r rowScanner) (cell, error) {
		var c cell
		err := r.Scan(&c.rowid, &c.address)
		return c, err
	})
	if err != nil {
		return err
	}
	for _, c := range cells {
		if n := fold09(c.address); n != c.address {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE rowid = ?`, n, c.rowid); err != nil {
				return err
			}
		}
	}
	return nil
}
