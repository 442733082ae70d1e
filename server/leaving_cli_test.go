package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/proctest"
)

// TestUserDelete: `roster user delete` refuses an owner of accounts,
// naming them; otherwise it deletes the Stripe customer (at the configured
// API) and the profile.
func TestUserDelete(t *testing.T) {
	c := newCLI(t)
	store := c.store()
	ctx := t.Context()
	u := c.createUser(store, "a@example.com")
	acc, err := store.CreateAccount(ctx, u.ID, "Acme", db.Event{Kind: db.EventAccountCreated})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetStripeCustomerID(ctx, u.ID, "cus_cli"); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.run("", "user", "delete", "-email", "a@example.com")
	if err == nil || !strings.Contains(err.Error(), "owns Acme (id ") {
		t.Fatalf("delete an owner: got %v, want a refusal naming Acme", err)
	}
	if err := store.DeleteAccount(ctx, acc.ID, u.ID, db.Event{Kind: db.EventAccountDeleted}); err != nil {
		t.Fatal(err)
	}

	// Stripe's API, as far as deleting a customer goes.
	var mu sync.Mutex
	var deleted []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		deleted = append(deleted, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id": "cus_cli", "object": "customer", "deleted": true}`))
	}))
	defer api.Close()
	var stdout strings.Builder
	env := proctest.Env(map[string]string{"ROSTER_DB": c.dbPath, "ROSTER_STRIPE_SECRET_KEY": "sk_test_cli", "ROSTER_STRIPE_API_BASE": api.URL,
		"ROSTER_STRIPE_PUBLISHABLE_KEY": "pk_test_cli"})
	if err := testCommand.Run(ctx, []string{"user", "delete", "-email", "a@example.com"}, env, strings.NewReader(""), &stdout, &stdout); err != nil {
		t.Fatalf("delete: %v; output %s", err, stdout.String())
	}
	mu.Lock()
	if len(deleted) != 1 || deleted[0] != "DELETE /v1/customers/cus_cli" {
		t.Errorf("Stripe calls: %v, want DELETE /v1/customers/cus_cli", deleted)
	}
	mu.Unlock()
	if !strings.Contains(stdout.String(), "deleted the profile of <a@example.com>") {
		t.Errorf("output %q", stdout.String())
	}
	if _, err := store.UserByEmail(ctx, "a@example.com"); err == nil {
		t.Error("the user is still there")
	}
}
