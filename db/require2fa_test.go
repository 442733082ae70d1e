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
		if err := s.StartTOTP(ctx, u.ID, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if err := s.ConfirmTOTP(ctx, u.ID, 1, nil, Event{Kind: EventTwoFactorEnabled}); err != nil {
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
