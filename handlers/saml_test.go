package handlers_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/samltest"
	"github.com/rosterhq/roster/views"
	dsig "github.com/russellhaering/goxmldsig"
)

// The SAML tests run crewjam's samlidp on loopback and drive both sides
// with HTTP clients, each with its own cookie jar, as a browser would.

const (
	idpUser     = "alice"
	idpEmail    = "alice@example.com"
	idpPassword = "alice's password at the IdP"
)

// samlEnv is a Roster app with an account whose Admin added a SAML
// connection to a running IdP, which knows Roster's service provider.
type samlEnv struct {
	app     *app
	idp     *samltest.IdP
	owner   db.User
	account db.Account
	conn    db.SAMLConnection
}

// newSAMLEnv sets up the connection through the Manage console, fetching
// the IdP's metadata from its URL, with role as the default role.
func newSAMLEnv(t *testing.T, role string, configure func(*samlidp.Server)) *samlEnv {
	t.Helper()
	a := newApp(t)
	idp := samltest.New(t, configure)
	idp.AddUser(t, idpUser, idpEmail, "Alice Example", idpPassword)
	owner := a.seedUser(t, annName, "ann@acme.test", annPassword)
	acc := a.seedAccount(t, owner, "Acme")
	admin := a.client(t)
	admin.adopt(owner.ID)
	res := admin.postForm("/accounts/"+strconv.FormatInt(acc.ID, 10)+"/saml", url.Values{
		"name": {"Test IdP"}, "metadata_url": {idp.URL + "/metadata"}, "email_domains": {"example.com"}, "role": {role},
	})
	if res.status != http.StatusSeeOther {
		t.Fatalf("add a SAML connection: got %d, want 303; body %s", res.status, res.body)
	}
	conns, err := a.store.SAMLConnections(context.Background(), acc.ID)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections after adding one: got %d, %v", len(conns), err)
	}
	md := a.client(t).get("/saml/" + strconv.FormatInt(conns[0].ID, 10) + "/metadata")
	if md.status != http.StatusOK || !strings.Contains(md.body, "EntityDescriptor") {
		t.Fatalf("SP metadata: got %d %s", md.status, md.body)
	}
	idp.Register(t, "roster", []byte(md.body))
	return &samlEnv{app: a, idp: idp, owner: owner, account: acc, conn: conns[0]}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func (e *samlEnv) connPath(suffix string) string {
	return "/saml/" + strconv.FormatInt(e.conn.ID, 10) + suffix
}

// idpBrowser is the browser's side at the IdP: its own cookies.
func idpBrowser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

var (
	inputRE  = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// formOf reads the action and the named inputs of the first form in body.
func formOf(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in %s", body)
	}
	v := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), v
}

// idpResponse starts a sign-in at Roster with c, signs in at the IdP and
// returns the form the IdP's page would post to Roster's ACS.
func (e *samlEnv) idpResponse(t *testing.T, c *client) url.Values {
	t.Helper()
	start := c.startSignIn(e.connPath("/login"))
	to := start.header.Get("Location")
	if start.status != http.StatusSeeOther || !strings.HasPrefix(to, e.idp.URL+"/sso?") {
		t.Fatalf("POST %s: got %d to %q, want 303 to the IdP", e.connPath("/login"), start.status, to)
	}
	return e.idpAnswer(t, to)
}

// idpAnswer signs in at the IdP, to which Roster sent the browser (to),
// and returns the form the IdP's page posts to the ACS.
func (e *samlEnv) idpAnswer(t *testing.T, to string) url.Values {
	t.Helper()
	b := idpBrowser(t)
	res, err := b.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	action, form := formOf(t, string(body))
	form.Set("user", idpUser)
	form.Set("password", idpPassword)
	res, err = b.PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	action, form = formOf(t, string(body))
	if want := e.app.server.URL; !strings.HasSuffix(action, e.connPath("/acs")) || form.Get("SAMLResponse") == "" {
		t.Fatalf("IdP answer: got a form to %q with %v, want a SAMLResponse for %s%s", action, form, want, e.connPath("/acs"))
	}
	return url.Values{"SAMLResponse": {form.Get("SAMLResponse")}, "RelayState": {form.Get("RelayState")}}
}

