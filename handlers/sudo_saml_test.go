package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestSudoGatesSAMLConsole: every action of the SAML console that changes
// who can sign in to the account (adding a connection, tested with the
// other sensitive actions; verifying a domain, allowing sign-in started at
// the identity provider, deleting a connection) needs a fresh
// re-authentication: a signed-in session alone gets the prompt, and
// nothing changes (no DNS look-up either); with the password, the action
// resumes and happens.
func TestSudoGatesSAMLConsole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, htmx := range []bool{true, false} {
		t.Run("htmx "+strconv.FormatBool(htmx), func(t *testing.T) {
			t.Parallel()
			e := newDNSEnv(t)
			conn := e.addConnection(t, e.admin, e.account, "Okta", "example.com")
			e.dns.SetTXT("example.com", txtRecordShown(t, e.admin, e.account, conn, "example.com"))
			stored := func() (db.SAMLConnection, bool) {
				c, err := e.app.store.SAMLConnection(ctx, conn.ID)
				if err != nil && !strings.Contains(err.Error(), db.ErrNotFound.Error()) {
					t.Fatal(err)
				}
				return c, err == nil
			}
			base := accountPath(e.account) + "/saml/" + strconv.FormatInt(conn.ID, 10)
			for _, act := range []struct {
				name, path string
				form       url.Values
				happened   func() bool
			}{
				{"verify a domain", verifyPath(e.account, conn, "example.com"), url.Values{}, func() bool { return e.verified(t, conn, "example.com") }},
				{"allow IdP-initiated sign-in", base + "/idp-initiated", url.Values{"allow_idp_initiated": {"1"}}, func() bool { c, _ := stored(); return c.AllowIdPInitiated }},
				{"delete the connection", base + "/delete", url.Values{}, func() bool { _, ok := stored(); return !ok }},
			} {
				s := e.app.client(t) // a session of the Admin that has not re-authenticated
				s.signInOnly(e.owner.ID)
				queries := len(e.dns.Queries())
				var header http.Header
				post := func(path string, form url.Values) *response {
					if htmx {
						header = http.Header{"Hx-Request": {"true"}, "Hx-Target": {"saml"}, "X-Csrf-Token": {s.csrf()}}
						return s.do(http.MethodPost, path, form, header)
					}
					return s.postForm(path, form)
				}
				res := post(act.path, act.form)
				if res.status != http.StatusOK || !strings.Contains(res.body, "Confirm it is you") {
					t.Errorf("%s with a session alone: got %d, want 200 with the re-authentication prompt", act.name, res.status)
				}
				if act.happened() {
					t.Fatalf("%s with a session alone: it happened", act.name)
				}
				if n := len(e.dns.Queries()); n != queries {
					t.Errorf("%s with a session alone: %d DNS look-ups, want none", act.name, n-queries)
				}
				action, form := prompt(t, res)
				if action != act.path {
					t.Errorf("%s: the prompt posts to %q, want %q", act.name, action, act.path)
				}
				form.Set("sudo_password", annPassword)
				if res := s.do(http.MethodPost, action, form, header); res.status >= 400 {
					t.Errorf("%s after the password: got %d; body %s", act.name, res.status, res.body)
				}
				if !act.happened() {
					t.Errorf("%s after the password: it did not happen", act.name)
				}
			}
		})
	}
}
