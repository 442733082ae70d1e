package db

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPendingSignInsEndWithSessions: a sign-in waiting for its second
// step is a session not started yet, begun with the credentials of
// before. Every change that ends the person's sessions, or their second
// factors, ends it too, in the same transaction; another person's stays.
func TestPendingSignInsEndWithSessions(t *testing.T) {
	noTell := func(string, string) (Notice, error) { return Notice{}, nil }
	for _, tt := range []struct {
		name     string
		verified bool
		end      func(t *testing.T, s *Store, u User) error
	}{
		{"password change", true, func(t *testing.T, s *Store, u User) error {
			_, err := s.ChangePassword(context.Background(), u.ID, "new", []byte("mine"), Event{Kind: EventPasswordChanged})
			return err
		}},
		{"log out other sessions", true, func(t *testing.T, s *Store, u User) error {
			_, err := s.RevokeOtherSessions(context.Background(), u.ID, []byte("mine"), Event{Kind: EventSessionsRevoked})
			return err
		}},
		{"password reset", true, func(t *testing.T, s *Store, u User) error {
			if err := s.CreateEmailToken(context.Background(), []byte("r"), u.ID, TokenReset, u.Email, time.Hour, nil); err != nil {
				return err
			}
			_, err := s.ResetPassword(context.Background(), []byte("r"), "new", Event{Kind: EventPasswordReset})
			return err
		}},
		{"email change", true, func(t *testing.T, s *Store, u User) error {
			ctx := context.Background()
			if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "new@example.com", []byte("c"), time.Hour, nil), Event{Kind: EventEmailChangeAsked}); err != nil {
				return err
			}
			_, err := s.ConfirmEmailChange(ctx, []byte("c"), []byte("mine"), noTell, Event{Kind: EventEmailChanged})
			return err
		}},
		{"turning two-factor off", true, func(t *testing.T, s *Store, u User) error {
			ctx := context.Background()
			if err := testStartTOTP(s, ctx, u.ID, []byte("sealed")); err != nil {
				return err
			}
			if err := testConfirmTOTP(s, ctx, u.ID, 1, [][]byte{[]byte("r1")}, Event{Kind: EventTwoFactorEnabled}); err != nil {
				return err
			}
			return s.DisableTwoFactor(ctx, u.ID, Proof{Recovery: []byte("r1")}, Event{Kind: EventRecoveryCodeUsed}, Event{Kind: EventTwoFactorDisabled})
		}},
		{"first verification by link", false, func(t *testing.T, s *Store, u User) error {
			if err := s.CreateEmailToken(context.Background(), []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, nil); err != nil {
				return err
			}
			_, err := s.VerifyEmail(context.Background(), []byte("v"), []byte("mine"), Event{Kind: EventEmailVerified})
			return err
		}},
		{"first verification by the operator", false, func(t *testing.T, s *Store, u User) error {
			_, err := s.MarkEmailVerified(context.Background(), u.ID, Event{Kind: EventEmailVerified})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTest(t)
			u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "Ann", PasswordHash: "h", Verified: tt.verified}, Event{Kind: EventSignUp})
			if err != nil {
				t.Fatal(err)
			}
			bob := mustUser(t, s, "bob@example.com")
			newSession(t, s, u.ID, "mine")
			for _, p := range []PendingSignIn{{TokenHash: []byte("ann"), UserID: u.ID, Method: "password"}, {TokenHash: []byte("bob"), UserID: bob.ID, Method: "password"}} {
				if err := s.StartPendingSignIn(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.end(t, s, u); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PendingSignInFor(ctx, []byte("ann")); !errors.Is(err, ErrPendingGone) {
				t.Errorf("Ann's sign-in waiting for its second step after the %s: got %v, want %v", tt.name, err, ErrPendingGone)
			}
			if err := s.CompleteSecondStep(ctx, PendingSignIn{TokenHash: []byte("ann"), UserID: u.ID}, Proof{Elsewhere: "passkey"}, Event{}); !errors.Is(err, ErrPendingGone) {
				t.Errorf("completing it after the %s: got %v, want %v", tt.name, err, ErrPendingGone)
			}
			if _, err := s.PendingSignInFor(ctx, []byte("bob")); err != nil {
				t.Errorf("Bob's sign-in after Ann's %s: got %v, want it waiting", tt.name, err)
			}
		})
	}
}

// sessionDeleters are the functions of this package allowed to delete
// sessions other than through endSessions, with why: none of them ends a
// person's sessions because their credentials changed.
var sessionDeleters = map[string]string{
	"endSessions":             "the one place (it ends the pending sign-ins too)",
	"DeleteSession":           "one browser logging out (its pending sign-in, if any, is dropped by DropPendingSignIn)",
	"RevokeSession":           "one session ended from the profile's list",
	"CancelEmailChangeByLink": "the one session that asked for an email change stopped from the old address's link, as RevokeSession",
	"DeleteExpired":           "the sweep of expired sessions (and expired pending sign-ins)",
	"confirmAddress":          "the sessions opened through the logins it removes, before endSessions runs in the same branch",
}

// TestSessionsEndThroughEndSessions reads this package's sources: a
// statement that deletes sessions outside endSessions is in a function
// of sessionDeleters, so a new path that signs a person out (and would
// leave their pending sign-ins waiting) cannot be added without deciding.
func TestSessionsEndThroughEndSessions(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !strings.Contains(strings.ToUpper(lit.Value), "DELETE FROM SESSIONS") {
					return true
				}
				found++
				if _, ok := sessionDeleters[fn.Name.Name]; !ok {
					t.Errorf("%s: %s deletes sessions without endSessions, which ends the person's pending sign-ins with them: call it, or add the function to sessionDeleters with why", fset.Position(lit.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
	if found < len(sessionDeleters) {
		t.Errorf("found %d statements deleting sessions, fewer than the %d functions allowed to: is the search still right?", found, len(sessionDeleters))
	}
}
