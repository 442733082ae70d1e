package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// TestOperatorChangesWorded: what an operator's commands change shows in
// the person's activity as the administrator's doing, not theirs:
// `roster account require-2fa -off` and `roster user reset-2fa` (which
// also logs every session out).
func TestOperatorChangesWorded(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	acc := a.seedAccount(t, ann, "Acme")
	ctx := context.Background()
	// The entries as the commands write them (server's CLI tests check that).
	ev := db.Event{Kind: db.EventTwoFactorRequired, Detail: map[string]any{"on": false, "by": "operator", "account": "Acme"}, AccountID: acc.ID, UserID: ann.ID}
	if err := a.store.AddEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ev = db.Event{Kind: db.EventTwoFactorReset, Detail: map[string]any{"passkeys_removed": 0, "sessions_ended": 2}, UserID: ann.ID}
	if err := a.store.AddEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := activityText(t, a, annEmail, annPassword)
	for _, want := range []string{"A server administrator stopped requiring two-factor authentication of the members of Acme",
		"A server administrator turned off two-factor authentication; every session logged out"} {
		if !strings.Contains(got, want) {
			t.Errorf("activity does not say %q:\n%s", want, got)
		}
	}
}
