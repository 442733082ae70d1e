package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMigrationBackfillsContacts: users who exist before migration 00005
// get the account email as a method, verified as their email is, with
// every circumstance routed to it.
func TestMigrationBackfillsContacts(t *testing.T) {
	ctx := context.Background()
	s, _ := migratedTo(t, 4)
	if _, err := s.w.Exec(`INSERT INTO users (email, email_verified_at, name, created_at, updated_at) VALUES
		('old@example.com', 100, 'Old', 1, 1), ('new@example.com', NULL, 'New', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		email    string
		verified bool
	}{{"old@example.com", true}, {"new@example.com", false}} {
		u, err := s.UserByEmail(ctx, tt.email)
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.ContactMethods(ctx, u.ID)
		if err != nil || len(list) != 1 || !list[0].IsAccount || list[0].Address != tt.email || list[0].Verified() != tt.verified {
			t.Errorf("%s: methods %+v (%v), want the account email, verified %v", tt.email, list, err, tt.verified)
		}
		rules, _ := s.Rules(ctx, u.ID)
		if len(rules) != 8 {
			t.Errorf("%s: %d rules, want 8", tt.email, len(rules))
		}
	}
}

// TestRoutingStaysWithinTheUser: a rule may name only the user's own
// verified methods, and a notice reaches only what the rules name.
func TestRoutingStaysWithinTheUser(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann, bob := mustUser(t, s, "ann@example.com"), mustUser(t, s, "bob@example.com")
	var code string
	compose := func(_ ContactMethod, c string) (Notice, error) { code = c; return Notice{Subject: "code"}, nil }
	bobPhone, err := s.AddContactMethod(ctx, bob.ID, NewContactMethod{Kind: KindSMS, Address: "+14155550100"}, compose, Event{Kind: EventContactAdded})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyContactMethod(ctx, bob.ID, bobPhone.ID, code, Event{Kind: EventContactVerified}); err != nil {
		t.Fatal(err)
	}
	err = s.SetRules(ctx, ann.ID, []Rule{{CircumstanceAlerts, 1, bobPhone.ID}}, Event{Kind: EventRoutingChanged})
	if !errors.Is(err, ErrBadRule) {
		t.Errorf("Ann routes to Bob's phone: got %v, want ErrBadRule", err)
	}
	if _, err := s.ContactMethodByID(ctx, ann.ID, bobPhone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ann reads Bob's phone: got %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteContactMethod(ctx, ann.ID, bobPhone.ID, Event{Kind: EventContactDeleted}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ann deletes Bob's phone: got %v, want ErrNotFound", err)
	}

	// Bob: alerts of severity 1 to the phone only; security still reaches
	// the account email (and only it).
	if err := s.SetRules(ctx, bob.ID, []Rule{{CircumstanceAlerts, 1, bobPhone.ID}}, Event{Kind: EventRoutingChanged}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		n    Notice
		want []string
	}{
		{Notice{Circumstance: CircumstanceAlerts, Severity: 1, Subject: "a"}, []string{"+14155550100"}},
		{Notice{Circumstance: CircumstanceAlerts, Severity: 2, Subject: "b"}, nil},
		{Notice{Circumstance: CircumstanceBilling, Subject: "c"}, nil},
		{Notice{Circumstance: CircumstanceSecurity, Subject: "d"}, []string{"bob@example.com"}},
	} {
		ids, err := s.Enqueue(ctx, bob.ID, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range ids {
			d, _ := s.DeliveryByID(ctx, id)
			got = append(got, d.Address)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("%s severity %d: queued to %v, want %v", tt.n.Circumstance, tt.n.Severity, got, tt.want)
		}
	}
}

// TestNoticeRollsBackWithItsCause: a notice in an event is queued in the
// event's transaction, so a change that fails leaves no notice behind.
func TestNoticeRollsBackWithItsCause(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ann := mustUser(t, s, "ann@example.com")
	ev := Event{Kind: EventPasswordChanged, Notice: &Notice{Circumstance: CircumstanceSecurity, Subject: "changed"}}
	ev.UserID = ann.ID
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx *sql.Tx) error {
		if err := addEvent(ctx, tx, ev, s.now()); err != nil {
			return err
		}
		return boom // the change fails after its event was written
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing change: %v", err)
	}
	if list, _ := s.RecentDeliveries(ctx, ann.ID, 10); len(list) != 0 {
		t.Errorf("outbox after a failed change: %+v, want empty", list)
	}
	if _, err := s.ChangePassword(ctx, ann.ID, "h2", nil, ev); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.RecentDeliveries(ctx, ann.ID, 10); len(list) != 1 || list[0].Subject != "changed" {
		t.Errorf("outbox after the change: %+v, want the notice", list)
	}
}

// TestCodeLimits: 5 codes an address an hour, 20 a user a day; a refused
// add stores nothing, and the windows slide.
func TestCodeLimits(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now()
	s.now = func() time.Time { return now }
	u, err := s.CreateUser(ctx, NewUser{Email: "ann@example.com", Name: "Ann"}, Event{Kind: EventSignUp})
	if err != nil {
		t.Fatal(err)
	}
	compose := func(ContactMethod, string) (Notice, error) { return Notice{Subject: "code"}, nil }
	add := func(address string) (ContactMethod, error) {
		return s.AddContactMethod(ctx, u.ID, NewContactMethod{Kind: KindEmail, Address: address}, compose, Event{Kind: EventContactAdded})
	}
	var methods []ContactMethod
	for i := range 4 {
		m, err := add(fmt.Sprintf("m%d@example.com", i))
		if err != nil {
			t.Fatal(err)
		}
		methods = append(methods, m)
		for range MaxCodesPerAddressHour - 1 {
			if _, err := s.SendContactCode(ctx, u.ID, m.ID, compose); err != nil {
				t.Fatalf("code to %s: %v", m.Address, err)
			}
		}
		if i == 0 {
			var th *Throttled
			_, err := s.SendContactCode(ctx, u.ID, m.ID, compose)
			if !errors.Is(err, ErrCodesAddress) || !errors.As(err, &th) || th.RetryAfter != time.Hour {
				t.Errorf("6th code in an hour: got %v, want ErrCodesAddress for an hour", err)
			}
		}
	}
	// Both full: the answer is the limit that frees last.
	if _, err := s.SendContactCode(ctx, u.ID, methods[0].ID, compose); !errors.Is(err, ErrCodesUser) {
		t.Errorf("6th code to an address, 21st of the day: got %v, want ErrCodesUser", err)
	}
	now = now.Add(61 * time.Minute)
	if _, err := add("m4@example.com"); !errors.Is(err, ErrCodesUser) {
		t.Errorf("21st code in a day: got %v, want ErrCodesUser", err)
	}
	if list, _ := s.ContactMethods(ctx, u.ID); len(list) != 5 {
		t.Errorf("%d methods after the refused add, want 5", len(list))
	}
	now = now.Add(24 * time.Hour)
	if _, err := add("m4@example.com"); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// TestKindList: the kinds' order, names and which are phones come from one
// list.
func TestKindList(t *testing.T) {
	if want := []string{KindEmail, KindSMS, KindVoice, KindSlack, KindWebhook}; !slices.Equal(Kinds, want) {
		t.Errorf("Kinds: got %v, want %v", Kinds, want)
	}
	for _, tt := range []struct {
		kind, name string
		phone      bool
	}{
		{KindEmail, "Email", false}, {KindSMS, "SMS", true}, {KindVoice, "Voice call", true},
		{KindSlack, "Slack", false}, {KindWebhook, "Webhook", false}, {"fax", "fax", false},
	} {
		m := ContactMethod{Kind: tt.kind}
		if m.KindName() != tt.name || m.IsPhone() != tt.phone {
			t.Errorf("%s: got %q, phone %v; want %q, %v", tt.kind, m.KindName(), m.IsPhone(), tt.name, tt.phone)
		}
	}
	if want := `kind IN ('sms', 'voice')`; !strings.Contains(countMethodsQuery, want) {
		t.Errorf("countMethodsQuery: got %s, want the phones %s", countMethodsQuery, want)
	}
}
