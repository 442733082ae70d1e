package db

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// seedLeaving fills every table that holds something of Ann (id 3), with
// a secret in every hash, token and secret column, and Bob (id 7), an
// Admin of Ann's account Acme (5) whose log names her.
func seedLeaving(t *testing.T, s *Store) {
	t.Helper()
	for _, stmt := range []string{
		`INSERT INTO users (id, email, email_verified_at, name, password_hash, created_at, updated_at, stripe_customer_id) VALUES
			(3, 'ann@example.com', 5, 'Ann Example', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo', 1, 2, 'cus_SecretCustomer'),
			(7, 'bob@example.com', 5, 'Bob', '$argon2id$v=19$m=19456,t=2,p=1$Ym9ic2FsdGJvYnNhbHQ$Ym9iaGFzaGJvYmhhc2g', 1, 2, NULL)`,
		`INSERT INTO contact_methods (id, user_id, kind, address, label, is_account, verified_at, secret, code_hash, code_expires_at, created_at) VALUES
			(4, 3, 'email', 'ann@example.com', 'Account email', 1, 5, '', NULL, 0, 1),
			(9, 3, 'webhook', 'https://hooks.example.com/ann', 'Hook', 0, NULL, 'whsec_AnnSigningSecret', x'c0de0001c0de0002c0de0003', 99, 1)`,
		`INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id) VALUES (3, 'security', 0, 4)`,
		`INSERT INTO accounts (id, name, owner_id, created_at) VALUES (5, 'Acme', 7, 1), (6, 'Annco', 3, 1)`,
		`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (5, 7, 'admin', 1), (5, 3, 'normal', 1), (6, 3, 'admin', 1)`,
		`INSERT INTO invites (id, account_id, email, role, invited_by, token_hash, created_at, expires_at, state) VALUES
			(8, 5, 'ann@example.com', 'admin', 7, x'00aa11bb22cc33dd44ee55ff', 1, 9999999999, 'pending'),
			(10, 5, 'carol@example.com', 'normal', 3, x'1111aaaa2222bbbb3333cccc', 1, 9999999999, 'pending')`,
		`INSERT INTO identities (id, user_id, provider, subject, email, email_verified, display_name, created_at, last_used_at) VALUES
			(11, 3, 'github', '1815', 'ann@gh.example', 1, 'ann', 1, 2)`,
		`INSERT INTO sessions (id, id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, data, sudo_at, sudo_code_hash) VALUES
			(12, x'5e55105e55105e55105e5510', 3, 1, 2, 9999999999, '192.0.2.1', 'Firefox', x'da7ada7ada7a', 3, x'50d0c0de50d0c0de50d0c0de')`,
		`INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES
			(x'70c0e070c0e070c0e070c0e0', 3, 'reset', 'ann@example.com', 1, 9999999999)`,
		`INSERT INTO email_changes (user_id, new_email, token_hash, cancel_hash, session_id, created_at, expires_at) VALUES
			(3, 'ann.new@example.com', x'c4a46ec4a46ec4a46ec4a46e', x'ca2ce1ca2ce1ca2ce1ca2ce1', 12, 1, 9999999999)`,
		`INSERT INTO payment_methods (id, user_id, stripe_payment_method_id, brand, last4, exp_month, exp_year, fingerprint, is_default, created_at) VALUES
			(13, 3, 'pm_SecretMethod', 'visa', '4242', 12, 2030, 'fpSecretPrint', 1, 1)`,
		`INSERT INTO outbox (id, user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at, token_hash, body_kept) VALUES
			(14, 3, 'email', 'ann@example.com', 'security', 'Reset your password', 'https://r.example/password/reset/LinkTokenInBody', 1, 1, x'70c0e070c0e070c0e070c0e0', 'kept')`,
		`INSERT INTO totp_secrets (user_id, secret, confirmed_at, last_step, created_at) VALUES (3, x'5ec2e75ec2e75ec2e75ec2e7', 4, 55555, 3)`,
		`INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES
			(3, x'2ec0c0de2ec0c0de2ec0c0de', NULL, 4), (3, x'2ec0aaaa2ec0bbbb2ec0cccc', 5, 4)`,
		`INSERT INTO pending_signins (token_hash, user_id, method, created_at, expires_at) VALUES (x'9e4d9e4d9e4d9e4d9e4d9e4d', 3, 'password', 1, 9999999999)`,
		`INSERT INTO passkey_users (user_id, handle, created_at) VALUES (3, x'4a4d4a4d4a4d4a4d4a4d4a4d', 1)`,
		`INSERT INTO passkeys (id, user_id, rp_id, credential_id, name, credential, created_at, last_used_at) VALUES
			(17, 3, 'roster.example', x'c2ed1dc2ed1dc2ed1dc2ed1d', 'Ann''s phone', '{"id":"wu0dwu0dwu0dwu0d","publicKey":"pQECAyYgASFYIAnnPublicKeyBytes"}', 1, 6)`,
		`INSERT INTO passkey_ceremonies (token_hash, purpose, user_id, session, created_at) VALUES
			(x'cee2cee2cee2cee2cee2cee2', 'verify', 3, '{"challenge":"AnnChallengeValue"}', 1)`,
		`INSERT INTO audit_events (id, user_id, account_id, kind, detail_json, ip, user_agent, created_at) VALUES
			(15, 3, NULL, 'signin', '{"method":"password"}', '192.0.2.1', 'Firefox', 1),
			(16, 7, 5, 'member_removed', '{"account":"Acme","member":3,"member_name":"Ann Example","email":"ann@example.com"}', '192.0.2.9', 'Safari', 2)`,
	} {
		if _, err := s.w.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", strings.Join(strings.Fields(stmt), " "), err)
		}
	}
}

