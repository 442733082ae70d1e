package handlers_test

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/handlers"
	"github.com/rosterhq/roster/views"
)

const bobName = "Bob Example"

// formError is how a section shows a broken rule above its form.
func formError(message string) string {
	return `<p class="flash error" role="alert">` + html.EscapeString(message) + `</p>`
}

// withAcme is a setup: Ann owns Acme and the scenario's client is signed in
// as her; Bob is a member with role. vars: id (Acme), ann, bob (user ids).
func withAcme(role string) func(t *testing.T, s *state) {
	return func(t *testing.T, s *state) {
		ann := s.app.verify(t, s.app.seedUser(t, annName, annEmail, annPassword))
		bob := s.app.seedUser(t, bobName, bobEmail, bobPassword)
		acme := s.app.seedAccount(t, ann, "Acme")
		s.app.join(t, acme, ann, bob, role)
		s.c.adopt(ann.ID)
		s.vars["id"] = strconv.FormatInt(acme.ID, 10)
		s.vars["ann"] = strconv.FormatInt(ann.ID, 10)
		s.vars["bob"] = strconv.FormatInt(bob.ID, 10)
	}
}

// asBob is withAcme with the client signed in as Bob instead.
func asBob(role string) func(t *testing.T, s *state) {
	return func(t *testing.T, s *state) {
		withAcme(role)(t, s)
		s.c = s.app.client(t)
		id, _ := strconv.ParseInt(s.vars["bob"], 10, 64)
		s.c.adopt(id)
	}
}

// withInvite is a setup: Ann owns Acme and has invited Bob as Normal; the
// client is signed in as Bob, whose email is verified unless unverified.
// vars: id, invite (its id), token (of its link).
func withInvite(unverified bool) func(t *testing.T, s *state) {
	return func(t *testing.T, s *state) {
		ann := s.app.verify(t, s.app.seedUser(t, annName, annEmail, annPassword))
		bob := s.app.seedUser(t, bobName, bobEmail, bobPassword)
		if !unverified {
			bob = s.app.verify(t, bob)
		}
		acme := s.app.seedAccount(t, ann, "Acme")
		inv, token := s.app.seedInvite(t, acme, ann, bobEmail, db.RoleNormal)
		s.c.adopt(bob.ID)
		s.vars["id"] = strconv.FormatInt(acme.ID, 10)
		s.vars["invite"] = strconv.FormatInt(inv.ID, 10)
		s.vars["token"] = token
	}
}

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	tooLong := strings.Repeat("x", 101)
	runScenarios(t, []scenario{
		{
			name: "form", path: "/accounts/new", setup: confirmedUser, wantStatus: http.StatusOK,
			wantContains: []string{`action="/accounts"`, `name="name"`},
		},
		{
			name: "plain post goes to the new console", form: url.Values{"name": {"  Acme  "}}, path: "/accounts", setup: confirmedUser,
			wantStatus: http.StatusSeeOther, wantFlash: "The account Acme is created. Invite people to it below.",
			after: func(t *testing.T, s *state, res *response) {
				if !strings.HasPrefix(res.header.Get("Location"), "/accounts/") || !strings.HasSuffix(res.header.Get("Location"), "/manage") {
					t.Errorf("got Location %q, want /accounts/{id}/manage", res.header.Get("Location"))
				}
				body := s.c.get("/profile").body
				for _, want := range []string{">Acme</a>", `Admin <mark class="owner">Owner</mark>`, ">Manage</a>"} {
					if !strings.Contains(body, want) {
						t.Errorf("GET /profile after creating: missing %q", want)
					}
				}
			},
		},
		{
			name: "htmx post redirects with HX-Redirect", form: url.Values{"name": {"Acme"}}, path: "/accounts", htmx: true, setup: confirmedUser,
			wantStatus: http.StatusNoContent, wantFlash: "The account Acme is created. Invite people to it below.",
		},
		{
			name: "empty name", form: url.Values{"name": {"   "}}, path: "/accounts", setup: confirmedUser,
			wantStatus: http.StatusUnprocessableEntity, wantContains: []string{"<html", fieldError("Enter a name for the account.")},
		},
		{
			name: "too long with htmx", form: url.Values{"name": {tooLong}}, path: "/accounts", htmx: true, setup: confirmedUser,
			wantStatus: http.StatusUnprocessableEntity, wantContains: []string{`id="account-form"`, fieldError("Use at most 100 characters.")},
		},
		{
			name: "line break", form: url.Values{"name": {"Acme\nBcc"}}, path: "/accounts", setup: confirmedUser,
			wantStatus: http.StatusUnprocessableEntity, wantContains: []string{fieldError("Use a name without line breaks or tabs.")},
		},
		{
			name: "unconfirmed email: the page says so, with the resend button", path: "/accounts/new", setup: signedUp, wantStatus: http.StatusOK,
			wantContains:    []string{html.EscapeString(views.RuleText(db.ErrUnconfirmedEmail)), `action="/profile/verify-email"`, "Send the verification link again"},
			wantNotContains: []string{`action="/accounts"`},
		},
		{
			name: "unconfirmed email: post refused", form: url.Values{"name": {"Acme"}}, path: "/accounts", setup: signedUp,
			wantStatus: http.StatusForbidden, wantContains: []string{html.EscapeString(views.RuleText(db.ErrUnconfirmedEmail)), `action="/profile/verify-email"`},
			after: func(t *testing.T, s *state, _ *response) {
				if body := s.c.get("/profile").body; strings.Contains(body, ">Acme</a>") {
					t.Error("GET /profile after the refusal: the account Acme was created")
				}
			},
		},
		{
			name: "unconfirmed email: htmx post refused", form: url.Values{"name": {"Acme"}}, path: "/accounts", htmx: true, setup: signedUp,
			wantStatus: http.StatusForbidden, wantContains: []string{html.EscapeString(views.RuleText(db.ErrUnconfirmedEmail))}, wantNotContains: []string{"<html"},
		},
		{
			name: "logged out", form: url.Values{"name": {"Acme"}}, path: "/accounts",
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/login?next=%2Fprofile"},
		},
	})
}

