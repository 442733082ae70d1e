package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPasskeyWayIn: a passkey is a way in, so a person without a password
// may unlink their only login while a passkey is left, and the last
// passkey of someone with nothing else stays.
func TestPasskeyWayIn(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	bob, _, err := s.ResolveLogin(ctx, External{"github", "7", "bob@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.AddPasskey(ctx, Passkey{UserID: bob.ID, RPID: "roster.test", CredentialID: []byte("k1"), Name: "Laptop", Credential: []byte("{}")}, Event{Kind: EventPasskeyAdded})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPasskey(ctx, Passkey{UserID: bob.ID, RPID: "roster.test", CredentialID: []byte("k1"), Name: "Again", Credential: []byte("{}")}, Event{Kind: EventPasskeyAdded}); !errors.Is(err, ErrPasskeyTaken) {
		t.Errorf("the same credential twice: got %v, want ErrPasskeyTaken", err)
	}
	if n, err := s.CountPasskeys(ctx, bob.ID, "roster.test"); err != nil || n != 1 {
		t.Errorf("Bob's passkeys: got %d (%v), want 1", n, err)
	}
	ids, _ := s.IdentitiesForUser(ctx, bob.ID)
	if _, err := s.UnlinkIdentity(ctx, bob.ID, ids[0].ID, Event{Kind: EventLoginUnlinked}); err != nil {
		t.Fatalf("unlink the only login with a passkey left: %v", err)
	}
	if _, err := s.DeletePasskey(ctx, bob.ID, key.ID, Event{Kind: EventPasskeyRemoved}); !errors.Is(err, ErrLastLogin) {
		t.Fatalf("remove the last way in: got %v, want ErrLastLogin", err)
	}
}

// TestCeremonyOnce: a ceremony is taken once, for its purpose, within
// PasskeyCeremonyTTL; a browser's new ceremony ends its old one.
func TestCeremonyOnce(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now()
	s.SetClock(func() time.Time { return now })
	start := func(token string, replaces []byte) {
		t.Helper()
		if err := s.StartCeremony(ctx, Ceremony{TokenHash: []byte(token), Purpose: CeremonyLogin, Session: []byte("{}")}, replaces); err != nil {
			t.Fatal(err)
		}
	}
	start("a", nil)
	if _, err := s.TakeCeremony(ctx, []byte("a"), CeremonyLogin); err != nil {
		t.Fatalf("take: %v", err)
	}
	if _, err := s.TakeCeremony(ctx, []byte("a"), CeremonyLogin); !errors.Is(err, ErrPasskeyCeremony) {
		t.Errorf("take again: got %v, want ErrPasskeyCeremony", err)
	}
	start("b", nil)
	if _, err := s.TakeCeremony(ctx, []byte("b"), CeremonyRegister); !errors.Is(err, ErrPasskeyCeremony) {
		t.Errorf("take for another purpose: got %v, want ErrPasskeyCeremony", err)
	}
	start("c", nil)
	start("d", []byte("c"))
	if _, err := s.TakeCeremony(ctx, []byte("c"), CeremonyLogin); !errors.Is(err, ErrPasskeyCeremony) {
		t.Errorf("take a replaced ceremony: got %v, want ErrPasskeyCeremony", err)
	}
	now = now.Add(PasskeyCeremonyTTL + time.Second)
	if _, err := s.TakeCeremony(ctx, []byte("d"), CeremonyLogin); !errors.Is(err, ErrPasskeyCeremony) {
		t.Errorf("take an expired ceremony: got %v, want ErrPasskeyCeremony", err)
	}
	start("e", nil)
	if err := s.DeleteStaleCeremonies(ctx, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCeremony(ctx, []byte("e"), CeremonyLogin); !errors.Is(err, ErrPasskeyCeremony) {
		t.Errorf("take a swept ceremony: got %v, want ErrPasskeyCeremony", err)
	}
}