// TestExportHoldsNoSecret: Ann's export has every section, with her rows,
// and no value of any column that holds a hash, a token, a secret or a
// Stripe id, in any of the forms a blob could be written in.
func TestExportHoldsNoSecret(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	seedLeaving(t, s)
	ex, err := s.ExportUser(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{`"email":"ann@example.com"`, `"has_password":1`, `"address":"https://hooks.example.com/ann"`,
		`"account":"Acme"`, `"provider":"github"`, `"user_agent":"Firefox"`, `"last4":"4242"`, `"new_email":"ann.new@example.com"`,
		`"subject":"Reset your password"`, `"detail":{"method":"password"}`, `"circumstance":"security"`, `"role":"admin"`,
		`"two_factor":{"enabled":1,"enabled_at":"1970-01-01T00:00:04Z","recovery_codes_left":1,"setting_up":0}`,
		`"name":"Ann's phone"`, `"site":"roster.example"`, `"last_used_at":"1970-01-01T00:00:06Z"`} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s:\n%s", want, out)
		}
	}
	for _, sec := range exportSections {
		if _, ok := ex[sec.name]; !ok {
			t.Errorf("export lacks the section %s", sec.name)
		}
	}

	// Every column whose name says it holds a secret, in every table.
	tables, err := s.r.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	checked := 0
	for _, table := range names {
		cols, err := s.r.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var secret []string
		for cols.Next() {
			var c string
			cols.Scan(&c)
			if strings.Contains(c, "hash") || strings.Contains(c, "token") || strings.Contains(c, "secret") ||
				strings.HasPrefix(c, "stripe_") || c == "fingerprint" || c == "body" || c == "data" ||
				// passkeys: the credential id, its record (public key), the
				// user handle, a ceremony's state (its challenge)
				strings.HasPrefix(c, "credential") || c == "handle" || c == "session" {
				secret = append(secret, c)
			}
		}
		cols.Close()
		for _, c := range secret {
			rows, err := s.r.Query(fmt.Sprintf(`SELECT %q FROM %q WHERE %[1]q IS NOT NULL`, c, table))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var v any
				rows.Scan(&v)
				var forms []string
				switch x := v.(type) {
				case string:
					forms = []string{x}
				case []byte:
					forms = []string{string(x), hex.EncodeToString(x), strings.ToUpper(hex.EncodeToString(x)),
						base64.StdEncoding.EncodeToString(x), base64.RawURLEncoding.EncodeToString(x)}
				default:
					continue
				}
				for _, f := range forms {
					if len(f) >= 4 && strings.Contains(out, f) {
						t.Errorf("export holds %s.%s (%q)", table, c, f)
					}
				}
				checked++
			}
			rows.Close()
		}
	}
	if checked < 20 {
		t.Errorf("checked %d secret values, want every seeded one (20 or more)", checked)
	}
	// Inside a passkey's record: its public key and id, in no form.
	for _, part := range []string{"pQECAyYgASFYIAnnPublicKeyBytes", "wu0dwu0dwu0dwu0d", "AnnChallengeValue", "55555"} {
		if strings.Contains(out, part) {
			t.Errorf("export holds %q", part)
		}
	}
}

