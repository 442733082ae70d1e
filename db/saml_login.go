// SAML sign-in: SP-initiated requests, held IdP-initiated responses, spent assertions and the login itself.

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SAMLRequestTTL is how long an SP-initiated sign-in may take at the IdP.
const SAMLRequestTTL = 10 * time.Minute

// SAMLHeldTTL is how long an IdP-initiated response waits for the person
// to confirm the sign-in.
const SAMLHeldTTL = 5 * time.Minute

// Refusals of a SAML sign-in, as codes (rules.go).
const (
	ErrSAMLRequestUnknown = RuleError("saml request unknown or spent")
	ErrSAMLReplayed       = RuleError("saml response replayed")
	ErrSAMLOtherBrowser   = RuleError("saml sign-in started in another browser")
	ErrSAMLNoProfile      = RuleError("no user for the saml email and domain not verified")
)

// SAMLRequest is an SP-initiated sign-in in flight.
type SAMLRequest struct {
	ID           int64
	RelayState   string
	ConnectionID int64
	RequestID    string // the AuthnRequest's ID, which the response must answer
	Next         string
	BrowserHash  []byte // SHA-256 of the roster_saml cookie of the browser that started it
	// SignedInAs is the user this browser was signed in as when the
	// sign-in started (0: nobody), kept in link_user_id: the ACS, a
	// cross-site POST, does not see the SameSite=Lax session cookie, and
	// must not switch that person's browser to another profile.
	SignedInAs int64
	CreatedAt  time.Time
	UsedAt     time.Time
}

// StartSAMLRequest records an SP-initiated sign-in about to go to the IdP.
func (s *Store) StartSAMLRequest(ctx context.Context, r SAMLRequest) error {
	if len(r.BrowserHash) == 0 {
		return errors.New("start saml request: no browser to bind it to")
	}
	// saml_requests.link_user_id holds SignedInAs: SAML has no Add Login,
	// so the column links no login; it records who was signed in.
	_, err := s.exec(ctx, `INSERT INTO saml_requests (relay_state, connection_id, request_id, next, browser_hash, link_user_id, created_at)
		VALUES (?, ?, ?, ?, ?, NULLIF(?, 0), ?)`, r.RelayState, r.ConnectionID, r.RequestID, r.Next, r.BrowserHash, r.SignedInAs, unix(s.now()))
	if err != nil {
		return fmt.Errorf("start saml request: %w", err)
	}
	return nil
}

