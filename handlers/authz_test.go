package handlers_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/db"
)

// The authorization matrix of issue 3: every /accounts/{id}/... route
// against every kind of visitor, each cell on its own database, and the
// races of the account rules over HTTP.

// actor is who sends a request in the matrix.
type actor int

const (
	asSignedOut actor = iota
	asNonMember       // signed in, owner of another account
	asReadOnly
	asNormal
	asAdmin
	asOwner
	actorCount
)

func (a actor) String() string {
	return [...]string{"logged out", "non-member", "Read-Only", "Normal", "Admin", "owner"}[a]
}

// authzAccount is the name of the account the matrix works on; no
// response to an outsider may contain it.
const authzAccount = "Acme Widgets"

// authzFixture is account A with one member of each role, a Read-Only
// member the Admin routes act on, and a pending invite; and account B,
// owned by A's non-member, with a member and an invite of its own.
type authzFixture struct {
	app         *app
	account     db.Account // A
	other       db.Account // B
	users       [actorCount]db.User
	target      db.User // Read-Only member of A: role changes and removal
	otherMember db.User // Read-Only member of B only
	invite      db.Invite
	otherInvite db.Invite
}

func newAuthzFixture(t *testing.T) *authzFixture {
	t.Helper()
	ctx := context.Background()
	f := &authzFixture{app: newApp(t)}
	user := func(name, email string) db.User {
		u, err := f.app.store.CreateUser(ctx, db.NewUser{Email: email, Name: name, Verified: true}, db.Event{Kind: db.EventSignUp})
		if err != nil {
			t.Fatalf("create user %s: %v", email, err)
		}
		return u
	}
	f.users[asOwner] = user("Olive Owner", "owner@example.com")
	f.users[asAdmin] = user("Ada Admin", "admin@example.com")
	f.users[asNormal] = user("Norm Normal", "normal@example.com")
	f.users[asReadOnly] = user("Rita Reader", "reader@example.com")
	f.users[asNonMember] = user("Otto Outsider", "outsider@example.com")
	f.target = user("Tess Target", "target@example.com")
	f.otherMember = user("Bea Other", "bea@example.com")

	f.account = authzAccountOf(t, f.app, f.users[asOwner], authzAccount)
	authzJoin(t, f.app, f.account, f.users[asOwner], f.users[asAdmin], db.RoleAdmin)
	authzJoin(t, f.app, f.account, f.users[asOwner], f.users[asNormal], db.RoleNormal)
	authzJoin(t, f.app, f.account, f.users[asOwner], f.users[asReadOnly], db.RoleReadOnly)
	authzJoin(t, f.app, f.account, f.users[asOwner], f.target, db.RoleReadOnly)
	f.invite = authzInvite(t, f.app, f.account, f.users[asOwner], "pending@example.com", db.RoleNormal)

	f.other = authzAccountOf(t, f.app, f.users[asNonMember], "Other Place")
	authzJoin(t, f.app, f.other, f.users[asNonMember], f.otherMember, db.RoleReadOnly)
	f.otherInvite = authzInvite(t, f.app, f.other, f.users[asNonMember], "pending-b@example.com", db.RoleNormal)
	return f
}

func authzAccountOf(t *testing.T, a *app, owner db.User, name string) db.Account {
	t.Helper()
	a.confirmed(t, owner)
	acct, err := a.store.CreateAccount(context.Background(), owner.ID, name, db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatalf("create account %q: %v", name, err)
	}
	return acct
}

// authzInviteHash is the token hash the fixtures give the invite of email to
// an account, so a test can tell whether a resend replaced it.
func authzInviteHash(accountID int64, email string) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("authz-invite-%d-%s", accountID, email)))
	return h[:]
}

// authzInvite creates a pending invite through the store, as inviter.
func authzInvite(t *testing.T, a *app, acct db.Account, inviter db.User, email, role string) db.Invite {
	t.Helper()
	a.confirmed(t, inviter)
	inv, err := a.store.CreateInvite(context.Background(), acct.ID, inviter.ID, email, role, authzInviteHash(acct.ID, email), nil, db.Event{Kind: db.EventInviteSent})
	if err != nil {
		t.Fatalf("invite %s to %q: %v", email, acct.Name, err)
	}
	return inv
}

