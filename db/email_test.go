package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNormalEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":        "ann@example.com",
		"  Ann@Example.COM\t\n":  "ann@example.com",
		"ÄRGER@Exämple.com":      "Ärger@exämple.com",  // ASCII letters only
		"\u212A@example.com":     "\u212A@example.com", // the Kelvin sign is not folded onto k
		"\u0130@example.com":     "\u0130@example.com", // nor the dotted capital I onto i
		"\u212Aarl@Example.com":  "\u212Aarl@example.com",
		"":                       "",
		"Ann.Work+Tag@Example.C": "ann.work+tag@example.c",
	} {
		if got := NormalEmail(in); got != want {
			t.Errorf("NormalEmail(%q): got %q, want %q", in, got, want)
		}
	}
}

// TestEmailsStoredNormal: every write of an address stores NormalEmail's
// form, whatever spelling it is given; the tables' CHECKs (00010) would
// refuse any other, so each write below would fail if it did not.
func TestEmailsStoredNormal(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, NewUser{Email: " Ann@Example.COM ", Verified: true}, Event{Kind: EventSignUp})
	if err != nil || u.Email != "ann@example.com" {
		t.Fatalf("CreateUser: got %q, %v; want ann@example.com", u.Email, err)
	}
	acc := accountWith(t, s, u, nil)
	inv, err := s.CreateInvite(ctx, acc.ID, u.ID, " Carol@Example.COM", RoleNormal, []byte("t"), nil, Event{Kind: EventInviteSent})
	if err != nil || inv.Email != "carol@example.com" {
		t.Fatalf("CreateInvite: got %q, %v; want carol@example.com", inv.Email, err)
	}
	if _, err := s.CreateInvite(ctx, acc.ID, u.ID, "carol@example.com", RoleNormal, []byte("t2"), nil, Event{Kind: EventInviteSent}); err == nil {
		t.Error("a second pending invite to the same address in another spelling was allowed")
	}
	compose := func(ContactMethod, string) (Notice, error) { return Notice{Subject: "code"}, nil }
	m, err := s.AddContactMethod(ctx, u.ID, NewContactMethod{Kind: KindEmail, Address: "Ann.Work@Example.COM"}, compose, Event{Kind: EventContactAdded})
	if err != nil || m.Address != "ann.work@example.com" {
		t.Fatalf("AddContactMethod: got %q, %v; want ann.work@example.com", m.Address, err)
	}
	hook, err := s.AddContactMethod(ctx, u.ID, NewContactMethod{Kind: KindWebhook, Address: "https://Example.com/Hook", Secret: "s"}, compose, Event{Kind: EventContactAdded})
	if err != nil || hook.Address != "https://Example.com/Hook" {
		t.Fatalf("a webhook URL: got %q, %v; want its case kept", hook.Address, err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, " New@Example.COM", []byte("c"), time.Hour, &Mail{Subject: "s"}), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PendingEmailChange(ctx, u.ID); err != nil || got.Email != "new@example.com" {
		t.Errorf("PendingEmailChange: got %q, %v; want new@example.com", got.Email, err)
	}
	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, "Ann@Example.COM", time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	linked, _, err := s.ResolveLogin(ctx, External{Provider: "google", Subject: "g", Email: "ANN@example.com", EmailVerified: true}, true,
		Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil || linked.ID != u.ID {
		t.Fatalf("ResolveLogin by ANN@example.com: got user %d, %v; want %d", linked.ID, err, u.ID)
	}
	var stored string
	if err := s.r.QueryRowContext(ctx, `SELECT email FROM identities WHERE subject = 'g'`).Scan(&stored); err != nil || stored != "ann@example.com" {
		t.Errorf("identities.email: got %q, %v; want ann@example.com", stored, err)
	}
}

// TestCancelEmailChange: the user's pending change goes with its link, in
// the transaction that records it; another user's change stays.
func TestCancelEmailChange(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann, bob := mustUser(t, s, "ann@example.com"), mustUser(t, s, "bob@example.com")
	for _, u := range []User{ann, bob} {
		if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "new-"+u.Email, []byte("c-"+u.Email), time.Hour, &Mail{Subject: "confirm"}), Event{Kind: EventEmailChangeAsked}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CancelEmailChange(ctx, ann.ID, Event{Kind: EventEmailChangeCancelled})
	if err != nil || got != "new-ann@example.com" {
		t.Fatalf("CancelEmailChange: got %q, %v; want new-ann@example.com", got, err)
	}
	if _, _, err := s.EmailChangeByToken(ctx, []byte("c-ann@example.com")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the cancelled link: got %v, want ErrNotFound", err)
	}
	if p, _ := s.PendingEmailChange(ctx, ann.ID); p.Email != "" {
		t.Errorf("pending after the cancel: got %q, want none", p.Email)
	}
	if p, _ := s.PendingEmailChange(ctx, bob.ID); p.Email != "new-bob@example.com" {
		t.Errorf("Bob's pending change: got %q, want it kept", p.Email)
	}
	if _, err := s.CancelEmailChange(ctx, ann.ID, Event{Kind: EventEmailChangeCancelled}); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel again: got %v, want ErrNotFound", err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM audit_events WHERE user_id = ? AND kind = ?`, ann.ID, EventEmailChangeCancelled).Scan(&n); err != nil || n != 1 {
		t.Errorf("events of the cancel: got %d, %v; want 1", n, err)
	}
}

// TestLookalikeEmailLinksNothing: a provider that vouches for
// "\u212Aarl@example.com" (the Kelvin sign, another mailbox, one its owner
// may hold) or "\u0130nes@example.com" does not hand over the verified profile of
// karl@example.com or ines@example.com: it is another address, and a new
// profile if anything.
func TestLookalikeEmailLinksNothing(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for i, lookalike := range map[string]string{"karl@example.com": "\u212Aarl@example.com", "ines@example.com": "\u0130nes@example.com"} {
		local, err := s.CreateUser(ctx, NewUser{Email: i, PasswordHash: "h", Verified: true}, Event{Kind: EventSignUp})
		if err != nil {
			t.Fatal(err)
		}
		u, outcome, err := s.ResolveLogin(ctx, External{"oidc:corp", "sub-" + i, lookalike, true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID == local.ID || outcome != LoginCreated || u.Email != lookalike {
			t.Errorf("%s: got user %d (%s) %s, want a new profile for it beside %s's %d", lookalike, u.ID, u.Email, outcome, i, local.ID)
		}
	}
}
