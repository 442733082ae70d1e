package handlers_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/oauthtest"
	"github.com/rosterhq/roster/internal/samltest"
)

// getWrites are the GET routes allowed to write, each with the reason.
// Every other GET only reads (TestGETsDoNotWrite): a GET can be forged by
// any site (a link, an image, a top-level navigation) and is opened by
// mail scanners, so what changes state is a POST with the CSRF token,
// behind a page with a button when it starts from a link (login CSRF,
// SECURITY.md). handlers.writingGETs, which the LiteFS replica replays on
// the primary, lists the same routes.
var getWrites = map[string]string{
	"GET /auth/:provider/callback": "the provider sends the browser back here: it finishes a sign-in this browser started by a POST, bound to it by the state in its flow cookie",
}

// TestGETsDoNotWrite sweeps the route table: every GET route, through the
// real router, signed out and signed in (an Admin of an account with a
// SAML connection, invites, a contact method waiting for its code), with
// path parameters that reach the handlers' logic and the query parameters
// they read (code, token, next, email, ...). No table of the database may
// change, but for the session's own bookkeeping; no answer sets a sign-in's
// cookie or sends the browser to another site.
func TestGETsDoNotWrite(t *testing.T) {
	w := newSweepWorld(t)
	w.pendingChange(t)
	a, owner := w.a, w.owner
	// The SP key pair exists (made at the first metadata GET, once per
	// database: the sweep's browsers find it made).
	a.client(t).get(w.e.connPath("/metadata"))
	valid := func(route, name string) string {
		if name == "*" {
			return "app.css"
		}
		return w.valid(route, name)
	}
	query := url.Values{"code": {"000000"}, "token": {"sometoken"}, "next": {"/cards"}, "email": {"zoe@example.com"},
		"state": {"x"}, "range": {"week"}, "page": {"2"}}.Encode()

	anon := a.client(t)
	signed := a.client(t)
	signed.adopt(owner.ID)
	htmx := http.Header{"Hx-Request": {"true"}}
	routes := a.echo.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Path < routes[j].Path })
	swept := 0
	for _, r := range routes {
		route := r.Method + " " + r.Path
		if r.Method != http.MethodGet {
			continue
		}
		if _, ok := getWrites[route]; ok {
			continue
		}
		path := paramRE.ReplaceAllStringFunc(r.Path, func(p string) string { return valid(r.Path, p) }) + "?" + query
		for _, c := range []*client{anon, signed} {
			for _, header := range []http.Header{nil, htmx} {
				before := dbState(t, a)
				res := c.do(http.MethodGet, path, nil, header)
				swept++
				if res.status >= 500 {
					t.Errorf("%s: GET %s answered %d", route, path, res.status)
				}
				// Nor does it start a sign-in elsewhere, which writes only
				// a cookie (OAuth's flow) before leaving the site.
				if to := res.header.Get("Location"); strings.HasPrefix(to, "http") && !strings.HasPrefix(to, a.server.URL) {
					t.Errorf("%s: GET %s (signed in %v) sent the browser to %s", route, path, c == signed, to)
				}
				for _, ck := range res.cookies {
					if flowCookies[ck.Name] && ck.MaxAge >= 0 && ck.Value != "" { // clearing one is fine
						t.Errorf("%s: GET %s (signed in %v) set the cookie %s", route, path, c == signed, ck.Name)
					}
				}
				if diff := stateDiff(before, dbState(t, a)); diff != "" {
					t.Errorf("%s: GET %s (signed in %v, htmx %v) wrote:\n%s", route, path, c == signed, header != nil, diff)
				}
			}
		}
	}
	if swept < 4*20 {
		t.Errorf("only %d GETs swept: the route table was not read", swept)
	}
	// The email change's pages were reached with their live tokens, and
	// left the change pending.
	for _, path := range []string{"/email-change/" + w.changeToken, "/email-change/cancel/" + w.cancelToken} {
		if res := anon.get(path); res.status != http.StatusOK {
			t.Errorf("GET %s after the sweep: got %d, want 200 (the change still pending)", path, res.status)
		}
	}
	// The sweep saw the writes it is about: the contact method's code has
	// all its tries, and no SAML sign-in was started.
	if m := a.methods(t, owner)[1]; m.Verified() || m.Locked() {
		t.Errorf("after the sweep the contact method is verified %v, locked %v", m.Verified(), m.Locked())
	}
	if n := countRows(t, a, "saml_requests"); n != 0 {
		t.Errorf("the sweep started %d SAML sign-ins", n)
	}
}

// flowCookies are the cookies that start or finish a sign-in.
var flowCookies = map[string]bool{"roster_oauth": true, "roster_saml": true, "__Host-roster_saml": true, sessCookie: true, "roster_2fa": true}

// sessionBookkeeping are the columns a signed-in request may touch by
// itself, whatever the route: when the session was last seen.
var sessionBookkeeping = map[string]bool{"sessions.last_seen_at": true}

