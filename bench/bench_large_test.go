package bench

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/server"
)

// The database of scenario S5.
const (
	largeUsers       = 100_000
	largeAccounts    = 10_000
	largeMembersEach = 30 // 300k memberships
	largeEvents      = 1_000_000
	// Every 100th event is the activity user's: 10k of them, spread over
	// the whole table as a long-lived user's would be.
	largeActivityEvery = 100
	largeActivityEmail = "activity@bench.example"
)

// The requests of each measuring round, and the rounds. Rounds alternate
// the two sides of each comparison so that drift on this shared machine
// falls on both.
const (
	largeRounds           = 6
	largeProfileRequests  = 2000
	largeActivityRequests = 1000
	largeSerialRequests   = 500
	largeStoreCalls       = 2000
)

// BenchmarkLargeDB is scenario S5: a database of 100k users, 10k accounts,
// 300k memberships and 1M audit events, seeded with SQL on the file before
// the application opens it. In the same run it measures
//   - GET /profile of a user with the S1 profile (5 accounts, 8 contact
//     methods, 3 linked logins, 4 sessions) at benchConns connections, on
//     the large database and on a small one (target: large p99 <= 1.2 x small);
//   - the first and the last page of a 10k-event activity log, over HTTP and
//     through the store, with the old OFFSET query as a reference
//     (target: the last page as fast as the first);
//   - the database file (target: <= 600 MB).
//
// It does all of that once, whatever b.N is:
//
//	go test -run '^$' -bench LargeDB -benchtime 1x -timeout 20m ./bench/
func BenchmarkLargeDB(b *testing.B) {
	ctx := b.Context()
	hash, err := password.NewHasher(1, 0).Hash(ctx, benchPassword)
	if err != nil {
		b.Fatal(err)
	}

	path := b.TempDir() + "/large.db"
	seedStart := time.Now()
	seedLargeDB(b, path, hash)
	seeded := time.Since(seedStart)

	large := startS1(b, path, hash)
	small := startS1(b, "", hash)
	activityCookies := formSignIn(b, large.base, largeActivityEmail, benchPassword)

	// S1 on both databases: at benchConns connections, and one request
	// at a time for the cost of one request without the queue.
	profile := func(s s1Server) loadTarget {
		return newLoadTarget(s.base+"/profile", s.cookies, func(body []byte) error {
			if !bytes.Contains(body, []byte(`id="sessions"`)) || !bytes.Contains(body, []byte("Partner 2")) {
				return errors.New("not the signed-in profile page of the S1 user")
			}
			return nil
		})
	}
	s1 := compare(b, largeRounds, largeProfileRequests, profile(small), profile(large))
	smallOne, largeOne := serial(b, largeSerialRequests, profile(small), profile(large))

	// The two ends of the activity log.
	page := func(query, want, wantNot string) loadTarget {
		return newLoadTarget(large.base+"/profile/activity"+query, activityCookies, func(body []byte) error {
			if !bytes.Contains(body, []byte(want)) || bytes.Contains(body, []byte(wantNot)) {
				return fmt.Errorf("%s: want %s and no %s in the page", query, want, wantNot)
			}
			return nil
		})
	}
	ends := compare(b, largeRounds, largeActivityRequests, page("", `rel="next"`, `rel="prev"`), page("?after=0", `rel="prev"`, `rel="next"`))
	storeFirst, storeLast, storeOffset := timeActivityQueries(b, large, path)

	dbMB := fileMB(path) + fileMB(path+"-wal")

	b.StopTimer()
	q := func(r loadResult, p float64) float64 { return millis(r.quantile(p)) }
	lastRatio := q(ends.target, 0.50) / q(ends.ref, 0.50)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(seeded.Seconds(), "seed-s")
	b.ReportMetric(dbMB, "db-MB")
	b.ReportMetric(q(s1.ref, 0.99), "small-p99-ms")
	b.ReportMetric(q(s1.target, 0.99), "large-p99-ms")
	b.ReportMetric(s1.p99Ratio(), "p99-ratio")
	b.ReportMetric(q(largeOne, 0.50)/q(smallOne, 0.50), "serial-p50-ratio")
	b.ReportMetric(q(ends.ref, 0.50), "first-p50-ms")
	b.ReportMetric(q(ends.target, 0.50), "last-p50-ms")
	b.ReportMetric(lastRatio, "last/first")
	b.ReportMetric(float64(storeFirst.Microseconds()), "store-first-us")
	b.ReportMetric(float64(storeLast.Microseconds()), "store-last-us")
	b.ReportMetric(float64(storeOffset.Microseconds()), "offset-last-us")

	b.Logf("S1 GET /profile, %d connections, %d rounds of %d requests a side: large p50 %.2fms p99 %.2fms | small (reference) p50 %.2fms p99 %.2fms | p99 large/small: median of the rounds %.2f (rounds %.2f), pooled %.2f (target <= 1.2)",
		benchConns, largeRounds, largeProfileRequests, q(s1.target, 0.50), q(s1.target, 0.99), q(s1.ref, 0.50), q(s1.ref, 0.99),
		s1.p99Ratio(), s1.p99Ratios, s1.pooledP99Ratio())
	b.Logf("S1 GET /profile, one at a time, %d requests a side: large p50 %.2fms p99 %.2fms | small (reference) p50 %.2fms p99 %.2fms | p50 large/small %.2f",
		largeSerialRequests, q(largeOne, 0.50), q(largeOne, 0.99), q(smallOne, 0.50), q(smallOne, 0.99), q(largeOne, 0.50)/q(smallOne, 0.50))
	b.Logf("activity log of 10k events, %d connections, %d requests a page: last page p50 %.2fms p99 %.2fms | first page (reference) p50 %.2fms p99 %.2fms | last/first p50 %.2f, p99 %.2f (target ~1)",
		benchConns, len(ends.target.latencies), q(ends.target, 0.50), q(ends.target, 0.99), q(ends.ref, 0.50), q(ends.ref, 0.99), lastRatio, ends.p99Ratio())
	b.Logf("the page's query through the store, median of %d: last page %v | first page (reference) %v | the old LIMIT/OFFSET query for the last page %v",
		largeStoreCalls, storeLast, storeFirst, storeOffset)
	b.Logf("database file with its WAL: %.0f MB (target <= 600 MB); seeding took %.1fs", dbMB, seeded.Seconds())
}

