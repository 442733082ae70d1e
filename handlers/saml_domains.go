package handlers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// Self-service verification of a SAML connection's email domains, in the
// console's #saml section: each domain shows the TXT record to publish,
// roster-verification=<token> at the domain itself, and a Verify button
// that looks it up. Only the domain's own name is asked (one query a
// click; an apex cannot be a CNAME to someone else's zone), as a fully
// qualified name so that the resolver's search list never adds a suffix.

// dnsLookupTimeout bounds one Verify click's look-up. Its limits (every
// click costs a DNS query to a name the Admin chose) are dnsAccount and
// dnsIP in defaultThrottle, reserved before the query is sent.
const dnsLookupTimeout = 5 * time.Second

// DNSResolver is a resolver that sends every query to the DNS server at
// addr (host:port), over UDP or, for a truncated answer, TCP.
func DNSResolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

func (h *Handler) resolver() *net.Resolver {
	if h.cfg.Resolver != nil {
		return h.cfg.Resolver
	}
	return net.DefaultResolver
}

// What a look-up of a domain's TXT records found.
type txtOutcome int

const (
	txtFound   txtOutcome = iota // the record asked for
	txtMissing                   // no roster-verification record
	txtOther                     // a roster-verification record with another token
	txtFailed                    // no answer: a timeout, SERVFAIL, a refusal
)

// lookupVerification looks for the TXT record want at domain. A failed
// look-up also returns its error, for the log.
func lookupVerification(ctx context.Context, r *net.Resolver, domain, want string) (txtOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, dnsLookupTimeout)
	defer cancel()
	records, err := r.LookupTXT(ctx, domain+".")
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return txtMissing, nil
	case err != nil:
		return txtFailed, err
	}
	outcome := txtMissing
	for _, rec := range records {
		if rec == want {
			return txtFound, nil
		}
		if strings.HasPrefix(rec, db.SAMLVerificationPrefix) {
			outcome = txtOther
		}
	}
	return outcome, nil
}

// verifySAMLDomain looks up the TXT record of a connection's claim on a
// domain, and verifies the domain for the connection when it is there.
func (h *Handler) verifySAMLDomain(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	cid, err := idParam(c, "cid")
	if err != nil {
		return err
	}
	domain := strings.ToLower(c.Param("domain"))
	if !domainRE.MatchString(domain) {
		return echo.ErrNotFound
	}
	claim, err := h.store.SAMLDomainClaim(ctx, m.Account.ID, u.ID, cid, domain)
	if errors.Is(err, db.ErrDomainNotServed) {
		return echo.ErrNotFound
	}
	if err != nil {
		return accountError(err)
	}
	refuse := func(status int, msg string) error {
		return answer(h, c, samlDomains.section, status, "", func(p *views.ManagePage) {
			p.SAMLForm.Fail(views.SAMLDomainField(cid, domain), msg)
		})
	}
	switch {
	case claim.Verified():
		return h.manageResult(c, samlDomains, views.Form{}, nil, domain+" is already verified for this connection.")
	case claim.TakenElsewhere:
		return refuse(http.StatusConflict, domainTakenText(domain))
	}

	_, err = h.store.Reserve(ctx, h.throttle.dnsAccount.on(strconv.FormatInt(m.Account.ID, 10)), h.throttle.dnsIP.on(clientKey(c)))
	if t, ok := throttled(c, err); ok {
		// RetryAfter is whole seconds already (db.Throttled).
		return refuse(http.StatusTooManyRequests, "Too many DNS look-ups in the last minute. Try again in "+strconv.Itoa(int(t.RetryAfter/time.Second))+" seconds.")
	}
	if err != nil {
		return err
	}

	record := claim.TXTRecord()
	outcome, err := lookupVerification(ctx, h.resolver(), domain, record)
	switch outcome {
	case txtMissing:
		return refuse(http.StatusUnprocessableEntity, "No TXT record "+record+" at "+domain+" yet. DNS changes can take a while to show: try again in a few minutes.")
	case txtOther:
		return refuse(http.StatusUnprocessableEntity, "The TXT records at "+domain+" have a roster-verification value that is not this connection's. Publish "+record+" (other records can stay).")
	case txtFailed:
		h.log.Info("saml domain verification: dns look-up failed", "domain", domain, "err", err)
		return refuse(http.StatusUnprocessableEntity, "We could not look up the TXT records of "+domain+": the DNS servers did not answer in time, or answered with an error. Try again in a few minutes.")
	}

	err = h.store.ConfirmSAMLDomain(ctx, m.Account.ID, u.ID, cid, domain, claim.Token, event(c, db.EventSAMLDomainVerified))
	switch {
	case errors.Is(err, db.ErrDomainTaken):
		return refuse(http.StatusConflict, domainTakenText(domain))
	case errors.Is(err, db.ErrSAMLClaimChanged):
		return refuse(http.StatusConflict, "This connection changed while "+domain+" was looked up. Reload the page and try again.")
	case err != nil:
		return accountError(err)
	}
	return h.manageResult(c, samlDomains, views.Form{}, nil, domain+" is verified: emails there that this connection logs in now count as verified.")
}

// setSAMLIdPInitiated allows or refuses sign-in started at the identity
// provider, which only a connection with a verified domain may allow.
func (h *Handler) setSAMLIdPInitiated(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	cid, err := idParam(c, "cid")
	if err != nil {
		return err
	}
	allow := c.FormValue("allow_idp_initiated") != ""
	err = h.store.SetSAMLIdPInitiated(c.Request().Context(), m.Account.ID, u.ID, cid, allow, event(c, db.EventSAMLConnectionChanged))
	switch {
	case errors.Is(err, db.ErrIdPInitiatedUnverified):
		return answer(h, c, samlDomains.section, http.StatusUnprocessableEntity, "", func(p *views.ManagePage) {
			p.SAMLForm.Fail(views.SAMLRow{SAMLConnection: db.SAMLConnection{ID: cid}}.IdPInitiatedField(), idpInitiatedNeedsDomain)
		})
	case err != nil:
		return accountError(err)
	}
	if allow {
		return h.manageResult(c, samlDomains, views.Form{}, nil, "Sign-in started at the identity provider is allowed for this connection. It always asks the person to confirm.")
	}
	return h.manageResult(c, samlDomains, views.Form{}, nil, "Sign-in started at the identity provider is refused for this connection.")
}

// domainTakenText refuses to verify a domain verified for another
// connection, whether the console saw it before the look-up or the write
// found it after.
func domainTakenText(domain string) string {
	return domain + " is verified for another SAML connection on this server. It can be verified for this one once that connection is deleted."
}

const idpInitiatedNeedsDomain = "Verify one of the connection's email domains first: sign-in started at the identity provider is allowed only for a connection with a verified domain."
