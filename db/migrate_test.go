package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

// migratedTo opens a new database with the migrations up to version
// applied, and the provider to apply the rest (or undo some) with.
func migratedTo(t *testing.T, version int64) (*Store, *goose.Provider) {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, migrationsFS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// TestCheckListsMigration: 00008 rebuilds preferences and outbox with their
// rows, and the rebuilt checks refuse what the old ones did, down and up.
func TestCheckListsMigration(t *testing.T) {
	ctx := context.Background()
	s, p := migratedTo(t, 7)
	u, err := s.CreateUser(ctx, NewUser{Email: "m@example.com", Name: "M", PasswordHash: "h"}, Event{})
	if err != nil {
		t.Fatal(err)
	}
	saved := Preferences{PageSize: 50, Timezone: "Europe/Paris", DateFormat: "eu", Clock: "12", WeekStart: "sunday",
		Theme: "dark", GraphStyle: "bar", GraphRange: "90d", Legend: false, Colourblind: true}
	if err := s.SavePreferences(ctx, u.ID, saved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, state, next_attempt_at, created_at)
		VALUES (?, 'sms', '+14155550100', 'billing', 's', 'b', 'failed', 1, 2)`, u.ID); err != nil {
		t.Fatal(err)
	}

	check := func(when string) {
		t.Helper()
		got, err := s.Preferences(ctx, u.ID)
		if err != nil || got != saved {
			t.Errorf("%s: preferences %+v, %v; want %+v", when, got, err, saved)
		}
		list, err := s.Deliveries(ctx, u.ID, 10, 0)
		if err != nil || len(list) != 1 || list[0].Kind != KindSMS || list[0].State != "failed" || list[0].Circumstance != CircumstanceBilling {
			t.Errorf("%s: outbox %+v, %v; want the one failed SMS", when, list, err)
		}
		for _, bad := range []string{
			`UPDATE preferences SET theme = 'blue'`,
			`UPDATE preferences SET page_size = 11`,
			`UPDATE preferences SET graph_range = '1y'`,
			`UPDATE outbox SET state = 'lost'`,
			`UPDATE outbox SET kind = 'fax'`,
			`UPDATE outbox SET circumstance = 'other'`,
		} {
			if _, err := s.w.ExecContext(ctx, bad); err == nil || !strings.Contains(err.Error(), "CHECK") {
				t.Errorf("%s: %s: got %v, want a CHECK failure", when, bad, err)
			}
		}
	}
	check("before 00008")
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check("after 00008")
	if _, err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	check("after 00008 down")
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	check("after 00008 again")
}

// TestChecksBuildNoTables: SQLite codes IN with three or more constants as an
// ephemeral table built on every execution; the hot writes' checks must not
// (see 00008_check_lists.sql).
func TestChecksBuildNoTables(t *testing.T) {
	s := openTest(t)
	for _, stmt := range []string{
		`INSERT INTO preferences (user_id, page_size, timezone, date_format, clock, week_start, theme, graph_style, graph_range, legend, colourblind, updated_at)
			VALUES (1, 25, '', 'iso', '24', 'monday', 'system', 'line', '7d', 1, 0, 0)
			ON CONFLICT (user_id) DO UPDATE SET theme = excluded.theme`,
		`INSERT INTO outbox (user_id, kind, address, circumstance, subject, body, next_attempt_at, created_at)
			VALUES (1, 'email', 'a@example.com', 'verify', 's', 'b', 0, 0)`,
		`UPDATE outbox SET state = 'sent' WHERE id = 1`,
	} {
		rows, err := s.w.Query("EXPLAIN " + stmt)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if op, _ := vals[1].(string); op == "OpenEphemeral" {
				t.Errorf("%s\nopens an ephemeral table (a CHECK written with IN?)", strings.Join(strings.Fields(stmt), " "))
				break
			}
		}
		rows.Close()
	}
}