// OpenSAMLRequest returns the unused, unexpired sign-in of connection connID
// with relayState, or ErrSAMLRequestUnknown.
func (s *Store) OpenSAMLRequest(ctx context.Context, connID int64, relayState string) (SAMLRequest, error) {
	var r SAMLRequest
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, relay_state, connection_id, request_id, next, browser_hash, COALESCE(link_user_id, 0), created_at
		FROM saml_requests WHERE relay_state = ? AND connection_id = ? AND used_at IS NULL AND created_at >= ?`,
		relayState, connID, unix(s.now().Add(-SAMLRequestTTL))).
		Scan(&r.ID, &r.RelayState, &r.ConnectionID, &r.RequestID, &r.Next, &r.BrowserHash, &r.SignedInAs, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLRequest{}, ErrSAMLRequestUnknown
	}
	if err != nil {
		return SAMLRequest{}, fmt.Errorf("saml request: %w", err)
	}
	r.CreatedAt = fromUnix(created)
	return r, nil
}

// SAMLSignIn is a validated SAML response about to sign someone in. An
// SP-initiated one names its request by RelayState; an IdP-initiated one
// was held by HoldSAMLResponse and is named by HeldTokenHash once the person
// confirmed it. Either way BrowserHash must be the one recorded with it:
// a response finishes only in the browser that started (or received) it.
type SAMLSignIn struct {
	Connection    SAMLConnection
	RelayState    string // SP-initiated
	HeldTokenHash []byte // IdP-initiated, confirmed
	BrowserHash   []byte
	AssertionID   string // SP-initiated; a held response's was recorded when it was held
	External      External
	Notices       LoginNotices // queued as ResolveLogin queues them
}

// SAMLSignedIn is who a SAML sign-in signed in, through which login.
type SAMLSignedIn struct {
	User       User
	IdentityID int64
	Outcome    string
	// MadeProfile: this connection's login made the profile (then, or at
	// an earlier sign-in), so its IdP is trusted with the second factor.
	MadeProfile bool
}

// SAMLLogin signs in through a SAML connection, in one transaction: it
// consumes the request (by RelayState) and the assertion id, or the held
// response, so that none can be used twice; resolves the login like any
// other; and makes the user a member of the connection's account with its
// default role, if it has one and the user is not a member yet.
//
// A profile is made or linked by its email only when the email is at a
// domain verified for the connection (External.EmailVerified): the
// account's Admins vouch for their own domains and no others, whatever
// ROSTER_SIGNUP says.
//
// A refusal (a RuleError, such as ErrLinkUnverifiedProvider) still
// consumes the request and the assertion.
func (s *Store) SAMLLogin(ctx context.Context, in SAMLSignIn, ev Event) (SAMLSignedIn, error) {
	var out SAMLSignedIn
	var refusal error
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := spendSAMLResponse(ctx, tx, in, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT saml_login`); err != nil {
			return err
		}
		var err error
		out.User, out.Outcome, err = resolveLogin(ctx, tx, in.External, in.External.EmailVerified, ev, in.Notices, now)
		if errors.Is(err, ErrSignupClosed) {
			err = ErrSAMLNoProfile
		}
		if err == nil {
			var id Identity
			id, err = identityBySubject(ctx, tx, in.External.Provider, in.External.Subject)
			out.IdentityID, out.MadeProfile = id.ID, id.MadeProfile
		}
		if err == nil {
			err = joinBySAML(ctx, tx, in.Connection, out.User.ID, ev, now)
		}
		var re RuleError
		if errors.As(err, &re) {
			refusal = err
			_, err = tx.ExecContext(ctx, `ROLLBACK TO saml_login`)
		}
		return err
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return SAMLSignedIn{}, fmt.Errorf("saml login through connection %d: %w", in.Connection.ID, err)
	}
	return out, nil
}

// SpendSAMLResponse consumes what a validated response answers (its request
// and assertion id, or the held response) without signing anyone in: a
// sign-in refused before SAMLLogin cannot be used later.
func (s *Store) SpendSAMLResponse(ctx context.Context, in SAMLSignIn) error {
	err := s.Tx(ctx, func(tx *sql.Tx) error { return spendSAMLResponse(ctx, tx, in, s.now()) })
	if err != nil {
		return fmt.Errorf("spend saml response of connection %d: %w", in.Connection.ID, err)
	}
	return nil
}

// spendSAMLResponse consumes what the response answers: the SP-initiated
// request of this browser and the assertion id, or the held IdP-initiated
// response of this browser. There is no third way: an IdP-initiated
// response signs nobody in until it is confirmed.
func spendSAMLResponse(ctx context.Context, tx *sql.Tx, in SAMLSignIn, now time.Time) error {
	if len(in.BrowserHash) == 0 {
		return ErrSAMLOtherBrowser
	}
	if in.External.Provider != SAMLProvider(in.Connection.ID) {
		return fmt.Errorf("login %s is not of connection %d", in.External.Provider, in.Connection.ID)
	}
	switch {
	case in.RelayState != "":
		res, err := tx.ExecContext(ctx, `UPDATE saml_requests SET used_at = ?
			WHERE relay_state = ? AND connection_id = ? AND browser_hash = ? AND used_at IS NULL AND created_at >= ?`,
			unix(now), in.RelayState, in.Connection.ID, in.BrowserHash, unix(now.Add(-SAMLRequestTTL)))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return cmp(err, ErrSAMLRequestUnknown)
		}
		return recordAssertion(ctx, tx, in.Connection.ID, in.AssertionID, now)
	case len(in.HeldTokenHash) > 0:
		var subject string
		err := tx.QueryRowContext(ctx, `DELETE FROM saml_held
			WHERE token_hash = ? AND connection_id = ? AND browser_hash = ? AND created_at >= ? RETURNING subject`,
			in.HeldTokenHash, in.Connection.ID, in.BrowserHash, unix(now.Add(-SAMLHeldTTL))).Scan(&subject)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrSAMLRequestUnknown
		}
		if err == nil && subject != in.External.Subject {
			err = errors.New("the held response names another subject")
		}
		return err
	}
	return errors.New("neither a request nor a confirmed response")
}