// authzJoin makes u a member with role the way people join: invited, accepted.
func authzJoin(t *testing.T, a *app, acct db.Account, inviter, u db.User, role string) {
	t.Helper()
	inv := authzInvite(t, a, acct, inviter, u.Email, role)
	if _, err := a.store.AcceptInvite(context.Background(), inv.ID, u.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
		t.Fatalf("%s accepts the invite to %q: %v", u.Email, acct.Name, err)
	}
}

// client is a browser signed in as who (or signed out).
func (f *authzFixture) client(t *testing.T, who actor) *client {
	t.Helper()
	c := f.app.client(t)
	if who != asSignedOut {
		c.adopt(f.users[who].ID)
	}
	return c
}

// expand fills the placeholders of a path or a form value.
func (f *authzFixture) expand(s string) string {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return strings.NewReplacer(
		"{acct}", id(f.account.ID),
		"{other}", id(f.other.ID),
		"{iid}", id(f.invite.ID),
		"{other_iid}", id(f.otherInvite.ID),
		"{target}", id(f.target.ID),
		"{admin}", id(f.users[asAdmin].ID),
		"{owner}", id(f.users[asOwner].ID),
		"{other_member}", id(f.otherMember.ID),
		"{name}", f.account.Name,
		"{other_name}", f.other.Name,
	).Replace(s)
}

// member is u's membership of the account, and whether there is one.
func (f *authzFixture) member(t *testing.T, accountID, userID int64) (db.Membership, bool) {
	t.Helper()
	m, err := f.app.store.Membership(context.Background(), accountID, userID)
	if errors.Is(err, db.ErrNotFound) {
		return db.Membership{}, false
	}
	if err != nil {
		t.Fatalf("membership of user %d in account %d: %v", userID, accountID, err)
	}
	return m, true
}

// pending reports whether the invite is still in its account's pending list.
func (f *authzFixture) pending(t *testing.T, accountID int64, email string) bool {
	t.Helper()
	list, _, err := f.app.store.PendingInvites(context.Background(), accountID, 100, 0)
	if err != nil {
		t.Fatalf("pending invites of account %d: %v", accountID, err)
	}
	for _, inv := range list {
		if inv.Email == email {
			return true
		}
	}
	return false
}

// authzRoute is one row of the matrix: a route and, per actor, the status
// it must answer. check looks at the database afterwards; applied is
// whether the cell expected the action to go through.
type authzRoute struct {
	method, path string
	form         url.Values // values may hold placeholders
	want         [actorCount]int
	check        func(t *testing.T, f *authzFixture, who actor, applied bool)
}

// checkAuthzMail expects a message to address after an action that sends
// one, and none after a refused one.
func checkAuthzMail(t *testing.T, f *authzFixture, address string, applied bool) {
	t.Helper()
	if applied {
		f.app.mail.waitFor(t, address, "")
		return
	}
	if got := f.app.mail.sentTo(address); len(got) != 0 {
		t.Errorf("mail to %s after a refused request: got %d messages, want none", address, len(got))
	}
}

