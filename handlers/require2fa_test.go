package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/totptest"
	"github.com/rosterhq/roster/views"
)

// Accounts may require two-factor authentication (issue 18 item 6).

const (
	twoFactorRequiredBadge = `<span class="badge warn">Two-factor required</span> <a href="/profile#two-factor">Set up two-factor authentication</a>`
	requiredByWarning      = "Acme requires two-factor: you will lose access until you turn it on again."
	invitesTwoFactorText   = "This account requires two-factor authentication"
)

// refusalText is the refusal's sentence for the account named name.
func refusalText(name string) string {
	return name + " requires two-factor authentication of its members. Turn it on in your profile to open the account."
}

// requireTwoFactorEvents are userID's audit entries of the requirement,
// oldest first.
func requireTwoFactorEvents(t *testing.T, a *app, userID int64) []db.Event {
	t.Helper()
	page, err := a.store.EventsForUser(context.Background(), userID, db.EventKey{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []db.Event
	for i := len(page.Events) - 1; i >= 0; i-- {
		if page.Events[i].Kind == db.EventTwoFactorRequired {
			out = append(out, page.Events[i])
		}
	}
	return out
}

func accountRequires(t *testing.T, a *app, accountID, userID int64) bool {
	t.Helper()
	m, err := a.store.Membership(context.Background(), accountID, userID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Account.RequireTwoFactor
}

// TestRequireTwoFactorSetting: the Manage console's setting, for Admins
// with two-factor on; audited each way.
func TestRequireTwoFactorSetting(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acme := a.seedAccount(t, ann, "Acme")
	bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
	a.join(t, acme, ann, bob, db.RoleNormal)
	path := "/accounts/" + strconv.FormatInt(acme.ID, 10)
	first := html.EscapeString(views.RuleText(db.ErrTwoFactorFirst))

	c := a.client(t)
	c.adopt(ann.ID)
	// An Admin without two-factor is told next to the control, with a link.
	page := c.get(path + "/manage")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Require two-factor authentication for members") ||
		!strings.Contains(page.body, `<small class="field-error" id="require-two-factor-first">`+first+` <a href="/profile#two-factor">Set up two-factor authentication</a></small>`) {
		t.Fatalf("console of an Admin without two-factor: got %d, want the setting and the note with its link; body %s", page.status, page.body)
	}
	// ... and refused when they try.
	res := c.postHTMX(path+"/two-factor", url.Values{"require": {"on"}})
	if res.status != http.StatusConflict || !strings.Contains(res.body, `role="alert" id="require-two-factor-first">`+first+` <a href="/profile#two-factor">`) {
		t.Errorf("turn on without two-factor: got %d, want 409 with the rule and the link; body %s", res.status, res.body)
	}
	if accountRequires(t, a, acme.ID, ann.ID) || len(requireTwoFactorEvents(t, a, ann.ID)) != 0 {
		t.Fatalf("turned on by an Admin without two-factor")
	}

	// A member who is not an Admin is refused, two-factor or not.
	b := a.client(t)
	b.adopt(bob.ID)
	enrol(t, b)
	if res := b.postForm(path+"/two-factor", url.Values{"require": {"on"}}); res.status != http.StatusForbidden {
		t.Errorf("turn on as a Normal member: got %d, want 403", res.status)
	}
	if accountRequires(t, a, acme.ID, ann.ID) {
		t.Fatalf("turned on by a Normal member")
	}

	// With two-factor on, the Admin turns it on, then off.
	enrol(t, c)
	if page := c.get(path + "/manage"); strings.Contains(page.body, first) {
		t.Errorf("console of an Admin with two-factor still says %q", first)
	}
	res = c.postHTMX(path+"/two-factor", url.Values{"require": {"on"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Members of Acme now need two-factor authentication to open it.") ||
		!strings.Contains(res.body, `value="on" checked`) {
		t.Fatalf("turn on: got %d, want 200 with the message and the box checked; body %s", res.status, res.body)
	}
	if !accountRequires(t, a, acme.ID, ann.ID) {
		t.Fatalf("not on after the Admin turned it on")
	}
	res = c.postForm(path+"/two-factor", url.Values{})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != path+"/manage#require-two-factor" {
		t.Fatalf("turn off: got %d to %q, want 303 to the console's section", res.status, res.header.Get("Location"))
	}
	checkFlash(t, c, res, "Acme no longer requires two-factor authentication of its members.")
	if accountRequires(t, a, acme.ID, ann.ID) {
		t.Fatalf("still on after the Admin turned it off")
	}
	evs := requireTwoFactorEvents(t, a, ann.ID)
	if len(evs) != 2 || evs[0].Detail["on"] != true || evs[1].Detail["on"] != false || evs[0].AccountID != acme.ID {
		t.Fatalf("audit entries: got %+v, want on then off, about Acme", evs)
	}
	activity := c.get("/profile/activity").body
	for _, want := range []string{"Required two-factor authentication of the members of Acme", "Stopped requiring two-factor authentication of the members of Acme"} {
		if !strings.Contains(activity, want) {
			t.Errorf("activity page: %q missing", want)
		}
	}
}

var pathParamRE = regexp.MustCompile(`:[a-z]+`)

// TestRequireTwoFactorSweep: while Acme requires two-factor, a member
// without it is refused on every route under /accounts/:id of the route
// table, with the way out; after enrolling, the account opens.
func TestRequireTwoFactorSweep(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acme := a.seedAccount(t, ann, "Acme")
	bob := a.seedUser(t, "Bob", bobEmail, bobPassword)
	a.join(t, acme, ann, bob, db.RoleAdmin) // an Admin: the role check does not hide the refusal
	carol := a.seedUser(t, "Carol", "carol@example.com", annPassword)
	a.join(t, acme, ann, carol, db.RoleReadOnly)
	dave := a.seedUser(t, "Dave", "dave@example.com", annPassword)
	id := strconv.FormatInt(acme.ID, 10)

	c := a.client(t)
	c.adopt(ann.ID)
	enrol(t, c)
	if res := c.postForm("/accounts/"+id+"/two-factor", url.Values{"require": {"on"}}); res.status != http.StatusSeeOther {
		t.Fatalf("turn on: got %d; body %s", res.status, res.body)
	}

	b := a.client(t)
	b.adopt(bob.ID)
	// My Accounts lists Acme with the badge and the way out.
	profile := b.get("/profile").body
	if !strings.Contains(profile, `>Acme</a> `+twoFactorRequiredBadge) {
		t.Errorf("My Accounts of a member without two-factor: no badge; body %s", profile)
	}

	refused := html.EscapeString(refusalText("Acme"))
	routes := 0
	for _, r := range a.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/accounts/:id") {
			continue
		}
		routes++
		path := pathParamRE.ReplaceAllStringFunc(r.Path, func(p string) string {
			if p == ":id" {
				return id
			}
			return "1"
		})
		var plain, htmx *response
		switch r.Method {
		case http.MethodGet:
			plain, htmx = b.get(path), b.getHTMX(path)
		case http.MethodPost:
			form := url.Values{"name": {"Hijacked"}, "role": {db.RoleAdmin}, "email": {"eve@example.com"}, "confirm_name": {"Acme"}}
			plain, htmx = b.postForm(path, form), b.postHTMX(path, form)
		default:
			t.Fatalf("route %s %s: no request for its method", r.Method, r.Path)
		}
		if plain.status != http.StatusForbidden || !strings.Contains(plain.body, `<p id="two-factor-required">`+refused+`</p>`) ||
			!strings.Contains(plain.body, `<a href="/profile#two-factor" role="button">Set up two-factor authentication</a>`) {
			t.Errorf("%s %s as a member without two-factor: got %d, want 403 with the refusal and its link; body %s", r.Method, path, plain.status, plain.body)
		}
		if htmx.status != http.StatusForbidden || htmx.header.Get("HX-Retarget") != "#toasts" || strings.Contains(htmx.body, "<html") ||
			!strings.Contains(htmx.body, refused+` <a href="/profile#two-factor">Set up two-factor authentication</a></div>`) {
			t.Errorf("%s %s under htmx: got %d (retarget %q), want 403 with the refusal as a toast; body %s", r.Method, path, htmx.status, htmx.header.Get("HX-Retarget"), htmx.body)
		}
	}
	if routes < 15 {
		t.Fatalf("swept %d routes under /accounts/:id, want them all (15 or more)", routes)
	}
	if m, err := a.store.Membership(context.Background(), acme.ID, bob.ID); err != nil || m.Account.Name != "Acme" {
		t.Fatalf("after the sweep: Acme is %+v (%v), want it untouched", m, err)
	}

	// A Read-Only member is refused the same way; a stranger still gets
	// the 404 of an account they cannot see.
	cc := a.client(t)
	cc.adopt(carol.ID)
	if res := cc.get("/accounts/" + id); res.status != http.StatusForbidden || !strings.Contains(res.body, refused) {
		t.Errorf("account page for a Read-Only member without two-factor: got %d, want 403 with the refusal", res.status)
	}
	d := a.client(t)
	d.adopt(dave.ID)
	if res := d.get("/accounts/" + id); res.status != http.StatusNotFound || strings.Contains(res.body, refused) {
		t.Errorf("account page for a stranger: got %d, want 404 without the refusal", res.status)
	}

	// After enrolling, the account opens, and My Accounts drops the badge.
	secret, _ := enrol(t, b)
	for _, p := range []string{"/accounts/" + id, "/accounts/" + id + "/manage"} {
		if res := b.get(p); res.status != http.StatusOK {
			t.Errorf("GET %s after enrolling: got %d, want 200", p, res.status)
		}
	}
	profile = b.get("/profile").body
	if strings.Contains(profile, "Two-factor required") {
		t.Errorf("My Accounts after enrolling: still the badge")
	}
	// Turning it off warns, and is not blocked; the account closes again.
	if !strings.Contains(twoFactorPanel(t, profile), requiredByWarning) {
		t.Errorf("the Turn off form does not warn %q", requiredByWarning)
	}
	if res := b.postForm("/profile/two-factor/disable", url.Values{"code": {nextCode(t, secret)}}); res.status != http.StatusSeeOther {
		t.Fatalf("turn off: got %d; body %s", res.status, res.body)
	}
	if res := b.get("/accounts/" + id); res.status != http.StatusForbidden {
		t.Errorf("account page after turning two-factor off: got %d, want 403", res.status)
	}
}

// TestRequireTwoFactorInvite: an invite to an account that requires
// two-factor says so, in its mail and on its page; others do not.
func TestRequireTwoFactorInvite(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acme := a.seedAccount(t, ann, "Acme")
	a.seedAccount(t, ann, "Beta")
	id := strconv.FormatInt(acme.ID, 10)
	c := a.client(t)
	c.adopt(ann.ID)
	enrol(t, c)
	if res := c.postForm("/accounts/"+id+"/two-factor", url.Values{"require": {"on"}}); res.status != http.StatusSeeOther {
		t.Fatalf("turn on: got %d; body %s", res.status, res.body)
	}
	ms, err := a.store.MembershipsForUser(context.Background(), ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		email := strings.ToLower(m.Account.Name) + "@example.com"
		res := c.postForm("/accounts/"+strconv.FormatInt(m.Account.ID, 10)+"/invites", url.Values{"email": {email}, "role": {db.RoleNormal}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("invite to %s: got %d; body %s", m.Account.Name, res.status, res.body)
		}
		msg := a.mail.waitFor(t, email, "You are invited to join "+m.Account.Name)
		page := a.client(t).get(strings.TrimPrefix(link(t, msg, "http://roster.test/invites/"), "http://roster.test"))
		want := m.Account.Name == "Acme"
		if got := strings.Contains(msg.Text, invitesTwoFactorText); got != want {
			t.Errorf("invite mail to %s: says %q: %v, want %v; text %s", m.Account.Name, invitesTwoFactorText, got, want, msg.Text)
		}
		if got := strings.Contains(page.body, `<strong>`+invitesTwoFactorText+`.</strong>`); page.status != http.StatusOK || got != want {
			t.Errorf("invite page of %s: got %d, says %q: %v, want %v; body %s", m.Account.Name, page.status, invitesTwoFactorText, got, want, page.body)
		}
	}
}

// TestLastTwoFactorAdminRefused: in an account that requires two-factor,
// its last Admin with two-factor cannot turn theirs off (every Admin would
// be locked out of the console): 409 with the sentence next to the code
// field, naming the account and the ways out, and two-factor stays on. A
// Normal member's two-factor does not count; once another Admin has it,
// the same code turns it off.
func TestLastTwoFactorAdminRefused(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ctx := context.Background()
	ann := a.seedUser(t, annName, annEmail, annPassword)
	bob := a.seedUser(t, bobName, bobEmail, bobPassword)
	carol := a.seedUser(t, "Carol", "carol@example.com", annPassword)
	acme := a.seedAccount(t, ann, "Acme")
	a.join(t, acme, ann, bob, db.RoleAdmin)
	a.join(t, acme, ann, carol, db.RoleNormal)
	c := a.client(t)
	c.adopt(ann.ID)
	secret, _ := enrol(t, c)
	for _, u := range []db.User{carol} {
		if err := totptest.Start(ctx, a.store, u.ID, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := totptest.Confirm(ctx, a.store, u.ID, 1, nil, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.store.SetRequireTwoFactor(ctx, acme.ID, ann.ID, true, db.Event{Kind: db.EventTwoFactorRequired}); err != nil {
		t.Fatal(err)
	}
	code := nextCode(t, secret)
	res := c.postHTMX("/profile/two-factor/disable", url.Values{"code": {code}})
	want := "You are the last Admin of Acme with two-factor authentication, which Acme requires: turning it off would lock every Admin out of its Manage console. Ask another Admin to turn two-factor on first, or stop requiring it in Acme's Manage console."
	if res.status != http.StatusConflict || !strings.Contains(res.body, fieldError(want)) {
		t.Fatalf("the last Admin with two-factor turns it off: got %d, want 409 with %q next to the field; body %s", res.status, want, res.body)
	}
	if f, _ := a.store.SecondFactors(ctx, ann.ID, ""); !f.TOTP {
		t.Fatal("refused, but two-factor went off")
	}
	// Bob, an Admin, turns it on: Ann may turn hers off, with the same code.
	if err := totptest.Start(ctx, a.store, bob.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := totptest.Confirm(ctx, a.store, bob.ID, 1, nil, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	if res := c.postForm("/profile/two-factor/disable", url.Values{"code": {code}}); res.status != http.StatusSeeOther {
		t.Fatalf("with another Admin's two-factor on: got %d, want 303; body %s", res.status, res.body)
	}
	if f, _ := a.store.SecondFactors(ctx, ann.ID, ""); f.TOTP {
		t.Error("two-factor still on")
	}
}

// TestRequireTwoFactorNeedsSudo: whether an account requires two-factor
// decides who can open it, so the setting, each way, needs a fresh
// re-authentication like the SAML console's actions: a session alone gets
// the prompt and nothing changes; with the password the change resumes.
func TestRequireTwoFactorNeedsSudo(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acme := a.seedAccount(t, ann, "Acme")
	path := "/accounts/" + strconv.FormatInt(acme.ID, 10) + "/two-factor"
	owner := a.client(t)
	owner.adopt(ann.ID)
	enrol(t, owner)

	for _, want := range []bool{true, false} {
		c := a.client(t)
		c.signInOnly(ann.ID) // a session that has not re-authenticated
		form := url.Values{}
		if want {
			form.Set("require", "on")
		}
		res := c.postForm(path, form)
		if res.status != http.StatusOK || !strings.Contains(res.body, "Confirm it is you") {
			t.Fatalf("require %v with a session alone: got %d, want 200 with the re-authentication prompt; body %s", want, res.status, res.body)
		}
		if accountRequires(t, a, acme.ID, ann.ID) != !want {
			t.Fatalf("require %v with a session alone: it changed", want)
		}
		action, resume := prompt(t, res)
		resume.Set("sudo_password", annPassword)
		if res := c.postForm(action, resume); res.status != http.StatusSeeOther {
			t.Fatalf("require %v after the password: got %d, want 303; body %s", want, res.status, res.body)
		}
		if accountRequires(t, a, acme.ID, ann.ID) != want {
			t.Fatalf("require %v after the password: it did not change", want)
		}
	}
}
