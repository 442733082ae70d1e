package db

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"
)

// TestSudoCode: a mailed re-authentication code works once, for its
// session only, until it expires, and MaxSudoCodeTries wrong codes spend
// it; sending is limited per person.
func TestSudoCode(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var mu sync.Mutex
	now := time.Now()
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	u := mustUser(t, s, "sso@example.com")
	one, other := newSession(t, s, u.ID, "one"), newSession(t, s, u.ID, "two")
	send := func(ss Session) string {
		t.Helper()
		var code string
		err := s.SendSudoCode(ctx, u.ID, ss.IDHash, func(c string) (Mail, error) {
			code = c
			return Mail{Subject: "code", Body: c, Kept: "gone"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
			t.Fatalf("code %q, want six digits", code)
		}
		return code
	}
	fresh := func(ss Session) bool {
		t.Helper()
		ok, err := s.Reauthenticated(ctx, u.ID, ss.IDHash)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	ev := Event{Kind: EventSudo}
	wrong := func(c string) string {
		if c == "000000" {
			return "111111"
		}
		return "000000"
	}

	code := send(one)
	if err := s.UseSudoCode(ctx, u.ID, other.IDHash, code, ev); !errors.Is(err, ErrSudoCode) {
		t.Errorf("the code in another session: got %v, want ErrSudoCode", err)
	}
	if err := s.UseSudoCode(ctx, u.ID, one.IDHash, code, ev); err != nil || !fresh(one) || fresh(other) {
		t.Fatalf("the code in its session: got %v, fresh %v/%v; want only that session re-authenticated", err, fresh(one), fresh(other))
	}
	if err := s.UseSudoCode(ctx, u.ID, one.IDHash, code, ev); !errors.Is(err, ErrSudoCode) {
		t.Errorf("the code again: got %v, want ErrSudoCode", err)
	}
	advance(SudoWindow)
	if fresh(one) {
		t.Error("the window outlived SudoWindow")
	}

	code = send(other)
	for i := 0; i < MaxSudoCodeTries; i++ {
		if err := s.UseSudoCode(ctx, u.ID, other.IDHash, wrong(code), ev); !errors.Is(err, ErrSudoCode) {
			t.Fatalf("wrong code %d: got %v", i+1, err)
		}
	}
	if err := s.UseSudoCode(ctx, u.ID, other.IDHash, code, ev); !errors.Is(err, ErrSudoCode) || fresh(other) {
		t.Errorf("the right code after %d wrong ones: got %v, want it spent", MaxSudoCodeTries, err)
	}

	code = send(other)
	advance(SudoCodeTTL)
	if err := s.UseSudoCode(ctx, u.ID, other.IDHash, code, ev); !errors.Is(err, ErrSudoCode) {
		t.Errorf("an expired code: got %v, want ErrSudoCode", err)
	}

	for i := 3; i < MaxSudoCodesPerHour; i++ {
		send(one)
	}
	err := s.SendSudoCode(ctx, u.ID, one.IDHash, func(string) (Mail, error) { return Mail{}, nil })
	if !errors.Is(err, ErrThrottled) {
		t.Errorf("code %d in an hour: got %v, want ErrThrottled", MaxSudoCodesPerHour+1, err)
	}
}