func TestAuthzMatrix(t *testing.T) {
	t.Parallel()
	// Statuses of the matrix. A plain form that went through answers 303, as
	// does every request of a signed-out visitor (to /login?next=...); the
	// runner tells the two apart by the actor.
	const (
		toLogin   = http.StatusSeeOther
		done      = http.StatusSeeOther
		shown     = http.StatusOK
		forbidden = http.StatusForbidden
		notFound  = http.StatusNotFound
		// refused is a broken account rule (the owner leaving).
		refused = http.StatusConflict
	)

	// The matrix is DESIGN section 6's /accounts/{id}/... routes, with the
	// values that make each action valid, so that 303 means it was done.
	matrix := []authzRoute{
		{method: http.MethodGet, path: "/accounts/{acct}",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: shown, asNormal: shown, asAdmin: shown, asOwner: shown}},
		{method: http.MethodPost, path: "/accounts/{acct}/leave",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: done, asNormal: done, asAdmin: done, asOwner: refused},
			check: func(t *testing.T, f *authzFixture, who actor, applied bool) {
				if who == asSignedOut || who == asNonMember {
					return
				}
				if _, in := f.member(t, f.account.ID, f.users[who].ID); in == applied {
					t.Errorf("%s still a member: got %t, want %t", who, in, !applied)
				}
			}},
		{method: http.MethodGet, path: "/accounts/{acct}/manage",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: shown, asOwner: shown}},
		{method: http.MethodPost, path: "/accounts/{acct}/invites", form: url.Values{"email": {"new@example.com"}, "role": {db.RoleNormal}},
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				if got := f.pending(t, f.account.ID, "new@example.com"); got != applied {
					t.Errorf("pending invite to new@example.com: got %t, want %t", got, applied)
				}
				checkAuthzMail(t, f, "new@example.com", applied)
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/invites/{iid}/revoke",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				if got := f.pending(t, f.account.ID, f.invite.Email); got == applied {
					t.Errorf("invite to %s pending: got %t, want %t", f.invite.Email, got, !applied)
				}
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/invites/{iid}/resend",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				_, err := f.app.store.InviteByToken(context.Background(), authzInviteHash(f.account.ID, f.invite.Email))
				if replaced := errors.Is(err, db.ErrNotFound); replaced != applied {
					t.Errorf("old invite link replaced: got %t (%v), want %t", replaced, err, applied)
				}
				if !f.pending(t, f.account.ID, f.invite.Email) {
					t.Errorf("invite to %s no longer pending, want it pending", f.invite.Email)
				}
				checkAuthzMail(t, f, f.invite.Email, applied)
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/members/{target}/role", form: url.Values{"role": {db.RoleNormal}},
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				want := db.RoleReadOnly
				if applied {
					want = db.RoleNormal
				}
				if m, _ := f.member(t, f.account.ID, f.target.ID); m.Role != want {
					t.Errorf("target's role: got %q, want %q", m.Role, want)
				}
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/members/{target}/remove",
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				if _, in := f.member(t, f.account.ID, f.target.ID); in == applied {
					t.Errorf("target still a member: got %t, want %t", in, !applied)
				}
				if _, err := f.app.store.UserByID(context.Background(), f.target.ID); err != nil {
					t.Errorf("removed member's user: %v, want it kept", err)
				}
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/owner", form: url.Values{"user_id": {"{admin}"}},
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: forbidden, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				want := f.users[asOwner].ID
				if applied {
					want = f.users[asAdmin].ID
				}
				m, _ := f.member(t, f.account.ID, f.users[asOwner].ID)
				if m.Account.OwnerID != want {
					t.Errorf("owner: got user %d, want %d", m.Account.OwnerID, want)
				}
				if !m.IsAdmin() {
					t.Errorf("former owner's role: got %q, want admin", m.Role)
				}
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/settings", form: url.Values{"name": {"Renamed"}},
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: done, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				want := authzAccount
				if applied {
					want = "Renamed"
				}
				if m, _ := f.member(t, f.account.ID, f.users[asOwner].ID); m.Account.Name != want {
					t.Errorf("account name: got %q, want %q", m.Account.Name, want)
				}
			}},
		{method: http.MethodPost, path: "/accounts/{acct}/delete", form: url.Values{"confirm_name": {"{name}"}},
			want: [actorCount]int{asSignedOut: toLogin, asNonMember: notFound, asReadOnly: forbidden, asNormal: forbidden, asAdmin: forbidden, asOwner: done},
			check: func(t *testing.T, f *authzFixture, _ actor, applied bool) {
				// The owner is a member for as long as the account exists.
				if _, exists := f.member(t, f.account.ID, f.users[asOwner].ID); exists == applied {
					t.Errorf("account exists: got %t, want %t", exists, !applied)
				}
				if _, err := f.app.store.UserByID(context.Background(), f.users[asAdmin].ID); err != nil {
					t.Errorf("a member's user after the delete: %v, want it kept", err)
				}
			}},
		// Later issues add these; their cells are the Admin routes' cells.
		// {method: http.MethodGet, path: "/accounts/{acct}/saml", ...},
		// {method: http.MethodPost, path: "/accounts/{acct}/saml", ...},
		// {method: http.MethodPost, path: "/accounts/{acct}/billing", ...},
	}

	for _, r := range matrix {
		for who := range actorCount {
			t.Run(r.method+" "+r.path+"/"+who.String(), func(t *testing.T) {
				t.Parallel()
				f := newAuthzFixture(t)
				res, path := authzSend(t, f, f.client(t, who), r.method, r.path, r.form)
				want := r.want[who]
				checkAuthzStatus(t, r.method, path, who, res, want)
				if r.check != nil {
					r.check(t, f, who, who != asSignedOut && want == done)
				}
			})
		}
	}
}

