package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A SAML connection's email domains are claims: each has its own token, and
// is pending until someone shows control of the domain, by publishing the
// TXT record roster-verification=<token> at it (an Admin, through the
// console's Verify button) or by asking the operator (roster saml
// verify-domain). A domain is verified for at most one connection at a
// time; any number may claim it meanwhile, and a pending claim counts for
// nothing.

// SAMLVerificationPrefix starts the TXT record that proves control of a domain.
const SAMLVerificationPrefix = "roster-verification="

// SAMLDomain is a connection's claim on one email domain.
type SAMLDomain struct {
	ConnectionID int64
	Domain       string // lowercase
	Token        string
	VerifiedAt   time.Time // zero while the claim is pending
	// TakenElsewhere: another connection has the domain verified, so this
	// claim cannot be verified while it does.
	TakenElsewhere bool
}

// Verified reports whether the domain is verified for the claim's connection.
func (d SAMLDomain) Verified() bool { return !d.VerifiedAt.IsZero() }

// TXTRecord is the value of the TXT record to publish at the domain.
func (d SAMLDomain) TXTRecord() string { return SAMLVerificationPrefix + d.Token }

// ErrSAMLClaimChanged refuses a verification whose token is no longer the
// claim's (the connection was deleted and added again meanwhile).
var ErrSAMLClaimChanged = errors.New("the domain claim changed during verification")

const samlDomainColumns = `connection_id, domain, verification_token, verified_at,
	EXISTS (SELECT 1 FROM saml_domains o WHERE o.domain = saml_domains.domain
		AND o.connection_id <> saml_domains.connection_id AND o.verified_at IS NOT NULL)`

func scanSAMLDomain(row rowScanner) (SAMLDomain, error) {
	var d SAMLDomain
	var verified sql.NullInt64
	if err := row.Scan(&d.ConnectionID, &d.Domain, &d.Token, &verified, &d.TakenElsewhere); err != nil {
		return SAMLDomain{}, mapErr(err)
	}
	d.VerifiedAt = nullTime(verified)
	return d, nil
}

// newSAMLDomainToken is a claim's token: 128 random bits, so that no one
// can publish, ahead of time, the record of a claim not made yet.
func newSAMLDomainToken() string { return strings.ToLower(rand.Text()) }

// insertSAMLDomainClaims gives connection connID a pending claim, with a
// token of its own, on each of domains it has none on yet.
func insertSAMLDomainClaims(ctx context.Context, tx *sql.Tx, connID int64, domains []string) error {
	for _, d := range domains {
		_, err := tx.ExecContext(ctx, `INSERT INTO saml_domains (connection_id, domain, verification_token) VALUES (?, ?, ?)
			ON CONFLICT (connection_id, domain) DO NOTHING`, connID, strings.ToLower(strings.TrimSpace(d)), newSAMLDomainToken())
		if err != nil {
			return fmt.Errorf("claim %s for saml connection %d: %w", d, connID, err)
		}
	}
	return nil
}

// SAMLDomains lists the domain claims of the account's connections, by
// connection and domain.
func (s *Store) SAMLDomains(ctx context.Context, accountID int64) ([]SAMLDomain, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+samlDomainColumns+` FROM saml_domains
		WHERE connection_id IN (SELECT id FROM saml_connections WHERE account_id = CAST(? AS INTEGER))
		ORDER BY connection_id, domain`, accountID)
	list, err := collect(rows, err, scanSAMLDomain)
	if err != nil {
		return nil, fmt.Errorf("saml domains of account %d: %w", accountID, err)
	}
	return list, nil
}

// SAMLDomainClaim returns the claim of connection connID on domain, for
// actorID, an Admin of account accountID. A connection that lists the
// domain but has no claim on it yet gets one. ErrNotFound: the account has
// no such connection; ErrDomainNotServed: the connection does not list
// the domain.
func (s *Store) SAMLDomainClaim(ctx context.Context, accountID, actorID, connID int64, domain string) (SAMLDomain, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	var d SAMLDomain
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, _ Membership) error {
		c, err := scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections
			WHERE id = ? AND account_id = ?`, connID, accountID))
		if err != nil {
			return err
		}
		if !slices.Contains(c.EmailDomains, domain) {
			return ErrDomainNotServed
		}
		if err := insertSAMLDomainClaims(ctx, tx, connID, []string{domain}); err != nil {
			return err
		}
		d, err = scanSAMLDomain(tx.QueryRowContext(ctx, `SELECT `+samlDomainColumns+` FROM saml_domains
			WHERE connection_id = ? AND domain = ?`, connID, domain))
		return err
	})
	if err != nil {
		return SAMLDomain{}, fmt.Errorf("claim on %s of saml connection %d: %w", domain, connID, err)
	}
	return d, nil
}

// ConfirmSAMLDomain records that actorID, an Admin of account accountID,
// found the TXT record of the claim of connection connID on domain, whose
// token was token: the domain is verified for the connection from now on.
// It refuses with ErrDomainTaken while another connection has the domain
// verified, and with ErrSAMLClaimChanged when the claim's token is no
// longer token. Confirming a verified claim again changes nothing.
func (s *Store) ConfirmSAMLDomain(ctx context.Context, accountID, actorID, connID int64, domain, token string, ev Event) error {
	domain = strings.ToLower(strings.TrimSpace(domain))
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		c, err := scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections
			WHERE id = ? AND account_id = ?`, connID, accountID))
		if err != nil {
			return err
		}
		var current string
		err = tx.QueryRowContext(ctx, `SELECT verification_token FROM saml_domains WHERE connection_id = ? AND domain = ?`, connID, domain).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && current != token) {
			return ErrSAMLClaimChanged
		}
		if err != nil {
			return err
		}
		ev.UserID = actorID
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(ev.Detail, "method", "dns")
		return markSAMLDomainVerified(ctx, tx, c, domain, ev, s.now())
	})
	if err != nil {
		return fmt.Errorf("verify %s for saml connection %d: %w", domain, connID, err)
	}
	return nil
}