func TestAccountPageAndMembership(t *testing.T) {
	t.Parallel()
	stranger := func(t *testing.T, s *state) {
		withAcme(db.RoleNormal)(t, s)
		s.c = s.app.client(t)
		s.c.adopt(s.app.seedUser(t, "Eve", "eve@example.com", annPassword).ID)
	}
	runScenarios(t, []scenario{
		{
			name: "member sees the account", path: "/accounts/{id}", setup: asBob(db.RoleReadOnly), wantStatus: http.StatusOK,
			wantContains:    []string{"<h1>Acme</h1>", "Owner: " + annName, "Your role: Read-Only", bobEmail, `Admin <mark class="owner">Owner</mark>`},
			wantNotContains: []string{"/manage"},
		},
		{name: "non-member gets 404", path: "/accounts/{id}", setup: stranger, wantStatus: http.StatusNotFound},
		{name: "non-member cannot leave", form: url.Values{}, path: "/accounts/{id}/leave", setup: stranger, wantStatus: http.StatusNotFound},
		{name: "bad id", path: "/accounts/x1", setup: signedUp, wantStatus: http.StatusNotFound},
		{name: "no such account", path: "/accounts/999", setup: signedUp, wantStatus: http.StatusNotFound},
		{name: "Normal member cannot manage", path: "/accounts/{id}/manage", setup: asBob(db.RoleNormal), wantStatus: http.StatusForbidden},
		{
			name: "Read-Only member cannot post to the console", form: url.Values{"name": {"Mine"}}, path: "/accounts/{id}/settings",
			setup: asBob(db.RoleReadOnly), wantStatus: http.StatusForbidden,
		},
		{
			name: "Admin who is not the owner cannot delete", form: url.Values{"confirm_name": {"Acme"}}, path: "/accounts/{id}/delete",
			setup: asBob(db.RoleAdmin), wantStatus: http.StatusForbidden,
		},
		{
			name: "Admin who is not the owner cannot transfer", form: url.Values{"user_id": {"x"}}, path: "/accounts/{id}/owner",
			setup: asBob(db.RoleAdmin), wantStatus: http.StatusForbidden,
		},
	})
}

