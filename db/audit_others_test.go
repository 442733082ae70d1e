package db

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestOthersEntriesKeepNoIPOrDevice walks every way an entry reaches the
// log of someone who did not do it: an invite accepted (the inviter's
// log), a role changed and a member removed by an Admin, ownership
// transferred, a SAML connection deleted with the logins through it, an
// account deleted (every member's log). Each such entry keeps no IP
// address or device of the person who acted, is marked by_other, and the
// export leaves them out; the actor's own entry keeps theirs. Found by the
// third review (TestReview3ActivityShowsOthersDevice).
func TestOthersEntriesKeepNoIPOrDevice(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "owner@example.com")
	admin := verifiedUser(t, s, "admin@example.com")
	member := verifiedUser(t, s, "member@example.com")
	gone := verifiedUser(t, s, "gone@example.com")
	guest := verifiedUser(t, s, "guest@example.com")
	a := accountWith(t, s, owner, map[int64]string{admin.ID: RoleAdmin, member.ID: RoleNormal, gone.ID: RoleNormal})
	// Each person's requests come from their own address and device.
	by := func(u User, kind string) Event {
		return Event{Kind: kind, IP: fmt.Sprintf("192.0.2.%d", u.ID), UserAgent: fmt.Sprintf("Device-of-%d", u.ID)}
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	inv, err := s.CreateInvite(ctx, a.ID, owner.ID, guest.Email, RoleNormal, []byte("t"), nil, by(owner, EventInviteSent))
	must("invite", err)
	ev := by(guest, EventInviteAccepted)
	ev.Detail = map[string]any{"member": guest.ID, "email": guest.Email}
	_, err = s.AcceptInvite(ctx, inv.ID, guest.ID, ev)
	must("accept", err)
	must("role", s.SetRole(ctx, a.ID, admin.ID, member.ID, RoleReadOnly, by(admin, EventRoleChanged)))
	must("remove", s.RemoveMember(ctx, a.ID, admin.ID, gone.ID, by(admin, EventMemberRemoved)))
	must("transfer", s.TransferOwnership(ctx, a.ID, owner.ID, admin.ID, by(owner, EventOwnerTransferred)))
	// Logins through a SAML connection, the deleting Admin's own among
	// them; then a second connection that goes with the account.
	conn, err := s.CreateSAMLConnection(ctx, a.ID, admin.ID, NewSAMLConnection{Name: "Okta"}, by(admin, EventSAMLConnectionAdded))
	must("connection", err)
	other, err := s.CreateSAMLConnection(ctx, a.ID, admin.ID, NewSAMLConnection{Name: "Entra"}, by(admin, EventSAMLConnectionAdded))
	must("connection", err)
	for i, u := range []User{member, admin, owner} {
		for _, c := range []SAMLConnection{conn, other} {
			_, err := s.w.ExecContext(ctx, `INSERT INTO identities (user_id, provider, subject, created_at, last_used_at) VALUES (?, ?, ?, 0, 0)`,
				u.ID, SAMLProvider(c.ID), fmt.Sprintf("s%d-%d", i, c.ID))
			must("login", err)
		}
	}
	_, err = s.DeleteSAMLConnection(ctx, a.ID, admin.ID, conn.ID, by(admin, EventSAMLConnectionDeleted))
	must("delete connection", err)
	must("delete account", s.DeleteAccount(ctx, a.ID, admin.ID, by(admin, EventAccountDeleted)))

	// Every entry with an IP address and device has its own person's.
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, kind, ip, user_agent, by_other FROM audit_events WHERE user_id IS NOT NULL ORDER BY id`)
	type entry struct {
		user         int64
		kind, ip, ua string
		byOther      bool
	}
	list, err := collect(rows, err, func(r rowScanner) (entry, error) {
		var e entry
		return e, r.Scan(&e.user, &e.kind, &e.ip, &e.ua, &e.byOther)
	})
	must("entries", err)
	others := map[string]int{}
	for _, e := range list {
		mine := by(User{ID: e.user}, e.kind)
		switch {
		case e.byOther:
			others[e.kind]++
			if e.ip != "" || e.ua != "" {
				t.Errorf("user %d's %s entry, by someone else, keeps %q %q", e.user, e.kind, e.ip, e.ua)
			}
		case e.ip != "" && (e.ip != mine.IP || e.ua != mine.UserAgent):
			t.Errorf("user %d's %s entry keeps someone else's address and device %q %q", e.user, e.kind, e.ip, e.ua)
		}
	}
	// The walk reached each way: the inviter's copy, the member's role and
	// removal, the new owner's, the two connections' logins (member and
	// owner, twice; the admin's own are theirs), every member's deletion
	// but the admin's.
	want := map[string]int{EventInviteAccepted: 1, EventRoleChanged: 1, EventMemberRemoved: 1, EventOwnerTransferred: 1,
		EventLoginUnlinked: 4, EventAccountDeleted: 3}
	for kind, n := range want {
		if others[kind] != n {
			t.Errorf("%d %s entries by someone else, want %d (all: %v)", others[kind], kind, n, others)
		}
	}
	for _, e := range list {
		if e.user == admin.ID && e.kind == EventLoginUnlinked && (e.byOther || e.ip == "") {
			t.Errorf("the Admin's own login, gone with the connection they deleted, lost their address: %+v", e)
		}
	}

	// The export and the activity log say the same.
	x, err := s.ExportUser(ctx, owner.ID)
	must("export", err)
	for _, row := range x["activity"].([]map[string]any) {
		if row["by_other"] == int64(1) && (row["ip"] != nil || row["user_agent"] != nil) {
			t.Errorf("the owner's export shows someone else's address and device: %v", row)
		}
		if ua, _ := row["user_agent"].(string); ua != "" && ua != by(owner, "").UserAgent {
			t.Errorf("the owner's export shows the device %q", ua)
		}
	}
	page, err := s.EventsForUser(ctx, member.ID, EventKey{}, 100)
	must("events", err)
	for _, e := range page.Events {
		if e.IP != "" && e.IP != by(member, "").IP {
			t.Errorf("the member's log shows the address %s (%s)", e.IP, e.Kind)
		}
	}

	// No writer can keep them: the table refuses.
	_, err = s.w.ExecContext(ctx, `INSERT INTO audit_events (user_id, kind, ip, user_agent, by_other, created_at) VALUES (?, 'x', '192.0.2.9', 'D', 1, 0)`, member.ID)
	if err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Errorf("an entry by someone else with an address: got %v, want a CHECK failure", err)
	}
}

// TestAuditByOtherMigration: 00025 marks and scrubs the entries written
// before it into the log of someone who did not do them, and only those:
// the second copy of an Admin's or an invitee's event (also once the
// actor deleted their profile), every member's copy of an account's
// deletion but its last owner's, the SAML logins an Admin's deletion of a
// connection (or the owner's of the account) took but the deleter's own.
// Down and up again work.
func TestAuditByOtherMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 24)
	const O, A, M, G = 1, 2, 3, 4
	for _, q := range []string{
		`INSERT INTO users (id, email, name, created_at, updated_at) VALUES
			(1, 'o@example.com', 'O', 1, 1), (2, 'a@example.com', 'A', 1, 1), (3, 'm@example.com', 'M', 1, 1), (4, 'g@example.com', 'G', 1, 1)`,
		`INSERT INTO audit_events (id, user_id, account_id, kind, detail_json, ip, user_agent, created_at) VALUES
			(1, 1, 7, 'account_created', '{"account":"Acme"}', 'ip-o', 'ua-o', 100),
			(2, 4, 7, 'invite_accepted', '{"member":4,"account":"Acme"}', 'ip-g', 'ua-g', 110),
			(3, 1, 7, 'invite_accepted', '{"member":4,"account":"Acme"}', 'ip-g', 'ua-g', 110),
			(4, 2, 7, 'role_changed', '{"member":3,"role":"readonly"}', 'ip-a', 'ua-a', 120),
			(5, 3, 7, 'role_changed', '{"member":3,"role":"readonly"}', 'ip-a', 'ua-a', 120),
			(6, 2, 7, 'role_changed', '{"member":2,"role":"normal"}', 'ip-a', 'ua-a', 120),
			(7, 1, 7, 'owner_transferred', '{"new_owner":2}', 'ip-o', 'ua-o', 130),
			(8, 2, 7, 'owner_transferred', '{"new_owner":2}', 'ip-o', 'ua-o', 130),
			(9, NULL, 7, 'member_removed', '{}', '', '', 140),
			(10, 3, 7, 'member_removed', '{"member":3}', 'ip-x', 'ua-x', 140),
			(11, 3, 7, 'login_unlinked', '{"connection":"Okta","provider":"saml:1"}', 'ip-a', 'ua-a', 200),
			(12, 2, 7, 'login_unlinked', '{"connection":"Okta","provider":"saml:1"}', 'ip-a', 'ua-a', 200),
			(13, 2, 7, 'saml_connection_deleted', '{"connection":"Okta"}', 'ip-a', 'ua-a', 201),
			(14, 1, 7, 'account_deleted', '{}', 'ip-a', 'ua-a', 300),
			(15, 2, 7, 'account_deleted', '{}', 'ip-a', 'ua-a', 300),
			(16, 3, 7, 'account_deleted', '{}', 'ip-a', 'ua-a', 301),
			(17, 2, 7, 'login_unlinked', '{"connection":"Entra","provider":"saml:2"}', 'ip-a', 'ua-a', 301),
			(18, 3, 7, 'login_unlinked', '{"connection":"Entra","provider":"saml:2"}', 'ip-a', 'ua-a', 301),
			(19, 3, NULL, 'signin', '{}', 'ip-m', 'ua-m', 310),
			(20, 3, 8, 'account_created', '{}', 'ip-m', 'ua-m', 400),
			(21, 3, 8, 'account_deleted', '{}', 'ip-m', 'ua-m', 410),
			(22, 4, 8, 'account_deleted', '{}', 'ip-m', 'ua-m', 410),
			(23, 3, NULL, 'login_unlinked', '{"provider":"oidc:x","reason":"unconfirmed_email"}', 'ip-m', 'ua-m', 420)`,
	} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		scrubbed := map[int64]bool{3: true, 5: true, 8: true, 10: true, 11: true, 14: true, 16: true, 18: true, 22: true}
		rows, err := s.r.QueryContext(ctx, `SELECT id, ip, user_agent, by_other FROM audit_events ORDER BY id`)
		type row struct {
			id      int64
			ip, ua  string
			byOther bool
		}
		list, err := collect(rows, err, func(r rowScanner) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.ip, &x.ua, &x.byOther)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			switch {
			case scrubbed[x.id] && (!x.byOther || x.ip != "" || x.ua != ""):
				t.Errorf("%s: entry %d, by someone else, kept %q %q (by_other %v)", when, x.id, x.ip, x.ua, x.byOther)
			case !scrubbed[x.id] && x.id != 9 && (x.byOther || x.ip == ""):
				t.Errorf("%s: entry %d, the person's own, lost its address (by_other %v)", when, x.id, x.byOther)
			}
		}
	}
	if _, err := p.UpTo(ctx, 25); err != nil {
		t.Fatal(err)
	}
	check("after 00025")
	if _, err := p.DownTo(ctx, 24); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 25); err != nil {
		t.Fatal(err)
	}
	check("down and up again")
}
