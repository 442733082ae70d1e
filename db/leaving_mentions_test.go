package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
)

// TestDeleteUserTouchesOnlyItsMentions: a person who deletes their profile
// takes their name and address out of the entries of others that point at
// them (an Admin's invite, role change, removal, the card that stopped
// paying) and out of nothing else, whatever they named themselves: a
// name that is a JSON key or value of other entries ("method",
// "password"), or JSON punctuation, leaves every other entry of every user
// and account byte for byte as it was.
func TestDeleteUserTouchesOnlyItsMentions(t *testing.T) {
	for _, name := range []string{"method", "password", `"`, `}`, `{"method":"password"}`, "Acme", "member"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) { deleteAndCompare(t, name) })
	}
}

func deleteAndCompare(t *testing.T, name string) {
	ctx := context.Background()
	s := openTest(t)
	user := func(email, name string) User {
		u, err := s.CreateUser(ctx, NewUser{Email: email, Name: name, PasswordHash: "h", Verified: true}, Event{Kind: EventSignUp})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ann := user("ann@example.com", "Ann")
	bob := user("bob@example.com", name) // someone else of the same name
	mal := user("mallory@example.net", name)
	acc, err := s.CreateAccount(ctx, ann.ID, "Acme", Event{Kind: EventAccountCreated})
	must(err)
	join := func(u User, role string) {
		inv, err := s.CreateInvite(ctx, acc.ID, ann.ID, u.Email, role, []byte("hash-"+u.Email), nil, Event{Kind: EventInviteSent})
		must(err)
		_, err = s.AcceptInvite(ctx, inv.ID, u.ID, Event{Kind: EventInviteAccepted, Detail: map[string]any{"member": u.ID, "email": u.Email}})
		must(err)
	}
	join(bob, RoleNormal)
	join(mal, RoleNormal)
	_, err = s.CreateInvite(ctx, acc.ID, ann.ID, "carol@example.com", RoleNormal, []byte("hash-carol"), nil, Event{Kind: EventInviteSent})
	must(err)
	// Entries of others that hold the name as a key or a value.
	must(s.AddEvent(ctx, Event{Kind: EventSignIn, UserID: ann.ID, Detail: map[string]any{"method": "password", name: name}}))
	must(s.AddEvent(ctx, Event{Kind: EventProfileUpdated, UserID: bob.ID, Detail: map[string]any{"name": name}}))
	must(s.SetRole(ctx, acc.ID, ann.ID, bob.ID, RoleAdmin, Event{Kind: EventRoleChanged, Detail: map[string]any{"member_name": name}}))
	must(s.SetRole(ctx, acc.ID, ann.ID, mal.ID, RoleAdmin, Event{Kind: EventRoleChanged, Detail: map[string]any{"member_name": name}}))
	card, err := s.AddCard(ctx, mal.ID, NewCard{StripeID: "pm_1", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2099, Fingerprint: "fp"}, Event{Kind: EventCardAdded})
	must(err)
	must(s.SetAccountBilling(ctx, acc.ID, mal.ID, card.ID, Event{Kind: EventBillingSet}))
	must(s.RemoveMember(ctx, acc.ID, ann.ID, mal.ID, Event{Kind: EventMemberRemoved, Detail: map[string]any{"member_name": name}}))

	before := auditRows(t, s)
	if _, err := s.DeleteUser(ctx, mal.ID); err != nil {
		t.Fatal(err)
	}
	after := auditRows(t, s)
	if len(after) != len(before) {
		t.Fatalf("audit entries: %d, want the %d there were", len(after), len(before))
	}
	mentions := map[string]int{}
	for id, b := range before {
		a := after[id]
		switch {
		case b.user == mal.ID:
			if a.user != 0 || a.detail != "{}" || a.ip != "" || a.agent != "" {
				t.Errorf("Mallory's own entry %d: %+v, want no user, address, device or detail", id, a)
			}
		case b.mentions(mal):
			mentions[b.kind]++
			if a.user != b.user || a.account != b.account || a.kind != b.kind || a.ip != b.ip || a.agent != b.agent || a.at != b.at {
				t.Errorf("entry %d: %+v, want only its detail changed from %+v", id, a, b)
			}
			bd, ad := b.decode(t), a.decode(t)
			for _, f := range []string{"member_name", "email", "card_owner"} {
				if _, ok := bd[f]; ok {
					if ad[f] != DeletedPerson {
						t.Errorf("entry %d %s: %s %v, want %q", id, b.kind, f, ad[f], DeletedPerson)
					}
					bd[f], ad[f] = nil, nil
				}
			}
			if fmt.Sprint(bd) != fmt.Sprint(ad) {
				t.Errorf("entry %d %s: other fields changed: %s -> %s", id, b.kind, b.detail, a.detail)
			}
		default:
			if a != b {
				t.Errorf("entry %d of user %d (%s) changed:\n%s\n%s", id, b.user, b.kind, b.detail, a.detail)
			}
		}
	}
	// Ann and Bob are the Admins told of the card.
	want := map[string]int{EventInviteSent: 1, EventInviteAccepted: 1, EventRoleChanged: 1, EventBillingCleared: 2, EventMemberRemoved: 1}
	if fmt.Sprint(mentions) != fmt.Sprint(want) {
		t.Errorf("entries of others naming Mallory: %v, want %v", mentions, want)
	}
}

type auditRow struct {
	user, account           int64
	kind, detail, ip, agent string
	at                      int64
}

func (r auditRow) decode(t *testing.T) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(r.detail), &d); err != nil {
		t.Fatalf("detail %s: %v", r.detail, err)
	}
	return d
}

// mentions reports whether the entry names u: by id in the fields that
// hold a person's id, or an invite to u's address.
func (r auditRow) mentions(u User) bool {
	var d struct {
		Member      *int64  `json:"member"`
		CardOwnerID *int64  `json:"card_owner_id"`
		Email       *string `json:"email"`
	}
	json.Unmarshal([]byte(r.detail), &d)
	switch {
	case d.Member != nil && *d.Member == u.ID, d.CardOwnerID != nil && *d.CardOwnerID == u.ID:
		return true
	}
	return r.kind == EventInviteSent && d.Email != nil && *d.Email == u.Email
}

func auditRows(t *testing.T, s *Store) map[int64]auditRow {
	t.Helper()
	rows, err := s.r.Query(`SELECT id, COALESCE(user_id, 0), COALESCE(account_id, 0), kind, detail_json, ip, user_agent, created_at FROM audit_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int64]auditRow{}
	for rows.Next() {
		var id int64
		var r auditRow
		if err := rows.Scan(&id, &r.user, &r.account, &r.kind, &r.detail, &r.ip, &r.agent, &r.at); err != nil {
			t.Fatal(err)
		}
		m[id] = r
	}
	if err := rows.Err(); err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return m
}
