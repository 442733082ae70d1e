package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// accountWith creates an account owned by owner with the other users as
// members of the given roles. It confirms the email of owner and members,
// as creating accounts and sending invites need (ErrUnconfirmedEmail).
func accountWith(t *testing.T, s *Store, owner User, members map[int64]string) Account {
	t.Helper()
	ctx := context.Background()
	confirmEmail(t, s, owner.ID)
	for id := range members {
		confirmEmail(t, s, id)
	}
	a, err := s.CreateAccount(ctx, owner.ID, "  Acme  ", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	for id, role := range members {
		if _, err := s.w.Exec(`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, 0)`, a.ID, id, role); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// confirmEmail marks the user's account email confirmed, unless it is.
func confirmEmail(t *testing.T, s *Store, userID int64) {
	t.Helper()
	if _, err := s.w.Exec(`UPDATE users SET email_verified_at = coalesce(email_verified_at, 1) WHERE id = ?`, userID); err != nil {
		t.Fatal(err)
	}
}

func verifiedUser(t *testing.T, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), NewUser{Email: email, Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateAccount(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := mustUser(t, s, "o@example.com")
	a := accountWith(t, s, owner, nil)
	if a.Name != "Acme" || a.OwnerID != owner.ID {
		t.Fatalf("account: got %+v, want name Acme owned by %d", a, owner.ID)
	}
	m, err := s.Membership(ctx, a.ID, owner.ID)
	if err != nil || !m.IsOwner() || !m.IsAdmin() {
		t.Fatalf("creator's membership: got %+v, %v; want owner and admin", m, err)
	}
	list, err := s.MembershipsForUser(ctx, owner.ID)
	if err != nil || len(list) != 1 || list[0].Account.ID != a.ID {
		t.Fatalf("MembershipsForUser: got %+v, %v", list, err)
	}
	if _, err := s.Membership(ctx, a.ID, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("non-member: got %v, want ErrNotFound", err)
	}
}

// TestUnconfirmedEmail: creating an account, sending an invite and
// resending one wait for the actor's confirmed email, in the transaction.
func TestUnconfirmedEmail(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := mustUser(t, s, "o@example.com")
	if _, err := s.CreateAccount(ctx, owner.ID, "Acme", Event{Kind: EventAccountCreated}); !errors.Is(err, ErrUnconfirmedEmail) {
		t.Fatalf("CreateAccount by an unconfirmed user: got %v, want ErrUnconfirmedEmail", err)
	}
	if list, err := s.MembershipsForUser(ctx, owner.ID); err != nil || len(list) != 0 {
		t.Fatalf("memberships after the refusal: got %+v, %v; want none", list, err)
	}
	a := accountWith(t, s, owner, nil)
	inv, err := s.CreateInvite(ctx, a.ID, owner.ID, "x@example.com", RoleNormal, []byte("t"), nil, Event{Kind: EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE users SET email_verified_at = NULL WHERE id = ?`, owner.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateInvite(ctx, a.ID, owner.ID, "y@example.com", RoleNormal, []byte("t2"), nil, Event{Kind: EventInviteSent}); !errors.Is(err, ErrUnconfirmedEmail) {
		t.Fatalf("CreateInvite by an unconfirmed Admin: got %v, want ErrUnconfirmedEmail", err)
	}
	if _, err := s.ResendInvite(ctx, a.ID, owner.ID, inv.ID, []byte("t3"), nil, Event{Kind: EventInviteResent}); !errors.Is(err, ErrUnconfirmedEmail) {
		t.Fatalf("ResendInvite by an unconfirmed Admin: got %v, want ErrUnconfirmedEmail", err)
	}
	if _, err := s.PendingInvite(ctx, a.ID, inv.ID); err != nil {
		t.Fatalf("the invite after the refused resend: %v", err)
	}
}

func TestAccountRules(t *testing.T) {
	ctx := context.Background()
	ev := Event{Kind: EventRoleChanged}
	type fixture struct {
		s                        *Store
		a                        Account
		owner, admin, normal, ro User
	}
	setup := func(t *testing.T) fixture {
		s := openTest(t)
		f := fixture{s: s, owner: mustUser(t, s, "o@example.com"), admin: mustUser(t, s, "a@example.com"),
			normal: mustUser(t, s, "n@example.com"), ro: mustUser(t, s, "r@example.com")}
		f.a = accountWith(t, s, f.owner, map[int64]string{f.admin.ID: RoleAdmin, f.normal.ID: RoleNormal, f.ro.ID: RoleReadOnly})
		return f
	}
	tests := []struct {
		name string
		do   func(f fixture) error
		want error
	}{
		{"owner cannot leave", func(f fixture) error { return f.s.Leave(ctx, f.a.ID, f.owner.ID, ev) }, ErrOwnerStays},
		{"owner cannot be removed", func(f fixture) error { return f.s.RemoveMember(ctx, f.a.ID, f.admin.ID, f.owner.ID, ev) }, ErrOwnerStays},
		{"owner cannot be demoted", func(f fixture) error { return f.s.SetRole(ctx, f.a.ID, f.admin.ID, f.owner.ID, RoleNormal, ev) }, ErrOwnerStays},
		{"normal cannot change roles", func(f fixture) error { return f.s.SetRole(ctx, f.a.ID, f.normal.ID, f.ro.ID, RoleAdmin, ev) }, ErrForbidden},
		{"read-only cannot remove", func(f fixture) error { return f.s.RemoveMember(ctx, f.a.ID, f.ro.ID, f.normal.ID, ev) }, ErrForbidden},
		{"non-member is not found", func(f fixture) error { return f.s.SetRole(ctx, f.a.ID, 999, f.ro.ID, RoleAdmin, ev) }, ErrNotFound},
		{"admin cannot transfer", func(f fixture) error { return f.s.TransferOwnership(ctx, f.a.ID, f.admin.ID, f.admin.ID, ev) }, ErrOwnerOnly},
		{"transfer only to an admin", func(f fixture) error { return f.s.TransferOwnership(ctx, f.a.ID, f.owner.ID, f.normal.ID, ev) }, ErrTransferToAdmin},
		{"transfer not to a stranger", func(f fixture) error { return f.s.TransferOwnership(ctx, f.a.ID, f.owner.ID, 999, ev) }, ErrTransferToAdmin},
		{"admin cannot delete", func(f fixture) error { return f.s.DeleteAccount(ctx, f.a.ID, f.admin.ID, ev) }, ErrOwnerOnly},
		{"admin can demote another admin", func(f fixture) error { return f.s.SetRole(ctx, f.a.ID, f.owner.ID, f.admin.ID, RoleNormal, ev) }, nil},
		{"normal can leave", func(f fixture) error { return f.s.Leave(ctx, f.a.ID, f.normal.ID, ev) }, nil},
		{"admin can remove read-only", func(f fixture) error { return f.s.RemoveMember(ctx, f.a.ID, f.admin.ID, f.ro.ID, ev) }, nil},
		{"rename by admin", func(f fixture) error { return f.s.RenameAccount(ctx, f.a.ID, f.admin.ID, "New", ev) }, nil},
		{"rename by normal", func(f fixture) error { return f.s.RenameAccount(ctx, f.a.ID, f.normal.ID, "New", ev) }, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			err := tt.do(f)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLastAdmin(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, admin := mustUser(t, s, "o@example.com"), mustUser(t, s, "a@example.com")
	a := accountWith(t, s, owner, map[int64]string{admin.ID: RoleAdmin})
	// Hand the account to the admin; the old owner is now a plain admin who
	// may be demoted, after which the new owner is the only Admin.
	if err := s.TransferOwnership(ctx, a.ID, owner.ID, admin.ID, Event{Kind: EventOwnerTransferred}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Membership(ctx, a.ID, admin.ID); !m.IsOwner() {
		t.Fatal("transfer did not make the admin the owner")
	}
	if err := s.SetRole(ctx, a.ID, admin.ID, owner.ID, RoleNormal, Event{Kind: EventRoleChanged}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, a.ID, admin.ID, admin.ID, RoleNormal, Event{Kind: EventRoleChanged}); !errors.Is(err, ErrOwnerStays) {
		t.Fatalf("owner demoting self: got %v, want ErrOwnerStays", err)
	}
	// The triggers hold the owner rule even for a write that skips the checks.
	if _, err := s.w.Exec(`DELETE FROM memberships WHERE account_id = ? AND user_id = ?`, a.ID, admin.ID); err == nil {
		t.Fatal("deleting the owner's membership directly: got nil error")
	}
	if _, err := s.w.Exec(`UPDATE memberships SET role = 'readonly' WHERE account_id = ? AND user_id = ?`, a.ID, admin.ID); err == nil {
		t.Fatal("demoting the owner directly: got nil error")
	}
}

func TestDeleteAccountKeepsUsers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, member := mustUser(t, s, "o@example.com"), mustUser(t, s, "m@example.com")
	a := accountWith(t, s, owner, map[int64]string{member.ID: RoleNormal})
	if _, err := s.CreateInvite(ctx, a.ID, owner.ID, "x@example.com", RoleNormal, []byte("t"), nil, Event{Kind: EventInviteSent}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, a.ID, owner.ID, Event{Kind: EventAccountDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Membership(ctx, a.ID, owner.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("membership after delete: got %v, want ErrNotFound", err)
	}
	for _, u := range []User{owner, member} {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			t.Fatalf("user %d after account delete: %v", u.ID, err)
		}
		events := newestEvents(t, s, u.ID, 1)
		if len(events) != 1 || events[0].Kind != EventAccountDeleted {
			t.Fatalf("user %d's newest event: got %+v, want account_deleted", u.ID, events)
		}
	}
}

func TestInviteRules(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "o@example.com")
	member := verifiedUser(t, s, "m@example.com")
	a := accountWith(t, s, owner, map[int64]string{member.ID: RoleNormal})
	ev := Event{Kind: EventInviteSent}
	invite := func(email, token string) (Invite, error) {
		return s.CreateInvite(ctx, a.ID, owner.ID, email, RoleReadOnly, []byte(token), nil, ev)
	}

	if _, err := invite("M@Example.com", "t0"); !errors.Is(err, ErrAlreadyMember) {
		t.Fatalf("invite a member: got %v, want ErrAlreadyMember", err)
	}
	if _, err := s.CreateInvite(ctx, a.ID, member.ID, "new@example.com", RoleNormal, []byte("t1"), nil, ev); !errors.Is(err, ErrForbidden) {
		t.Fatalf("invite by a normal member: got %v, want ErrForbidden", err)
	}
	inv, err := invite("new@example.com", "t2")
	if err != nil || inv.State != InvitePending || inv.AccountName != "Acme" || inv.InvitedBy != owner.ID {
		t.Fatalf("invite: got %+v, %v", inv, err)
	}
	if got := inv.ExpiresAt.Sub(inv.CreatedAt); got != InviteTTL {
		t.Fatalf("invite lifetime: got %v, want %v", got, InviteTTL)
	}
	if _, err := invite("NEW@example.com", "t3"); !errors.Is(err, ErrInvitePending) {
		t.Fatalf("second pending invite: got %v, want ErrInvitePending", err)
	}

	// The invitee signs up: unverified, the invite is not theirs yet.
	newcomer := mustUser(t, s, "new@example.com")
	if n, _ := s.CountInvitesForUser(ctx, newcomer.ID); n != 0 {
		t.Fatalf("invites of an unverified user: got %d, want 0", n)
	}
	if _, err := s.AcceptInvite(ctx, inv.ID, newcomer.ID, Event{Kind: EventInviteAccepted}); !errors.Is(err, ErrInviteWrongEmail) {
		t.Fatalf("accept unverified: got %v, want ErrInviteWrongEmail", err)
	}
	if _, err := s.MarkEmailVerified(ctx, newcomer.ID, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountInvitesForUser(ctx, newcomer.ID); n != 1 {
		t.Fatalf("invites after verifying: got %d, want 1", n)
	}
	// Someone else cannot take it.
	if _, err := s.AcceptInvite(ctx, inv.ID, member.ID, Event{Kind: EventInviteAccepted}); !errors.Is(err, ErrInviteWrongEmail) {
		t.Fatalf("accept by the wrong user: got %v, want ErrInviteWrongEmail", err)
	}
	m, err := s.AcceptInvite(ctx, inv.ID, newcomer.ID, Event{Kind: EventInviteAccepted})
	if err != nil || m.Role != RoleReadOnly || m.Account.ID != a.ID {
		t.Fatalf("accept: got %+v, %v", m, err)
	}
	if _, err := s.AcceptInvite(ctx, inv.ID, newcomer.ID, Event{Kind: EventInviteAccepted}); !errors.Is(err, ErrInviteGone) {
		t.Fatalf("accept twice: got %v, want ErrInviteGone", err)
	}
	if n, _ := s.CountInvitesForUser(ctx, newcomer.ID); n != 0 {
		t.Fatalf("invites after accepting: got %d, want 0", n)
	}
	// The inviter's log shows the acceptance too.
	events := newestEvents(t, s, owner.ID, 1)
	if len(events) != 1 || events[0].Kind != EventInviteAccepted {
		t.Fatalf("inviter's newest event: got %+v, want invite_accepted", events)
	}
}

func TestInviteExpiryResendRevokeIgnore(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "o@example.com")
	guest := verifiedUser(t, s, "g@example.com")
	a := accountWith(t, s, owner, nil)
	ev := Event{Kind: EventInviteSent}
	inv, err := s.CreateInvite(ctx, a.ID, owner.ID, guest.Email, RoleNormal, []byte("old"), nil, ev)
	if err != nil {
		t.Fatal(err)
	}

	// Eight days later the invite is expired: it cannot be accepted, and a
	// new one may be sent.
	later := time.Now().Add(8 * 24 * time.Hour)
	s.now = func() time.Time { return later }
	if _, err := s.AcceptInvite(ctx, inv.ID, guest.ID, Event{Kind: EventInviteAccepted}); !errors.Is(err, ErrInviteGone) {
		t.Fatalf("accept expired: got %v, want ErrInviteGone", err)
	}
	if n, _ := s.CountInvitesForUser(ctx, guest.ID); n != 0 {
		t.Fatalf("expired invites counted: got %d, want 0", n)
	}
	// Resend renews it with a new link; the old link is gone.
	re, err := s.ResendInvite(ctx, a.ID, owner.ID, inv.ID, []byte("new"), nil, Event{Kind: EventInviteResent})
	if err != nil || !re.ExpiresAt.After(later) {
		t.Fatalf("resend: got %+v, %v", re, err)
	}
	if _, err := s.InviteByToken(ctx, []byte("old")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old link after resend: got %v, want ErrNotFound", err)
	}
	if got, err := s.InviteByToken(ctx, []byte("new")); err != nil || got.ID != inv.ID {
		t.Fatalf("new link: got %+v, %v", got, err)
	}
	if err := s.IgnoreInvite(ctx, inv.ID, guest.ID, Event{Kind: EventInviteIgnored}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite(ctx, a.ID, owner.ID, inv.ID, Event{Kind: EventInviteRevoked}); !errors.Is(err, ErrInviteGone) {
		t.Fatalf("revoke an ignored invite: got %v, want ErrInviteGone", err)
	}
	second, err := s.CreateInvite(ctx, a.ID, owner.ID, guest.Email, RoleNormal, []byte("again"), nil, ev)
	if err != nil {
		t.Fatalf("invite again after ignore: %v", err)
	}
	if err := s.RevokeInvite(ctx, a.ID, owner.ID, second.ID, Event{Kind: EventInviteRevoked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, second.ID, guest.ID, Event{Kind: EventInviteAccepted}); !errors.Is(err, ErrInviteGone) {
		t.Fatalf("accept revoked: got %v, want ErrInviteGone", err)
	}
	list, more, err := s.PendingInvites(ctx, a.ID, 25, 0)
	if err != nil || more || len(list) != 0 {
		t.Fatalf("pending after revoke: got %d, %v", len(list), err)
	}
}

func TestInviteDailyLimit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := mustUser(t, s, "o@example.com")
	a := accountWith(t, s, owner, nil)
	for i := range InvitesPerDay {
		if _, err := s.CreateInvite(ctx, a.ID, owner.ID, fmt.Sprintf("p%d@example.com", i), RoleNormal, fmt.Appendf(nil, "t%d", i), nil, Event{Kind: EventInviteSent}); err != nil {
			t.Fatalf("invite %d: %v", i, err)
		}
	}
	if _, err := s.CreateInvite(ctx, a.ID, owner.ID, "one-more@example.com", RoleNormal, []byte("x"), nil, Event{Kind: EventInviteSent}); !errors.Is(err, ErrInviteLimit) {
		t.Fatalf("invite past the limit: got %v, want ErrInviteLimit", err)
	}
	list, more, err := s.PendingInvites(ctx, a.ID, 25, 0)
	if err != nil || len(list) != 25 || !more {
		t.Fatalf("first page of invites: got %d, more=%v, %v; want 25 and more", len(list), more, err)
	}
}

// TestRaceAcceptOneInvite: many accepts of one invite at once give exactly
// one membership.
func TestRaceAcceptOneInvite(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner := verifiedUser(t, s, "o@example.com")
	guest := verifiedUser(t, s, "g@example.com")
	a := accountWith(t, s, owner, nil)
	inv, err := s.CreateInvite(ctx, a.ID, owner.ID, guest.Email, RoleNormal, []byte("t"), nil, Event{Kind: EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, gone := 0, 0
	var other []error
	start := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			<-start
			_, err := s.AcceptInvite(ctx, inv.ID, guest.ID, Event{Kind: EventInviteAccepted})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrInviteGone):
				gone++
			default:
				other = append(other, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 || gone != 31 || len(other) > 0 {
		t.Fatalf("got %d winners, %d refused and errors %v; want 1, 31, none", wins, gone, other)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM memberships WHERE account_id = ? AND user_id = ?`, a.ID, guest.ID).Scan(&n)
	if n != 1 {
		t.Fatalf("memberships: got %d, want 1", n)
	}
}

// TestRaceAdminsDemoteEachOther: two Admins demoting each other at once
// cannot both succeed, and the account keeps an Admin. Without an owner in
// the way (the owner transferred to one of them and was then demoted), the
// last-Admin rule is what holds.
func TestRaceAdminsDemoteEachOther(t *testing.T) {
	ctx := context.Background()
	for round := range 20 {
		s := openTest(t)
		owner, x, y := mustUser(t, s, "o@example.com"), mustUser(t, s, "x@example.com"), mustUser(t, s, "y@example.com")
		a := accountWith(t, s, owner, map[int64]string{x.ID: RoleAdmin, y.ID: RoleAdmin})
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]int64{{x.ID, y.ID}, {y.ID, x.ID}} {
			wg.Go(func() {
				<-start
				errs[i] = s.SetRole(ctx, a.ID, pair[0], pair[1], RoleNormal, Event{Kind: EventRoleChanged})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, ErrForbidden) {
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: got %d successful demotions, want exactly 1 (the loser is no longer an Admin)", round, ok)
		}
		var admins int
		s.r.QueryRow(`SELECT count(*) FROM memberships WHERE account_id = ? AND role = 'admin'`, a.ID).Scan(&admins)
		if admins != 2 {
			t.Fatalf("round %d: got %d admins, want 2 (the owner and the winner)", round, admins)
		}
	}
}

// TestRaceOwnerStaysInside: concurrent removals, demotions and a transfer
// never leave the owner outside the account or without the Admin role.
func TestRaceOwnerStaysInside(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	owner, x, y := mustUser(t, s, "o@example.com"), mustUser(t, s, "x@example.com"), mustUser(t, s, "y@example.com")
	a := accountWith(t, s, owner, map[int64]string{x.ID: RoleAdmin, y.ID: RoleAdmin})
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var unexpected []error
	try := func(f func() error) {
		wg.Go(func() {
			<-start
			if err := f(); err != nil {
				var rule RuleError
				if !errors.As(err, &rule) && !errors.Is(err, ErrNotFound) {
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
				}
			}
		})
	}
	for range 8 {
		try(func() error { return s.RemoveMember(ctx, a.ID, x.ID, owner.ID, Event{Kind: EventMemberRemoved}) })
		try(func() error { return s.SetRole(ctx, a.ID, y.ID, owner.ID, RoleReadOnly, Event{Kind: EventRoleChanged}) })
		try(func() error { return s.Leave(ctx, a.ID, owner.ID, Event{Kind: EventAccountLeft}) })
		try(func() error {
			return s.TransferOwnership(ctx, a.ID, owner.ID, x.ID, Event{Kind: EventOwnerTransferred})
		})
		try(func() error { return s.RemoveMember(ctx, a.ID, y.ID, x.ID, Event{Kind: EventMemberRemoved}) })
	}
	close(start)
	wg.Wait()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected errors: %v", unexpected)
	}
	var ownerID int64
	s.r.QueryRow(`SELECT owner_id FROM accounts WHERE id = ?`, a.ID).Scan(&ownerID)
	m, err := s.Membership(ctx, a.ID, ownerID)
	if err != nil || !m.IsAdmin() || !m.IsOwner() {
		t.Fatalf("owner %d after the race: got %+v, %v; want an Admin member", ownerID, m, err)
	}
}

// TestRoleList: the roles' order, names and ranking come from one list.
func TestRoleList(t *testing.T) {
	if want := []string{RoleAdmin, RoleNormal, RoleReadOnly}; !slices.Equal(Roles, want) {
		t.Errorf("Roles: got %v, want %v", Roles, want)
	}
	for _, tt := range []struct{ role, name string }{{RoleAdmin, "Admin"}, {RoleNormal, "Normal"}, {RoleReadOnly, "Read-Only"}, {"owner", "owner"}} {
		if got := RoleName(tt.role); got != tt.name {
			t.Errorf("RoleName(%q): got %q, want %q", tt.role, got, tt.name)
		}
	}
	for _, tt := range []struct {
		have, need string
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true}, {RoleAdmin, RoleReadOnly, true}, {RoleNormal, RoleReadOnly, true},
		{RoleNormal, RoleAdmin, false}, {RoleReadOnly, RoleNormal, false}, {"", RoleReadOnly, false}, {RoleAdmin, "", false},
	} {
		if got := RoleAtLeast(tt.have, tt.need); got != tt.want {
			t.Errorf("RoleAtLeast(%q, %q): got %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
	if ValidRole("owner") || !ValidRole(RoleReadOnly) {
		t.Error("ValidRole: want exactly the declared roles")
	}
}
