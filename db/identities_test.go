package db

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestResolveLogin(t *testing.T) {
	ctx := context.Background()
	ev := Event{Kind: EventSignIn}
	tests := []struct {
		name          string
		localVerified bool // a user with the email exists, verified or not
		local         bool
		ext           External
		create        bool
		wantOutcome   string
		wantErr       error
	}{
		{"new person", false, false, External{"github", "1", "new@example.com", true, "New"}, true, LoginCreated, nil},
		{"new person, unverified at provider", false, false, External{"github", "1", "new@example.com", false, ""}, true, LoginCreated, nil},
		{"new person, sign-up closed", false, false, External{"github", "1", "new@example.com", true, ""}, false, "", ErrSignupClosed},
		{"both verified: linked", true, true, External{"google", "g1", "Ann@Example.com", true, ""}, true, LoginLinked, nil},
		{"provider unverified: refused", true, true, External{"google", "g1", "ann@example.com", false, ""}, true, "", ErrLinkUnverifiedProvider},
		{"local unverified: refused", false, true, External{"google", "g1", "ann@example.com", true, ""}, true, "", ErrLinkUnverifiedLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t)
			var local User
			if tt.local {
				var err error
				local, err = s.CreateUser(ctx, NewUser{Email: "ann@example.com", PasswordHash: "h", Verified: tt.localVerified}, Event{Kind: EventSignUp})
				if err != nil {
					t.Fatal(err)
				}
			}
			u, outcome, err := s.ResolveLogin(ctx, tt.ext, tt.create, ev, LoginNotices{})
			if !errors.Is(err, tt.wantErr) || outcome != tt.wantOutcome {
				t.Fatalf("got %q, %v; want %q, %v", outcome, err, tt.wantOutcome, tt.wantErr)
			}
			ids, _ := s.IdentitiesForUser(ctx, local.ID)
			switch {
			case tt.wantErr != nil && tt.local && len(ids) != 0:
				t.Fatalf("refused login linked anyway: %+v", ids)
			case outcome == LoginLinked && (u.ID != local.ID || len(ids) != 1):
				t.Fatalf("linked: got user %d with %d identities, want user %d with 1", u.ID, len(ids), local.ID)
			case outcome == LoginCreated && (u.Email != tt.ext.Email || u.EmailVerified() != tt.ext.EmailVerified || u.PasswordHash != ""):
				t.Fatalf("created: got %+v", u)
			}
		})
	}
}