func TestMyAccountsLeave(t *testing.T) {
	t.Parallel()
	gone := func(t *testing.T, s *state, _ *response) {
		if body := s.c.get("/profile").body; strings.Contains(body, ">Acme</a>") {
			t.Errorf("GET /profile after leaving: Acme still listed")
		}
		if res := s.c.get("/accounts/" + s.vars["id"]); res.status != http.StatusNotFound {
			t.Errorf("GET the account after leaving: got %d, want 404", res.status)
		}
	}
	runScenarios(t, []scenario{
		{
			name: "the row explains Leave", path: "/profile", setup: asBob(db.RoleNormal), wantStatus: http.StatusOK,
			wantContains: []string{
				`<a href="/accounts/{id}">Acme</a>`, `<td data-label="Your role">Normal</td>`, "<summary role=\"button\" class=\"secondary outline\">Leave</summary>",
				"you need a new invite to come back", `action="/accounts/{id}/leave"`,
			},
			wantNotContains: []string{"/accounts/{id}/manage", `mark class="owner"`},
		},
		{
			name: "the owner is told to transfer first", path: "/profile", setup: withAcme(db.RoleNormal), wantStatus: http.StatusOK,
			wantContains:    []string{"Transfer ownership to another Admin", `href="/accounts/{id}/manage"`},
			wantNotContains: []string{`action="/accounts/{id}/leave"`},
		},
		{
			name: "leave with htmx removes the row", form: url.Values{}, path: "/accounts/{id}/leave", htmx: true, setup: asBob(db.RoleNormal),
			wantStatus:      http.StatusOK,
			wantContains:    []string{`<section id="my-accounts">`, "You left Acme. You need a new invite to come back."},
			wantNotContains: []string{">Acme</a>", `id="sessions"`},
			after:           gone,
		},
		{
			name: "leave without JavaScript", form: url.Values{}, path: "/accounts/{id}/leave", setup: asBob(db.RoleReadOnly),
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"},
			wantFlash: "You left Acme. You need a new invite to come back.", after: gone,
		},
		{
			name: "the owner cannot leave", form: url.Values{}, path: "/accounts/{id}/leave", htmx: true, setup: withAcme(db.RoleAdmin),
			wantStatus: http.StatusConflict, wantContains: []string{`<section id="my-accounts">`, formError(views.RuleText(db.ErrOwnerStays))},
		},
		{
			name: "the owner cannot leave, plain", form: url.Values{}, path: "/accounts/{id}/leave", setup: withAcme(db.RoleAdmin),
			wantStatus: http.StatusConflict, wantContains: []string{"<html", formError(views.RuleText(db.ErrOwnerStays))},
		},
	})
}

