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

// SAMLConnection is one SAML identity provider an account signs its
// people in with.
type SAMLConnection struct {
	ID                int64
	AccountID         int64
	AccountName       string // read with it, for the pages that name the account
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

// ValidSAMLRole reports whether r may be given to people a connection brings in.
func ValidSAMLRole(r string) bool { return r == "" || r == RoleNormal || r == RoleReadOnly }

const samlConnectionColumns = `id, account_id, name, idp_metadata_xml, entity_id, email_domains, default_role, allow_idp_initiated, created_at,
	COALESCE((SELECT group_concat(domain, ',') FROM saml_domains d WHERE d.connection_id = saml_connections.id AND d.verified_at IS NOT NULL), ''),
	(SELECT name FROM accounts a WHERE a.id = saml_connections.account_id)`

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
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.IdPMetadataXML, &c.IdPEntityID, &domains, &c.DefaultRole, &c.AllowIdPInitiated, &created, &verified, &c.AccountName)
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
		logins, err := noteSAMLLoginsGone(ctx, tx, accountID, connID, actorID, ev, s.now())
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
// trigger saml_connections_drop_logins deletes them. Only the entry of
// actorID, who deleted it, keeps the request's IP address and device.
func noteSAMLLoginsGone(ctx context.Context, tx *sql.Tx, accountID, connID, actorID int64, ev Event, now time.Time) (int, error) {
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
		if g.userID != actorID {
			note = forOther(note, g.userID)
		}
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

// AnySAMLConnection says whether any account has a SAML connection: the
// login page offers SAML (email-domain discovery) only then.
func (s *Store) AnySAMLConnection(ctx context.Context) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM saml_connections)`).Scan(&n); err != nil {
		return false, fmt.Errorf("any saml connection: %w", err)
	}
	return n == 1, nil
}
