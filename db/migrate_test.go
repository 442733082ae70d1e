package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// migratedTo opens a new database with the migrations up to version
// applied, and the provider to apply the rest (or undo some) with.
func migratedTo(t *testing.T, version int64) (*Store, *goose.Provider) {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// TestCheckListsMigration: 00008 rebuilds preferences and outbox with their
// rows, and the rebuilt checks refuse what the old ones did, down and up.
func TestCheckListsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 7)
	u, err := s.CreateUser(ctx, NewUser{Email: "m@example.com", Name: "M", PasswordHash: "h"}, Event{})
	if err != nil {
		t.Fatal(err)
	}
	saved := Preferences{PageSize: 50, Timezone: "Europe/Paris", DateFormat: "eu", Clock: "12", WeekStart: "sunday",
		Theme: "dark", GraphStyle: "bar", GraphRange: "90d", Legend: false, Colourblind: true}
	// The columns 00008 copies, written and read by name: today's
	// SavePreferences and Preferences may know columns added after it.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO preferences (user_id, page_size, timezone, date_format, clock, week_start,
		theme, graph_style, graph_range, legend, colourblind, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		u.ID, saved.PageSize, saved.Timezone, saved.DateFormat, saved.Clock, saved.WeekStart,
		saved.Theme, saved.GraphStyle, saved.GraphRange, saved.Legend, saved.Colourblind); err != nil {
		t.Fatal(err)
	}
	preferences := func() (Preferences, error) {
		var p Preferences
		err := s.r.QueryRowContext(ctx, `SELECT page_size, timezone, date_format, clock, week_start, theme, graph_style,
			graph_range, legend, colourblind FROM preferences WHERE user_id = ?`, u.ID).
			Scan(&p.PageSize, &p.Timezone, &p.DateFormat, &p.Clock, &p.WeekStart, &p.Theme, &p.GraphStyle, &p.GraphRange, &p.Legend, &p.Colourblind)
		return p, err
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, state, next_attempt_at, created_at)
		VALUES (?, 'sms', '+14155550100', 'billing', 's', 'b', 'failed', 1, 2)`, u.ID); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		got, err := preferences()
		if err != nil || got != saved {
			t.Errorf("%s: preferences %+v, %v; want %+v", when, got, err, saved)
		}
		list, err := s.Deliveries(ctx, u.ID, 10, 0)
		if err != nil || len(list) != 1 || list[0].Kind != KindSMS || list[0].State != "failed" || list[0].Circumstance != CircumstanceBilling {
			t.Errorf("%s: outbox %+v, %v; want the one failed SMS", when, list, err)
		}
		for _, bad := range []string{
			`UPDATE preferences SET theme = 'blue'`,
			`UPDATE preferences SET page_size = 11`,
			`UPDATE preferences SET graph_range = '1y'`,
			`UPDATE outbox SET state = 'lost'`,
			`UPDATE outbox SET kind = 'fax'`,
			`UPDATE outbox SET circumstance = 'other'`,
		} {
			if _, err := s.w.ExecContext(ctx, bad); err == nil || !strings.Contains(err.Error(), "CHECK") {
				t.Errorf("%s: %s: got %v, want a CHECK failure", when, bad, err)
			}
		}
	}
	check("before 00008")
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("after every migration")
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	check("down to 00007")
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	check("up again")
}

// TestChecksBuildNoTables: SQLite codes IN with three or more constants as an
// ephemeral table built on every execution; the hot writes' checks must not
// (see 00008_check_lists.sql).
func TestChecksBuildNoTables(t *testing.T) {
	s := openTest(t)
	for _, stmt := range []string{
		`INSERT INTO preferences (user_id, page_size, timezone, date_format, clock, week_start, theme, graph_style, graph_range, legend, colourblind, updated_at)
			VALUES (1, 25, '', 'iso', '24', 'monday', 'system', 'line', '7d', 1, 0, 0)
			ON CONFLICT (user_id) DO UPDATE SET theme = excluded.theme`,
		`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
			VALUES (1, 'email', 'a@example.com', 'verify', 's', 'b', 0, 0)`,
		`UPDATE outbox SET state = 'sent' WHERE id = 1`,
	} {
		rows, err := s.w.Query("EXPLAIN " + stmt)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if op, _ := vals[1].(string); op == "OpenEphemeral" {
				t.Errorf("%s\nopens an ephemeral table (a CHECK written with IN?)", strings.Join(strings.Fields(stmt), " "))
				break
			}
		}
		rows.Close()
	}
}

// TestIDsNeverReused plays issue 13's attack 1 at the level of the flaw: an
// id that went into a login key (identities.provider "saml:<id>"), another
// row or a URL is freed by a delete, and the next insert must not get it.
func TestIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "owner@example.com")
	acc := accountWith(t, s, owner, nil)
	conn := func() SAMLConnection {
		t.Helper()
		c, err := s.CreateSAMLConnection(ctx, acc.ID, owner.ID, NewSAMLConnection{Name: "IdP", IdPMetadataXML: "<md/>", IdPEntityID: "https://idp.example.com"},
			Event{Kind: EventSAMLConnectionAdded})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// The victim signs in through the newest connection; its Admin deletes
	// it, and an attacker's new connection must not be handed its id.
	victimConn := conn()
	victim := verifiedUser(t, s, "victim@example.com")
	if _, err := s.w.ExecContext(ctx, `INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (?, ?, 'victim-nameid', 0, 0)`,
		victim.ID, fmt.Sprintf("saml:%d", victimConn.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSAMLConnection(ctx, acc.ID, owner.ID, victimConn.ID, Event{Kind: EventSAMLConnectionDeleted}); err != nil {
		t.Fatal(err)
	}
	if got := conn(); got.ID == victimConn.ID {
		t.Errorf("saml connection: the attacker's new connection got the deleted connection's id %d", got.ID)
	}

	// The newest account and user go too; their ids must not come back.
	newest := accountWith(t, s, owner, nil)
	if err := s.DeleteAccount(ctx, newest.ID, owner.ID, Event{Kind: EventAccountDeleted}); err != nil {
		t.Fatal(err)
	}
	if got := accountWith(t, s, owner, nil); got.ID == newest.ID {
		t.Errorf("account: a new account got the deleted account's id %d", got.ID)
	}
	gone := mustUser(t, s, "gone@example.com")
	if _, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, gone.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustUser(t, s, "next@example.com"); got.ID == gone.ID {
		t.Errorf("user: a new user got the deleted user's id %d", got.ID)
	}
}

// seedEveryTable writes rows into every table as 00008 left them, with
// gaps in the ids (the newest SAML connection deleted after its login was
// made, as today's code leaves it). It returns that connection's id.
func seedEveryTable(t *testing.T, s *Store) (deletedConn int64) {
	t.Helper()
	for _, stmt := range []string{
		`INSERT INTO users (id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id) VALUES
			(3, 'ann@example.com', 5, 'Ann', 'h', 1, 2, 'cus_1'), (7, 'bob@example.com', NULL, '', NULL, 1, 2, NULL)`,
		`INSERT INTO contact_methods (id, user_id, kind, address, label, is_account, verified_at, created_at) VALUES
			(4, 3, 'email', 'ann@example.com', 'Account email', 1, 5, 1), (9, 3, 'sms', '+14155550100', 'Phone', 0, NULL, 1),
			(10, 7, 'email', 'bob@example.com', 'Account email', 1, NULL, 1)`,
		`INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id) VALUES (3, 'security', 0, 4), (3, 'alerts', 2, 9)`,
		`INSERT INTO accounts (id, name, owner_id, created_at, billing_payment_method_id) VALUES (5, 'Acme', 3, 1, 6)`,
		`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (5, 3, 'admin', 1), (5, 7, 'readonly', 1)`,
		`INSERT INTO invites (id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state) VALUES
			(8, 5, 'carol@example.com', 'normal', 3, x'01', 1, 99, 'pending')`,
		`INSERT INTO payment_methods (id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at) VALUES
			(6, 3, 'pm_1', 'visa', '4242', 12, 2030, 'fp', 1, 1)`,
		`INSERT INTO saml_connections (id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, created_at) VALUES
			(2, 5, 'Okta', '<md/>', 'https://idp', 'example.com', 'readonly', 1), (12, 5, 'Gone', '<md/>', 'https://gone', '', '', 1)`,
		`INSERT INTO saml_domains (connection_id, domain, verified_at) VALUES (2, 'example.com', 1)`,
		`INSERT INTO saml_requests (id, relay_state, connection_id, request_id, link_user_id, created_at) VALUES (11, 'rs', 2, 'req', 7, 1)`,
		`INSERT INTO saml_assertions (id, connection_id, seen_at) VALUES ('a1', 2, 1)`,
		`INSERT INTO identities (id, user_id, provider, subject, email, email_verified, created_at, last_used_at) VALUES
			(13, 7, 'saml:12', 'bob-nameid', 'bob@example.com', 1, 1, 1), (14, 3, 'google', 'g-1', 'ann@example.com', 1, 1, 1)`,
		`DELETE FROM saml_connections WHERE id = 12`,
		`INSERT INTO sessions (id, id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (15, x'02', 3, 1, 1, 99)`,
		`INSERT INTO audit_events (id, user_id, account_id, kind, detail_json, created_at) VALUES
			(16, 3, 5, 'invite_accepted', '{"member": 21}', 1), (17, 3, 19, 'account_deleted', '{}', 1)`,
		`INSERT INTO outbox (id, user_id, contact_method_id, kind, address, circumstance, subject, body, next_attempt_at, created_at) VALUES
			(18, 3, 9, 'sms', '+14155550100', 'alerts', 's', 'b', 1, 1)`,
		`INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES (x'03', 7, 'verify', 'bob@example.com', 1, 99)`,
		`INSERT INTO email_changes (user_id, new_email, token_hash, created_at, expires_at) VALUES (3, 'ann.new@example.com', x'04', 1, 99)`,
		`INSERT INTO preferences (user_id, updated_at) VALUES (3, 1)`,
		`INSERT INTO settings (key, value) VALUES ('k', 'v')`,
	} {
		if _, err := s.w.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", strings.Join(strings.Fields(stmt), " "), err)
		}
	}
	return 12
}

// dump is every row of every table but goose's, in rowid order.
func dump(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range tableNames(t, s) {
		rows, err := s.w.Query(`SELECT * FROM "` + table + `" ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprintf("%v", vals))
		}
		rows.Close()
	}
	return out
}

