package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Two-factor authentication: the authenticator-app (TOTP) secret, the
// recovery codes and the sign-ins that wait for a second factor. The
// secret arrives sealed (handlers seal and open it); codes are checked by
// the handlers, and what is stored here is what makes each work once: the
// time step of the last accepted code, and the use of a recovery code.

// Rules of two-factor authentication.
const (
	ErrTwoFactorOn     = RuleError("two_factor_on")       // enrolling while it is already on
	ErrTwoFactorOff    = RuleError("two_factor_off")      // an action that needs it on
	ErrCodeReplayed    = RuleError("totp_replayed")       // an authenticator code of a step already used
	ErrRecoveryRefused = RuleError("recovery_refused")    // a recovery code unknown, or already used
	ErrPendingGone     = RuleError("pending_signin_gone") // the second step's sign-in expired or was used
	// ErrFactorUnconfirmedEmail refuses a second factor (an authenticator
	// app, a passkey) while the account email is unverified: whoever made
	// the profile with an address they do not own would hold a factor of
	// its owner's profile (the first verification ends any, confirmAddress).
	ErrFactorUnconfirmedEmail = RuleError("factor before the email is confirmed")
)

// PendingSignInTTL is how long a sign-in waits for its second factor.
const PendingSignInTTL = 10 * time.Minute

// RecoveryCodeCount is how many recovery codes a person gets at once.
const RecoveryCodeCount = 10

// Factors are the second factors a person has. Any decides whether a
// sign-in asks for one.
type Factors struct {
	TOTP          bool // an authenticator app, confirmed
	RecoveryCodes int  // unused recovery codes
	Passkeys      int  // passkeys of the relying party asked about
}

// Any reports whether a sign-in must pass a second step: two-factor
// authentication is on, which is the authenticator app. Passkeys alone do
// not turn it on (as at GitHub: a passkey is a way in of its own, and a
// way through the second step once two-factor is on), so someone with a
// passkey and no authenticator app signs in with the password alone.
func (f Factors) Any() bool { return f.TOTP }

// PasskeyWay reports whether a passkey can be the second factor of a
// sign-in's second step or of a re-authentication.
func (f Factors) PasskeyWay() bool { return f.Passkeys > 0 }

// SecondFactors is the one answer to "does this person need a second step,
// and with what": every sign-in, re-authentication and the profile's panel
// ask it. rpID is the passkeys' relying party ("" when passkeys are not
// offered: none counted).
func (s *Store) SecondFactors(ctx context.Context, userID int64, rpID string) (Factors, error) {
	return secondFactors(ctx, s.r, userID, rpID)
}

// secondFactors is SecondFactors on q, so a transaction can ask it too.
func secondFactors(ctx context.Context, q queryer, userID int64, rpID string) (Factors, error) {
	var f Factors
	err := q.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL),
		(SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL),
		(SELECT count(*) FROM passkeys WHERE user_id = ? AND rp_id = ? AND ? <> '')`, userID, userID, userID, rpID, rpID).
		Scan(&f.TOTP, &f.RecoveryCodes, &f.Passkeys)
	return f, mapErr(err)
}

// TOTPSecret is a person's authenticator secret, sealed, and whether it
// is confirmed (on) or still being enrolled.
type TOTPSecret struct {
	Sealed    []byte
	Confirmed bool
	LastStep  int64
}

// TOTP returns userID's authenticator secret, or ErrNotFound.
func (s *Store) TOTP(ctx context.Context, userID int64) (TOTPSecret, error) {
	var t TOTPSecret
	var confirmed sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step FROM totp_secrets WHERE user_id = ?`, userID).
		Scan(&t.Sealed, &confirmed, &t.LastStep)
	t.Confirmed = confirmed.Valid
	return t, mapErr(err)
}

// TOTPSetUpTTL is how long an authenticator-app set-up waits for its
// confirmation.
const TOTPSetUpTTL = 10 * time.Minute

// A set-up of an authenticator app belongs to the session that started it
// (behind re-authentication): its secret is shown, and its confirmation
// accepted, only in that session, only while that session's
// re-authentication is fresh (SudoWindow), and for TOTPSetUpTTL. The row
// names the session (session_id, ON DELETE CASCADE), so whatever ends the
// session ends the set-up; confirming it clears session_id, and the secret
// then outlives the session.

