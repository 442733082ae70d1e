package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/totptest"
)

// TestAccountRequireTwoFactorOff: `roster account require-2fa -account ID
// -off` is the operator's way out of an account that requires two-factor
// after every Admin turned theirs off (nobody can open its console): it
// lifts the requirement, says so, writes the change to the Admins'
// activity as the operator's, and refuses a missing account, a missing
// -off and a missing -account with a clear line.
func TestAccountRequireTwoFactorOff(t *testing.T) {
	c := newCLI(t)
	store := c.store()
	ctx := t.Context()
	u := c.createUser(store, "a@example.com")
	acc, err := store.CreateAccount(ctx, u.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := totptest.Start(ctx, store, u.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := totptest.Confirm(ctx, store, u.ID, 1, [][]byte{[]byte("h1")}, db.Event{Kind: db.EventTwoFactorEnabled}); err != nil {
		t.Fatal(err)
	}
	if err := store.SetRequireTwoFactor(ctx, acc.ID, u.ID, true, db.Event{Kind: db.EventTwoFactorRequired}); err != nil {
		t.Fatal(err)
	}
	// The only Admin turns two-factor off: the account is locked.
	if _, err := store.ResetTwoFactor(ctx, u.ID, false, db.Event{Kind: db.EventTwoFactorReset}); err != nil {
		t.Fatal(err)
	}

	id := strconv.FormatInt(acc.ID, 10)
	out := c.mustRun("", "account", "require-2fa", "-account", id, "-off")
	if want := "Acme (account " + id + ") no longer requires two-factor authentication of its members"; !strings.Contains(out, want) {
		t.Errorf("output %q, want %q", out, want)
	}
	m, err := store.Membership(ctx, acc.ID, u.ID)
	if err != nil || m.Account.RequireTwoFactor {
		t.Fatalf("after require-2fa -off: %+v (%v), want the requirement off", m.Account, err)
	}
	evs, err := store.EventsForUser(ctx, u.ID, db.EventKey{}, 1)
	if err != nil || len(evs.Events) != 1 || evs.Events[0].Kind != db.EventTwoFactorRequired || evs.Events[0].IP != "cli" ||
		evs.Events[0].AccountID != acc.ID || evs.Events[0].Detail["on"] != false || evs.Events[0].Detail["by"] != "operator" {
		t.Errorf("audit: %+v (%v), want account_two_factor_required off, by the operator, from the cli, in the Admin's log", evs.Events, err)
	}

	// Again: nothing to change, nothing written.
	if out := c.mustRun("", "account", "require-2fa", "-account", id, "-off"); !strings.Contains(out, "Acme (account "+id+") does not require two-factor authentication; nothing changed") {
		t.Errorf("second run: %q", out)
	}
	if again, _ := store.EventsForUser(ctx, u.ID, db.EventKey{}, 1); len(again.Events) != 1 || again.Events[0].ID != evs.Events[0].ID {
		t.Errorf("second run wrote to the log: %+v", again.Events)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "require-2fa", "-account", "999", "-off"}, "account require-2fa: there is no account 999"},
		{[]string{"account", "require-2fa", "-account", id}, "usage: roster account require-2fa -account ID -off"},
		{[]string{"account", "require-2fa", "-off"}, "usage: roster account require-2fa -account ID -off"},
		{[]string{"account", "lock"}, "usage: roster account require-2fa -account ID -off"},
	} {
		if _, _, err := c.run("", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("roster %s: got %v, want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	if help, _, err := c.run("", "help"); err != nil || !strings.Contains(help, "roster account require-2fa -account ID -off") {
		t.Errorf("help does not list roster account require-2fa (%v)", err)
	}
}