// postACS posts an IdP's form to Roster, as the IdP's page does: cross-site,
// without a CSRF token.
func (e *samlEnv) postACS(c *client, form url.Values) *response {
	return c.do(http.MethodPost, e.connPath("/acs"), form, nil)
}

func TestSAMLSignIn(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, db.RoleReadOnly, nil)
	verifyDomain(t, e, "example.com")
	c := e.app.client(t)
	form := e.idpResponse(t, c)
	res := e.postACS(c, form)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/profile" {
		t.Fatalf("POST ACS: got %d to %q, want 303 to /profile; body %s", res.status, res.header.Get("Location"), res.body)
	}
	profile := c.get("/profile")
	if profile.status != http.StatusOK || !strings.Contains(profile.body, idpEmail) {
		t.Fatalf("GET /profile after SAML sign-in: got %d; body %s", profile.status, profile.body)
	}
	myAccounts := profile.body[strings.Index(profile.body, `id="my-accounts"`):]
	if !strings.Contains(myAccounts[:strings.Index(myAccounts, "</section>")], "Acme") {
		t.Errorf("#my-accounts does not list Acme after the SAML sign-in")
	}
	ctx := context.Background()
	u, err := e.app.store.UserByEmail(ctx, idpEmail)
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified() || u.Name != "Alice Example" {
		t.Errorf("new user: got verified %v, name %q; want verified (the domain is), Alice Example", u.EmailVerified(), u.Name)
	}
	m, err := e.app.store.Membership(ctx, e.account.ID, u.ID)
	if err != nil || m.Role != db.RoleReadOnly {
		t.Errorf("membership: got %+v, %v; want Read-Only in Acme", m, err)
	}
	ids, _ := e.app.store.IdentitiesForUser(ctx, u.ID)
	if len(ids) != 1 || ids[0].Provider != "saml:"+strconv.FormatInt(e.conn.ID, 10) || ids[0].Subject != idpEmail {
		t.Errorf("identities: got %+v, want one saml:%d with the NameID as subject", ids, e.conn.ID)
	}
	// Signing in again finds the same user by the NameID.
	again := e.app.client(t)
	if res := e.postACS(again, e.idpResponse(t, again)); res.status != http.StatusSeeOther || !again.signedIn() {
		t.Fatalf("second sign-in: got %d; body %s", res.status, res.body)
	}
	if n, _ := e.app.store.CountUsers(ctx); n != 2 {
		t.Errorf("users after two sign-ins: got %d, want 2 (the owner and Alice)", n)
	}
	// The raw response never reaches the log.
	if strings.Contains(e.app.logs.String(), form.Get("SAMLResponse")[:40]) {
		t.Errorf("the log contains the SAMLResponse")
	}
}

// refused checks a SAML refusal: the plain-words page, no session, and a
// log line with the kind of failure and nothing of the response.
func refused(t *testing.T, e *samlEnv, c *client, res *response, form url.Values, kind string) {
	t.Helper()
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "<h1>Sign-in failed</h1>") {
		t.Errorf("got %d, want 403 with the Sign-in failed page; body %s", res.status, res.body)
	}
	if res.cookie(sessCookie) != nil || c.signedIn() {
		t.Errorf("a refused response signed the browser in")
	}
	logs := e.app.logs.String()
	if !strings.Contains(logs, "kind="+kind) {
		t.Errorf("log: want kind=%s in\n%s", kind, logs)
	}
	if resp := form.Get("SAMLResponse"); strings.Contains(logs, resp[:40]) || strings.Contains(res.body, resp[:40]) {
		t.Errorf("the SAMLResponse leaked into the log or the page")
	}
}