// setUpOwnedBy is the condition, on a totp_secrets row, of a set-up that
// waits, not expired, in session :hash of its user while that session's
// re-authentication is fresh (its arguments: setUpArgs).
const setUpOwnedBy = `confirmed_at IS NULL AND created_at > :now - :ttl AND session_id = (
	SELECT id FROM sessions WHERE id_hash = CAST(:hash AS BLOB) AND user_id = totp_secrets.user_id AND ` + sudoFresh + `)`

func setUpArgs(idHash []byte, now time.Time) []any {
	return append(sudoArgs(now), sql.Named("ttl", int64(TOTPSetUpTTL/time.Second)), sql.Named("hash", idHash))
}

// TOTPSetUp is userID's authenticator-app set-up that session idHash may
// see and finish, sealed. ErrNotFound when none waits for that session
// (none at all, expired, another session's, or the session's
// re-authentication is no longer fresh).
func (s *Store) TOTPSetUp(ctx context.Context, userID int64, idHash []byte) ([]byte, error) {
	var sealed []byte
	err := s.r.QueryRowContext(ctx, `SELECT secret FROM totp_secrets WHERE user_id = :user AND `+setUpOwnedBy,
		append(setUpArgs(idHash, s.now()), sql.Named("user", userID))...).Scan(&sealed)
	return sealed, mapErr(err)
}

// StartTOTP keeps a new, unconfirmed secret for userID in session idHash,
// in place of any set-up not finished (of whichever session);
// ErrTwoFactorOn when one is confirmed already, ErrFactorUnconfirmedEmail
// while the account email is unverified, ErrNotFound when the session is
// gone.
func (s *Store) StartTOTP(ctx context.Context, userID int64, idHash []byte, sealed []byte) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailConfirmed(ctx, tx, userID, ErrFactorUnconfirmedEmail); err != nil {
			return err
		}
		var session int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sessions WHERE id_hash = CAST(? AS BLOB) AND user_id = ?`, idHash, userID).Scan(&session)
		if err != nil {
			return mapErr(err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at, session_id) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0,
				session_id = excluded.session_id
			WHERE confirmed_at IS NULL`, userID, sealed, unix(s.now()), session)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, ErrTwoFactorOn)
		}
		return nil
	})
}

// CancelTOTP drops the set-up of session idHash, if one waits (another
// session's is not this one's to end).
func (s *Store) CancelTOTP(ctx context.Context, userID int64, idHash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NULL
		AND session_id = (SELECT id FROM sessions WHERE id_hash = CAST(? AS BLOB) AND user_id = ?)`, userID, idHash, userID)
	return err
}

// ConfirmTOTP turns two-factor on for userID with the set-up of session
// idHash, the code given having been of time step step, and keeps the
// hashes of new recovery codes in place of any old ones, with ev (its
// notice), in one transaction. ErrNotFound when no set-up waits for that
// session with its re-authentication fresh (see TOTPSetUp), checked in
// the transaction; ErrFactorUnconfirmedEmail while the account email is
// unverified.
func (s *Store) ConfirmTOTP(ctx context.Context, userID int64, idHash []byte, step int64, codes [][]byte, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if err := emailConfirmed(ctx, tx, userID, ErrFactorUnconfirmedEmail); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE totp_secrets SET confirmed_at = :now, last_step = :step, session_id = NULL
			WHERE user_id = :user AND `+setUpOwnedBy,
			append(setUpArgs(idHash, now), sql.Named("step", step), sql.Named("user", userID))...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, ErrNotFound)
		}
		if err := replaceRecoveryCodes(ctx, tx, userID, codes, now); err != nil {
			return err
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, now)
	})
}

// RegenerateRecoveryCodes replaces every recovery code of userID (used or
// not) with the new hashes, with ev; ErrTwoFactorOff when two-factor is off.
func (s *Store) RegenerateRecoveryCodes(ctx context.Context, userID int64, codes [][]byte, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		var on bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL)`, userID).Scan(&on); err != nil {
			return err
		}
		if !on {
			return ErrTwoFactorOff
		}
		now := s.now()
		if err := replaceRecoveryCodes(ctx, tx, userID, codes, now); err != nil {
			return err
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, now)
	})
}

func replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, codes [][]byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`, userID, h, unix(now)); err != nil {
			return err
		}
	}
	return nil
}

