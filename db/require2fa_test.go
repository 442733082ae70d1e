package db

import (
	"context"
	"errors"
	"testing"
)

// TestSetRequireTwoFactor: only an Admin, and to turn it on only one with
// a second factor (checked in the write's transaction); each change is
// audited once, a change to the same value not at all; memberships and
// invites read the requirement.
func TestSetRequireTwoFactor(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann := mustUser(t, s, "ann@example.com")
	bob := mustUser(t, s, "bob@example.com")
	for _, u := range []User{ann, bob} {
		if _, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified}); err != nil {
			t.Fatal(err)
		}
	}
	acme, err := s.CreateAccount(ctx, ann.ID, "Acme", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvite(ctx, acme.ID, ann.ID, bob.Email, RoleNormal, []byte("h"), nil, Event{Kind: EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, inv.ID, bob.ID, Event{Kind: EventInviteAccepted}); err != nil {
		t.Fatal(err)
	}
	ev := Event{Kind: EventTwoFactorRequired}
	if err := s.SetRequireTwoFactor(ctx, acme.ID, ann.ID, true, ev); !errors.Is(err, ErrTwoFactorFirst) {
		t.Fatalf("on, by an Admin without a second factor: got %v, want ErrTwoFactorFirst", err)
	}
	for _, u := range []User{ann, bob} {
		if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := testConfirmTOTP(s, ctx, u.ID, 1, nil, Event{Kind: EventTwoFactorEnabled}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetRequireTwoFactor(ctx, acme.ID, bob.ID, true, ev); !errors.Is(err, ErrForbidden) {
		t.Fatalf("on, by a Normal member: got %v, want ErrForbidden", err)
	}
	for _, on := range []bool{true, true, false, false, true} {
		if err := s.SetRequireTwoFactor(ctx, acme.ID, ann.ID, on, ev); err != nil {
			t.Fatalf("set %v: %v", on, err)
		}
		m, err := s.Membership(ctx, acme.ID, bob.ID)
		if err != nil || m.Account.RequireTwoFactor != on {
			t.Fatalf("after set %v: membership says %v (%v)", on, m.Account.RequireTwoFactor, err)
		}
	}
	if _, err := s.CreateInvite(ctx, acme.ID, ann.ID, "carol@example.com", RoleNormal, []byte("c"), nil, Event{Kind: EventInviteSent}); err != nil {
		t.Fatal(err)
	}
	if invites, _, err := s.PendingInvites(ctx, acme.ID, 10, 0); err != nil || len(invites) != 1 || !invites[0].RequireTwoFactor {
		t.Fatalf("pending invites: got %+v (%v), want Carol's, requiring two-factor", invites, err)
	}
	if got, err := s.InviteByToken(ctx, []byte("c")); err != nil || !got.RequireTwoFactor {
		t.Fatalf("invite by token: got %+v (%v), want it to require two-factor", got, err)
	}
	page, err := s.EventsForUser(ctx, ann.ID, EventKey{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var changes []any
	for i := len(page.Events) - 1; i >= 0; i-- {
		if e := page.Events[i]; e.Kind == EventTwoFactorRequired {
			changes = append(changes, e.Detail["on"])
		}
	}
	if len(changes) != 3 || changes[0] != true || changes[1] != false || changes[2] != true {
		t.Fatalf("audit entries: got %v, want on, off, on", changes)
	}
}

// TestDisableTwoFactorLastAdmin: the last Admin with two-factor of an
// account that requires it cannot turn theirs off (every Admin would be
// locked out of the console): LastTwoFactorAdminError names the account,
// and nothing changes (the code is not used up). A Normal member's
// two-factor does not count; another Admin's does.
func TestDisableTwoFactorLastAdmin(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann, bob, carol := mustUser(t, s, "ann@example.com"), mustUser(t, s, "bob@example.com"), mustUser(t, s, "carol@example.com")
	for _, u := range []User{ann, bob, carol} { // factors need a confirmed email
		if _, err := s.MarkEmailVerified(ctx, u.ID, Event{Kind: EventEmailVerified}); err != nil {
			t.Fatal(err)
		}
	}
	acme, err := s.CreateAccount(ctx, ann.ID, "Acme", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		u    User
		role string
	}{{bob, RoleAdmin}, {carol, RoleNormal}} {
		if _, err := s.exec(ctx, `INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (?, ?, ?, 0)`, acme.ID, m.u.ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	on := func(u User) {
		t.Helper()
		if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := testConfirmTOTP(s, ctx, u.ID, 1, nil, Event{Kind: EventTwoFactorEnabled}); err != nil {
			t.Fatal(err)
		}
	}
	on(ann)
	on(carol)
	if err := s.SetRequireTwoFactor(ctx, acme.ID, ann.ID, true, Event{Kind: EventTwoFactorRequired}); err != nil {
		t.Fatal(err)
	}
	err = s.DisableTwoFactor(ctx, ann.ID, Proof{Step: 5}, Event{}, Event{Kind: EventTwoFactorDisabled})
	var last LastTwoFactorAdminError
	if !errors.As(err, &last) || !errors.Is(err, ErrLastTwoFactorAdmin) || len(last.Accounts) != 1 || last.Accounts[0] != "Acme" {
		t.Fatalf("the last Admin with two-factor turns it off: got %v, want LastTwoFactorAdminError for Acme", err)
	}
	if f, _ := s.SecondFactors(ctx, ann.ID, ""); !f.TOTP {
		t.Fatal("refused, but two-factor went off")
	}
	on(bob) // another Admin has it: Ann may go, with the same code (it was not used up)
	if err := s.DisableTwoFactor(ctx, ann.ID, Proof{Step: 5}, Event{}, Event{Kind: EventTwoFactorDisabled}); err != nil {
		t.Fatalf("with another Admin's two-factor: %v", err)
	}
}
