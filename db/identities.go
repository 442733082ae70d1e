package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// External is what a validated external login asserts about a person.
type External struct {
	Provider      string // google, github, slack, oidc:<name>, saml:<connection id>
	Subject       string // the provider's stable id for the person
	Email         string
	EmailVerified bool // the provider vouches for Email
	DisplayName   string
}

// Identity is an external login linked to a user.
type Identity struct {
	ID            int64
	UserID        int64
	Provider      string
	Subject       string
	Email         string
	EmailVerified bool
	DisplayName   string
	MadeProfile   bool // the sign-in that created the user came through it
	CreatedAt     time.Time
	LastUsedAt    time.Time
}

// Outcomes of ResolveLogin.
const (
	LoginExisting = "existing" // the identity was already linked
	LoginLinked   = "linked"   // linked to the user with the same verified email
	LoginCreated  = "created"  // a new user was made for it
)

// The refusals of DESIGN section 5, as codes (rules.go).
const (
	ErrLinkUnverifiedProvider = RuleError("email of an existing user not verified by the provider")
	ErrLinkUnverifiedLocal    = RuleError("email of an existing user not confirmed")
	ErrIdentityTaken          = RuleError("login linked to another user")
	ErrLastLogin              = RuleError("last way to sign in")
	ErrSignupClosed           = RuleError("no user for the login and sign-up closed")
	ErrNoEmail                = RuleError("login without an email")
	ErrLinkUnconfirmedEmail   = RuleError("link before the email is confirmed")
)

const identityColumns = `id, user_id, provider, subject, email, email_verified, display_name, made_profile, created_at, last_used_at`

func scanIdentity(row interface{ Scan(...any) error }) (Identity, error) {
	var i Identity
	var created, used int64
	err := row.Scan(&i.ID, &i.UserID, &i.Provider, &i.Subject, &i.Email, &i.EmailVerified, &i.DisplayName, &i.MadeProfile, &created, &used)
	if err != nil {
		return Identity{}, mapErr(err)
	}
	i.CreatedAt, i.LastUsedAt = fromUnix(created), fromUnix(used)
	return i, nil
}

func identityBySubject(ctx context.Context, tx *sql.Tx, provider, subject string) (Identity, error) {
	return scanIdentity(tx.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE provider = ? AND subject = ?`, provider, subject))
}

// touchIdentity records a use and what the provider now says.
func touchIdentity(ctx context.Context, tx *sql.Tx, id int64, ext External, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE identities SET email = ?, email_verified = ?, display_name = ?, last_used_at = ? WHERE id = ?`,
		NormalEmail(ext.Email), ext.EmailVerified, ext.DisplayName, unix(now), id)
	return err
}

// insertIdentity links ext to userID; madeProfile says that this sign-in
// created the user.
func insertIdentity(ctx context.Context, tx *sql.Tx, userID int64, ext External, madeProfile bool, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identities (user_id, provider, subject, email, email_verified, display_name, made_profile, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, userID, ext.Provider, ext.Subject, NormalEmail(ext.Email), ext.EmailVerified, ext.DisplayName, madeProfile, unix(now), unix(now))
	return mapErr(err)
}

// LoginNotices are the security notices an external sign-in queues for
// the user it signs in as, in its own transaction: Linked when the login
// was just linked to them by its confirmed email; NewDevice when they
// signed in before, never with the event's user agent. A new user gets
// neither, and a linked login only Linked (which names the device too).
type LoginNotices struct {
	Linked, NewDevice *Notice
}

// ResolveLogin finds or makes the user an external login signs in as, in
// the order of DESIGN section 5, inside one transaction:
//  1. an identity with (provider, subject) signs in as its user;
//  2. else, if the provider verifies the email and a user with a verified
//     account email equal to it exists, the identity is linked to that user;
//  3. else, if a user with that email exists, nothing is linked and the
//     refusal says to sign in with the password and use Add Login;
//  4. else a user is made (verified if the provider says so) and linked,
//     when create allows it.
//
// ev is written for the user with the outcome in its detail, with the
// notice of notices that the outcome calls for.
func (s *Store) ResolveLogin(ctx context.Context, ext External, create bool, ev Event, notices LoginNotices) (User, string, error) {
	if ext.Provider == "" || ext.Subject == "" {
		return User{}, "", errors.New("resolve login: provider and subject are required")
	}
	var u User
	var outcome string
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, outcome, err = resolveLogin(ctx, tx, ext, create, ev, notices, s.now())
		return err
	})
	if err != nil {
		return User{}, "", fmt.Errorf("resolve %s login: %w", ext.Provider, err)
	}
	return u, outcome, nil
}

// resolveLogin is ResolveLogin inside the caller's transaction, so that a
// SAML sign-in can consume its request and assertion in the same one.
func resolveLogin(ctx context.Context, tx *sql.Tx, ext External, create bool, ev Event, notices LoginNotices, now time.Time) (User, string, error) {
	var u User
	var outcome string
	id, err := identityBySubject(ctx, tx, ext.Provider, ext.Subject)
	switch {
	case err == nil:
		if err := touchIdentity(ctx, tx, id.ID, ext, now); err != nil {
			return User{}, "", err
		}
		outcome = LoginExisting
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id.UserID))
	case !errors.Is(err, ErrNotFound):
		return User{}, "", err
	default:
		u, outcome, err = linkOrCreate(ctx, tx, ext, create, now)
	}
	if err != nil {
		return User{}, "", err
	}
	ev.UserID, ev.Notice = u.ID, nil
	ev.Detail = withDetail(withDetail(ev.Detail, "provider", ext.Provider), "outcome", outcome)
	switch {
	case outcome == LoginLinked:
		ev.Notice = notices.Linked
	case outcome == LoginExisting && notices.NewDevice != nil:
		fresh, err := newSignInDevice(ctx, tx, u.ID, ev.UserAgent)
		if err != nil {
			return User{}, "", err
		}
		if fresh {
			ev.Notice = notices.NewDevice
		}
	}
	return u, outcome, addEvent(ctx, tx, ev, now)
}