// Proof is a second factor given and checked: an authenticator code of
// time step Step, or, when Recovery is set, the SHA-256 of a recovery code,
// or, when Elsewhere is set, a factor checked and used up by its own code
// (a passkey's signature counter), which Elsewhere names for the audit log.
type Proof struct {
	Step      int64
	Recovery  []byte
	Elsewhere string
}

// consume uses proof up for userID: a recovery code once, an authenticator
// step only past the last one used. A recovery code used writes used, the
// event with its notice.
func consume(ctx context.Context, tx *sql.Tx, userID int64, p Proof, used Event, now time.Time) error {
	if p.Elsewhere != "" {
		return nil
	}
	if p.Recovery != nil {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
			unix(now), userID, p.Recovery)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, ErrRecoveryRefused)
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&left); err != nil {
			return err
		}
		used.UserID = userID
		used.Detail = withDetail(used.Detail, "left", left)
		return addEvent(ctx, tx, used, now)
	}
	res, err := tx.ExecContext(ctx, `UPDATE totp_secrets SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`,
		p.Step, userID, p.Step)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmpErr(err, ErrCodeReplayed)
	}
	return nil
}

// UseSecondFactor uses proof up for userID, on its own: for a check of a
// second factor that changes nothing else (re-authentication). used is the
// event of a recovery code used (see consume).
func (s *Store) UseSecondFactor(ctx context.Context, userID int64, p Proof, used Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error { return consume(ctx, tx, userID, p, used, s.now()) })
}

// DisableTwoFactor uses proof up and turns two-factor off for userID: the
// secret, every recovery code and every sign-in waiting for its second
// step (begun while two-factor was on) go, with ev, in one transaction.
// used is the event of a recovery code used (see consume). It is refused
// with a LastTwoFactorAdminError (nothing changed, the code not used up)
// when userID is the last Admin with two-factor of an account that
// requires it: every Admin would then be locked out of its console.
func (s *Store) DisableTwoFactor(ctx context.Context, userID int64, p Proof, used, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := consume(ctx, tx, userID, p, used, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_secrets WHERE user_id = ?`, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		// Asked in the transaction: two last Admins turning theirs off at
		// once cannot both pass.
		rows, err := tx.QueryContext(ctx, `SELECT a.name FROM accounts a
			JOIN memberships m ON m.account_id = a.id AND m.user_id = ?1 AND m.role = ?2
			WHERE a.require_two_factor = 1 AND NOT EXISTS (
				SELECT 1 FROM memberships o JOIN totp_secrets t ON t.user_id = o.user_id AND t.confirmed_at IS NOT NULL
				WHERE o.account_id = a.id AND o.role = ?2 AND o.user_id <> ?1)
			ORDER BY a.name COLLATE NOCASE, a.id`, userID, RoleAdmin)
		locked, err := collect(rows, err, func(r rowScanner) (string, error) {
			var name string
			return name, r.Scan(&name)
		})
		if err != nil {
			return err
		}
		if len(locked) > 0 {
			return LastTwoFactorAdminError{Accounts: locked}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_signins WHERE user_id = ?`, userID); err != nil {
			return err
		}
		ev.UserID = userID
		return addEvent(ctx, tx, ev, now)
	})
}

// ErrLastTwoFactorAdmin refuses turning two-factor off for the last Admin
// with two-factor of an account that requires it (as a
// LastTwoFactorAdminError, naming the accounts).
const ErrLastTwoFactorAdmin = RuleError("the last Admin with two-factor of an account that requires it")

// LastTwoFactorAdminError names the accounts whose last Admin with
// two-factor the person is.
type LastTwoFactorAdminError struct{ Accounts []string }

func (e LastTwoFactorAdminError) Error() string {
	return string(ErrLastTwoFactorAdmin) + ": " + strings.Join(e.Accounts, ", ")
}

// Unwrap makes it an ErrLastTwoFactorAdmin.
func (e LastTwoFactorAdminError) Unwrap() error { return ErrLastTwoFactorAdmin }

// PendingSignIn is a sign-in that passed its first factor and waits for
// the second, in the browser holding the token whose hash is TokenHash.
type PendingSignIn struct {
	TokenHash  []byte
	UserID     int64
	IdentityID int64  // the external login signed in with; 0 for a password
	Method     string // the first factor, as the audit log names it
	Logged     bool   // the first factor's sign-in is in the audit log already
	Next       string // where the sign-in goes once done
}