// TestResolveBySubjectNotEmail: a returning login is found by its subject
// even after the email changed at the provider, and an email match never
// hands over another user's profile.
func TestResolveBySubjectNotEmail(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	first, _, err := s.ResolveLogin(ctx, External{"github", "42", "old@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	again, outcome, err := s.ResolveLogin(ctx, External{"github", "42", "changed@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil || again.ID != first.ID || outcome != LoginExisting {
		t.Fatalf("returning login: got user %d %q %v, want user %d existing", again.ID, outcome, err, first.ID)
	}
	ids, _ := s.IdentitiesForUser(ctx, first.ID)
	if len(ids) != 1 || ids[0].Email != "changed@example.com" {
		t.Fatalf("identity after return: got %+v, want the new email recorded", ids)
	}
	// The same subject at another provider is another person.
	other, outcome, err := s.ResolveLogin(ctx, External{"google", "42", "someone@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil || other.ID == first.ID || outcome != LoginCreated {
		t.Fatalf("same subject, other provider: got user %d %q %v", other.ID, outcome, err)
	}
}

func TestLinkAndUnlink(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann := mustUser(t, s, "ann@example.com") // has a password
	if _, err := s.MarkEmailVerified(ctx, ann.ID, Event{Kind: EventEmailVerified}); err != nil {
		t.Fatal(err)
	}
	sso, _, err := s.ResolveLogin(ctx, External{"github", "7", "bob@example.com", true, ""}, true, Event{Kind: EventSignIn}, LoginNotices{})
	if err != nil {
		t.Fatal(err)
	}
	// Add Login links whatever the email says.
	if err := s.LinkIdentity(ctx, ann.ID, External{"google", "g-ann", "ann.personal@example.net", false, ""}, Event{Kind: EventLoginLinked}); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkIdentity(ctx, ann.ID, External{"github", "7", "bob@example.com", true, ""}, Event{Kind: EventLoginLinked}); !errors.Is(err, ErrIdentityTaken) {
		t.Fatalf("link another user's login: got %v, want ErrIdentityTaken", err)
	}
	ids, _ := s.IdentitiesForUser(ctx, ann.ID)
	if len(ids) != 1 {
		t.Fatalf("ann's logins: got %d, want 1", len(ids))
	}
	// Ann has a password: her only identity can go.
	if _, err := s.UnlinkIdentity(ctx, ann.ID, ids[0].ID, Event{Kind: EventLoginUnlinked}); err != nil {
		t.Fatalf("unlink with a password set: %v", err)
	}
	// Bob signs in only with GitHub: the last way in stays.
	bobIDs, _ := s.IdentitiesForUser(ctx, sso.ID)
	if _, err := s.UnlinkIdentity(ctx, sso.ID, bobIDs[0].ID, Event{Kind: EventLoginUnlinked}); !errors.Is(err, ErrLastLogin) {
		t.Fatalf("unlink the last way in: got %v, want ErrLastLogin", err)
	}
	// Nor can Ann remove Bob's identity.
	if _, err := s.UnlinkIdentity(ctx, ann.ID, bobIDs[0].ID, Event{Kind: EventLoginUnlinked}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unlink someone else's login: got %v, want ErrNotFound", err)
	}
	// With a second identity, Bob may drop the first.
	if err := s.LinkIdentity(ctx, sso.ID, External{"slack", "T1-U1", "bob@example.com", true, ""}, Event{Kind: EventLoginLinked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnlinkIdentity(ctx, sso.ID, bobIDs[0].ID, Event{Kind: EventLoginUnlinked}); err != nil {
		t.Fatalf("unlink with another login left: %v", err)
	}
}

// TestLoginNotices: an external sign-in queues, with its audit entry, the
// linked notice when it links by email, the new-device notice when a
// returning user comes from a browser never seen, and nothing for a new
// user or a known browser; a refused sign-in queues nothing.
func TestLoginNotices(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	notices := LoginNotices{Linked: &Notice{Circumstance: CircumstanceSecurity, Subject: "linked"},
		NewDevice: &Notice{Circumstance: CircumstanceSecurity, Subject: "new device"}}
	ann, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", PasswordHash: "h", Verified: true}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(ext External, ua string) User {
		t.Helper()
		u, _, err := s.ResolveLogin(ctx, ext, true, Event{Kind: EventSignIn, UserAgent: ua}, notices)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	subjects := func(u User) []string {
		t.Helper()
		list, err := s.RecentDeliveries(ctx, u.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.Subject)
		}
		return got
	}
	google := External{"google", "g1", "ann@example.com", true, ""}
	signIn(google, "firefox")
	signIn(google, "firefox")
	signIn(google, "safari")
	if got, want := subjects(ann), []string{"new device", "linked"}; !slices.Equal(got, want) {
		t.Errorf("ann's outbox %q, want %q (newest first)", got, want)
	}
	bob := signIn(External{"github", "b1", "bob@example.com", true, ""}, "firefox")
	if got := subjects(bob); len(got) != 0 {
		t.Errorf("a new user's outbox %q, want nothing", got)
	}
	if _, _, err := s.ResolveLogin(ctx, External{"github", "a2", "ann@example.com", false, ""}, true,
		Event{Kind: EventSignIn, UserAgent: "edge"}, notices); !errors.Is(err, ErrLinkUnverifiedProvider) {
		t.Fatalf("unverified link: got %v", err)
	}
	if got := subjects(ann); len(got) != 2 {
		t.Errorf("after a refused sign-in ann's outbox %q, want the 2 before", got)
	}
}