// linkOrCreate is steps 2 to 4 of ResolveLogin.
func linkOrCreate(ctx context.Context, tx *sql.Tx, ext External, create bool, now time.Time) (User, string, error) {
	email := NormalEmail(ext.Email)
	if email == "" {
		return User{}, "", ErrNoEmail
	}
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	switch {
	case err == nil && !ext.EmailVerified:
		return User{}, "", ErrLinkUnverifiedProvider
	case err == nil && !u.EmailVerified():
		return User{}, "", ErrLinkUnverifiedLocal
	case err == nil:
		return u, LoginLinked, insertIdentity(ctx, tx, u.ID, ext, false, now)
	case !errors.Is(err, ErrNotFound):
		return User{}, "", err
	case !create:
		return User{}, "", ErrSignupClosed
	}
	u, err = createUser(ctx, tx, NewUser{Email: email, Name: ext.DisplayName, Verified: ext.EmailVerified}, now)
	if err != nil {
		return User{}, "", err
	}
	return u, LoginCreated, insertIdentity(ctx, tx, u.ID, ext, true, now)
}

// LinkIdentity is Add Login: it links the external login to userID whatever
// its email, unless another user already has it, or the user's account
// email is unverified (ErrLinkUnconfirmedEmail): a login attached to an
// address its owner has not confirmed would be someone else's way into
// the owner's profile.
func (s *Store) LinkIdentity(ctx context.Context, userID int64, ext External, ev Event) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := emailConfirmed(ctx, tx, userID, ErrLinkUnconfirmedEmail); err != nil {
			return err
		}
		id, err := identityBySubject(ctx, tx, ext.Provider, ext.Subject)
		switch {
		case err == nil && id.UserID != userID:
			return ErrIdentityTaken
		case err == nil:
			err = touchIdentity(ctx, tx, id.ID, ext, now)
		case errors.Is(err, ErrNotFound):
			err = insertIdentity(ctx, tx, userID, ext, false, now)
		}
		if err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "provider", ext.Provider), "email", ext.Email)
		return addEvent(ctx, tx, ev, now)
	})
}

// emailConfirmed refuses, with rule, a user whose account email is unverified.
func emailConfirmed(ctx context.Context, tx *sql.Tx, userID int64, rule RuleError) error {
	var verified bool
	err := tx.QueryRowContext(ctx, `SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?`, userID).Scan(&verified)
	if err != nil {
		return mapErr(err)
	}
	if !verified {
		return rule
	}
	return nil
}

// IdentitiesForUser lists the user's linked logins, oldest first.
func (s *Store) IdentitiesForUser(ctx context.Context, userID int64) ([]Identity, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE user_id = CAST(? AS INTEGER) ORDER BY created_at, id`, userID)
	list, err := collect(rows, err, scanIdentity)
	if err != nil {
		return nil, fmt.Errorf("identities of user %d: %w", userID, err)
	}
	return list, nil
}

// IdentityByID returns one of the user's linked logins, or ErrNotFound.
func (s *Store) IdentityByID(ctx context.Context, userID, id int64) (Identity, error) {
	return scanIdentity(s.r.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = ? AND user_id = ?`, id, userID))
}

// IdentityBySubject returns the login (provider, subject), or ErrNotFound:
// a sign-in reads it to record which login opened the session.
func (s *Store) IdentityBySubject(ctx context.Context, provider, subject string) (Identity, error) {
	return scanIdentity(s.r.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE provider = ? AND subject = ?`, provider, subject))
}

// UnlinkIdentity removes one of the user's linked logins, unless it is the
// last way in: no password, no other identity and no passkey.
func (s *Store) UnlinkIdentity(ctx context.Context, userID, identityID int64, ev Event) (Identity, error) {
	var id Identity
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = scanIdentity(tx.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE id = ? AND user_id = ?`, identityID, userID))
		if err != nil {
			return err
		}
		var others int
		var hasPassword bool
		// A SAML login counts as a way in only while its connection
		// exists: deleting a connection deletes its logins, and this keeps
		// any that slipped through from counting.
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM identities i WHERE user_id = ?1 AND id <> ?2
				AND (provider NOT LIKE 'saml:%' OR EXISTS (SELECT 1 FROM saml_connections c WHERE i.provider = 'saml:' || c.id)))
				+ (SELECT count(*) FROM passkeys WHERE user_id = ?1),
			(SELECT password_hash IS NOT NULL FROM users WHERE id = ?1)`, userID, identityID).Scan(&others, &hasPassword); err != nil {
			return err
		}
		if others == 0 && !hasPassword {
			return ErrLastLogin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE id = ?`, identityID); err != nil {
			return err
		}
		ev.UserID = userID
		ev.Detail = withDetail(withDetail(ev.Detail, "provider", id.Provider), "email", id.Email)
		return addEvent(ctx, tx, ev, s.now())
	})
	return id, err
}
