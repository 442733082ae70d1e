// Routing: which contact methods each circumstance of a notification goes to.

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Circumstances of notifications. Test and verify messages go to one method
// and follow no rules.
const (
	CircumstanceAlerts   = "alerts"
	CircumstanceAccount  = "account"
	CircumstanceBilling  = "billing"
	CircumstanceSecurity = "security"
	CircumstanceTest     = "test"
	CircumstanceVerify   = "verify"
)

// Circumstances lists the circumstances people route, in matrix order.
var Circumstances = []string{CircumstanceAlerts, CircumstanceAccount, CircumstanceBilling, CircumstanceSecurity}

// ValidCircumstance reports whether c is one of Circumstances.
func ValidCircumstance(c string) bool {
	for _, x := range Circumstances {
		if x == c {
			return true
		}
	}
	return false
}

// Rule sends a circumstance (and for alerts, one severity) to a method.
type Rule struct {
	Circumstance string
	Severity     int // 1-5 for alerts, 0 otherwise
	MethodID     int64
}

// DefaultRules sends everything to one method, the account email.
func DefaultRules(methodID int64) []Rule {
	var rules []Rule
	for sev := 1; sev <= 5; sev++ {
		rules = append(rules, Rule{CircumstanceAlerts, sev, methodID})
	}
	for _, c := range Circumstances[1:] {
		rules = append(rules, Rule{c, 0, methodID})
	}
	return rules
}

// Rules lists the user's routing rules.
func (s *Store) Rules(ctx context.Context, userID int64) ([]Rule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT circumstance, severity, contact_method_id FROM notification_rules WHERE user_id = CAST(? AS INTEGER)`, userID)
	if err != nil {
		return nil, fmt.Errorf("rules of user %d: %w", userID, err)
	}
	defer rows.Close()
	var list []Rule
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Circumstance, &r.Severity, &r.MethodID); err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// ErrBadRule is a rule naming something that cannot be routed; the form
// offers no such choice, so it comes from a forged or stale post.
var ErrBadRule = errors.New("rule for an unknown circumstance or an unverified method")

// SetRules replaces the user's rules. Every method must be the user's and
// verified; security always keeps the account email.
func (s *Store) SetRules(ctx context.Context, userID int64, rules []Rule, ev Event) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var account int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM contact_methods WHERE user_id = ? AND is_account = 1`, userID).Scan(&account); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM notification_rules WHERE user_id = CAST(? AS INTEGER)`, userID); err != nil {
			return err
		}
		rules = append(rules, Rule{CircumstanceSecurity, 0, account})
		for _, r := range rules {
			if !ValidCircumstance(r.Circumstance) || (r.Circumstance == CircumstanceAlerts) != (r.Severity >= 1 && r.Severity <= 5) {
				return ErrBadRule
			}
			// The account email may be routed before it is verified; it is
			// used once it is. Other methods need verifying first.
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO notification_rules (user_id, circumstance, severity, contact_method_id)
				SELECT ?, ?, ?, id FROM contact_methods WHERE id = ? AND user_id = ? AND (verified_at IS NOT NULL OR is_account = 1)`,
				userID, r.Circumstance, r.Severity, r.MethodID, userID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				var exists int
				tx.QueryRowContext(ctx, `SELECT count(*) FROM notification_rules WHERE user_id = ? AND circumstance = ? AND severity = ? AND contact_method_id = ?`,
					userID, r.Circumstance, r.Severity, r.MethodID).Scan(&exists)
				if exists == 0 {
					return ErrBadRule
				}
			}
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return fmt.Errorf("set rules of user %d: %w", userID, err)
	}
	return nil
}