// recordAssertion adds an assertion id to the replay cache, or refuses it.
func recordAssertion(ctx context.Context, tx *sql.Tx, connID int64, assertionID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO saml_assertions (id, connection_id, seen_at) VALUES (?, ?, ?)`,
		assertionID, connID, unix(now))
	if err = mapErr(err); errors.Is(err, ErrConflict) {
		return ErrSAMLReplayed
	}
	return err
}

// HeldSAML is a validated IdP-initiated response waiting for the person to
// confirm it: TokenHash is the SHA-256 of the token the confirmation page
// carries, BrowserHash that of the browser's roster_saml cookie.
type HeldSAML struct {
	ConnectionID int64
	AssertionID  string
	TokenHash    []byte
	BrowserHash  []byte
	External     External
}

// HoldSAMLResponse records an IdP-initiated response until the person
// confirms it, and its assertion id in the replay cache, so that the same
// response cannot be held twice.
func (s *Store) HoldSAMLResponse(ctx context.Context, h HeldSAML) error {
	if len(h.TokenHash) == 0 || len(h.BrowserHash) == 0 {
		return errors.New("hold saml response: token and browser are required")
	}
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := recordAssertion(ctx, tx, h.ConnectionID, h.AssertionID, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO saml_held (token_hash, browser_hash, connection_id, subject, email, display_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, h.TokenHash, h.BrowserHash, h.ConnectionID, h.External.Subject, h.External.Email, h.External.DisplayName, unix(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("hold saml response of connection %d: %w", h.ConnectionID, err)
	}
	return nil
}

// HeldSAMLResponse returns what an unexpired held response of connection
// connID says, if it was held for this browser, or ErrSAMLRequestUnknown.
// EmailVerified is left false: the caller decides it from the connection's
// domains as they are now.
func (s *Store) HeldSAMLResponse(ctx context.Context, connID int64, tokenHash, browserHash []byte) (External, error) {
	ext := External{Provider: SAMLProvider(connID)}
	err := s.r.QueryRowContext(ctx, `SELECT subject, email, display_name FROM saml_held
		WHERE token_hash = ? AND connection_id = ? AND browser_hash = ? AND created_at >= ?`,
		tokenHash, connID, browserHash, unix(s.now().Add(-SAMLHeldTTL))).Scan(&ext.Subject, &ext.Email, &ext.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		return External{}, ErrSAMLRequestUnknown
	}
	if err != nil {
		return External{}, fmt.Errorf("held saml response: %w", err)
	}
	return ext, nil
}

// joinBySAML makes userID a member of the connection's account with its
// default role, unless it has none or the user is a member already (whose
// role is then left as the Admins set it).
func joinBySAML(ctx context.Context, tx *sql.Tx, c SAMLConnection, userID int64, ev Event, now time.Time) error {
	if c.DefaultRole == "" {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, user_id) DO NOTHING`, c.AccountID, userID, c.DefaultRole, unix(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	var account string
	if err := tx.QueryRowContext(ctx, `SELECT name FROM accounts WHERE id = ?`, c.AccountID).Scan(&account); err != nil {
		return err
	}
	ev.Kind, ev.UserID, ev.AccountID, ev.Notice = EventSAMLJoined, userID, c.AccountID, nil
	ev.Detail = map[string]any{"account": account, "role": c.DefaultRole, "connection": c.Name}
	return addEvent(ctx, tx, ev, now)
}

// DeleteSpentSAML forgets sign-in requests, held responses and assertion
// ids older than before: by then both are refused on their age alone.
func (s *Store) DeleteSpentSAML(ctx context.Context, before time.Time) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM saml_requests WHERE created_at < ?`, unix(before)); err != nil {
			return err
		}
		// A held response carries an email and a name: it goes as soon as
		// it can no longer be confirmed.
		if _, err := tx.ExecContext(ctx, `DELETE FROM saml_held WHERE created_at < ?`, unix(s.now().Add(-SAMLHeldTTL))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM saml_assertions WHERE seen_at < ?`, unix(before))
		return err
	})
}