// TestDeleteUser: a profile that owns an account is refused, naming it;
// once the account has gone to someone else, the profile and everything
// of it goes in one transaction, and the audit log keeps its entries
// without anything that names Ann.
func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	seedLeaving(t, s)
	_, err := s.DeleteUser(ctx, 3)
	var owns *OwnsAccounts
	if !errors.As(err, &owns) || len(owns.Accounts) != 1 || owns.Accounts[0].Name != "Annco" {
		t.Fatalf("delete while owning Annco: got %v, want *OwnsAccounts naming Annco", err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := s.r.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(`SELECT count(*) FROM users WHERE id = 3`) != 1 || count(`SELECT count(*) FROM sessions WHERE user_id = 3`) != 1 {
		t.Fatal("the refused deletion removed something")
	}
	if _, err := s.w.Exec(`UPDATE accounts SET owner_id = 7 WHERE id = 6`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (6, 7, 'admin', 1)`); err != nil {
		t.Fatal(err)
	}
	d, err := s.DeleteUser(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if d.StripeCustomerID != "cus_SecretCustomer" || d.User.Email != "ann@example.com" {
		t.Errorf("deleted: got %+v, want Ann with her Stripe customer", d)
	}
	for table, q := range map[string]string{
		"users":          `SELECT count(*) FROM users WHERE id = 3`,
		"sessions":       `SELECT count(*) FROM sessions WHERE user_id = 3`,
		"identities":     `SELECT count(*) FROM identities WHERE user_id = 3`,
		"contacts":       `SELECT count(*) FROM contact_methods WHERE user_id = 3`,
		"rules":          `SELECT count(*) FROM notification_rules WHERE user_id = 3`,
		"memberships":    `SELECT count(*) FROM memberships WHERE user_id = 3`,
		"cards":          `SELECT count(*) FROM payment_methods WHERE user_id = 3`,
		"tokens":         `SELECT count(*) FROM email_tokens WHERE user_id = 3`,
		"email change":   `SELECT count(*) FROM email_changes WHERE user_id = 3`,
		"outbox":         `SELECT count(*) FROM outbox WHERE user_id = 3 OR address = 'ann@example.com'`,
		"invites to her": `SELECT count(*) FROM invites WHERE email = 'ann@example.com'`,
		"her name":       `SELECT count(*) FROM audit_events WHERE detail_json LIKE '%Ann Example%' OR detail_json LIKE '%ann@example.com%' OR ip = '192.0.2.1'`,
		"totp secret":    `SELECT count(*) FROM totp_secrets WHERE user_id = 3`,
		"recovery codes": `SELECT count(*) FROM recovery_codes WHERE user_id = 3`,
		"pending":        `SELECT count(*) FROM pending_signins WHERE user_id = 3`,
		"passkey handle": `SELECT count(*) FROM passkey_users WHERE user_id = 3`,
		"passkeys":       `SELECT count(*) FROM passkeys WHERE user_id = 3`,
		"ceremonies":     `SELECT count(*) FROM passkey_ceremonies WHERE user_id = 3`,
	} {
		if n := count(q); n != 0 {
			t.Errorf("%s: %d rows left, want none", table, n)
		}
	}
	if n := count(`SELECT count(*) FROM audit_events`); n != 2 {
		t.Errorf("audit entries: %d, want both kept", n)
	}
	if n := count(`SELECT count(*) FROM invites WHERE id = 10 AND invited_by IS NULL`); n != 1 {
		t.Error("the invite Ann sent: want it kept without its sender")
	}
	if n := count(`SELECT count(*) FROM users`); n != 1 {
		t.Errorf("users: %d, want Bob alone", n)
	}
}