func TestInvitesOnProfile(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{
			name: "badge and box", path: "/profile", setup: withInvite(false), wantStatus: http.StatusOK,
			wantContains: []string{
				menuBadge(1), `<td data-label="Account">Acme</td>`, `<td data-label="Role">Normal</td>`, `<td data-label="Invited by">` + annName + "</td>",
				`action="/invites/{invite}/accept"`, `action="/invites/{invite}/ignore"`,
			},
		},
		{
			name: "badge on other pages too", path: "/profile/activity", setup: withInvite(false), wantStatus: http.StatusOK,
			wantContains: []string{menuBadge(1)},
		},
		{
			name: "no invites", path: "/profile", setup: signedUp, wantStatus: http.StatusOK,
			wantContains: []string{menuBadge(0), "No pending invites."},
		},
		{
			name: "an unverified email sees no invite yet", path: "/profile", setup: withInvite(true), wantStatus: http.StatusOK,
			wantContains: []string{menuBadge(0), "No pending invites.", "once you confirm that address"},
		},
		{
			name: "accept one of two with htmx leaves 1 on the badge", form: url.Values{}, path: "/invites/{invite}/accept", htmx: true,
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				ann, _ := s.app.store.UserByEmail(context.Background(), annEmail)
				s.app.seedInvite(t, s.app.seedAccount(t, ann, "Globex"), ann, bobEmail, db.RoleReadOnly)
			},
			wantStatus:   http.StatusOK,
			wantContains: []string{"You joined Acme as Normal.", `<td data-label="Account">Globex</td>`, oobBadge(1)},
		},
		{
			name: "accept with htmx swaps the box, the badge and My Accounts", form: url.Values{}, path: "/invites/{invite}/accept", htmx: true,
			setup: withInvite(false), wantStatus: http.StatusOK,
			wantContains: []string{
				`<section id="account-invites">`, "You joined Acme as Normal.", "No pending invites.",
				oobBadge(0),
				`<section id="my-accounts" hx-swap-oob="true">`, `<a href="/accounts/{id}">Acme</a>`,
			},
			after: func(t *testing.T, s *state, _ *response) {
				if res := s.c.get("/accounts/" + s.vars["id"]); res.status != http.StatusOK {
					t.Errorf("GET the account after accepting: got %d, want 200", res.status)
				}
			},
		},
		{
			name: "accept without JavaScript", form: url.Values{}, path: "/invites/{invite}/accept", setup: withInvite(false),
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"}, wantFlash: "You joined Acme as Normal.",
		},
		{
			name: "accept from the invite page goes to the account", form: url.Values{"next": {"/accounts/{id}"}}, path: "/invites/{invite}/accept",
			setup: withInvite(false), wantStatus: http.StatusSeeOther,
			after: func(t *testing.T, s *state, res *response) {
				if got, want := res.header.Get("Location"), "/accounts/"+s.vars["id"]; got != want {
					t.Errorf("got Location %q, want %q", got, want)
				}
			},
		},
		{
			name: "ignore with htmx", form: url.Values{}, path: "/invites/{invite}/ignore", htmx: true, setup: withInvite(false),
			wantStatus: http.StatusOK,
			wantContains: []string{
				"You ignored the invite.", "No pending invites.", oobBadge(0),
				"You are not a member of any account yet.",
			},
		},
		{
			name: "accept for an unverified email", form: url.Values{}, path: "/invites/{invite}/accept", htmx: true, setup: withInvite(true),
			wantStatus: http.StatusConflict, wantContains: []string{formError(views.RuleText(db.ErrInviteWrongEmail))},
		},
		{
			name: "accept someone else's invite", form: url.Values{}, path: "/invites/{invite}/accept",
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				s.c = s.app.client(t)
				s.c.adopt(s.app.verify(t, s.app.seedUser(t, "Eve", "eve@example.com", annPassword)).ID)
			},
			wantStatus: http.StatusConflict, wantContains: []string{"<html", formError(views.RuleText(db.ErrInviteWrongEmail))},
		},
		{
			name: "accept twice", form: url.Values{}, path: "/invites/{invite}/accept", htmx: true,
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				if res := s.c.postForm("/invites/"+s.vars["invite"]+"/accept", nil); res.status != http.StatusSeeOther {
					t.Fatalf("first accept: got %d, want 303", res.status)
				}
			},
			wantStatus: http.StatusConflict, wantContains: []string{formError(views.RuleText(db.ErrInviteGone))},
		},
		{name: "no such invite", form: url.Values{}, path: "/invites/999/accept", setup: withInvite(false), wantStatus: http.StatusNotFound},
	})
}