// tamper flips one byte inside the assertion of a base64 SAMLResponse.
func tamper(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start := strings.Index(s, "Assertion")
	i := strings.Index(s[start:], idpEmail)
	if i < 0 {
		i = strings.Index(s[start:], "CipherValue>") + len("CipherValue>") + 10 // an encrypted assertion
	}
	b := []byte(s)
	b[start+i] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

func TestSAMLRefusals(t *testing.T) {
	t.Parallel()
	t.Run("replayed response", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		verifyDomain(t, e, "example.com")
		first := e.app.client(t)
		form := e.idpResponse(t, first)
		if res := e.postACS(first, form); res.status != http.StatusSeeOther {
			t.Fatalf("first POST: got %d, want 303", res.status)
		}
		// Again from the same browser, signed out.
		c := e.app.client(t)
		c.hc.Jar.SetCookies(mustURL(e.app.server.URL), []*http.Cookie{{Name: "roster_saml", Value: first.cookie("roster_saml")}})
		refused(t, e, c, e.postACS(c, form), form, "unknown_relay_state")
	})
	t.Run("replayed unsolicited assertion", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		allowIdPInitiated(t, e)
		verifyDomain(t, e, "example.com")
		// With no request to answer, only the assertion id stops a second use.
		form := e.unsolicited(t)
		if res := e.postACS(e.app.client(t), form); res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "/confirm?token=") {
			t.Fatalf("first POST: got %d to %q, want 303 to the confirmation; body %s", res.status, res.header.Get("Location"), res.body)
		}
		c := e.app.client(t)
		refused(t, e, c, e.postACS(c, form), form, "replayed")
	})
	t.Run("IdP-initiated refused by default", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		c := e.app.client(t)
		form := e.unsolicited(t)
		refused(t, e, c, e.postACS(c, form), form, "unknown_relay_state")
	})
	t.Run("wrong audience", func(t *testing.T) {
		t.Parallel()
		// The IdP addresses its assertion to another service provider's
		// entity id, while posting it to this connection's ACS.
		e := newSAMLEnv(t, db.RoleReadOnly, func(s *samlidp.Server) {
			s.IDP.ServiceProviderProvider = otherAudience{s}
		})
		c := e.app.client(t)
		form := e.idpResponse(t, c)
		refused(t, e, c, e.postACS(c, form), form, "audience")
	})
	t.Run("tampered assertion", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		c := e.app.client(t)
		form := e.idpResponse(t, c)
		form.Set("SAMLResponse", tamper(t, form.Get("SAMLResponse")))
		refused(t, e, c, e.postACS(c, form), form, "signature")
	})
	t.Run("unknown RelayState", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		c := e.app.client(t)
		form := e.idpResponse(t, c)
		form.Set("RelayState", "made-up")
		refused(t, e, c, e.postACS(c, form), form, "unknown_relay_state")
	})
	t.Run("expired response", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		c := e.app.client(t)
		form := e.idpResponse(t, c)
		// An hour later at the service provider: long past NotOnOrAfter.
		e.app.handler.SetSAMLClock(dsig.NewFakeClockAt(time.Now().Add(time.Hour)))
		refused(t, e, c, e.postACS(c, form), form, "expired")
	})
	t.Run("unverified domain: no email linking", func(t *testing.T) {
		t.Parallel()
		e := newSAMLEnv(t, db.RoleReadOnly, nil)
		local := e.app.verify(t, e.app.seedUser(t, "Alice Local", idpEmail, bobPassword))
		c := e.app.client(t)
		form := e.idpResponse(t, c)
		res := e.postACS(c, form)
		if res.status != http.StatusForbidden || !strings.Contains(res.body, html.EscapeString(views.SAMLRuleText(db.ErrLinkUnverifiedProvider))) ||
			strings.Contains(res.body, "Add Login") {
			t.Fatalf("got %d, want 403 saying %q and not sending the person to Add Login, which has no SAML option; body %s", res.status, db.ErrLinkUnverifiedProvider, res.body)
		}
		if c.signedIn() {
			t.Errorf("refused sign-in left a session")
		}
		if ids, _ := e.app.store.IdentitiesForUser(context.Background(), local.ID); len(ids) != 0 {
			t.Errorf("identities of the local user: got %+v, want none", ids)
		}
		if _, err := e.app.store.Membership(context.Background(), e.account.ID, local.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("membership after a refused sign-in: got %v, want none", err)
		}
		// Once an operator verifies the domain, the same person links.
		if err := e.app.store.VerifySAMLDomain(context.Background(), e.conn.ID, "example.com", db.Event{Kind: db.EventSAMLDomainVerified}); err != nil {
			t.Fatal(err)
		}
		c = e.app.client(t)
		if res := e.postACS(c, e.idpResponse(t, c)); res.status != http.StatusSeeOther {
			t.Fatalf("after verifying the domain: got %d, want 303; body %s", res.status, res.body)
		}
		if ids, _ := e.app.store.IdentitiesForUser(context.Background(), local.ID); len(ids) != 1 {
			t.Errorf("identities after verifying the domain: got %d, want 1", len(ids))
		}
	})
}