// markSAMLDomainVerified verifies domain, which c lists, for c, and writes
// ev, unless it is verified for c already. Checked here, in the write
// transaction, and by the index saml_domains_verified: no other connection
// has it verified.
func markSAMLDomainVerified(ctx context.Context, tx *sql.Tx, c SAMLConnection, domain string, ev Event, now time.Time) error {
	if !slices.Contains(c.EmailDomains, domain) {
		return ErrDomainNotServed
	}
	if c.DomainVerified(domain) {
		return nil
	}
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT connection_id FROM saml_domains
		WHERE domain = ? AND verified_at IS NOT NULL AND connection_id <> ?`, domain, c.ID).Scan(&other)
	if err == nil {
		return ErrDomainTaken
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO saml_domains (connection_id, domain, verification_token, verified_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connection_id, domain) DO UPDATE SET verified_at = excluded.verified_at`,
		c.ID, domain, newSAMLDomainToken(), unix(now))
	if err = mapErr(err); errors.Is(err, ErrConflict) {
		return ErrDomainTaken
	}
	if err != nil {
		return err
	}
	ev.Kind, ev.AccountID = EventSAMLDomainVerified, c.AccountID
	ev.Detail = withDetail(withDetail(ev.Detail, "connection", c.Name), "domain", domain)
	return addEvent(ctx, tx, ev, now)
}

// DNSLookupLimit is at most Max look-ups a window under Key.
type DNSLookupLimit struct {
	Key string
	Max int
}

// ReserveDNSLookup takes a look-up under every limit at once, before the
// look-up is made, or under none: when one of them has had its Max within
// window, it answers false and how long until the oldest of those leaves
// the window.
func (s *Store) ReserveDNSLookup(ctx context.Context, window time.Duration, limits ...DNSLookupLimit) (bool, time.Duration, error) {
	ok, wait := true, time.Duration(0)
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		// Every key's old rows go: the table holds the last window only.
		if _, err := tx.ExecContext(ctx, `DELETE FROM dns_lookups WHERE created_at <= ?`, unix(now.Add(-window))); err != nil {
			return err
		}
		for _, l := range limits {
			var n int
			var oldest sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM dns_lookups WHERE key = ?`, l.Key).Scan(&n, &oldest); err != nil {
				return err
			}
			if n >= l.Max {
				ok = false
				wait = max(wait, fromUnix(oldest.Int64).Add(window).Sub(now))
			}
		}
		if !ok {
			return nil
		}
		for _, l := range limits {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dns_lookups (key, created_at) VALUES (?, ?)`, l.Key, unix(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("reserve dns look-up: %w", err)
	}
	return ok, max(wait, time.Second), nil
}

// EventSAMLConnectionChanged: an Admin changed a setting of a connection.
const EventSAMLConnectionChanged = "saml_connection_changed"

// ErrIdPInitiatedUnverified refuses IdP-initiated sign-in for a connection
// none of whose domains is verified.
var ErrIdPInitiatedUnverified = errors.New("idp-initiated sign-in needs a verified domain")

// SetSAMLIdPInitiated allows or refuses sign-in started at the identity
// provider for connection connID of account accountID; actorID must be an
// Admin. Allowing it needs a domain verified for the connection.
func (s *Store) SetSAMLIdPInitiated(ctx context.Context, accountID, actorID, connID int64, allow bool, ev Event) error {
	err := s.accountTx(ctx, accountID, actorID, RoleAdmin, func(tx *sql.Tx, actor Membership) error {
		c, err := scanSAMLConnection(tx.QueryRowContext(ctx, `SELECT `+samlConnectionColumns+` FROM saml_connections
			WHERE id = ? AND account_id = ?`, connID, accountID))
		if err != nil {
			return err
		}
		if allow && len(c.VerifiedDomains) == 0 {
			return ErrIdPInitiatedUnverified
		}
		if c.AllowIdPInitiated == allow {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE saml_connections SET allow_idp_initiated = ? WHERE id = ?`, allow, connID); err != nil {
			return err
		}
		ev.Kind = EventSAMLConnectionChanged
		ev = withAccount(ev, actor.Account)
		ev.Detail = withDetail(withDetail(ev.Detail, "connection", c.Name), "idp_initiated", allow)
		return auditBoth(ctx, tx, ev, accountID, actorID, 0, s.now())
	})
	if err != nil {
		return fmt.Errorf("set idp-initiated sign-in of saml connection %d: %w", connID, err)
	}
	return nil
}