// authzSend sends one request of a table with its placeholders filled, and
// returns the response and the path it went to.
func authzSend(t *testing.T, f *authzFixture, c *client, method, path string, form url.Values) (*response, string) {
	t.Helper()
	path = f.expand(path)
	if method == http.MethodGet {
		return c.get(path), path
	}
	v := url.Values{}
	for k, vs := range form {
		for _, x := range vs {
			v.Add(k, f.expand(x))
		}
	}
	return c.postForm(path, v), path
}

// checkAuthzStatus compares a response with its cell: the status, where a
// 303 goes, and that nothing about the account reaches an outsider.
func checkAuthzStatus(t *testing.T, method, path string, who actor, res *response, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("%s %s as %s: got %d, want %d; body:\n%s", method, path, who, res.status, want, res.body)
	}
	loc := res.header.Get("Location")
	switch {
	case who == asSignedOut:
		next := path
		if method != http.MethodGet {
			next = "/profile" // a form is not sent again after sign-in
		}
		if wantLoc := "/login?next=" + url.QueryEscape(next); loc != wantLoc {
			t.Errorf("%s %s logged out: got Location %q, want %q", method, path, loc, wantLoc)
		}
	case want == http.StatusSeeOther && (loc == "" || strings.HasPrefix(loc, "/login")):
		t.Errorf("%s %s as %s: got Location %q, want the page after the action", method, path, who, loc)
	case want == http.StatusNotFound && strings.Contains(res.body, authzAccount):
		t.Errorf("%s %s as %s: the 404 page names the account %q", method, path, who, authzAccount)
	case want == http.StatusOK && !strings.Contains(res.body, authzAccount):
		t.Errorf("%s %s as %s: page does not name the account %q", method, path, who, authzAccount)
	}
}