// seedLargeDB migrates a database at path and fills it in one transaction
// of INSERT ... SELECT over recursive CTEs, on a connection of its own. The
// rows keep the application's rules: every user has the account email as a
// contact method with the default routing, and every account's owner is one
// of its Admins. User 1 is the activity user.
func seedLargeDB(b *testing.B, path, hash string) {
	b.Helper()
	ctx := b.Context()
	store, err := server.OpenStore(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Close(); err != nil {
		b.Fatal(err)
	}
	conn, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1) // the PRAGMAs hold for this connection only

	var rules []string
	for _, r := range db.DefaultRules(0) {
		rules = append(rules, fmt.Sprintf("('%s', %d)", r.Circumstance, r.Severity))
	}
	now := time.Now().Unix()
	const span = 90 * 24 * 3600 // the events cover 90 days
	agents := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	}
	steps := []struct{ what, sql string }{
		// Outside the transaction: no WAL copy of every page while seeding,
		// and the cache holds the indexes as they grow.
		{"pragmas", `PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576`},
		{"begin", `BEGIN IMMEDIATE`},
		{"users", fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO users (id, email, email_verified_at, name, password_hash, created_at, updated_at)
			SELECT i, CASE i WHEN 1 THEN '%s' ELSE 'user' || i || '@bench.example' END,
				CASE WHEN i %% 5 = 0 THEN NULL ELSE %d + i END, 'Bench User ' || i, ?, %d + i, %d + i FROM n`,
			largeUsers, largeActivityEmail, now-span, now-span, now-span)},
		{"contact methods", `INSERT INTO contact_methods (user_id, kind, address, label, is_account, verified_at, created_at)
			SELECT id, 'email', email, 'Account email', 1, email_verified_at, created_at FROM users ORDER BY id`},
		{"notification rules", `INSERT INTO notification_rules (user_id, circumstance, severity, contact_method_id)
			SELECT cm.user_id, d.column1, d.column2, cm.id FROM contact_methods cm, (VALUES ` + strings.Join(rules, ", ") + `) d
			WHERE cm.is_account = 1 ORDER BY cm.user_id`},
		// Account a's members are the 30 users from (a-1)*30+1 on, wrapping:
		// every user is in 3 accounts, and the first is the owner.
		{"accounts", fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO accounts (id, name, owner_id, created_at)
			SELECT i, 'Account ' || i, ((i - 1) * %d) %% %d + 1, %d + i FROM n`,
			largeAccounts, largeMembersEach, largeUsers, now-span)},
		{"memberships", fmt.Sprintf(`WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < %d)
			INSERT INTO memberships (account_id, user_id, role, created_at)
			SELECT k / %d + 1, k %% %d + 1,
				CASE WHEN k %% %d < 3 THEN 'admin' WHEN k %% %d < 20 THEN 'normal' ELSE 'readonly' END, %d + k FROM n`,
			largeAccounts*largeMembersEach-1, largeMembersEach, largeUsers, largeMembersEach, largeMembersEach, now-span)},
		// Events in time order, each to a user by a stride through the
		// others (7919 is prime to 99999), every 100th to user 1.
		{"audit events", fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			INSERT INTO audit_events (id, user_id, account_id, kind, detail_json, ip, user_agent, created_at)
			SELECT i, u, NULL, kind,
				CASE kind WHEN 'signin' THEN '{"method":"password"}' WHEN 'profile_updated' THEN '{"name":"Bench User"}' ELSE '{}' END,
				'198.51.100.' || (i %% 250), CASE i %% 3 WHEN 0 THEN ?1 WHEN 1 THEN ?2 ELSE ?3 END,
				%d + i * %d / %d
			FROM (SELECT i, CASE WHEN i %% %d = 0 THEN 1 ELSE (i * 7919) %% %d + 2 END AS u,
				CASE (i / 7) %% 20 WHEN 0 THEN 'signin_failed' WHEN 1 THEN 'signout' WHEN 2 THEN 'profile_updated'
					WHEN 3 THEN 'session_revoked' ELSE 'signin' END AS kind FROM n)`,
			largeEvents, now-span, span, largeEvents, largeActivityEvery, largeUsers-1)},
		{"commit", `COMMIT`},
		{"wal", `PRAGMA journal_mode = WAL`},
	}
	var took []string
	for _, s := range steps {
		start := time.Now()
		var args []any
		switch s.what {
		case "users":
			args = []any{hash}
		case "audit events":
			args = []any{agents[0], agents[1], agents[2]}
		}
		if _, err := conn.ExecContext(ctx, s.sql, args...); err != nil {
			b.Fatalf("seed %s: %v", s.what, err)
		}
		took = append(took, fmt.Sprintf("%s %.1fs", s.what, time.Since(start).Seconds()))
	}
	var orphans int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM accounts a WHERE NOT EXISTS
		(SELECT 1 FROM memberships m WHERE m.account_id = a.id AND m.user_id = a.owner_id AND m.role = 'admin')`).Scan(&orphans); err != nil || orphans != 0 {
		b.Fatalf("seed: %d accounts whose owner is not an Admin member (%v)", orphans, err)
	}
	b.Logf("seeded %d users, %d accounts, %d memberships, %d audit events: %s",
		largeUsers, largeAccounts, largeAccounts*largeMembersEach, largeEvents, strings.Join(took, ", "))
}

