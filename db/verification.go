package db

import (
	"context"
	"database/sql"
	"fmt"
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
//   - a pending change of the account email, asked for before, ends.
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
		if link || len(v.Removed) > 0 {
			n, err := deleteOtherSessions(ctx, tx, userID, keep)
			if err != nil {
				return Verified{}, err
			}
			v.SignedOut += n
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_changes WHERE user_id = ?`, userID); err != nil {
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

// withVerified adds to ev's detail what a first verification ended.
func withVerified(d map[string]any, v Verified) map[string]any {
	if !v.First {
		return d
	}
	d = withDetail(d, "first", true)
	d = withDetail(d, "logins_removed", len(v.Removed))
	return withDetail(d, "sessions_revoked", v.SignedOut)
}
