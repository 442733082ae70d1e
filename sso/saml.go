package sso

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/rosterhq/roster/db"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAML 2.0 service providers, one per connection (DESIGN section 5). Each
// connection's service provider has its own entity id and ACS URL, and all
// of them present the same key and certificate.

// SPKey is the service providers' key and its certificate.
type SPKey struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// NewSPKeyPEM makes an RSA 2048 key and a self-signed certificate for it,
// valid for 10 years, as PEM: IdPs use the certificate only as a container
// for the public key.
func NewSPKeyPEM() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Roster SAML service provider"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", fmt.Errorf("saml certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// ParseSPKeyPEM reads what NewSPKeyPEM made.
func ParseSPKeyPEM(s string) (SPKey, error) {
	var k SPKey
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return SPKey{}, fmt.Errorf("saml key: %w", err)
			}
			k.Key, _ = key.(*rsa.PrivateKey)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return SPKey{}, fmt.Errorf("saml certificate: %w", err)
			}
			k.Cert = c
		}
	}
	if k.Key == nil || k.Cert == nil {
		return SPKey{}, errors.New("saml key: the stored key or certificate is missing")
	}
	return k, nil
}

// SP is what the service provider of one connection is made of, besides
// the connection.
type SP struct {
	Key         SPKey
	MetadataURL string      // also the service provider's entity id
	ACSURL      string      // where the IdP posts its responses
	Clock       *dsig.Clock // what times are checked against; nil is the real clock
}

// NewServiceProvider builds the service provider of one connection. Its
// entity id is its metadata URL, which is what crewjam checks the
// assertion's audience against. Signatures are always required (no
// SignatureVerifier override), SHA-1 signatures are refused, and
// IdP-initiated responses are refused unless the caller allows them.
// AuthnRequests are not signed: they carry nothing secret, the response is
// what is checked, and IdPs (samlidp among them) that re-post the request
// from their login form would find the redirect signature gone.
func NewServiceProvider(conn db.SAMLConnection, sp SP) (*saml.ServiceProvider, error) {
	md, err := samlsp.ParseMetadata([]byte(conn.IdPMetadataXML))
	if err != nil {
		return nil, fmt.Errorf("saml connection %d: stored IdP metadata: %w", conn.ID, err)
	}
	metadataURL, err := url.Parse(sp.MetadataURL)
	if err != nil {
		return nil, err
	}
	acsURL, err := url.Parse(sp.ACSURL)
	if err != nil {
		return nil, err
	}
	return &saml.ServiceProvider{
		EntityID:                         metadataURL.String(),
		Key:                              sp.Key.Key,
		Certificate:                      sp.Key.Cert,
		MetadataURL:                      *metadataURL,
		AcsURL:                           *acsURL,
		IDPMetadata:                      md,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		RejectSHA1Signatures:             true,
		LimitRelayStateLength:            true,
		Clock:                            sp.Clock,
	}, nil
}

// ACSForm reads the form the IdP posts: a SAMLResponse (the HTTP-POST
// binding; an artifact, SAMLart, is not supported) and the RelayState that
// names our request.
func ACSForm(r *http.Request) (relay string, ok bool) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("SAMLResponse") == "" || r.PostForm.Has("SAMLart") {
		return "", false
	}
	return r.PostForm.Get("RelayState"), true
}

