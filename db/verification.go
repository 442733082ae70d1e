package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The first verification of an address ends what was attached before it
// (DESIGN section 5). Whoever made a profile with an address they do not
// own could attach logins, sessions and a pending email change to it while
// it was unverified; the owner's first proof of the address (a
// verification link, a password reset, a confirmed email change, an
// operator) takes the profile over clean. Every path that sets
// users.email_verified_at from NULL goes through confirmAddress, and the
// trigger of migration 00013 refuses one that does not.

// ReasonUnconfirmedEmail is the reason in the detail of the login_unlinked
// event of a login removed by the first verification.
const ReasonUnconfirmedEmail = "unconfirmed_email"

// Verified is what a path that proves the account email did.
type Verified struct {
	User User
	// First: the email was unverified until now.
	First bool
	// Removed are the logins linked while the email was unverified, now
	// removed.
	Removed []Identity
	// SignedOut is how many sessions ended; KeptSession whether the one
	// the caller asked to keep is still signed in.
	SignedOut   int64
	KeptSession bool
	// Ended counts, by the table's name, the rows of what else the first
	// verification ended (unproven): "totp_secrets" 1 is two-factor
	// authentication turned off.
	Ended map[string]int64
}

// unproven is what the first verification of an address ends, besides the
// logins and the sessions (confirmAddress): everything whoever made the
// profile could attach to it before the owner proved the address, as one
// list. Each entry is a table with a user_id column and which of the
// user's rows go; a table not here is in keptAtFirstVerification
// (verification_test.go), with why, so a new one cannot slip through.
var unproven = []struct {
	table string
	where string // which of the user's (?1) rows go, "" for all; ?2 is now
}{
	{"pending_signins", ""},    // a second step waiting, with a factor of whoever made it
	{"totp_secrets", ""},       // their authenticator app: the owner would be asked for its codes
	{"recovery_codes", ""},     // and its recovery codes
	{"passkeys", ""},           // refused while unverified (AddPasskey); any from before go
	{"passkey_ceremonies", ""}, // a passkey being added or used
	{"email_changes", ""},      // a change of the account email asked for before
	// Their contact methods, and with them (ON DELETE CASCADE) the
	// routing to them; the account email's routing goes back to the
	// defaults below. Mail still queued to them goes first, but for one a
	// worker is sending right now (claimed_until after ?2).
	{"outbox", "state = 'queued' AND claimed_until <= ?2 AND contact_method_id IN (SELECT id FROM contact_methods WHERE user_id = ?1 AND is_account = 0)"},
	{"contact_methods", "is_account = 0"},
	{"notification_rules", ""}, // back to the defaults (endUnproven)
}

// endUnproven deletes what unproven lists for userID, counting what went,
// and routes every notice to the account email again (DefaultRules).
func endUnproven(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) (map[string]int64, error) {
	ended := map[string]int64{}
	for _, u := range unproven {
		q := `DELETE FROM ` + u.table + ` WHERE user_id = ?1`
		if u.where != "" {
			q += ` AND ` + u.where
		}
		args := []any{userID}
		if strings.Contains(q, "?2") {
			args = append(args, unix(now))
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("end %s of user %d: %w", u.table, userID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		ended[u.table] += n
	}
	// A SAML sign-in started from a browser signed in to this profile
	// (link_user_id, which the ACS checks so as not to switch profiles)
	// ends with the sessions.
	if _, err := tx.ExecContext(ctx, `DELETE FROM saml_requests WHERE link_user_id = ?`, userID); err != nil {
		return nil, err
	}
	var account int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM contact_methods WHERE user_id = ? AND is_account = 1`, userID).Scan(&account); err != nil {
		return nil, fmt.Errorf("account contact method of user %d: %w", userID, mapErr(err))
	}
	for _, r := range DefaultRules(account) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id) VALUES (?, ?, ?, ?)`,
			userID, r.Circumstance, r.Severity, account); err != nil {
			return nil, err
		}
	}
	return ended, nil
}

// Who proves the address, for confirmAddress: a browser that followed a
// link sent to it, or the operator, who vouches for it.
const (
	byLink     = true
	byOperator = false
)