func TestInvitePage(t *testing.T) {
	t.Parallel()
	signedOut := func(t *testing.T, s *state) {
		withInvite(false)(t, s)
		s.c = s.app.client(t)
	}
	runScenarios(t, []scenario{
		{
			name: "logged out", path: "/invites/{token}", setup: signedOut, wantStatus: http.StatusOK,
			wantContains: []string{
				annName + " invited " + bobEmail + " to the account Acme as Normal",
				`href="/login?next=/invites/{token}"`, `href="/signup?next=/invites/{token}"`,
			},
		},
		{
			name: "the invited, verified user", path: "/invites/{token}", setup: withInvite(false), wantStatus: http.StatusOK,
			wantContains: []string{`action="/invites/{invite}/accept"`, `action="/invites/{invite}/ignore"`, `name="next" value="/accounts/{id}"`},
		},
		{
			name: "unverified email", path: "/invites/{token}", setup: withInvite(true), wantStatus: http.StatusOK,
			wantContains:    []string{"Confirm your email first", `action="/profile/verify-email"`},
			wantNotContains: []string{"/accept"},
		},
		{
			name: "someone else", path: "/invites/{token}",
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				s.c = s.app.client(t)
				s.c.adopt(s.app.verify(t, s.app.seedUser(t, "Eve", "eve@example.com", annPassword)).ID)
			},
			wantStatus:   http.StatusOK,
			wantContains: []string{"this invite is for " + bobEmail, `action="/logout"`, `name="next" value="/invites/{token}"`, "Log in as someone else"},
			after: func(t *testing.T, s *state, _ *response) {
				res := s.c.postForm("/logout", url.Values{"next": {"/invites/" + s.vars["token"]}})
				if got, want := res.header.Get("Location"), "/login?next="+url.QueryEscape("/invites/"+s.vars["token"]); got != want {
					t.Errorf("log in as someone else: got Location %q, want %q", got, want)
				}
			},
		},
		{
			name: "revoked", path: "/invites/{token}",
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				id, _ := strconv.ParseInt(s.vars["id"], 10, 64)
				iid, _ := strconv.ParseInt(s.vars["invite"], 10, 64)
				acc, _ := s.app.store.UserByEmail(context.Background(), annEmail)
				if err := s.app.store.RevokeInvite(context.Background(), id, acc.ID, iid, db.Event{Kind: db.EventInviteRevoked}); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: http.StatusGone, wantContains: []string{"has expired, or was already used, ignored or revoked"},
		},
		{
			name: "opened again after accepting", path: "/invites/{token}",
			setup: func(t *testing.T, s *state) {
				withInvite(false)(t, s)
				iid, _ := strconv.ParseInt(s.vars["invite"], 10, 64)
				bob, _ := s.app.store.UserByEmail(context.Background(), bobEmail)
				if _, err := s.app.store.AcceptInvite(context.Background(), iid, bob.ID, db.Event{Kind: db.EventInviteAccepted}); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: http.StatusOK, wantContains: []string{"You are already a member of Acme"},
		},
		{name: "unknown", path: "/invites/nonsense", wantStatus: http.StatusNotFound, wantContains: []string{"There is no invite at this address"}},
	})
}

// TestInviteOnlySignup: with ROSTER_SIGNUP=invite, an invite link opens
// sign-up for its address only.
func TestInviteOnlySignup(t *testing.T) {
	t.Parallel()
	inviteOnly := func(ac *appConfig) { ac.Signup = handlers.SignupInvite }
	setup := func(t *testing.T, s *state) {
		ann := s.app.verify(t, s.app.seedUser(t, annName, annEmail, annPassword))
		_, token := s.app.seedInvite(t, s.app.seedAccount(t, ann, "Acme"), ann, "new@example.com", db.RoleReadOnly)
		s.vars["token"] = token
	}
	signup := func(email, next string) url.Values {
		return url.Values{"name": {"Newcomer"}, "email": {email}, "password": {newPassword}, "next": {next}}
	}
	runScenarios(t, []scenario{
		{
			name: "the form from an invite link", path: "/signup?next=/invites/{token}", config: inviteOnly, setup: setup,
			wantStatus: http.StatusOK, wantContains: []string{`id="signup-form"`, `value="new@example.com"`},
		},
		{
			name: "no form without one", path: "/signup", config: inviteOnly, setup: setup,
			wantStatus: http.StatusOK, wantContains: []string{"by invitation only"}, wantNotContains: []string{`id="signup-form"`},
		},
		{
			name: "sign up as the invited address", form: signup("NEW@example.com", "/invites/{token}"), path: "/signup", config: inviteOnly, setup: setup,
			wantStatus: http.StatusSeeOther,
			after: func(t *testing.T, s *state, res *response) {
				if got, want := res.header.Get("Location"), "/invites/"+s.vars["token"]; got != want {
					t.Errorf("got Location %q, want %q", got, want)
				}
				if body := s.c.get("/invites/" + s.vars["token"]).body; !strings.Contains(body, "Confirm your email first") {
					t.Errorf("the invite page after sign-up does not ask to confirm the email")
				}
			},
		},
		{
			name: "another address", form: signup("other@example.com", "/invites/{token}"), path: "/signup", config: inviteOnly, setup: setup,
			wantStatus: http.StatusUnprocessableEntity, wantContains: []string{fieldError("Your invite is for new@example.com. Sign up with that address.")},
		},
		{
			name: "without an invite", form: signup("new@example.com", "/profile"), path: "/signup", config: inviteOnly, setup: setup,
			wantStatus: http.StatusForbidden,
		},
		{
			name: "closed stays closed", form: signup("new@example.com", "/invites/{token}"), path: "/signup", setup: setup,
			config: func(ac *appConfig) { ac.Signup = handlers.SignupClosed }, wantStatus: http.StatusForbidden,
		},
	})
}