func tableNames(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.w.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('goose_db_version', 'sqlite_sequence') ORDER BY name`)
	names, err := collect(rows, err, func(r rowScanner) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// shape is the schema but the CREATE TABLE texts: each table's columns and
// references, and every index and trigger.
func shape(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	add := func(query string, args ...any) {
		rows, err := s.w.Query(query, args...)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%v", vals))
		}
		rows.Close()
	}
	for _, table := range tableNames(t, s) {
		add(`SELECT ?, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, table, table)
		add(`SELECT ?, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?)`, table, table)
	}
	add(`SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name`)
	return out
}

// TestIDsMigration: 00010 keeps every row with its id, column, reference,
// index and trigger; starts each sequence above the ids still in sight
// (the deleted connection's login "saml:12" included); and goes down and
// up again without losing anything.
func TestIDsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 8)
	deleted := seedEveryTable(t, s)
	rows, schema := dump(t, s), shape(t, s)

	same := func(when string) {
		t.Helper()
		if got := dump(t, s); fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Errorf("%s: rows changed\ngot  %v\nwant %v", when, got, rows)
		}
		if got := shape(t, s); strings.Join(got, "\n") != strings.Join(schema, "\n") {
			t.Errorf("%s: schema changed\ngot  %v\nwant %v", when, got, schema)
		}
		var violations int
		if err := s.w.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&violations); err != nil || violations != 0 {
			t.Errorf("%s: foreign key check: %d rows, %v", when, violations, err)
		}
		var fk int
		if err := s.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("%s: foreign keys: got %d, %v; want on", when, fk, err)
		}
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	same("after 00010")
	for table, want := range map[string]int64{
		"users": 21, "accounts": 19, "saml_connections": deleted, "contact_methods": 10, "payment_methods": 6,
		"invites": 8, "identities": 14, "sessions": 15, "audit_events": 17, "saml_requests": 11, "outbox": 18,
	} {
		var seq int64
		if err := s.w.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq); err != nil || seq != want {
			t.Errorf("sqlite_sequence of %s: got %d, %v; want %d", table, seq, err, want)
		}
	}
	var next int64
	if err := s.w.QueryRow(`INSERT INTO saml_connections (account_id, name, idp_metadata_xml, entity_id, created_at)
		VALUES (5, 'New', '<md/>', 'https://new', 1) RETURNING id`).Scan(&next); err != nil || next <= deleted {
		t.Errorf("new connection: got id %d, %v; want above %d, whose login saml:%d is still there", next, err, deleted, deleted)
	}
	if _, err := s.w.Exec(`DELETE FROM saml_connections WHERE id = ?`, next); err != nil {
		t.Fatal(err)
	}
	triggersWork(t, s, "after 00010")

	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	same("after 00010 down")
	triggersWork(t, s, "after 00010 down")
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	same("after 00010 again")
}