// StartPendingSignIn keeps p for PendingSignInTTL.
func (s *Store) StartPendingSignIn(ctx context.Context, p PendingSignIn) error {
	now := s.now()
	_, err := s.exec(ctx, `INSERT INTO pending_signins (token_hash, user_id, identity_id, method, logged, next, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.TokenHash, p.UserID, p.IdentityID, p.Method, p.Logged, p.Next, unix(now), unix(now.Add(PendingSignInTTL)))
	return err
}

// PendingSignInFor returns the pending sign-in of the token hash, or
// ErrPendingGone when there is none or it expired.
func (s *Store) PendingSignInFor(ctx context.Context, tokenHash []byte) (PendingSignIn, error) {
	p := PendingSignIn{TokenHash: tokenHash}
	err := s.r.QueryRowContext(ctx, `SELECT user_id, identity_id, method, logged, next FROM pending_signins
		WHERE token_hash = ? AND expires_at > ?`, tokenHash, unix(s.now())).Scan(&p.UserID, &p.IdentityID, &p.Method, &p.Logged, &p.Next)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrPendingGone
	}
	return p, mapErr(err)
}

// CompleteSecondStep uses proof up for the pending sign-in p and ends it,
// in one transaction: the caller starts the session. used is the event of
// a recovery code used (see consume). ErrPendingGone when p expired or
// was completed meanwhile.
func (s *Store) CompleteSecondStep(ctx context.Context, p PendingSignIn, proof Proof, used Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_signins WHERE token_hash = ? AND user_id = ? AND expires_at > ?`,
			p.TokenHash, p.UserID, unix(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, ErrPendingGone)
		}
		return consume(ctx, tx, p.UserID, proof, used, now)
	})
}

// DropPendingSignIn ends a pending sign-in without a session (the person
// went back to log in again, or logged out).
func (s *Store) DropPendingSignIn(ctx context.Context, tokenHash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM pending_signins WHERE token_hash = ?`, tokenHash)
	return err
}

// cmpErr is err when there is one, else the rule broken.
func cmpErr(err, rule error) error {
	if err != nil {
		return err
	}
	return rule
}

// TwoFactorReset is what ResetTwoFactor took away.
type TwoFactorReset struct {
	TOTP          bool // an authenticator app was on (or being set up)
	RecoveryCodes int  // unused recovery codes
	Passkeys      int  // passkeys removed (with passkeys only)
	// What was signed out with the reset: every session of the person and
	// every sign-in waiting for its second step.
	Sessions, PendingSignIns int64
}

// ResetTwoFactor is an operator's way out for someone who lost every
// factor: the authenticator secret, every recovery code and the sign-ins
// waiting for a second step go, and with passkeys every passkey and
// passkey ceremony too, with ev (its notice queued) in one transaction.
// A reset is made because a device is lost or the profile may be taken,
// so every session of the person ends in that transaction too. Nothing
// to take away is no error: the result says so, nothing is signed out,
// and ev is written only when something went.
func (s *Store) ResetTwoFactor(ctx context.Context, userID int64, passkeys bool, ev Event) (TwoFactorReset, error) {
	var r TwoFactorReset
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = ?),
			(SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL)`, userID, userID).
			Scan(&r.TOTP, &r.RecoveryCodes); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM totp_secrets WHERE user_id = ?`, `DELETE FROM recovery_codes WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		if passkeys {
			// Passkeys may be the only way in: then they stay.
			var other bool
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(password_hash, '') <> '' OR EXISTS (SELECT 1 FROM identities WHERE user_id = users.id)
				FROM users WHERE id = ?`, userID).Scan(&other); err != nil {
				return mapErr(err)
			}
			if !other {
				return ErrLastLogin
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			r.Passkeys = int(n)
			if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		if !r.TOTP && r.RecoveryCodes == 0 && r.Passkeys == 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_signins WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if r.PendingSignIns, err = res.RowsAffected(); err != nil {
			return err
		}
		if r.Sessions, err = endSessions(ctx, tx, userID, nil); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(ev.Detail, "passkeys_removed", r.Passkeys)
		ev.Detail = withDetail(ev.Detail, "sessions_ended", r.Sessions)
		return addEvent(ctx, tx, ev, s.now())
	})
	if err != nil {
		return r, fmt.Errorf("reset two-factor of user %d: %w", userID, err)
	}
	return r, nil
}
