package db

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReads times each read of the profile page for a user with
// several accounts, contact methods, logins and sessions, next to the
// cheapest read there is (a user by primary key) as the reference. A list
// read that costs several times the reference is being re-planned on every
// execution: see reprepareNote in the package comment.
//
//	go test -run '^$' -bench Reads ./db/
func BenchmarkReads(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/reads.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var ev Event
	other, err := s.CreateUser(ctx, NewUser{Email: "other@example.com", Name: "O", PasswordHash: "h", Verified: true}, ev)
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, NewUser{Email: "reader@example.com", Name: "R", PasswordHash: "h", Verified: true}, ev)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.CreateAccount(ctx, u.ID, fmt.Sprintf("Account %d", i), ev); err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateAccount(ctx, other.ID, fmt.Sprintf("Other %d", i), ev); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 7 {
		nm := NewContactMethod{Kind: KindEmail, Address: fmt.Sprintf("r%d@example.com", i)}
		if _, err := s.AddContactMethod(ctx, u.ID, nm, func(ContactMethod, string) (Notice, error) { return Notice{Subject: "s"}, nil }, ev); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 3 {
		if err := s.LinkIdentity(ctx, u.ID, External{Provider: "google", Subject: fmt.Sprint(i)}, ev); err != nil && i == 0 {
			b.Fatal(err)
		}
	}
	now := time.Now()
	for i := range 4 {
		ss := Session{IDHash: []byte(fmt.Sprintf("reads-%d-0123456789abcdef0123456789", i)), UserID: u.ID,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := s.CreateSession(ctx, ss); err != nil {
			b.Fatal(err)
		}
	}

	reads := []struct {
		name string
		read func() error
	}{
		{"user-by-id(reference)", func() error { _, err := s.UserByID(ctx, u.ID); return err }},
		{"preferences", func() error { _, err := s.Preferences(ctx, u.ID); return err }},
		{"active-session", func() error {
			_, err := s.ActiveSession(ctx, []byte("reads-0-0123456789abcdef0123456789"), now.Add(-time.Hour))
			return err
		}},
		{"memberships", func() error { _, err := s.MembershipsForUser(ctx, u.ID); return err }},
		{"invites", func() error { _, err := s.InvitesForUser(ctx, u.ID); return err }},
		{"sessions", func() error { _, err := s.SessionsForUser(ctx, u.ID, now.Add(-time.Hour)); return err }},
		{"identities", func() error { _, err := s.IdentitiesForUser(ctx, u.ID); return err }},
		{"contact-methods", func() error { _, err := s.ContactMethods(ctx, u.ID); return err }},
		{"rules", func() error { _, err := s.Rules(ctx, u.ID); return err }},
		{"recent-deliveries", func() error { _, err := s.RecentDeliveries(ctx, u.ID, 5); return err }},
		{"pending-email-change", func() error { _, err := s.PendingEmailChange(ctx, u.ID); return err }},
		{"members-page", func() error { _, _, err := s.Members(ctx, 1, 25, 0); return err }},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if err := r.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionAfterWrite times S2's two statements on one user, as one
// request at a time makes them: a preference saved (on the writer), then
// the session read as the next request reads it, on a reader (whose page
// cache the write has just made stale) or on the writer (whose cache the
// write kept), next to the write alone as the reference.
//
//	go test -run '^$' -bench SessionAfterWrite ./db/
func BenchmarkSessionAfterWrite(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/after-write.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	u, err := s.CreateUser(ctx, NewUser{Email: "writer@example.com", Name: "W", PasswordHash: "h", Verified: true}, Event{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	hash := []byte("after-write-0123456789abcdef012345")
	if _, err := s.CreateSession(ctx, Session{IDHash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	themes := [2]string{"light", "dark"}
	for _, r := range []struct {
		name string
		read func(context.Context, []byte, time.Time) (SignedIn, error)
	}{
		{"write-only(reference)", nil},
		{"reader", s.ActiveSession},
		{"writer", s.ActiveSessionToWrite},
	} {
		b.Run(r.name, func(b *testing.B) {
			p := DefaultPreferences()
			i := 0
			for b.Loop() {
				p.Theme = themes[i%2]
				i++
				if err := s.SavePreferences(ctx, u.ID, p); err != nil {
					b.Fatal(err)
				}
				if r.read == nil {
					continue
				}
				if _, err := r.read(ctx, hash, now.Add(-time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