// comparison is what compare found: every latency of each side, and the
// p99 ratio of target to reference in each round.
type comparison struct {
	ref, target loadResult
	p99Ratios   []float64
}

// p99Ratio is the median of the rounds' p99 ratios: each round's pair ran
// back to back, so a burst of load from elsewhere on this shared machine
// spoils one pair rather than the pooled tail of one side.
func (c comparison) p99Ratio() float64 {
	r := slices.Sorted(slices.Values(c.p99Ratios))
	return (r[(len(r)-1)/2] + r[len(r)/2]) / 2
}

// pooledP99Ratio is the ratio of the p99s of all the rounds together.
func (c comparison) pooledP99Ratio() float64 {
	return millis(c.target.quantile(0.99)) / millis(c.ref.quantile(0.99))
}

// compare warms both targets, then loads them n requests at a time for
// the given rounds, alternating which goes first.
func compare(b *testing.B, rounds, n int, ref, target loadTarget) comparison {
	b.Helper()
	targets := []loadTarget{ref, target}
	for _, t := range targets {
		if _, err := t.run(b.Context(), benchWarmup); err != nil {
			b.Fatalf("%s warm-up: %v", t.what, err)
		}
	}
	var c comparison
	all := []*loadResult{&c.ref, &c.target}
	for r := range rounds {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		var p99 [2]float64
		for _, i := range order {
			res, err := targets[i].run(b.Context(), n)
			if err != nil {
				b.Fatalf("round %d: %v", r, err)
			}
			p99[i] = millis(res.quantile(0.99))
			all[i].latencies = append(all[i].latencies, res.latencies...)
			all[i].elapsed += res.elapsed
		}
		c.p99Ratios = append(c.p99Ratios, p99[1]/p99[0])
	}
	slices.Sort(c.ref.latencies)
	slices.Sort(c.target.latencies)
	return c
}