// TestAuthzUnknownAccounts: an id that names no account, no number, or an
// account or member the user has nothing to do with is 404, never 403, so
// a URL does not tell whether the account exists.
func TestAuthzUnknownAccounts(t *testing.T) {
	t.Parallel()
	// Neither account B nor its member may change.
	otherUntouched := func(t *testing.T, f *authzFixture) {
		m, in := f.member(t, f.other.ID, f.otherMember.ID)
		if !in || m.Role != db.RoleReadOnly {
			t.Errorf("B's member: got member %t role %q, want a Read-Only member", in, m.Role)
		}
		if m.Account.Name != f.other.Name || m.Account.OwnerID != f.other.OwnerID {
			t.Errorf("account B: got %+v, want %+v", m.Account, f.other)
		}
		if !f.pending(t, f.other.ID, f.otherInvite.Email) {
			t.Errorf("B's invite no longer pending")
		}
		if _, in := f.member(t, f.account.ID, f.otherMember.ID); in {
			t.Errorf("B's member became a member of A")
		}
	}
	tests := []struct {
		name         string
		who          actor
		method, path string
		form         url.Values
	}{
		{"no such account", asOwner, http.MethodGet, "/accounts/999999", nil},
		{"no such account, manage", asOwner, http.MethodGet, "/accounts/999999/manage", nil},
		{"no such account, leave", asNormal, http.MethodPost, "/accounts/999999/leave", nil},
		{"no such account, settings", asOwner, http.MethodPost, "/accounts/999999/settings", url.Values{"name": {"Renamed"}}},
		{"no such account, delete", asOwner, http.MethodPost, "/accounts/999999/delete", url.Values{"confirm_name": {"{name}"}}},
		{"id beyond int64", asOwner, http.MethodGet, "/accounts/99999999999999999999", nil},
		{"id not a number", asOwner, http.MethodGet, "/accounts/abc", nil},
		{"id not a number, manage", asOwner, http.MethodGet, "/accounts/abc/manage", nil},
		{"id not a number, leave", asNormal, http.MethodPost, "/accounts/abc/leave", nil},
		{"id not a number, settings", asOwner, http.MethodPost, "/accounts/1x/settings", url.Values{"name": {"Renamed"}}},
		{"negative id", asOwner, http.MethodGet, "/accounts/-1", nil},
		{"member of A on B's page", asNormal, http.MethodGet, "/accounts/{other}", nil},
		{"Admin of A on B's manage", asAdmin, http.MethodGet, "/accounts/{other}/manage", nil},
		{"Admin of A leaves B", asAdmin, http.MethodPost, "/accounts/{other}/leave", nil},
		{"owner of A renames B", asOwner, http.MethodPost, "/accounts/{other}/settings", url.Values{"name": {"Renamed"}}},
		{"owner of A deletes B", asOwner, http.MethodPost, "/accounts/{other}/delete", url.Values{"confirm_name": {"{other_name}"}}},
		{"owner of A invites to B", asOwner, http.MethodPost, "/accounts/{other}/invites", url.Values{"email": {"new@example.com"}, "role": {db.RoleNormal}}},
		{"owner of A revokes B's invite on B", asOwner, http.MethodPost, "/accounts/{other}/invites/{other_iid}/revoke", nil},
		{"owner of A changes B's member on B", asOwner, http.MethodPost, "/accounts/{other}/members/{other_member}/role", url.Values{"role": {db.RoleAdmin}}},
		{"B's member via A's URL, role", asAdmin, http.MethodPost, "/accounts/{acct}/members/{other_member}/role", url.Values{"role": {db.RoleAdmin}}},
		{"B's member via A's URL, remove", asAdmin, http.MethodPost, "/accounts/{acct}/members/{other_member}/remove", nil},
		{"no such member, role", asAdmin, http.MethodPost, "/accounts/{acct}/members/999999/role", url.Values{"role": {db.RoleNormal}}},
		{"no such member, remove", asOwner, http.MethodPost, "/accounts/{acct}/members/999999/remove", nil},
		{"member id not a number", asOwner, http.MethodPost, "/accounts/{acct}/members/abc/remove", nil},
		{"B's invite via A's URL, revoke", asAdmin, http.MethodPost, "/accounts/{acct}/invites/{other_iid}/revoke", nil},
		{"B's invite via A's URL, resend", asOwner, http.MethodPost, "/accounts/{acct}/invites/{other_iid}/resend", nil},
		{"no such invite", asAdmin, http.MethodPost, "/accounts/{acct}/invites/999999/revoke", nil},
		{"invite id not a number", asAdmin, http.MethodPost, "/accounts/{acct}/invites/abc/resend", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newAuthzFixture(t)
			res, path := authzSend(t, f, f.client(t, tt.who), tt.method, tt.path, tt.form)
			checkAuthzStatus(t, tt.method, path, tt.who, res, http.StatusNotFound)
			otherUntouched(t, f)
			if m, in := f.member(t, f.account.ID, f.users[tt.who].ID); !in || m.Account.Name != authzAccount {
				t.Errorf("account A after the request: got member %t, name %q", in, m.Account.Name)
			}
			if _, err := f.app.store.InviteByToken(context.Background(), authzInviteHash(f.other.ID, f.otherInvite.Email)); err != nil {
				t.Errorf("B's invite link: %v, want it unchanged", err)
			}
		})
	}
}

// raceRequest is one form post of a race.
type raceRequest struct {
	c    *client
	path string
	form url.Values
}

