package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestLinkTokensStayOutOfTheLog: opening and using a mailed link (verify,
// reset, email change, invite), or a mangled copy of one, writes no token
// to the request log, where anyone who reads the logs could use a reset
// link before its owner does; and the pages such a link opens send no
// Referer, not even to this site's own files, whose requests a proxy's
// access log keeps with their Referer. Found by the S5 review
// (TestReviewResetTokenInRequestLog).
func TestLinkTokensStayOutOfTheLog(t *testing.T) {
	a := newApp(t)
	visitor := a.client(t)
	visit := func(path string) {
		t.Helper()
		res := visitor.get(path)
		if res.status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", path, res.status)
		}
		if got := res.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q, want no-referrer", path, got)
		}
		visitor.get(path + "/more")   // a link with something stuck to it
		visitor.get(path + "?x=1")    // or a query
		visitor.get(path + ".")       // or a full stop
		visitor.get(path + "%2Fmore") // or an escaped slash
	}
	c := a.client(t)
	c.signup(annName, annEmail, annPassword)
	verify := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "Confirm"), "http://roster.test/verify/"), "http://roster.test")
	visit(verify)
	c.confirmLink(verify)
	reset := "/password/reset/" + resetToken(t, a, annEmail)
	visit(reset)
	ann := a.userByEmail(t, annEmail)
	acc := a.seedAccount(t, ann, "Acme")
	_, inviteToken := a.seedInvite(t, acc, ann, bobEmail, db.RoleNormal)
	invite := "/invites/" + inviteToken
	visit(invite)
	change := emailChangeLink(t, a, c, "ann.new@example.com")
	visit(change)
	cancel := strings.TrimPrefix(link(t, a.mail.waitFor(t, annEmail, "a change of your account email was asked for"), "http://roster.test/email-change/cancel/"), "http://roster.test")
	visit(cancel)
	a.client(t).confirmLink(change)

	logs := a.logs.String()
	for _, path := range []string{verify, reset, change, cancel, invite} {
		token := path[strings.LastIndex(path, "/")+1:]
		if strings.Contains(logs, token) {
			t.Errorf("the token of %s is in the log:\n%s", path, logs)
		}
	}
	for _, route := range []string{"/verify/:token", "/password/reset/:token", "/email-change/:token", "/email-change/cancel/:token", "/invites/:token"} {
		if !strings.Contains(logs, "route="+route+" path="+route+" ") {
			t.Errorf("no request to %s logged as its route", route)
		}
	}
	if !strings.Contains(logs, "route=/login path=/login ") {
		t.Errorf("a path without a secret is logged as it is: no /login line in\n%s", logs)
	}
}
