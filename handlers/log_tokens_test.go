package handlers_test

import (
	"net/http"
	"net/url"
	"slices"
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

// TestInviteTokenInTheQuerySendsNoReferer: the invite page's buttons go to
// /login?next=/invites/{token} and /signup?next=/invites/{token}; those
// pages hold the token in their URL as much as the invite page does, and
// send no Referer either. Found by the third review
// (TestReview3InviteTokenInLoginReferer).
func TestInviteTokenInTheQuerySendsNoReferer(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.verify(t, a.seedUser(t, annName, annEmail, annPassword))
	acc := a.seedAccount(t, ann, "Acme")
	_, token := a.seedInvite(t, acc, ann, bobEmail, "normal")
	page := a.client(t).get("/invites/" + token)
	if !strings.Contains(page.body, "/login?next=/invites/"+token) {
		t.Fatalf("the invite page has no sign-in link with its token; body:\n%.1500s", page.body)
	}
	for _, path := range []string{"/login?next=/invites/" + token, "/signup?next=/invites/" + token} {
		res := a.client(t).get(path)
		if p := res.header.Get("Referrer-Policy"); p != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q, want no-referrer (the page's URL holds the invite's token)", path[:strings.Index(path, "?")], p)
		}
	}
}

// TestLinkTokensInTheQuerySendNoReferer walks every route with a secret
// parameter (a link's token) and every GET page: a page whose query holds
// such a link, as next or any other field, directly or nested in another
// local link (logging out's /login?next=/invites/{token}), or a secret
// field of its own (a contact's ?code=), sends no Referer, and the request
// log keeps none of it. A query without a secret keeps same-origin.
func TestLinkTokensInTheQuerySendNoReferer(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	const token = "QUERYTOKENxyz0123456789abcdefABCDEF0123456"
	var links, pages []string
	for _, r := range a.echo.Routes() {
		if r.Method != http.MethodGet || strings.Contains(r.Path, "*") {
			continue
		}
		link, secret := r.Path, false
		for _, seg := range strings.Split(r.Path, "/") {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				v := "7"
				if name == "token" {
					v, secret = token, true
				}
				link = strings.Replace(link, seg, v, 1)
			}
		}
		pages = append(pages, link)
		if secret {
			links = append(links, link)
		}
	}
	if len(links) < 4 {
		t.Fatalf("found %d token routes (%v), want the verify, reset, email-change and invite links", len(links), links)
	}
	visitor := a.client(t)
	check := func(path, want string) {
		t.Helper()
		if got := visitor.get(path).header.Get("Referrer-Policy"); got != want {
			t.Errorf("GET %s: Referrer-Policy %q, want %s", path, got, want)
		}
	}
	for _, page := range pages {
		for _, link := range links {
			check(page+"?next="+url.QueryEscape(link), "no-referrer")
			check(page+"?x=1&back="+url.QueryEscape(link+"?a=b"), "no-referrer")
			check(page+"?next="+url.QueryEscape("/login?next="+url.QueryEscape(link)), "no-referrer")
		}
		for _, field := range []string{"code", "token", "state"} {
			check(page+"?"+field+"="+token, "no-referrer")
		}
		check(page+"?next="+url.QueryEscape("/profile/contacts/7/verify?code="+token), "no-referrer")
		if !slices.Contains(links, page) {
			check(page+"?next=/profile&range=7d", "same-origin")
		}
	}
	if logs := a.logs.String(); strings.Contains(logs, token) {
		t.Errorf("a token in a query is in the log:\n%.3000s", logs)
	}
}