// serial sends n requests to each target one at a time, alternating, and
// returns the latencies of each: the cost of a request without the queue
// of benchConns connections in front of it.
func serial(b *testing.B, n int, ref, target loadTarget) (loadResult, loadResult) {
	b.Helper()
	var res [2]loadResult
	var buf bytes.Buffer
	for range n {
		for i, t := range []loadTarget{ref, target} {
			d, err := t.do(b.Context(), 0, &buf)
			if err != nil {
				b.Fatalf("%s: %v", t.what, err)
			}
			res[i].latencies = append(res[i].latencies, d)
			res[i].elapsed += d
		}
	}
	for i := range res {
		slices.Sort(res[i].latencies)
	}
	return res[0], res[1]
}

// timeActivityQueries times the activity user's first and last pages
// through the store, and the last page as the OFFSET query before keyset
// pagination read it, each the median of largeStoreCalls calls,
// interleaved.
func timeActivityQueries(b *testing.B, s s1Server, path string) (first, last, offset time.Duration) {
	b.Helper()
	ctx := b.Context()
	u, err := s.store.UserByEmail(ctx, largeActivityEmail)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_stmt_cache_size=16")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE user_id = ?`, u.ID).Scan(&n); err != nil {
		b.Fatal(err)
	}
	const size = 25
	oldQuery := func() error {
		rows, err := raw.QueryContext(ctx, `SELECT id, COALESCE(account_id, 0), kind, detail_json, ip, user_agent, created_at
			FROM audit_events WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, u.ID, size+1, (n-1)/size*size)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	calls := []func() error{
		func() error { _, err := s.store.EventsForUser(ctx, u.ID, db.EventKey{}, size); return err },
		func() error { _, err := s.store.EventsForUser(ctx, u.ID, db.EventKey{Newer: true}, size); return err },
		oldQuery,
	}
	times := make([][]time.Duration, len(calls))
	for range largeStoreCalls {
		for i, call := range calls {
			start := time.Now()
			if err := call(); err != nil {
				b.Fatal(err)
			}
			times[i] = append(times[i], time.Since(start))
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	return median(times[0]), median(times[1]), median(times[2])
}

// fileMB is the size of a file in MB (10^6 bytes), 0 when it is not there.
func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / 1e6
}
