package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Audit event kinds of SAML connections.
const (
	EventSAMLConnectionAdded   = "saml_connection_added"
	EventSAMLConnectionDeleted = "saml_connection_deleted"
	EventSAMLDomainVerified    = "saml_domain_verified"
	EventSAMLJoined            = "saml_joined" // a SAML sign-in made the user a member
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

// SAMLConnection is one SAML identity provider an account signs its
// people in with.
type SAMLConnection struct {
	ID                int64
	AccountID         int64
	Name              string
	IdPMetadataXML    string
	IdPEntityID       string
	EmailDomains      []string // lowercase
	VerifiedDomains   []string // those of EmailDomains verified for it (by DNS or by the operator)
	DefaultRole       string   // "" (no membership), RoleNormal or RoleReadOnly
	AllowIdPInitiated bool
	CreatedAt         time.Time
}

// DomainVerified reports whether emails at domain count as verified when
// this connection asserts them.
func (c SAMLConnection) DomainVerified(domain string) bool {
	return slices.Contains(c.VerifiedDomains, strings.ToLower(domain))
}

// NewSAMLConnection is what an Admin gives to add a connection.
type NewSAMLConnection struct {
	Name           string
	IdPMetadataXML string
	IdPEntityID    string
	EmailDomains   []string
	DefaultRole    string
}

// SAMLRequest is an SP-initiated sign-in in flight.
type SAMLRequest struct {
	ID           int64
	RelayState   string
	ConnectionID int64
	RequestID    string // the AuthnRequest's ID, which the response must answer
	LinkUserID   int64
	Next         string
	BrowserHash  []byte // SHA-256 of the roster_saml cookie of the browser that started it
	CreatedAt    time.Time
	UsedAt       time.Time
}

// ValidSAMLRole reports whether r may be given to people a connection brings in.
func ValidSAMLRole(r string) bool { return r == "" || r == RoleNormal || r == RoleReadOnly }

const samlConnectionColumns = `id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at,
	COALESCE((SELECT group_concat(domain, ',') FROM saml_domains d WHERE d.connection_id = saml_connections.id AND d.verified_at IS NOT NULL), '')`

func splitDomains(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func scanSAMLConnection(row interface{ Scan(...any) error }) (SAMLConnection, error) {
	var c SAMLConnection
	var domains, verified string
	var created int64
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.IdPMetadataXML, &c.IdPEntityID, &domains, &c.DefaultRole, &c.AllowIdPInitiated, &created, &verified)
	if err != nil {
		return SAMLConnection{}, mapErr(err)
	}
	c.EmailDomains, c.VerifiedDomains, c.CreatedAt = splitDomains(domains), splitDomains(strings.ToLower(verified)), fromUnix(created)
	return c, nil
}

// CreateSAMLConnection adds a connection to the account; actor must be an
// Admin. It starts with every domain pending and IdP-initiated sign-in
// refused, which SetSAMLIdPInitiated allows once a domain is verified.
func (s *Store) CreateSAMLConnection(ctx context.Context, accountID, actorID int64, nc NewSAMLConnection, ev Event) (SAMLConnection, error) {
	if !ValidSAMLRole(nc.DefaultRole) {
		return SAMLConnection{}, fmt.Errorf("create saml connection: invalid role %q", nc.DefaultRole)
	}
	var c SAMLConnection
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		domains := make([]string, len(nc.EmailDomains))
		for i, d := range nc.EmailDomains {
			domains[i] = strings.ToLower(strings.TrimSpace(d))
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO saml_connections
			(account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			accountID, strings.TrimSpace(nc.Name), nc.IdPMetadataXML, nc.IdPEntityID, strings.Join(domains, ","),
			nc.DefaultRole, unix(s.now())).Scan(&id)
		if err != nil {
			return err
		}
		if err := insertSAMLDomainClaims(ctx, tx, id, domains); err != nil {
			return err
		}
		if c, err = scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections WHERE id = ?`, id)); err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(withDetail(ev.Detail, "connection", c.Name), "idp", c.IdPEntityID)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
	if err != nil {
		return SAMLConnection{}, fmt.Errorf("create saml connection: %w", err)
	}
	return c, nil
}

// DeleteSAMLConnection removes a connection of the account; actor must be
// an Admin. The logins made through it go too, and the sessions they
// opened are signed out, in the same transaction (by the trigger
// saml_connections_drop_logins, which also serves DeleteAccount): a
// login keyed saml:<id> never outlives the connection it names.
func (s *Store) DeleteSAMLConnection(ctx context.Context, accountID, actorID, connID int64, ev Event) (SAMLConnection, error) {
	var c SAMLConnection
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		var err error
		c, err = scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections WHERE id = ? AND account_id = ?`, connID, accountID))
		if err != nil {
			return err
		}
		ev = withAccount(ev, actor.Account)
		logins, err := noteSAMLLoginsGone(ctx, tx, accountID, connID, ev, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM saml_connections WHERE id = ?`, connID); err != nil {
			return err
		}
		ev.Detail = withDetail(withDetail(ev.Detail, "connection", c.Name), "logins_removed", logins)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
	return c, err
}

// noteSAMLLoginsGone writes in the log of each person with a login through
// the account's connection connID (0: through any of its connections) that
// the login goes with the connection, and says how many there are. The
// trigger saml_connections_drop_logins deletes them.
func noteSAMLLoginsGone(ctx context.Context, tx *sql.Tx, accountID, connID int64, ev Event, now time.Time) (int, error) {
	type gone struct {
		userID                int64
		email, provider, conn string
	}
	rows, err := tx.QueryContext(ctx, `SELECT i.user_id, i.email, i.provider, c.name FROM saml_connections c
		JOIN identities i ON i.provider = 'saml:' || c.id
		WHERE c.account_id = ?1 AND (?2 = 0 OR c.id = ?2) ORDER BY i.id`, accountID, connID)
	list, err := collect(rows, err, func(r rowScanner) (gone, error) {
		var g gone
		return g, r.Scan(&g.userID, &g.email, &g.provider, &g.conn)
	})
	if err != nil {
		return 0, err
	}
	for _, g := range list {
		note := Event{Kind: EventLoginUnlinked, UserID: g.userID, AccountID: accountID, IP: ev.IP, UserAgent: ev.UserAgent,
			Detail: map[string]any{"provider": g.provider, "email": g.email, "connection": g.conn, "account": ev.Detail["account"]}}
		if err := addEvent(ctx, tx, note, now); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// SAMLProvider is the provider of the logins made through connection id,
// the key the trigger saml_connections_drop_logins (00011) deletes them by.
func SAMLProvider(id int64) string { return "saml:" + strconv.FormatInt(id, 10) }

// SAMLConnections lists the account's connections, oldest first.
func (s *Store) SAMLConnections(ctx context.Context, accountID int64) ([]SAMLConnection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections WHERE account_id = CAST(? AS INTEGER) ORDER BY id`, accountID)
	list, err := collect(rows, err, scanSAMLConnection)
	if err != nil {
		return nil, fmt.Errorf("saml connections of account %d: %w", accountID, err)
	}
	return list, nil
}

