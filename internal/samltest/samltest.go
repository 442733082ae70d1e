// Package samltest runs crewjam's samlidp on loopback for Roster's SAML
// tests: a real identity provider with a login form, users and registered
// service providers; and the metadata of an IdP that runs nowhere. Only
// tests import it.
package samltest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"golang.org/x/crypto/bcrypt"
)

// IdP is a running identity provider.
type IdP struct {
	URL    string // base URL; its metadata is at URL + "/metadata"
	Server *samlidp.Server
}

// New starts an identity provider with a fresh key and certificate on a
// loopback port; it stops when the test ends. A non-nil configure runs
// before it serves, to adjust the server (its IDP's clock, for one).
func New(t *testing.T, configure func(*samlidp.Server)) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "samltest IdP"},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	idp, err := samlidp.New(samlidp.Options{
		URL: *base, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{},
		Logger: log.New(t.Output(), "samlidp: ", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(idp)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	return &IdP{URL: base.String(), Server: idp}
}

// AddUser creates a user who signs in at the IdP with name and password;
// the IdP sends email as the NameID and the mail attribute.
func (p *IdP) AddUser(t *testing.T, name, email, displayName, password string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Server.Store.Put("/users/"+name, samlidp.User{Name: name, Email: email, CommonName: displayName, HashedPassword: hash}); err != nil {
		t.Fatal(err)
	}
}

// Register accepts a service provider by its metadata, as an IdP admin
// would after downloading it.
func (p *IdP) Register(t *testing.T, id string, metadata []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, p.URL+"/services/"+id, bytes.NewReader(metadata))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("register service %s at the IdP: got %d, want 204", id, res.StatusCode)
	}
}

// Metadata is the metadata of an IdP at idp.example.com whose signing
// certificate is the one in certPEM, with a sign-on address for the
// HTTP-Redirect binding. It runs nothing: a test that holds no key of the
// certificate can send only what a forger could.
func Metadata(t testing.TB, certPEM string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(certPEM[strings.Index(certPEM, "-----BEGIN CERTIFICATE"):]))
	if b == nil {
		t.Fatal("no certificate in the PEM")
	}
	return `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/metadata">
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>` +
		base64.StdEncoding.EncodeToString(b.Bytes) + `</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
</IDPSSODescriptor></EntityDescriptor>`
}
