package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/netguard"
	"github.com/rosterhq/roster/views"
)

// The #saml section of the Manage console: an account's SAML connections,
// for its Admins.

var (
	samlSection = consoleSection("manage/saml", "", func(p *views.ManagePage) *views.Form { return &p.SAMLForm })
	// samlDomains is #saml for the domain actions, whose plain posts go
	// back to it.
	samlDomains = consoleSection("manage/saml", "#saml", func(p *views.ManagePage) *views.Form { return &p.SAMLForm })
)

// Limits of fetching IdP metadata from a URL.
const (
	metadataFetchTimeout = 10 * time.Second
	metadataMaxBytes     = 1 << 20
)

// samlRows lists the account's connections with the addresses to give
// their identity providers.
func (h *Handler) samlRows(ctx context.Context, accountID int64) ([]views.SAMLRow, error) {
	conns, err := h.store.SAMLConnections(ctx, accountID)
	if err != nil {
		return nil, err
	}
	claims, err := h.store.SAMLDomains(ctx, accountID)
	if err != nil {
		return nil, err
	}
	rows := make([]views.SAMLRow, len(conns))
	for i, c := range conns {
		rows[i] = views.SAMLRow{SAMLConnection: c, MetadataURL: h.samlMetadataURL(c.ID), ACSURL: h.samlACSURL(c.ID)}
		for _, d := range c.EmailDomains {
			// A domain without a claim yet (none is expected) gets one
			// at its first Verify.
			claim := db.SAMLDomain{ConnectionID: c.ID, Domain: d}
			if j := slices.IndexFunc(claims, func(x db.SAMLDomain) bool { return x.ConnectionID == c.ID && x.Domain == d }); j >= 0 {
				claim = claims[j]
			}
			rows[i].Domains = append(rows[i].Domains, claim)
		}
	}
	return rows, nil
}

// samlPage is the console with its #saml section (the section alone for htmx).
func (h *Handler) samlPage(c echo.Context) error {
	return show(h, c, samlSection.section, http.StatusOK, nil)
}

func (h *Handler) createSAMLConnection(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	nc := db.NewSAMLConnection{
		Name:        strings.TrimSpace(c.FormValue("name")),
		DefaultRole: c.FormValue("role"),
	}
	// Posted by a form from before IdP-initiated sign-in moved to each
	// connection's own switch (setSAMLIdPInitiated).
	allowIdPInitiated := c.FormValue("allow_idp_initiated") != ""
	metadataURL := strings.TrimSpace(c.FormValue("metadata_url"))
	metadataXML := strings.TrimSpace(c.FormValue("metadata_xml"))
	domains := c.FormValue("email_domains")
	form := views.Form{Values: map[string]string{
		"name": nc.Name, "metadata_url": metadataURL, "metadata_xml": metadataXML, "email_domains": domains, "role": nc.DefaultRole,
	}}
	if allowIdPInitiated {
		form.Values["allow_idp_initiated"] = "1"
	}
	switch n := utf8.RuneCountInString(nc.Name); {
	case n == 0:
		form.Fail("name", "Enter a name for the connection, such as Okta.")
	case n > 100:
		form.Fail("name", "Use at most 100 characters.")
	}
	var msg string
	if nc.EmailDomains, msg = parseDomains(domains); msg != "" {
		form.Fail("email_domains", msg)
	}
	if !db.ValidSAMLRole(nc.DefaultRole) {
		form.Fail("role", "Choose None, Read-Only or Normal.")
	}
	if allowIdPInitiated {
		// A new connection has no verified domain yet.
		form.Fail("allow_idp_initiated", idpInitiatedNeedsDomain)
	}
	switch {
	case metadataXML == "" && metadataURL == "":
		form.Fail("metadata_xml", "Paste the identity provider's metadata, or give its URL above.")
	case metadataXML == "" && !form.Failed():
		// Fetched only once the rest is valid, so a typo elsewhere does
		// not cost a request to the IdP.
		b, msg := fetchIdPMetadata(ctx, metadataURL, !h.cfg.Secure())
		if msg != "" {
			form.Fail("metadata_url", msg)
			break
		}
		if nc.IdPEntityID, msg = checkIdPMetadata(b); msg != "" {
			form.Fail("metadata_url", msg)
		}
		nc.IdPMetadataXML = string(b)
	case metadataXML != "":
		if nc.IdPEntityID, msg = checkIdPMetadata([]byte(metadataXML)); msg != "" {
			form.Fail("metadata_xml", msg)
		}
		nc.IdPMetadataXML = metadataXML
	}
	if form.Failed() {
		return answer(h, c, samlSection.section, http.StatusUnprocessableEntity, "", samlSection.put(form))
	}
	_, err := h.store.CreateSAMLConnection(ctx, m.Account.ID, u.ID, nc, event(c, db.EventSAMLConnectionAdded))
	return h.manageResult(c, samlSection, form, err,
		"The SAML connection "+nc.Name+" is added. Give its metadata URL to your identity provider.")
}