// SAMLConnection returns the connection with id, or ErrNotFound. It serves
// the public SAML routes, which name the connection in their path.
func (s *Store) SAMLConnection(ctx context.Context, id int64) (SAMLConnection, error) {
	return scanSAMLConnection(s.r.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections WHERE id = ?`, id))
}

// SAMLConnectionsForDomain lists the connections that serve emails at
// domain, those that have it verified first.
func (s *Store) SAMLConnectionsForDomain(ctx context.Context, domain string) ([]SAMLConnection, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	rows, err := s.r.QueryContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections
		WHERE instr(',' || email_domains || ',', ',' || ? || ',') > 0
		ORDER BY EXISTS (SELECT 1 FROM saml_domains d WHERE d.connection_id = saml_connections.id AND d.domain = ? AND d.verified_at IS NOT NULL) DESC, id`, domain, domain)
	list, err := collect(rows, err, scanSAMLConnection)
	if err != nil {
		return nil, fmt.Errorf("saml connections for %s: %w", domain, err)
	}
	return list, nil
}

// ErrDomainNotServed and ErrDomainTaken are the refusals of VerifySAMLDomain.
var (
	ErrDomainNotServed = errors.New("the connection does not list this email domain")
	ErrDomainTaken     = errors.New("the domain is already verified for another connection")
)

// VerifySAMLDomain records that an operator has checked that the owner of
// connection connID controls domain, which the connection must list. From
// then on, emails at domain from this connection count as verified. It is
// refused with ErrDomainTaken while another connection has it verified.
func (s *Store) VerifySAMLDomain(ctx context.Context, connID int64, domain string, ev Event) error {
	domain = strings.ToLower(strings.TrimSpace(domain))
	return s.Tx(ctx, func(tx *sql.Tx) error {
		c, err := scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections WHERE id = ?`, connID))
		if err != nil {
			return err
		}
		ev.Detail = withDetail(ev.Detail, "method", "operator")
		return markSAMLDomainVerified(ctx, tx, c, domain, ev, s.now())
	})
}

// StartSAMLRequest records an SP-initiated sign-in about to go to the IdP.
func (s *Store) StartSAMLRequest(ctx context.Context, r SAMLRequest) error {
	if len(r.BrowserHash) == 0 {
		return errors.New("start saml request: no browser to bind it to")
	}
	_, err := s.exec(ctx, `INSERT INTO saml_requests (relay_state, connection_id, request_id, link_user_id, next, browser_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.RelayState, r.ConnectionID, r.RequestID,
		sql.NullInt64{Int64: r.LinkUserID, Valid: r.LinkUserID != 0}, r.Next, r.BrowserHash, unix(s.now()))
	if err != nil {
		return fmt.Errorf("start saml request: %w", err)
	}
	return nil
}

// OpenSAMLRequest returns the unused, unexpired sign-in of connection connID
// with relayState, or ErrSAMLRequestUnknown.
func (s *Store) OpenSAMLRequest(ctx context.Context, connID int64, relayState string) (SAMLRequest, error) {
	var r SAMLRequest
	var link sql.NullInt64
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, relay_state, connection_id, request_id, link_user_id, next, browser_hash, created_at
		FROM saml_requests WHERE relay_state = ? AND connection_id = ? AND used_at IS NULL AND created_at >= ?`,
		relayState, connID, unix(s.now().Add(-SAMLRequestTTL))).
		Scan(&r.ID, &r.RelayState, &r.ConnectionID, &r.RequestID, &link, &r.Next, &r.BrowserHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLRequest{}, ErrSAMLRequestUnknown
	}
	if err != nil {
		return SAMLRequest{}, fmt.Errorf("saml request: %w", err)
	}
	r.LinkUserID, r.CreatedAt = link.Int64, fromUnix(created)
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
			out.IdentityID = id.ID
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