func TestManageConsole(t *testing.T) {
	t.Parallel()
	withPending := func(t *testing.T, s *state) {
		withAcme(db.RoleNormal)(t, s)
		ann, _ := s.app.store.UserByEmail(context.Background(), annEmail)
		id, _ := strconv.ParseInt(s.vars["id"], 10, 64)
		inv, _ := s.app.seedInvite(t, db.Account{ID: id, Name: "Acme"}, ann, "carol@example.com", db.RoleReadOnly)
		s.vars["invite"] = strconv.FormatInt(inv.ID, 10)
	}
	// unconfirmedAdmin is withPending with Ann's email no longer confirmed,
	// as for an owner from before the rule: written around the store, which
	// never unconfirms an address.
	unconfirmedAdmin := func(t *testing.T, s *state) {
		withPending(t, s)
		err := s.app.store.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`UPDATE users SET email_verified_at = NULL WHERE email = ?`, annEmail)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	unconfirmed := html.EscapeString(views.RuleText(db.ErrUnconfirmedEmail))
	runScenarios(t, []scenario{
		{
			name: "unconfirmed Admin: the console says so, with the resend button", path: "/accounts/{id}/manage", setup: unconfirmedAdmin,
			wantStatus: http.StatusOK, wantContains: []string{`<section id="invite">`, unconfirmed, `action="/profile/verify-email"`},
		},
		{
			name: "unconfirmed Admin cannot invite", form: url.Values{"email": {"dave@example.com"}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites",
			htmx: true, setup: unconfirmedAdmin, wantStatus: http.StatusForbidden,
			wantContains: []string{`<section id="invite">`, unconfirmed, `action="/profile/verify-email"`}, wantNotContains: []string{"An invite is on its way"},
			after: func(t *testing.T, s *state, _ *response) {
				if body := s.c.get("/accounts/" + s.vars["id"] + "/manage").body; strings.Contains(body, "dave@example.com") {
					t.Error("the console lists an invite to dave@example.com after the refusal")
				}
			},
		},
		{
			name: "unconfirmed Admin cannot invite without JavaScript", form: url.Values{"email": {"dave@example.com"}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites",
			setup: unconfirmedAdmin, wantStatus: http.StatusForbidden, wantContains: []string{"<html", unconfirmed},
		},
		{
			name: "unconfirmed Admin cannot resend", form: url.Values{}, path: "/accounts/{id}/invites/{invite}/resend", htmx: true, setup: unconfirmedAdmin,
			wantStatus: http.StatusForbidden, wantContains: []string{`<section id="invites">`, formError(views.RuleText(db.ErrUnconfirmedEmail))},
			wantNotContains: []string{"A new link is on its way"},
		},
		{
			name: "the owner's console", path: "/accounts/{id}/manage", setup: withAcme(db.RoleAdmin), wantStatus: http.StatusOK,
			wantContains: []string{
				`<section id="members">`, `<section id="invite">`, `<section id="invites">`, `<section id="settings">`,
				`<section id="owner">`, `<section id="danger">`, `action="/accounts/{id}/members/{bob}/role"`,
				`action="/accounts/{id}/members/{bob}/remove"`, `<option value="{bob}">` + bobName,
			},
			wantNotContains: []string{`action="/accounts/{id}/members/{ann}/role"`, `action="/accounts/{id}/members/{ann}/remove"`},
		},
		{
			name: "another Admin's console has no owner sections", path: "/accounts/{id}/manage", setup: asBob(db.RoleAdmin), wantStatus: http.StatusOK,
			wantContains: []string{`<section id="members">`}, wantNotContains: []string{`<section id="owner">`, `<section id="danger">`},
		},
		{
			name: "change a role with htmx", form: url.Values{"role": {db.RoleAdmin}}, path: "/accounts/{id}/members/{bob}/role", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusOK,
			wantContains: []string{`<section id="members">`, bobName + " is now Admin.", `<section id="owner" hx-swap-oob="true">`, `<option value="{bob}">`},
			after: func(t *testing.T, s *state, _ *response) {
				bob := s.app.client(t)
				bob.login(bobEmail, bobPassword)
				for _, log := range []struct {
					c    *client
					want string
				}{{bob, "Your role in Acme was changed to Admin"}, {s.c, "Changed the role of " + bobName + " in Acme to Admin"}} {
					if what, _ := activity(t, log.c); !slices.Contains(what, log.want) {
						t.Errorf("activity: got %q, want %q in it", what, log.want)
					}
				}
			},
		},
		{
			name: "change a role without JavaScript", form: url.Values{"role": {db.RoleReadOnly}}, path: "/accounts/{id}/members/{bob}/role",
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusSeeOther, wantFlash: bobName + " is now Read-Only.",
		},
		{
			name: "an invalid role", form: url.Values{"role": {"root"}}, path: "/accounts/{id}/members/{bob}/role", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusUnprocessableEntity, wantContains: []string{formError("Choose Admin, Normal or Read-Only.")},
		},
		{
			name: "the owner stays an Admin", form: url.Values{"role": {db.RoleNormal}}, path: "/accounts/{id}/members/{ann}/role", htmx: true,
			setup: asBob(db.RoleAdmin), wantStatus: http.StatusConflict, wantContains: []string{`<section id="members">`, formError(views.RuleText(db.ErrOwnerStays))},
		},
		{
			name: "the owner cannot be removed, plain", form: url.Values{}, path: "/accounts/{id}/members/{ann}/remove",
			setup: asBob(db.RoleAdmin), wantStatus: http.StatusConflict, wantContains: []string{"<html", formError(views.RuleText(db.ErrOwnerStays))},
		},
		{
			name: "an Admin who demotes themselves leaves the console", form: url.Values{"role": {db.RoleNormal}}, path: "/accounts/{id}/members/{bob}/role",
			htmx: true, setup: asBob(db.RoleAdmin), wantStatus: http.StatusNoContent, wantHeader: map[string]string{"HX-Redirect": "/accounts/{id}"},
			wantFlash: "You are now Normal in Acme.",
		},
		{
			name: "remove a member", form: url.Values{}, path: "/accounts/{id}/members/{bob}/remove", htmx: true,
			setup: withAcme(db.RoleReadOnly), wantStatus: http.StatusOK,
			wantContains: []string{bobName + " is removed from Acme."}, wantNotContains: []string{bobEmail},
		},
		{
			name: "remove a non-member", form: url.Values{}, path: "/accounts/{id}/members/999/remove",
			setup: withAcme(db.RoleReadOnly), wantStatus: http.StatusNotFound,
		},
		{
			name: "invite with htmx", form: url.Values{"email": {"carol@example.com"}, "role": {db.RoleReadOnly}}, path: "/accounts/{id}/invites", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusOK,
			wantContains: []string{`<section id="invite">`, "An invite is on its way to carol@example.com.", `<section id="invites" hx-swap-oob="true">`, `<td data-label="Email">carol@example.com</td>`},
			after: func(t *testing.T, s *state, _ *response) {
				msg := s.app.mail.waitFor(t, "carol@example.com", "You are invited to join Acme")
				token := strings.TrimPrefix(link(t, msg, "http://roster.test/invites/"), "http://roster.test/invites/")
				if page := s.app.client(t).get("/invites/" + token); page.status != http.StatusOK || !strings.Contains(page.body, "Join Acme") {
					t.Errorf("GET the mailed link: got %d, want 200 with the invite", page.status)
				}
			},
		},
		{
			name: "invite without JavaScript", form: url.Values{"email": {"carol@example.com"}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites",
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusSeeOther, wantFlash: "An invite is on its way to carol@example.com.",
		},
		{
			name: "invite a bad address", form: url.Values{"email": {"carol"}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusUnprocessableEntity,
			wantContains: []string{fieldError("Enter an email address such as ann@example.com."), `value="carol"`},
		},
		{
			name: "invite a member", form: url.Values{"email": {bobEmail}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusConflict, wantContains: []string{formError(views.RuleText(db.ErrAlreadyMember))},
		},
		{
			name: "invite twice", form: url.Values{"email": {"carol@example.com"}, "role": {db.RoleNormal}}, path: "/accounts/{id}/invites",
			setup: withPending, wantStatus: http.StatusConflict, wantContains: []string{"<html", formError(views.RuleText(db.ErrInvitePending))},
		},
		{
			name: "resend", form: url.Values{}, path: "/accounts/{id}/invites/{invite}/resend", htmx: true, setup: withPending,
			wantStatus: http.StatusOK, wantContains: []string{`<section id="invites">`, "A new link is on its way to carol@example.com."},
			after: func(t *testing.T, s *state, _ *response) {
				s.app.mail.waitFor(t, "carol@example.com", "You are invited to join Acme")
			},
		},
		{
			name: "revoke, then revoke again", form: url.Values{}, path: "/accounts/{id}/invites/{invite}/revoke", htmx: true, setup: withPending,
			wantStatus: http.StatusOK, wantContains: []string{"The invite is revoked", "No pending invites."},
			after: func(t *testing.T, s *state, _ *response) {
				res := s.c.postHTMX("/accounts/"+s.vars["id"]+"/invites/"+s.vars["invite"]+"/revoke", nil)
				if res.status != http.StatusConflict || !strings.Contains(res.body, formError(views.RuleText(db.ErrInviteGone))) {
					t.Errorf("revoke again: got %d, want 409 with %q", res.status, views.RuleText(db.ErrInviteGone))
				}
			},
		},
		{
			name: "rename", form: url.Values{"name": {"Acme Corp"}}, path: "/accounts/{id}/settings", htmx: true, setup: withAcme(db.RoleNormal),
			wantStatus: http.StatusOK,
			wantContains: []string{
				"The account is renamed to Acme Corp.", `<hgroup id="account-heading" hx-swap-oob="true">`, "Manage Acme Corp",
				`<section id="danger" hx-swap-oob="true">`, "<strong>Acme Corp</strong>",
			},
		},
		{
			name: "rename to nothing", form: url.Values{"name": {""}}, path: "/accounts/{id}/settings", setup: withAcme(db.RoleNormal),
			wantStatus: http.StatusUnprocessableEntity, wantContains: []string{"<html", fieldError("Enter a name for the account.")},
		},
		{
			name: "transfer to a non-Admin", form: url.Values{"user_id": {"{bob}"}}, path: "/accounts/{id}/owner", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusConflict, wantContains: []string{formError(views.RuleText(db.ErrTransferToAdmin))},
		},
		{
			name: "transfer", form: url.Values{"user_id": {"{bob}"}}, path: "/accounts/{id}/owner", setup: withAcme(db.RoleAdmin),
			wantStatus: http.StatusSeeOther, wantFlash: bobName + " now owns Acme. You stay an Admin.",
			after: func(t *testing.T, s *state, _ *response) {
				if body := s.c.get("/accounts/" + s.vars["id"] + "/manage").body; strings.Contains(body, `<section id="danger">`) {
					t.Errorf("the former owner still sees #danger")
				}
			},
		},
		{
			name: "delete with the wrong name", form: url.Values{"confirm_name": {"acme"}}, path: "/accounts/{id}/delete", htmx: true,
			setup: withAcme(db.RoleNormal), wantStatus: http.StatusUnprocessableEntity,
			wantContains: []string{`<section id="danger">`, fieldError("Type the account name, Acme, exactly as shown.")},
		},
		{
			name: "delete", form: url.Values{"confirm_name": {"Acme"}}, path: "/accounts/{id}/delete", setup: withAcme(db.RoleNormal),
			wantStatus: http.StatusSeeOther, wantHeader: map[string]string{"Location": "/profile"}, wantFlash: "The account Acme is deleted.",
			after: func(t *testing.T, s *state, _ *response) {
				if res := s.c.get("/accounts/" + s.vars["id"]); res.status != http.StatusNotFound {
					t.Errorf("GET the deleted account: got %d, want 404", res.status)
				}
				bob := s.app.client(t)
				bob.login(bobEmail, bobPassword)
				if what, _ := activity(t, bob); !strings.Contains(strings.Join(what, "\n"), "The account Acme was deleted by its owner") {
					t.Errorf("Bob's activity: got %q, want the deletion", what)
				}
			},
		},
	})
}