func (h *Handler) deleteSAMLConnection(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	cid, err := idParam(c, "cid")
	if err != nil {
		return err
	}
	conn, err := h.store.DeleteSAMLConnection(c.Request().Context(), m.Account.ID, u.ID, cid, event(c, db.EventSAMLConnectionDeleted))
	return h.manageResult(c, samlSection, views.Form{}, err, "The SAML connection "+conn.Name+" is deleted.")
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// parseDomains reads a list of email domains separated by commas or
// spaces, lowercased; a problem comes back in words.
func parseDomains(s string) ([]string, string) {
	var list []string
	for _, d := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		d = strings.TrimPrefix(d, "@")
		if len(d) > 253 || !domainRE.MatchString(d) {
			return nil, fmt.Sprintf("%q is not a domain such as example.com.", d)
		}
		if !slices.Contains(list, d) {
			list = append(list, d)
		}
	}
	switch {
	case len(list) == 0:
		return nil, "Enter the email domains of the people this connection logs in, such as example.com."
	case len(list) > 20:
		return nil, "Use at most 20 domains."
	}
	return list, ""
}

// checkIdPMetadata parses metadata and checks that it describes an IdP
// Roster can use: it returns the IdP's entity id, or a problem in words.
func checkIdPMetadata(b []byte) (string, string) {
	md, err := samlsp.ParseMetadata(b)
	if err != nil {
		return "", "This is not SAML metadata that we can read. Paste the whole XML document your identity provider publishes."
	}
	if len(md.IDPSSODescriptors) == 0 {
		return "", "This metadata describes no identity provider (it has no IDPSSODescriptor)."
	}
	sp := saml.ServiceProvider{IDPMetadata: md}
	if sp.GetSSOBindingLocation(saml.HTTPRedirectBinding) == "" {
		return "", "This identity provider has no single sign-on address for the HTTP-Redirect binding, which Roster uses."
	}
	hasKey := false
	for _, d := range md.IDPSSODescriptors {
		for _, k := range d.KeyDescriptors {
			if (k.Use == "" || k.Use == "signing") && len(k.KeyInfo.X509Data.X509Certificates) > 0 {
				hasKey = true
			}
		}
	}
	if !hasKey {
		return "", "This metadata has no signing certificate, so its responses could not be checked."
	}
	if md.EntityID == "" {
		return "", "This metadata has no entityID."
	}
	return md.EntityID, ""
}

// metadataURLAllowed is https, or, on a development install (an http base
// URL), plain http to this machine, for an IdP on the same host and tests.
func metadataURLAllowed(u *url.URL, allowLocal bool) bool {
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return allowLocal && u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}

// fetchIdPMetadata gets metadata from an Admin's URL once, with a timeout
// and a size limit. Problems come back in words; nothing of the answer is
// shown, so the form cannot be used to read other servers' pages. Only a
// development install (allowLocal) may fetch from this machine (loopback),
// and never from its private network.
func fetchIdPMetadata(ctx context.Context, raw string, allowLocal bool) ([]byte, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "Enter the full URL of the metadata, such as https://idp.example.com/metadata."
	}
	if !metadataURLAllowed(u, allowLocal) {
		return nil, "Use an https URL: metadata fetched over plain http could have been changed on the way."
	}
	dialer := netguard.Dialer(metadataFetchTimeout, allowLocal)
	client := &http.Client{
		Timeout:   metadataFetchTimeout,
		Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext, TLSHandshakeTimeout: metadataFetchTimeout},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 || !metadataURLAllowed(req.URL, allowLocal) {
				return errors.New("redirected too often or away from https")
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "Enter the full URL of the metadata, such as https://idp.example.com/metadata."
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	res, err := client.Do(req)
	if err != nil {
		return nil, "We could not fetch the metadata from this URL (no answer within 10 seconds, or the address cannot be reached). Paste the XML instead."
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Sprintf("The server answered %d %s instead of the metadata. Check the URL, or paste the XML instead.", res.StatusCode, http.StatusText(res.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, metadataMaxBytes+1))
	if err != nil {
		return nil, "The metadata download was cut off. Try again, or paste the XML instead."
	}
	if len(b) > metadataMaxBytes {
		return nil, "The metadata at this URL is larger than 1 MiB. Paste the XML of your identity provider alone instead."
	}
	return b, ""
}