// confirmAddress records, in the caller's transaction, that the account
// email is proven: newEmail when it replaces the current one (an email
// change), else the current one. When the account email was unverified
// until now, this is its first verification:
//   - every linked login goes: all were linked while the email was
//     unverified, since email_verified_at is never set back to NULL;
//   - every session opened through one of them ends, keep too;
//   - byLink, every other session but keep (the browser that followed the
//     link) ends as well; byOperator, there is no such browser, and every
//     session ends when a login went (one opened through it before
//     sessions recorded their login looks like any other), none otherwise;
//   - everything else whoever made the profile could attach before the
//     owner proved the address ends (unproven): two-factor, passkeys,
//     sign-ins waiting for a second step, contact methods other than the
//     account email with their routing, a pending change of the account
//     email.
//
// When the email was verified already and newEmail replaces it (an email
// change), every session but keep ends, and every pending sign-in
// (endSessions), as a password change does.
//
// Each removed login gets a login_unlinked event with reason
// ReasonUnconfirmedEmail in the user's activity log.
func confirmAddress(ctx context.Context, tx *sql.Tx, userID int64, newEmail string, link bool, keep []byte, ev Event, now time.Time) (Verified, error) {
	old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID))
	if err != nil {
		return Verified{}, err
	}
	v := Verified{First: !old.EmailVerified()}
	if v.First {
		// Before the logins go: deleting one forgets which sessions it
		// opened (trigger identities_forget_sessions).
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?
			AND identity_id IN (SELECT id FROM identities WHERE user_id = ?)`, userID, userID)
		if err != nil {
			return Verified{}, err
		}
		if v.SignedOut, err = res.RowsAffected(); err != nil {
			return Verified{}, err
		}
		if v.Removed, err = removeUnconfirmedLogins(ctx, tx, userID, ev, now); err != nil {
			return Verified{}, err
		}
		// Without a browser that proved the address (byOperator) and
		// without a login gone, the sessions stay: endSessions is
		// byLink's; the pending sign-ins go either way (unproven).
		if link || len(v.Removed) > 0 {
			n, err := endSessions(ctx, tx, userID, keep)
			if err != nil {
				return Verified{}, err
			}
			v.SignedOut += n
		}
		if v.Ended, err = endUnproven(ctx, tx, userID, now); err != nil {
			return Verified{}, err
		}
	} else if newEmail != "" {
		// A change of the account email ends the other sessions, as a
		// password change does: it may be the answer to a mailbox or a
		// session someone else had.
		if v.SignedOut, err = endSessions(ctx, tx, userID, keep); err != nil {
			return Verified{}, err
		}
	}
	if newEmail != "" {
		// The trigger users_email_changed_links voids the unused links
		// mailed to the old address.
		_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?`,
			newEmail, unix(now), unix(now), userID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ? WHERE id = ?`,
			unix(now), unix(now), userID)
	}
	if err != nil {
		return Verified{}, mapErr(err)
	}
	if v.User, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)); err != nil {
		return Verified{}, err
	}
	if len(keep) > 0 {
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = ? AND id_hash = ?)`, userID, keep).Scan(&v.KeptSession)
		if err != nil {
			return Verified{}, err
		}
	}
	return v, nil
}

// removeUnconfirmedLogins deletes every login of the user, writing a
// login_unlinked event for each.
func removeUnconfirmedLogins(ctx context.Context, tx *sql.Tx, userID int64, ev Event, now time.Time) ([]Identity, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM identities WHERE user_id = ? RETURNING `+identityColumns, userID)
	removed, err := collect(rows, err, scanIdentity)
	if err != nil {
		return nil, fmt.Errorf("remove logins of user %d: %w", userID, err)
	}
	for _, id := range removed {
		e := Event{Kind: EventLoginUnlinked, UserID: userID, IP: ev.IP, UserAgent: ev.UserAgent,
			Detail: map[string]any{"provider": id.Provider, "email": id.Email, "reason": ReasonUnconfirmedEmail}}
		if err := addEvent(ctx, tx, e, now); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// withVerified adds to ev's detail what a first verification ended (the
// routing rules, set back to the defaults, are not counted).
func withVerified(d map[string]any, v Verified) map[string]any {
	if !v.First {
		return d
	}
	d = withDetail(d, "first", true)
	d = withDetail(d, "logins_removed", len(v.Removed))
	for _, u := range unproven {
		if n := v.Ended[u.table]; n > 0 && u.table != "notification_rules" {
			d = withDetail(d, u.table+"_ended", n)
		}
	}
	return withDetail(d, "sessions_revoked", v.SignedOut)
}
