package db

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// linkMail is a mail with a link, as views.LinkMail writes it.
func linkMail(link string) *Mail {
	return &Mail{Subject: "Your link", Body: "Open " + link + " now.", Kept: "Open (link removed after delivery) now."}
}

// deliver claims the row id at when, as a worker does, and marks it sent
// (or given up).
func deliver(t *testing.T, s *Store, id int64, when time.Time, sent bool) {
	t.Helper()
	ctx := context.Background()
	list, err := s.ClaimDeliveries(ctx, "w", when, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range list {
		if d.ID == id {
			found = true
		} else if err := s.ReleaseDelivery(ctx, d.ID, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("claim at %v: row %d not among %+v", when, id, list)
	}
	if sent {
		err = s.MarkSent(ctx, id, "w", when)
	} else {
		err = s.MarkFailed(ctx, id, "w", "550 no such user", when, true)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// mailRow is the id of the one outbox row carrying the token hash.
func mailRow(t *testing.T, s *Store, hash []byte) int64 {
	t.Helper()
	var id int64
	if err := s.w.QueryRow(`SELECT id FROM outbox WHERE token_hash = ?`, hash).Scan(&id); err != nil {
		t.Fatalf("the mail of token %q: %v", hash, err)
	}
	return id
}

// TestLinkClockStartsAtDelivery: a reset link queued during an outage
// longer than its hour still works when its mail finally goes, and for one
// hour from then; an invite's and an email change's likewise count from
// their delivery.
func TestLinkClockStartsAtDelivery(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	start := time.Now().Truncate(time.Second)
	now := start
	s.now = func() time.Time { return now }
	u := verifiedUser(t, s, "ann@example.com")
	if err := s.CreateEmailToken(ctx, []byte("reset"), u.ID, TokenReset, u.Email, time.Hour, linkMail("https://r/reset")); err != nil {
		t.Fatal(err)
	}
	acc, err := s.CreateAccount(ctx, u.ID, "Acme", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvite(ctx, acc.ID, u.ID, "carol@example.com", RoleNormal, []byte("invite"), linkMail("https://r/invite"), Event{Kind: EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("change"), 48*time.Hour, linkMail("https://r/change")), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}

	// Three hours of outage: the reset link, an hour long, still works.
	now = start.Add(3 * time.Hour)
	if _, err := s.ValidResetToken(ctx, []byte("reset")); err != nil {
		t.Fatalf("the reset link before its mail went, 3 h after asking: %v, want it working", err)
	}
	sent := now
	for _, h := range []string{"reset", "invite", "change"} {
		deliver(t, s, mailRow(t, s, []byte(h)), sent, true)
	}

	now = sent.Add(59 * time.Minute)
	if _, err := s.ValidResetToken(ctx, []byte("reset")); err != nil {
		t.Errorf("the reset link 59 min after delivery: %v, want it working", err)
	}
	now = sent.Add(time.Hour)
	if _, err := s.ValidResetToken(ctx, []byte("reset")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the reset link an hour after delivery: %v, want ErrNotFound", err)
	}
	got, err := s.InviteByToken(ctx, []byte("invite"))
	if err != nil || !got.ExpiresAt.Equal(sent.Add(InviteTTL)) {
		t.Errorf("invite %d: expires %v, %v; want %v, InviteTTL after delivery", inv.ID, got.ExpiresAt, err, sent.Add(InviteTTL))
	}
	now = sent.Add(47 * time.Hour)
	if _, _, err := s.EmailChangeByToken(ctx, []byte("change")); err != nil {
		t.Errorf("the email change link 47 h after delivery: %v, want it working", err)
	}
	now = sent.Add(48 * time.Hour)
	if _, _, err := s.EmailChangeByToken(ctx, []byte("change")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the email change link 48 h after delivery: %v, want ErrNotFound", err)
	}
}

// TestLinkScrubbedOnceSent: the outbox holds a link only while its mail
// waits; once sent or given up, the stored body is the kept one.
func TestLinkScrubbedOnceSent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := verifiedUser(t, s, "ann@example.com")
	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, linkMail("https://r/verify/SECRET")); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.new@example.com", []byte("c"), time.Hour, linkMail("https://r/change/SECRET")), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	sent, gone := mailRow(t, s, []byte("v")), mailRow(t, s, []byte("c"))
	if d, err := s.DeliveryByID(ctx, sent); err != nil || !strings.Contains(d.Body, "SECRET") {
		t.Fatalf("queued mail: body %q, %v; want the link, which the worker sends", d.Body, err)
	}
	when := time.Now().Add(time.Second)
	deliver(t, s, sent, when, true)
	deliver(t, s, gone, when, false)
	for _, id := range []int64{sent, gone} {
		d, err := s.DeliveryByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(d.Body, "SECRET") || !strings.Contains(d.Body, "link removed after delivery") || d.Subject != "Your link" {
			t.Errorf("row %d %s: subject %q, body %q; want the subject kept and the link removed", id, d.State, d.Subject, d.Body)
		}
	}
	var left int
	if err := s.w.QueryRow(`SELECT count(*) FROM outbox WHERE body LIKE '%SECRET%' OR body_kept LIKE '%SECRET%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("rows holding the link: %d, %v; want 0", left, err)
	}
	list, err := s.RecentDeliveries(ctx, u.ID, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("the notifications page's rows: %d, %v; want 2", len(list), err)
	}
	for _, d := range list {
		if strings.Contains(d.Body, "SECRET") {
			t.Errorf("the notifications page shows row %d with its link: %q", d.ID, d.Body)
		}
	}
}

// failAll claims every due row and fails it, as an attempt while the
// mail server is down does.
func failAll(t *testing.T, s *Store, when time.Time) {
	t.Helper()
	ctx := context.Background()
	list, err := s.ClaimDeliveries(ctx, "w", when, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if err := s.MarkFailed(ctx, d.ID, "w", "connection refused", when, false); err != nil {
			t.Fatal(err)
		}
	}
}

// queuedLinks lists the token hashes of the outbox's rows, in order.
func queuedLinks(t *testing.T, s *Store) string {
	t.Helper()
	var got string
	if err := s.w.QueryRow(`SELECT ifnull(group_concat(CAST(token_hash AS TEXT), ' '), '') FROM (SELECT token_hash FROM outbox ORDER BY id)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestReplacedLinkDropsItsMail: while the mail server is out, a second
// reset replaces the first link, whose mail, waiting for a retry, goes no
// more: one mail, with the link that works. A resent invite and a new
// email change do the same; a link's mail not tried yet still goes. A
// revoked invite's, a cancelled change's and a deleted account's invites'
// mails go no more, tried or not.
func TestReplacedLinkDropsItsMail(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := verifiedUser(t, s, "ann@example.com")
	acc, err := s.CreateAccount(ctx, u.ID, "Acme", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEmailToken(ctx, []byte("r1"), u.ID, TokenReset, u.Email, time.Hour, linkMail("https://r/r1")); err != nil {
		t.Fatal(err)
	}
	inv, err := s.CreateInvite(ctx, acc.ID, u.ID, "carol@example.com", RoleNormal, []byte("i1"), linkMail("https://r/i1"), Event{Kind: EventInviteSent})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.c1@example.com", []byte("c1"), time.Hour, linkMail("https://r/c1")), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	failAll(t, s, time.Now().Add(time.Second))
	if err := s.CreateEmailToken(ctx, []byte("r2"), u.ID, TokenReset, u.Email, time.Hour, linkMail("https://r/r2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResendInvite(ctx, acc.ID, u.ID, inv.ID, []byte("i2"), linkMail("https://r/i2"), Event{Kind: EventInviteResent}); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestEmailChange(ctx, ask(t, s, u.ID, "ann.c2@example.com", []byte("c2"), time.Hour, linkMail("https://r/c2")), Event{Kind: EventEmailChangeAsked}); err != nil {
		t.Fatal(err)
	}
	if got := queuedLinks(t, s); got != "r2 i2 c2" {
		t.Errorf("after replacing failing links: queued %q, want only the new ones: r2 i2 c2", got)
	}
	// Not tried yet: the replaced link's mail still goes.
	if err := s.CreateEmailToken(ctx, []byte("r3"), u.ID, TokenReset, u.Email, time.Hour, linkMail("https://r/r3")); err != nil {
		t.Fatal(err)
	}
	if got := queuedLinks(t, s); got != "r2 i2 c2 r3" {
		t.Errorf("after replacing a link not tried yet: queued %q, want r2 i2 c2 r3", got)
	}
	list, _, err := s.PendingInvites(ctx, acc.ID, 10, 0)
	if err != nil || len(list) != 1 || list[0].Mail.State != DeliveryQueued || list[0].Mail.Failing {
		t.Errorf("pending invites: %+v, %v; want Carol's, its new mail queued", list, err)
	}
	if err := s.RevokeInvite(ctx, acc.ID, u.ID, inv.ID, Event{Kind: EventInviteRevoked}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelEmailChange(ctx, u.ID, Event{Kind: EventEmailChangeCancelled}); err != nil {
		t.Fatal(err)
	}
	if got := queuedLinks(t, s); got != "r2 r3" {
		t.Errorf("after revoking the invite and cancelling the change: queued %q, want r2 r3", got)
	}
	if _, err := s.CreateInvite(ctx, acc.ID, u.ID, "dave@example.com", RoleNormal, []byte("d1"), linkMail("https://r/d1"), Event{Kind: EventInviteSent}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, acc.ID, u.ID, Event{Kind: EventAccountDeleted}); err != nil {
		t.Fatal(err)
	}
	if got := queuedLinks(t, s); got != "r2 r3" {
		t.Errorf("after deleting the account: queued %q, want its invite's mail gone: r2 r3", got)
	}
}

// TestMailLaneFirst: of a backlog of notifications and a reset mail, the
// mail is claimed first.
func TestMailLaneFirst(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := verifiedUser(t, s, "ann@example.com")
	for range 3 {
		if _, err := s.Enqueue(ctx, u.ID, Notice{Circumstance: CircumstanceSecurity, Subject: "notice"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateEmailToken(ctx, []byte("r"), u.ID, TokenReset, u.Email, time.Hour, linkMail("https://r/r")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ClaimDeliveries(ctx, "w", time.Now().Add(time.Second), time.Minute, 1)
	if err != nil || len(list) != 1 || list[0].Subject != "Your link" {
		t.Fatalf("first claim: %+v, %v; want the reset mail", list, err)
	}
}

// TestVerifyMailState: the profile reads where the confirmation link's
// mail stands: sending, failing while retried, sent.
func TestVerifyMailState(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := mustUser(t, s, "ann@example.com")
	if m, err := s.VerifyMailState(ctx, u.ID); err != nil || m.State != "" {
		t.Fatalf("no link yet: %+v, %v; want no state", m, err)
	}
	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, 48*time.Hour, linkMail("https://r/v")); err != nil {
		t.Fatal(err)
	}
	if m, err := s.VerifyMailState(ctx, u.ID); err != nil || m.State != DeliveryQueued || m.Failing {
		t.Errorf("queued: %+v, %v; want queued, not failing", m, err)
	}
	id := mailRow(t, s, []byte("v"))
	when := time.Now().Add(time.Second)
	list, err := s.ClaimDeliveries(ctx, "w", when, time.Minute, 1)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if err := s.MarkFailed(ctx, id, "w", "connection refused", when, false); err != nil {
		t.Fatal(err)
	}
	if m, err := s.VerifyMailState(ctx, u.ID); err != nil || m.State != DeliveryQueued || !m.Failing {
		t.Errorf("after a failed attempt: %+v, %v; want queued and failing", m, err)
	}
	deliver(t, s, id, when.Add(time.Minute), true)
	if m, err := s.VerifyMailState(ctx, u.ID); err != nil || m.State != DeliverySent || m.SentAt.IsZero() {
		t.Errorf("after delivery: %+v, %v; want sent", m, err)
	}
}

// TestMailLaneMigration: 00016 keeps the outbox's rows and ids (and never
// hands out a deleted row's id), lets a mail go to no profile, and goes
// down, dropping such mails, and up again.
func TestMailLaneMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 15)
	u := verifiedUser(t, s, "ann@example.com")
	for range 3 {
		if _, err := s.w.Exec(`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
			VALUES (?, 'email', 'ann@example.com', 'security', 's', 'b', 1, 1)`, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.Exec(`DELETE FROM outbox WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
		VALUES (NULL, 'email', 'carol@example.com', 'account', 'Invite', 'b', 1, 1)`); err == nil {
		t.Fatal("before 00016: a mail without a profile was accepted")
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows := func() string {
		var got string
		if err := s.w.QueryRow(`SELECT group_concat(id || ':' || ifnull(user_id, '-'), ' ') FROM (SELECT * FROM outbox ORDER BY id)`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := rows(); got != "1:1 2:1" {
		t.Errorf("after 00016: rows %q, want 1:1 2:1", got)
	}
	if err := s.CreateEmailToken(ctx, []byte("v"), u.ID, TokenVerify, u.Email, time.Hour, linkMail("https://r/v")); err != nil {
		t.Fatal(err)
	}
	acc, err := s.CreateAccount(ctx, u.ID, "Acme", Event{Kind: EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateInvite(ctx, acc.ID, u.ID, "carol@example.com", RoleNormal, []byte("i"), linkMail("https://r/i"), Event{Kind: EventInviteSent}); err != nil {
		t.Fatal(err)
	}
	if got := rows(); got != "1:1 2:1 4:1 5:-" {
		t.Errorf("queued after 00016: rows %q, want 1:1 2:1 4:1 5:- (id 3 not handed out again)", got)
	}
	if _, err := p.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	if got := rows(); got != "1:1 2:1 4:1" {
		t.Errorf("after down: rows %q, want the invite's mail dropped", got)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`DELETE FROM outbox WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.w.QueryRow(`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
		VALUES (NULL, 'email', 'dave@example.com', 'account', 'Invite', 'b', 1, 1) RETURNING id`).Scan(&id); err != nil || id <= 5 {
		t.Errorf("up again: a new row got id %d, %v; want above 5", id, err)
	}
}