// triggersWork checks each trigger of the rebuilt tables, and the checks
// they kept, inside a transaction it rolls back.
func triggersWork(t *testing.T, s *Store, when string) {
	t.Helper()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, bad := range []string{
		`UPDATE memberships SET role = 'normal' WHERE user_id = 3`,
		`DELETE FROM memberships WHERE user_id = 3`,
		`UPDATE contact_methods SET kind = 'fax' WHERE id = 9`,
		`UPDATE contact_methods SET is_account = 1 WHERE id = 9`,
		`UPDATE invites SET role = 'owner'`,
		`UPDATE invites SET state = 'lost'`,
		`UPDATE payment_methods SET exp_month = 13`,
		`UPDATE saml_connections SET default_role = 'admin'`,
		`UPDATE email_tokens SET purpose = 'login'`,
		`INSERT INTO users (email, created_at, updated_at) VALUES ('ANN@example.com', 1, 1)`,
		`INSERT INTO payment_methods (user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, created_at)
			VALUES (3, 'pm_1', 'visa', '1111', 1, 2030, 'other', 1)`,
		`INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (x'02', 7, 1, 1, 1)`,
		`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (3, 'google', 'g-1', 1, 1)`,
		`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (404, 3, 'admin', 1)`,
	} {
		if _, err := tx.Exec(`SAVEPOINT x`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(bad); err == nil {
			t.Errorf("%s: %s was allowed", when, strings.Join(strings.Fields(bad), " "))
		}
		if _, err := tx.Exec(`ROLLBACK TO x`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(`UPDATE users SET email = 'bob2@example.com', email_verified_at = 9 WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	var address string
	var verified sql.NullInt64
	if err := tx.QueryRow(`SELECT address, verified_at FROM contact_methods WHERE id = 10`).Scan(&address, &verified); err != nil ||
		address != "bob2@example.com" || verified.Int64 != 9 {
		t.Errorf("%s: users_account_contact: the account method has %q, %v, %v; want bob2@example.com, 9", when, address, verified, err)
	}
	if _, err := tx.Exec(`DELETE FROM payment_methods WHERE id = 6`); err != nil {
		t.Fatal(err)
	}
	var billing sql.NullInt64
	if err := tx.QueryRow(`SELECT billing_payment_method_id FROM accounts WHERE id = 5`).Scan(&billing); err != nil || billing.Valid {
		t.Errorf("%s: payment_methods_clear_billing: the account still pays with %v, %v", when, billing, err)
	}
	if _, err := tx.Exec(`DELETE FROM users WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := tx.QueryRow(`SELECT (SELECT count(*) FROM identities WHERE user_id = 7) + (SELECT count(*) FROM memberships WHERE user_id = 7)
		+ (SELECT count(*) FROM email_tokens WHERE user_id = 7) + (SELECT count(*) FROM saml_requests WHERE link_user_id = 7)`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%s: deleting a user left %d rows that point at it, %v", when, left, err)
	}
}

// TestEveryIDNeverReused is the class test of "ids are never reused": after
// every migration, a table with an INTEGER PRIMARY KEY column named id
// (SQLite's rowid) must be AUTOINCREMENT, so a new table cannot reopen
// attack 1 of issue 13.
func TestEveryIDNeverReused(t *testing.T) {
	s := openTest(t)
	rows, err := s.w.Query(`SELECT m.name, m.sql FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'id' AND c.pk = 1 AND upper(c.type) = 'INTEGER'`)
	type table struct{ name, sql string }
	tables, err := collect(rows, err, func(r rowScanner) (table, error) {
		var tb table
		return tb, r.Scan(&tb.name, &tb.sql)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 11 {
		t.Fatalf("found %d tables with an integer id, want at least the 11 of 00010: %v", len(tables), tables)
	}
	for _, tb := range tables {
		if !strings.Contains(strings.ToUpper(tb.sql), "AUTOINCREMENT") {
			t.Errorf("table %s: id is INTEGER PRIMARY KEY without AUTOINCREMENT, so a deleted row's id is handed out again", tb.name)
		}
	}
}

// TestNormalEmailsMigration: 00009 puts every stored address in NormalEmail
// form. Spellings that only differ in the case of a non-ASCII letter (the
// NOCASE columns let them coexist) collide there, and each collision is
// settled without stopping the upgrade: the verified (else the oldest)
// user keeps the address, the other gets an undeliverable one and a line in
// its log; a user's duplicate contact method goes, its routing kept; the
// newest pending invite stays.
func TestNormalEmailsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 8)
	for _, stmt := range []string{
		`INSERT INTO users (id, email, email_verified_at, created_at, updated_at) VALUES
			(1, 'Ann@Example.COM', 5, 1, 1), (2, 'Ärger@example.com', NULL, 1, 1), (3, 'ärger@example.com', 5, 1, 1),
			(4, 'ÖL@example.com', NULL, 1, 1), (5, 'öl@example.com', NULL, 1, 1), (6, 'öl@example.com.duplicate-5.invalid', NULL, 1, 1)`,
		`INSERT INTO contact_methods (id, user_id, kind, address, is_account, verified_at, created_at)
			SELECT id, id, 'email', email, 1, email_verified_at, 1 FROM users`,
		`INSERT INTO contact_methods (id, user_id, kind, address, is_account, verified_at, created_at) VALUES
			(20, 1, 'email', 'Ann.Work@Example.com', 0, 5, 1), (21, 1, 'email', 'Zoë@example.com', 0, NULL, 1),
			(22, 1, 'email', 'ZOË@example.com', 0, 5, 1), (23, 1, 'webhook', 'https://Example.com/Hook', 0, 5, 1)`,
		`INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id) VALUES (1, 'billing', 0, 21), (1, 'account', 0, 22)`,
		`INSERT INTO accounts (id, name, owner_id, created_at) VALUES (1, 'Acme', 1, 1)`,
		`INSERT INTO invites (id, account_id, email, role, token_hash, created_at, expires_at, state) VALUES
			(30, 1, 'Ëve@example.com', 'normal', x'30', 1, 99, 'pending'), (31, 1, 'ëve@example.com', 'normal', x'31', 2, 99, 'pending'),
			(32, 1, 'Dan@Example.com', 'normal', x'32', 1, 99, 'accepted')`,
		`INSERT INTO identities (id, user_id, provider, subject, email, created_at, last_used_at) VALUES (40, 1, 'google', 'g', ' Ann@Example.COM ', 1, 1)`,
		`INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES (x'50', 1, 'reset', 'Ann@Example.COM', 1, 99)`,
		`INSERT INTO email_changes (user_id, new_email, token_hash, created_at, expires_at) VALUES (3, 'New@Exämple.com', x'60', 1, 99)`,
	} {
		if _, err := s.w.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", strings.Join(strings.Fields(stmt), " "), err)
		}
	}
	if _, err := p.UpTo(ctx, normalEmailsVersion); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		`SELECT group_concat(id || ' ' || email || ' ' || (email_verified_at IS NOT NULL), ', ') FROM (SELECT * FROM users ORDER BY id)`: "1 ann@example.com 1, " +
			"2 ärger@example.com.duplicate-2.invalid 0, 3 ärger@example.com 1, 4 öl@example.com 0, 5 öl@example.com.duplicate-5-2.invalid 0, " +
			"6 öl@example.com.duplicate-5.invalid 0",
		`SELECT group_concat(id || ' ' || address, ', ') FROM (SELECT * FROM contact_methods ORDER BY id)`: "1 ann@example.com, " +
			"2 ärger@example.com.duplicate-2.invalid, 3 ärger@example.com, 4 öl@example.com, 5 öl@example.com.duplicate-5-2.invalid, " +
			"6 öl@example.com.duplicate-5.invalid, 20 ann.work@example.com, 22 zoë@example.com, 23 https://Example.com/Hook",
		`SELECT group_concat(circumstance || ' ' || contact_method_id, ', ') FROM (SELECT * FROM notification_rules ORDER BY circumstance)`: "account 22, billing 22",
		`SELECT group_concat(id || ' ' || email || ' ' || state, ', ') FROM (SELECT * FROM invites ORDER BY id)`: "30 ëve@example.com revoked, " +
			"31 ëve@example.com pending, 32 dan@example.com accepted",
		`SELECT email FROM identities`:        "ann@example.com",
		`SELECT email FROM email_tokens`:      "ann@example.com",
		`SELECT new_email FROM email_changes`: "new@exämple.com",
		`SELECT group_concat(user_id || ' ' || kind || ' ' || detail_json, ', ') FROM audit_events`: `2 email_changed {"new_email":"ärger@example.com.duplicate-2.invalid",` +
			`"old_email":"Ärger@example.com","reason":"another profile has this address"}, 5 email_changed {"new_email":"öl@example.com.duplicate-5-2.invalid",` +
			`"old_email":"öl@example.com","reason":"another profile has this address"}`,
	}
	for query, w := range want {
		var got string
		if err := s.w.QueryRow(query).Scan(&got); err != nil || got != w {
			t.Errorf("%s\ngot  %q, %v\nwant %q", query, got, err, w)
		}
	}
	// NormalEmail now folds ASCII letters only (email.go): the lookup finds
	// the migrated address in any ASCII case.
	if u, err := s.UserByEmail(ctx, " ärger@EXAMPLE.com"); err != nil || u.ID != 3 {
		t.Errorf("UserByEmail(ärger@EXAMPLE.com): got user %d, %v; want 3, the verified one", u.ID, err)
	}

	// The down step keeps the normal form; 00010 then refuses any other.
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`UPDATE users SET email = 'ANN@example.com' WHERE id = 1`,
		`UPDATE users SET email = ' ann@example.com' WHERE id = 1`,
		`UPDATE contact_methods SET address = 'Ann.Work@example.com' WHERE id = 20`,
		`UPDATE invites SET email = 'Dan@example.com' WHERE id = 32`,
		`UPDATE identities SET email = 'Ann@example.com'`,
		`UPDATE email_tokens SET email = 'Ann@example.com'`,
		// (00024 dropped the pending change, which named no session.)
		`INSERT INTO email_changes (user_id, new_email, token_hash, session_id, created_at, expires_at) VALUES (3, 'New@exämple.com', x'61', 1, 1, 99)`,
	} {
		if _, err := s.w.Exec(bad); err == nil || !strings.Contains(err.Error(), "CHECK") {
			t.Errorf("%s: got %v, want a CHECK failure", bad, err)
		}
	}
	if _, err := s.w.Exec(`UPDATE contact_methods SET address = 'https://Example.com/Other' WHERE id = 23`); err != nil {
		t.Errorf("a webhook URL keeps its case: %v", err)
	}
}

// TestEveryEmailColumnNormal is the class test of the email normal form:
// after every migration, each text column named email or *_email carries
// the CHECK of 00010, so a new table cannot store a second spelling.
func TestEveryEmailColumnNormal(t *testing.T) {
	s := openTest(t)
	rows, err := s.w.Query(`SELECT m.name, c.name, m.sql FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND upper(c.type) = 'TEXT' AND (c.name = 'email' OR c.name LIKE '%\_email' ESCAPE '\')`)
	type column struct{ table, name, sql string }
	cols, err := collect(rows, err, func(r rowScanner) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name, &c.sql)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) < 5 {
		t.Fatalf("found %d email columns, want at least the 5 of 00010: %v", len(cols), cols)
	}
	for _, c := range cols {
		if check := "CHECK (" + c.name + " = lower(trim(" + c.name + ")) COLLATE BINARY)"; !strings.Contains(c.sql, check) {
			t.Errorf("%s.%s: no %s; store addresses with db.NormalEmail and add the check", c.table, c.name, check)
		}
	}
	var schema string
	if err := s.w.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'contact_methods'`).Scan(&schema); err != nil ||
		!strings.Contains(schema, "CHECK (kind <> 'email' OR address = lower(trim(address)) COLLATE BINARY)") {
		t.Errorf("contact_methods: no normal-form check on email addresses (%v)", err)
	}
}

// TestIDsMigrationOrphans: rows whose parent was deleted with foreign keys
// off (from the sqlite3 shell, say) do not block the upgrade; they stay,
// and no new user gets the id they name.
func TestIDsMigrationOrphans(t *testing.T) {
	ctx := context.Background()
	s, _ := migratedTo(t, normalEmailsVersion)
	for _, stmt := range []string{
		`INSERT INTO users (id, email, created_at, updated_at) VALUES (1, 'ann@example.com', 1, 1), (2, 'gone@example.com', 1, 1)`,
		`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (2, 'google', 'g-2', 1, 1)`,
		`PRAGMA foreign_keys = OFF`,
		`DELETE FROM users WHERE id = 2`,
		`PRAGMA foreign_keys = ON`,
	} {
		if _, err := s.w.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var orphans int
	if err := s.w.QueryRow(`SELECT count(*) FROM identities WHERE user_id = 2`).Scan(&orphans); err != nil || orphans != 1 {
		t.Errorf("the orphaned login: got %d rows, %v; want it kept", orphans, err)
	}
	if u := mustUser(t, s, "new@example.com"); u.ID <= 2 {
		t.Errorf("new user: got id %d, the id the orphaned login names or below", u.ID)
	}
}

// TestIDsMigrationFailsWhole: when 00010 fails half-way (here on a row that
// bypassed NormalEmail after 00009), nothing of it stays: every table as it
// was, foreign keys on, the version not recorded.
func TestIDsMigrationFailsWhole(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, normalEmailsVersion)
	if _, err := s.w.Exec(`INSERT INTO users (id, email, created_at, updated_at) VALUES (1, 'ann@example.com', 1, 1), (2, 'BOB@example.com', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO sessions (id, id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (5, x'01', 1, 1, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	rows, schema := dump(t, s), shape(t, s)
	if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Fatalf("migrate: got %v, want the email CHECK to fail", err)
	}
	if got := dump(t, s); fmt.Sprint(got) != fmt.Sprint(rows) {
		t.Errorf("rows changed\ngot  %v\nwant %v", got, rows)
	}
	if got := shape(t, s); strings.Join(got, "\n") != strings.Join(schema, "\n") {
		t.Errorf("schema changed\ngot  %v\nwant %v", got, schema)
	}
	var fk int
	if err := s.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign keys: got %d, %v; want on", fk, err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != normalEmailsVersion {
		t.Errorf("version: got %d, %v; want %d", v, err, normalEmailsVersion)
	}
	if _, err := s.w.Exec(`UPDATE users SET email = 'bob@example.com' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate once the row is fixed: %v", err)
	}
}

// TestMigrationsDownToEmpty: every migration's down step runs, from the
// newest to the first, and the whole chain applies again.
func TestMigrationsDownToEmpty(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	p, err := s.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if names := tableNames(t, s); len(names) != 0 {
		t.Errorf("after every down step: tables %v are left", names)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mustUser(t, s, "ann@example.com")
}

// TestUpgradeFromRelease: a database as the last release (00008) left it,
// with rows in every table, reaches the newest version through Migrate (what
// `roster migrate` and start-up run), with what each of 00009-00016 does
// seen together: ids kept and never handed out again, the login of a
// deleted connection gone, emails in their normal form, listed domains
// claimed (the operator's verified ones still verified), recent sign-in
// failures still counting, the first-verification rule in force. Down to
// 00008 gives back the release's schema, and the upgrade runs again.
func TestUpgradeFromRelease(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 8)
	release := shape(t, s)
	seedEveryTable(t, s) // connection 12 deleted, its login saml:12 (id 13) left behind
	now := time.Now().Unix()
	for _, stmt := range []string{
		`INSERT INTO users (id, email, email_verified_at, name, created_at, updated_at) VALUES (22, ' Dave@Example.ORG', NULL, 'Dave', 1, 2)`,
		`INSERT INTO contact_methods (id, user_id, kind, address, label, is_account, verified_at, created_at) VALUES
			(23, 22, 'email', ' Dave@Example.ORG', 'Account email', 1, NULL, 1)`,
		`INSERT INTO invites (id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state) VALUES
			(24, 5, 'Erin@Example.com', 'normal', 3, x'24', 1, 99, 'pending')`,
		`UPDATE saml_connections SET allow_idp_initiated = 1 WHERE id = 2`,
		`INSERT INTO saml_connections (id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at)
			VALUES (25, 5, 'Entra', '<md/>', 'https://entra', 'example.org,Example.NET', 'normal', 1, 1)`,
		`INSERT INTO identities (id, user_id, provider, subject, email, email_verified, created_at, last_used_at) VALUES
			(26, 22, 'saml:25', 'dave-nameid', 'Dave@Example.ORG', 0, 1, 1)`,
		`INSERT INTO sessions (id, id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (27, x'27', 22, 1, 1, 99)`,
		fmt.Sprintf(`INSERT INTO login_failures (key, created_at) VALUES ('email:ann@example.com', %d), ('ip:192.0.2.1', %[1]d)`, now),
	} {
		if _, err := s.w.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", strings.Join(strings.Fields(stmt), " "), err)
		}
	}

	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, name := range applied {
		versions = append(versions, filepath.Base(name)[:5])
	}
	if got, want := strings.Join(versions, " "), "00009 00010 00011 00012 00013 00014 00015 00016 00017 00018 00019 00020 00021 00022 00023 00024 00025"; got != want {
		t.Errorf("applied: got %s (%v), want %s", got, applied, want)
	}

	for query, want := range map[string]string{
		// 00009: every address in its normal form, ids kept.
		`SELECT group_concat(id || ' ' || email, ', ') FROM (SELECT * FROM users ORDER BY id)`:                                              "3 ann@example.com, 7 bob@example.com, 22 dave@example.org",
		`SELECT group_concat(id || ' ' || address, ', ') FROM (SELECT * FROM contact_methods ORDER BY id)`:                                  "4 ann@example.com, 9 +14155550100, 10 bob@example.com, 23 dave@example.org",
		`SELECT group_concat(id || ' ' || email || ' ' || state, ', ') FROM (SELECT * FROM invites ORDER BY id)`:                            "8 carol@example.com pending, 24 erin@example.com pending",
		`SELECT group_concat(circumstance || ' ' || contact_method_id, ', ') FROM (SELECT * FROM notification_rules ORDER BY circumstance)`: "alerts 9, security 4",
		// 00011: the login of the deleted connection is gone, the others stay;
		// sessions from before name no login.
		`SELECT group_concat(id || ' ' || provider || ' ' || email, ', ') FROM (SELECT * FROM identities ORDER BY id)`:                 "14 google ann@example.com, 26 saml:25 dave@example.org",
		`SELECT group_concat(id || ' ' || user_id || ' ' || ifnull(identity_id, '-'), ', ') FROM (SELECT * FROM sessions ORDER BY id)`: "15 3 -, 27 22 -",
		// 00012: a claim for every listed domain, the operator's still
		// verified; IdP-initiated stays on only where a domain is verified.
		`SELECT group_concat(connection_id || ' ' || domain || ' ' || (verified_at IS NOT NULL), ', ') FROM (SELECT * FROM saml_domains ORDER BY connection_id, domain)`: "2 example.com 1, 25 example.net 0, 25 example.org 0",
		`SELECT group_concat(id || ' ' || allow_idp_initiated, ', ') FROM (SELECT * FROM saml_connections ORDER BY id)`:                                                  "2 1, 25 0",
		// 00014: recent sign-in failures carried over.
		`SELECT group_concat(key, ', ') FROM (SELECT * FROM throttle_slots ORDER BY key)`: "signin:email:ann@example.com, signin:ip:192.0.2.1",
		// The rest, untouched.
		`SELECT group_concat(id, ', ') FROM (SELECT id FROM audit_events WHERE id < 20 ORDER BY id)`: "16, 17",
		`SELECT id || ' ' || billing_payment_method_id FROM accounts`:                                "5 6",
		`SELECT count(*) FROM email_tokens`:                                                          "1",
		// 00024: a pending change from before names no session, so it goes.
		`SELECT count(*) FROM email_changes`: "0",
		// 00016: the outbox row kept, in the notification lane.
		`SELECT id || ' ' || user_id || ' ' || priority || ' ' || (token_hash IS NULL) || ' ' || body FROM outbox`: "18 3 0 1 b",
	} {
		var got string
		if err := s.w.QueryRow(query).Scan(&got); err != nil || got != want {
			t.Errorf("%s\ngot  %q, %v\nwant %q", query, got, err, want)
		}
	}

	// The code of this release reads what the upgrade left.
	if u, err := s.UserByEmail(ctx, "DAVE@example.org"); err != nil || u.ID != 22 {
		t.Errorf("UserByEmail(DAVE@example.org): got user %d, %v; want 22", u.ID, err)
	}
	if c, err := s.SAMLConnection(ctx, 2); err != nil || !slices.Equal(c.VerifiedDomains, []string{"example.com"}) {
		t.Errorf("connection 2: got %+v, %v; want example.com verified", c, err)
	}
	full := Limit{Key: "signin:email:ann@example.com", Max: 1, Window: 15 * time.Minute}
	if _, err := s.Reserve(ctx, full); !errors.Is(err, ErrThrottled) {
		t.Errorf("a sign-in failure from before the upgrade: Reserve got %v, want it to count (ErrThrottled)", err)
	}
	if _, err := s.w.Exec(`UPDATE users SET email_verified_at = 1 WHERE id = 22`); err == nil {
		t.Error("a bare first verification of Dave, whose login is linked, went through (00013)")
	}
	// 00010: no id is handed out again.
	for _, c := range []struct {
		insert string
		above  int64
	}{
		{`INSERT INTO saml_connections (account_id, name, idp_metadata_xml, entity_id, created_at) VALUES (5, 'New', '<md/>', 'https://new', 1) RETURNING id`, 25},
		{`INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (3, 'github', 'gh', 1, 1) RETURNING id`, 26},
		{`INSERT INTO users (email, created_at, updated_at) VALUES ('new@example.com', 1, 1) RETURNING id`, 22},
	} {
		var id int64
		if err := s.w.QueryRow(c.insert).Scan(&id); err != nil || id <= c.above {
			t.Errorf("%s: got id %d, %v; want above %d", c.insert, id, err, c.above)
		}
	}
	if _, err := s.w.Exec(`DELETE FROM saml_connections WHERE name = 'New'; DELETE FROM identities WHERE provider = 'github';
		DELETE FROM users WHERE email = 'new@example.com'; DELETE FROM throttle_slots WHERE id > 2`); err != nil {
		t.Fatal(err)
	}
	// 00016: an invite's mail, to no profile, which going down drops.
	if _, err := s.w.Exec(`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, priority, next_attempt_at, created_at)
		VALUES (NULL, 'email', 'erin@example.com', 'account', 'Invite', 'link', 1, 1, 1)`); err != nil {
		t.Fatalf("a mail without a profile: %v", err)
	}

	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatalf("down to 00008: %v", err)
	}
	if got := shape(t, s); strings.Join(got, "\n") != strings.Join(release, "\n") {
		t.Errorf("schema after down to 00008: got\n%s\nwant the release's\n%s", strings.Join(got, "\n"), strings.Join(release, "\n"))
	}
	for query, want := range map[string]string{
		`SELECT group_concat(key, ', ') FROM (SELECT * FROM login_failures ORDER BY key)`:      "email:ann@example.com, ip:192.0.2.1",
		`SELECT group_concat(connection_id || ' ' || domain, ', ') FROM saml_domains`:          "2 example.com",
		`SELECT group_concat(id || ' ' || email, ', ') FROM (SELECT * FROM users ORDER BY id)`: "3 ann@example.com, 7 bob@example.com, 22 dave@example.org",
		`SELECT group_concat(id, ', ') FROM (SELECT * FROM identities ORDER BY id)`:            "14, 26",
		`SELECT group_concat(id, ', ') FROM outbox`:                                            "18",
		`SELECT count(*) FROM pragma_foreign_key_check`:                                        "0",
	} {
		var got string
		if err := s.w.QueryRow(query).Scan(&got); err != nil || got != want {
			t.Errorf("after down to 00008: %s\ngot  %q, %v\nwant %q", query, got, err, want)
		}
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("upgrade again: %v", err)
	}
}

// TestNumberFormatMigration: 00015 gives saved preferences the default
// number format, refuses an unknown one, and goes down and up again.
func TestNumberFormatMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 14)
	u, err := s.CreateUser(ctx, NewUser{Email: "m@example.com", Name: "M", PasswordHash: "h"}, Event{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO preferences (user_id, theme, updated_at) VALUES (?, 'dark', 0)`, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Preferences(ctx, u.ID); err != nil || got.NumberFormat != "comma_point" || got.Theme != "dark" {
		t.Errorf("after 00015: got %+v, %v; want the dark theme and comma_point", got, err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE preferences SET number_format = '1 234,5'`); err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Errorf("an unknown number format: got %v, want a CHECK failure", err)
	}
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Preferences(ctx, u.ID); err != nil || got.NumberFormat != "comma_point" || got.Theme != "dark" {
		t.Errorf("down and up again: got %+v, %v", got, err)
	}
}