// dbState is every row of every table, by table, as text, but for the
// session bookkeeping columns.
func dbState(t *testing.T, a *app) map[string][]string {
	t.Helper()
	state := map[string][]string{}
	err := a.store.Tx(context.Background(), func(tx *sql.Tx) error {
		rows, err := tx.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
		if err != nil {
			return err
		}
		var tables []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			tables = append(tables, name)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, table := range tables {
			rows, err := tx.Query(`SELECT * FROM "` + table + `"`)
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				var b strings.Builder
				for i, col := range cols {
					if sessionBookkeeping[table+"."+col] {
						continue
					}
					fmt.Fprintf(&b, "%s=%v ", col, vals[i])
				}
				state[table] = append(state[table], b.String())
			}
			if err := rows.Close(); err != nil {
				return err
			}
			sort.Strings(state[table])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// stateDiff says which rows of which tables differ, or "".
func stateDiff(before, after map[string][]string) string {
	var b strings.Builder
	for table, rows := range after {
		old := map[string]bool{}
		for _, r := range before[table] {
			old[r] = true
		}
		now := map[string]bool{}
		for _, r := range rows {
			now[r] = true
			if !old[r] {
				fmt.Fprintf(&b, "  + %s: %s\n", table, r)
			}
		}
		for _, r := range before[table] {
			if !now[r] {
				fmt.Fprintf(&b, "  - %s: %s\n", table, r)
			}
		}
	}
	for table, rows := range before {
		if _, ok := after[table]; !ok && len(rows) > 0 {
			fmt.Fprintf(&b, "  - table %s\n", table)
		}
	}
	return b.String()
}

// sweepWorld is what the route sweeps (TestGETsDoNotWrite,
// TestRedirectSweep) fill path parameters from: Ann, an Admin of Acme with
// Bob as a member, an invite to Carol, a SAML connection with a verified
// domain that allows sign-in started at the IdP, and a contact method of
// Ann's waiting for its code.
type sweepWorld struct {
	a          *app
	fakes      map[string]*oauthtest.IdP
	owner, bob db.User
	acc        db.Account
	inv        db.Invite
	invToken   string
	idp        *samltest.IdP
	e          *samlEnv
	method     db.ContactMethod
	// A pending change of Ann's account email, asked from a session of
	// hers: the tokens of its confirmation and cancel links.
	changeToken, cancelToken string
}

func newSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	w := &sweepWorld{}
	a, fakes := oauthApp(t)
	w.a, w.fakes = a, fakes
	w.owner = a.seedUser(t, annName, annEmail, annPassword)
	a.confirmed(t, w.owner)
	w.acc = a.seedAccount(t, w.owner, "Acme")
	w.bob = a.seedUser(t, "Bob Example", bobEmail, bobPassword)
	a.join(t, w.acc, w.owner, w.bob, "normal")
	w.inv, w.invToken = a.seedInvite(t, w.acc, w.owner, "carol@example.com", "normal")
	w.idp = samltest.New(t, nil)
	w.e = addConnection(t, a, w.idp, w.owner, w.acc, "Test IdP", "example.com")
	verifyDomain(t, w.e, "example.com")
	allowIdPInitiated(t, w.e)
	var err error
	w.method, err = a.store.AddContactMethod(context.Background(), w.owner.ID, db.NewContactMethod{Kind: db.KindEmail, Address: "ann.work@example.com"},
		func(db.ContactMethod, string) (db.Notice, error) { return db.Notice{Subject: "code"}, nil }, db.Event{Kind: db.EventContactAdded})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// pendingChange gives Ann a pending change of her account email, asked
// from a session of hers, for the sweeps that only read (a POST to its
// link would change the email the other routes sign in with).
func (w *sweepWorld) pendingChange(t *testing.T) {
	t.Helper()
	asker := sha256.Sum256([]byte("sweep-asker"))
	if _, err := w.a.store.CreateSession(context.Background(), db.Session{IDHash: asker[:], UserID: w.owner.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w.changeToken, w.cancelToken = "sweep-change-token", "sweep-cancel-token"
	change, cancel := sha256.Sum256([]byte(w.changeToken)), sha256.Sum256([]byte(w.cancelToken))
	if err := w.a.store.RequestEmailChange(context.Background(), db.EmailChangeAsk{UserID: w.owner.ID, SessionHash: asker[:], NewEmail: "ann.new@example.com",
		TokenHash: change[:], CancelHash: cancel[:], TTL: time.Hour}, db.Event{Kind: db.EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
}

// valid is a value of path parameter name of route that reaches the
// handler's logic (so that what the sweep varies elsewhere is seen there);
// "1" for any other, "" for the wildcard (each sweep picks its own).
func (w *sweepWorld) valid(route, name string) string {
	switch {
	case name == ":provider":
		return "google"
	case name == ":conn", name == ":cid":
		return itoa(w.e.conn.ID)
	case name == ":domain":
		return "example.com"
	case name == ":uid":
		return itoa(w.bob.ID)
	case name == ":iid":
		return itoa(w.inv.ID)
	case name == ":id" && strings.HasPrefix(route, "/accounts/"):
		return itoa(w.acc.ID)
	case name == ":id" && strings.HasPrefix(route, "/invites/"):
		return itoa(w.inv.ID)
	case name == ":id" && strings.HasPrefix(route, "/profile/contacts/"):
		return itoa(w.method.ID)
	case name == ":token" && strings.HasPrefix(route, "/invites/"):
		return w.invToken
	case name == ":token" && strings.HasPrefix(route, "/email-change/cancel/") && w.cancelToken != "":
		return w.cancelToken
	case name == ":token" && strings.HasPrefix(route, "/email-change/") && w.changeToken != "":
		return w.changeToken
	case name == ":token":
		return "sometoken"
	case name == "*":
		return ""
	}
	return "1"
}