// raceAll sends every request at once, each from its own goroutine, and
// returns their statuses in order. CSRF tokens are read beforehand, since
// only the test's goroutine may fail the test.
func raceAll(t *testing.T, reqs []raceRequest) []int {
	t.Helper()
	bodies := make([]string, len(reqs))
	for i, r := range reqs {
		form := url.Values{"_csrf": {r.c.csrf()}}
		for k, vs := range r.form {
			form[k] = vs
		}
		bodies[i] = form.Encode()
	}
	statuses := make([]int, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			<-start
			statuses[i], errs[i] = racePost(r.c, r.path, bodies[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("POST %s: %v", reqs[i].path, err)
		}
	}
	return statuses
}

func racePost(c *client, path, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, c.app.server.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", c.ua)
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// countStatuses counts the 303s and the 4xx, and fails on anything else.
func countStatuses(t *testing.T, what string, statuses []int) (ok, refusedN int) {
	t.Helper()
	for _, s := range statuses {
		switch {
		case s == http.StatusSeeOther:
			ok++
		case s >= 400 && s < 500:
			refusedN++
		default:
			t.Errorf("%s: got status %d, want 303 or a 4xx refusal (all: %v)", what, s, statuses)
		}
	}
	return ok, refusedN
}

// raceAccount is an account with an owner and two more Admins, on a fresh app.
type raceAccount struct {
	f             *authzFixture
	acct          db.Account
	owner, a1, a2 db.User
}

func newRaceAccount(t *testing.T) raceAccount {
	t.Helper()
	f := &authzFixture{app: newApp(t)}
	user := func(email string) db.User {
		u, err := f.app.store.CreateUser(context.Background(), db.NewUser{Email: email, Name: email, Verified: true}, db.Event{Kind: db.EventSignUp})
		if err != nil {
			t.Fatalf("create user %s: %v", email, err)
		}
		return u
	}
	r := raceAccount{f: f, owner: user("owner@example.com"), a1: user("a1@example.com"), a2: user("a2@example.com")}
	r.acct = authzAccountOf(t, f.app, r.owner, "Race Co")
	authzJoin(t, f.app, r.acct, r.owner, r.a1, db.RoleAdmin)
	authzJoin(t, f.app, r.acct, r.owner, r.a2, db.RoleAdmin)
	return r
}

func (r raceAccount) client(t *testing.T, u db.User) *client {
	t.Helper()
	c := r.f.app.client(t)
	c.adopt(u.ID)
	return c
}

// checkOwnerInside checks the account rules after a race: exactly one
// owner, who is a member and an Admin; and it returns the owner's id.
func (r raceAccount) checkOwnerInside(t *testing.T) int64 {
	t.Helper()
	members, _, err := r.f.app.store.Members(context.Background(), r.acct.ID, 100, 0)
	if err != nil {
		t.Fatalf("members: %v", err)
	}
	var owners, admins int
	var ownerID int64
	for _, m := range members {
		if m.Role == db.RoleAdmin {
			admins++
		}
		if m.IsOwner {
			owners++
			ownerID = m.UserID
			if m.Role != db.RoleAdmin {
				t.Errorf("owner %s: got role %q, want admin", m.Email, m.Role)
			}
		}
	}
	if owners != 1 {
		t.Errorf("owners among the members: got %d, want 1 (members %+v)", owners, members)
	}
	if admins < 1 {
		t.Errorf("Admins: got %d, want at least 1", admins)
	}
	return ownerID
}

// TestRaceAcceptInvite: twenty accepts of one invite by its invitee make
// one membership.
func TestRaceAcceptInvite(t *testing.T) {
	t.Parallel()
	r := newRaceAccount(t)
	invitee, err := r.f.app.store.CreateUser(context.Background(), db.NewUser{Email: "invitee@example.com", Verified: true}, db.Event{Kind: db.EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	inv := authzInvite(t, r.f.app, r.acct, r.owner, invitee.Email, db.RoleNormal)
	c := r.client(t, invitee)
	reqs := make([]raceRequest, 20)
	for i := range reqs {
		reqs[i] = raceRequest{c: c, path: fmt.Sprintf("/invites/%d/accept", inv.ID)}
	}
	statuses := raceAll(t, reqs)
	if ok, no := countStatuses(t, "accept", statuses); ok != 1 || no != len(reqs)-1 {
		t.Errorf("accepts: got %d 303 and %d 4xx, want 1 and %d (all: %v)", ok, no, len(reqs)-1, statuses)
	}
	list, err := r.f.app.store.MembershipsForUser(context.Background(), invitee.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Account.ID != r.acct.ID || list[0].Role != db.RoleNormal {
		t.Errorf("invitee's memberships: got %+v, want one Normal membership of account %d", list, r.acct.ID)
	}
	members, _, err := r.f.app.store.Members(context.Background(), r.acct.ID, 100, 0)
	if err != nil || len(members) != 4 {
		t.Errorf("members: got %d (%v), want 4", len(members), err)
	}
	if r.f.pending(t, r.acct.ID, invitee.Email) {
		t.Errorf("invite still pending after it was accepted")
	}
}

// TestRaceAdminsDemoteEachOther: two Admins demote each other at once. The
// second to run is no longer an Admin, so exactly one wins; the owner stays
// the owner and an Admin.
func TestRaceAdminsDemoteEachOther(t *testing.T) {
	t.Parallel()
	for round := range 10 {
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			r := newRaceAccount(t)
			form := url.Values{"role": {db.RoleNormal}}
			statuses := raceAll(t, []raceRequest{
				{c: r.client(t, r.a1), path: fmt.Sprintf("/accounts/%d/members/%d/role", r.acct.ID, r.a2.ID), form: form},
				{c: r.client(t, r.a2), path: fmt.Sprintf("/accounts/%d/members/%d/role", r.acct.ID, r.a1.ID), form: form},
			})
			ok, _ := countStatuses(t, "demote", statuses)
			if ok != 1 {
				t.Errorf("demotions that went through: got %d, want 1 (statuses %v)", ok, statuses)
			}
			for _, s := range statuses {
				if s != http.StatusSeeOther && s != http.StatusForbidden {
					t.Errorf("the losing demotion: got %d, want 403 (its sender is no longer an Admin)", s)
				}
			}
			if owner := r.checkOwnerInside(t); owner != r.owner.ID {
				t.Errorf("owner: got user %d, want %d", owner, r.owner.ID)
			}
			var admins int
			for _, u := range []db.User{r.a1, r.a2} {
				if m, _ := r.f.member(t, r.acct.ID, u.ID); m.IsAdmin() {
					admins++
				}
			}
			if admins != 1 {
				t.Errorf("Admins among the two: got %d, want 1", admins)
			}
		})
	}
}

// TestRaceTransferAndRemoveOwner: the owner hands the account to a1 while
// a2 removes the owner and removes a1. Whatever the order, whoever owns
// the account at the end is in it and an Admin, and each answer agrees
// with the order the database ran them in.
func TestRaceTransferAndRemoveOwner(t *testing.T) {
	t.Parallel()
	for round := range 10 {
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			r := newRaceAccount(t)
			a2 := r.client(t, r.a2)
			statuses := raceAll(t, []raceRequest{
				{c: r.client(t, r.owner), path: fmt.Sprintf("/accounts/%d/owner", r.acct.ID), form: url.Values{"user_id": {strconv.FormatInt(r.a1.ID, 10)}}},
				{c: a2, path: fmt.Sprintf("/accounts/%d/members/%d/remove", r.acct.ID, r.owner.ID)},
				{c: a2, path: fmt.Sprintf("/accounts/%d/members/%d/remove", r.acct.ID, r.a1.ID)},
				{c: r.client(t, r.a1), path: fmt.Sprintf("/accounts/%d/members/%d/remove", r.acct.ID, r.owner.ID)},
			})
			t.Logf("transfer, a2 removes owner, a2 removes a1, a1 removes owner: %v", statuses)
			countStatuses(t, "transfer and removals", statuses)
			transferred := statuses[0] == http.StatusSeeOther
			removedOwner := statuses[1] == http.StatusSeeOther || statuses[3] == http.StatusSeeOther
			removedA1 := statuses[2] == http.StatusSeeOther

			owner := r.checkOwnerInside(t)
			wantOwner := r.owner.ID
			if transferred {
				wantOwner = r.a1.ID
			}
			if owner != wantOwner {
				t.Errorf("owner: got user %d, want %d (statuses %v)", owner, wantOwner, statuses)
			}
			if removedOwner && !transferred {
				t.Errorf("the owner was removed without a transfer (statuses %v)", statuses)
			}
			if removedA1 && transferred {
				t.Errorf("a1 was removed and also became the owner (statuses %v)", statuses)
			}
			if _, in := r.f.member(t, r.acct.ID, r.owner.ID); in == removedOwner {
				t.Errorf("original owner a member: got %t, want %t (statuses %v)", in, !removedOwner, statuses)
			}
			if _, in := r.f.member(t, r.acct.ID, r.a1.ID); in == removedA1 {
				t.Errorf("a1 a member: got %t, want %t (statuses %v)", in, !removedA1, statuses)
			}
		})
	}
}