// allowIdPInitiated turns IdP-initiated sign-in on for the connection,
// whatever its domains: written around the rule that an Admin's switch
// keeps (SetSAMLIdPInitiated), so that the tests can show that sign-in
// keeps it too.
func allowIdPInitiated(t *testing.T, e *samlEnv) {
	t.Helper()
	ctx := context.Background()
	err := e.app.store.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE saml_connections SET allow_idp_initiated = 1 WHERE id = ?`, e.conn.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.conn, err = e.app.store.SAMLConnection(ctx, e.conn.ID); err != nil {
		t.Fatal(err)
	}
}

// unsolicited signs in at the IdP and has it start a sign-in to Roster
// (IdP-initiated, through a samlidp shortcut): the response answers no
// request of Roster's.
func (e *samlEnv) unsolicited(t *testing.T) url.Values {
	t.Helper()
	b := idpBrowser(t)
	res, err := b.PostForm(e.idp.URL+"/login", url.Values{"user": {idpUser}, "password": {idpPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	shortcut := `{"name": "roster", "service_provider": "http://roster.test` + e.connPath("/metadata") + `"}`
	req, _ := http.NewRequest(http.MethodPut, e.idp.URL+"/shortcuts/roster", strings.NewReader(shortcut))
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res, err = b.Get(e.idp.URL + "/login/roster"); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	_, form := formOf(t, string(body))
	if form.Get("SAMLResponse") == "" {
		t.Fatalf("IdP-initiated sign-in: no SAMLResponse in %s", body)
	}
	return url.Values{"SAMLResponse": {form.Get("SAMLResponse")}, "RelayState": {form.Get("RelayState")}}
}

// otherAudience serves the IdP's registered service providers under
// another entity id, which becomes the audience of its assertions.
type otherAudience struct{ s *samlidp.Server }

func (o otherAudience) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	md, err := o.s.GetServiceProvider(r, id)
	if err != nil {
		return nil, err
	}
	other := *md
	other.EntityID = "https://elsewhere.example/saml/metadata"
	return &other, nil
}

func TestSAMLConsoleAndLoginPage(t *testing.T) {
	t.Parallel()
	e := newSAMLEnv(t, "", nil)
	ctx := context.Background()
	accPath := "/accounts/" + strconv.FormatInt(e.account.ID, 10)
	admin := e.app.client(t)
	admin.adopt(e.owner.ID)

	page := admin.get(accPath + "/saml")
	for _, want := range []string{`<section id="saml">`, "http://roster.test" + e.connPath("/metadata"), "http://roster.test" + e.connPath("/acs"), "example.com not verified"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("GET %s/saml: missing %q", accPath, want)
		}
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"nothing", url.Values{}, "name", "Enter a name for the connection, such as Okta."},
		{"no metadata", url.Values{"name": {"X"}, "email_domains": {"example.com"}}, "metadata_xml", "Paste the identity provider's metadata, or give its URL above."},
		{"bad domain", url.Values{"name": {"X"}, "email_domains": {"exa mple"}, "metadata_xml": {"<x/>"}}, "email_domains", `"exa" is not a domain such as example.com.`},
		{"not metadata", url.Values{"name": {"X"}, "email_domains": {"example.com"}, "metadata_xml": {"<x/>"}}, "metadata_xml", "This is not SAML metadata that we can read. Paste the whole XML document your identity provider publishes."},
		{"http URL", url.Values{"name": {"X"}, "email_domains": {"example.com"}, "metadata_url": {"http://idp.example.com/md"}}, "metadata_url", "Use an https URL: metadata fetched over plain http could have been changed on the way."},
		{"bad role", url.Values{"name": {"X"}, "email_domains": {"example.com"}, "metadata_xml": {"<x/>"}, "role": {"admin"}}, "role", "Choose None, Read-Only or Normal."},
	} {
		res := admin.postHTMX(accPath+"/saml", tt.form)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, fieldError(tt.want)) || strings.Contains(res.body, "<html") {
			t.Errorf("%s: got %d, want the #saml fragment with 422 and %q; body %s", tt.name, res.status, tt.want, res.body)
		}
	}
	// Only Admins: a Normal member gets 403, a stranger 404.
	bob := e.app.seedUser(t, "Bob", bobEmail, bobPassword)
	stranger := e.app.client(t)
	stranger.adopt(bob.ID)
	if res := stranger.postForm(accPath+"/saml", url.Values{"name": {"X"}}); res.status != http.StatusNotFound {
		t.Errorf("a non-member adds a connection: got %d, want 404", res.status)
	}
	e.app.join(t, e.account, e.owner, bob, db.RoleNormal)
	if res := stranger.postForm(accPath+"/saml", url.Values{"name": {"X"}}); res.status != http.StatusForbidden {
		t.Errorf("a Normal member adds a connection: got %d, want 403", res.status)
	}
	if res := stranger.postForm(accPath+"/saml/"+strconv.FormatInt(e.conn.ID, 10)+"/delete", nil); res.status != http.StatusForbidden {
		t.Errorf("a Normal member deletes a connection: got %d, want 403", res.status)
	}

	// /login/saml finds the connection by the email's domain, once verified.
	verifyDomain(t, e, "example.com")
	anon := e.app.client(t)
	if res := anon.get("/login/saml?email=" + url.QueryEscape("zoe@example.com") + "&next=/accounts"); res.status != http.StatusSeeOther || res.header.Get("Location") != e.connPath("/login")+"?next=%2Faccounts" {
		t.Errorf("known domain: got %d to %q", res.status, res.header.Get("Location"))
	}
	if res := anon.get("/login/saml?email=zoe@elsewhere.org"); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.body, fieldError("No organization on this server offers single sign-on to people at elsewhere.org. Log in with your password instead.")) {
		t.Errorf("unknown domain: got %d; body %s", res.status, res.body)
	}
	// With role none, a SAML sign-in makes no membership.
	c := e.app.client(t)
	if res := e.postACS(c, e.idpResponse(t, c)); res.status != http.StatusSeeOther {
		t.Fatalf("sign-in: got %d; body %s", res.status, res.body)
	}
	u, _ := e.app.store.UserByEmail(ctx, idpEmail)
	if _, err := e.app.store.Membership(ctx, e.account.ID, u.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("membership with role none: got %v, want none", err)
	}
	// Delete: the connection and its sign-in are gone.
	if res := admin.postForm(accPath+"/saml/"+strconv.FormatInt(e.conn.ID, 10)+"/delete", nil); res.status != http.StatusSeeOther {
		t.Fatalf("delete: got %d; body %s", res.status, res.body)
	}
	if res := anon.get(e.connPath("/login")); res.status != http.StatusNotFound {
		t.Errorf("sign-in through a deleted connection: got %d, want 404", res.status)
	}
}