// SAMLErrorKind names what was wrong with a response, for the log.
func SAMLErrorKind(err error) string {
	kinds := []struct {
		err  error
		kind string
	}{
		{saml.ErrExpired, "expired"},
		{saml.ErrNotYetValid, "not_yet_valid"},
		{saml.ErrAudienceMismatch, "audience"},
		{saml.ErrRequestIDMismatch, "in_response_to"},
		{saml.ErrDestinationMismatch, "destination"},
		{saml.ErrIssuerMismatch, "issuer"},
		{saml.ErrUntrustedCertificate, "untrusted_certificate"},
		{saml.ErrCertificateNotValidNow, "certificate_validity"},
		{saml.ErrInvalidSignature, "signature"},
		{saml.ErrDecryptionFailed, "decryption"},
		{saml.ErrUnsupported, "unsupported"},
		{saml.ErrMissingElement, "missing_element"},
		{saml.ErrMalformedMessage, "malformed"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	var status saml.ErrBadStatus
	if errors.As(err, &status) {
		return "idp_status"
	}
	return "invalid_response"
}

// What a validated assertion may fail to say: SAMLExternal returns these,
// or a *DomainError; the caller words them for the person.
var (
	ErrNoNameID        = errors.New("saml: the assertion has no NameID")
	ErrTransientNameID = errors.New("saml: the NameID is transient")
	ErrNoEmail         = errors.New("saml: the assertion has no email address")
)

// DomainError refuses an email address outside a connection's domains.
type DomainError struct {
	Email   string
	Domains []string // the connection's; none means it signs nobody in
}

func (e *DomainError) Error() string {
	if len(e.Domains) == 0 {
		return "saml: the connection lists no email domains"
	}
	return fmt.Sprintf("saml: %s is not at %s", e.Email, strings.Join(e.Domains, ", "))
}

// Attribute names IdPs put the email and the display name under: the
// LDAP/eduPerson OIDs (Shibboleth, Keycloak, crewjam), the claim URIs of
// AD FS and Entra ID, and the short names of Okta and Google.
var (
	samlEmailAttrs = []string{
		"urn:oid:0.9.2342.19200300.100.1.3", "mail", "email", "emailaddress",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
	}
	samlNameAttrs = []string{
		"urn:oid:2.16.840.1.113730.3.1.241", "displayname", "name",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.5.4.3", "cn",
	}
)

// samlAttr returns the first value of the first attribute named (or
// friendly-named) any of names.
func samlAttr(a *saml.Assertion, names []string) string {
	for _, name := range names {
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				if (strings.EqualFold(at.Name, name) || strings.EqualFold(at.FriendlyName, name)) && len(at.Values) > 0 {
					if v := strings.TrimSpace(at.Values[0].Value); v != "" {
						return v
					}
				}
			}
		}
	}
	return ""
}

// SAMLExternal is what a validated assertion says about the person. The
// subject is the NameID; a transient one changes at every sign-in and
// cannot identify anyone. The email must be at one of the connection's
// domains, and counts as verified only at a domain verified for this
// connection.
func SAMLExternal(conn db.SAMLConnection, a *saml.Assertion) (db.External, error) {
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return db.External{}, ErrNoNameID
	}
	nameID := a.Subject.NameID
	if nameID.Format == string(saml.TransientNameIDFormat) {
		return db.External{}, ErrTransientNameID
	}
	email := samlAttr(a, samlEmailAttrs)
	if email == "" && (nameID.Format == string(saml.EmailAddressNameIDFormat) || strings.Contains(nameID.Value, "@")) {
		email = strings.TrimSpace(nameID.Value)
	}
	email = db.NormalEmail(email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return db.External{}, ErrNoEmail
	}
	if err := CheckDomain(conn, email); err != nil {
		return db.External{}, err
	}
	name := samlAttr(a, samlNameAttrs)
	if name == "" {
		name = strings.TrimSpace(samlAttr(a, []string{"urn:oid:2.5.4.42", "givenname"}) + " " + samlAttr(a, []string{"urn:oid:2.5.4.4", "sn", "surname"}))
	}
	return db.External{
		Provider:      "saml:" + strconv.FormatInt(conn.ID, 10),
		Subject:       strings.TrimSpace(nameID.Value),
		Email:         email,
		EmailVerified: conn.DomainVerified(EmailDomain(email)),
		DisplayName:   name,
	}, nil
}

// EmailDomain is the domain of an email address, lowercase.
func EmailDomain(email string) string {
	return strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
}

// CheckDomain refuses, with a *DomainError, an address outside the
// connection's domains: an account's Admins speak for the people at their
// own domains, never for anyone else's address.
func CheckDomain(conn db.SAMLConnection, email string) error {
	if slices.Contains(conn.EmailDomains, EmailDomain(email)) {
		return nil
	}
	return &DomainError{Email: email, Domains: conn.EmailDomains}
}
