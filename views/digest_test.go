package views

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// mustDigest is digest's key, failing the test on a refusal.
func mustDigest(t *testing.T, page string, data any) [32]byte {
	t.Helper()
	k, err := digest(page, data)
	if err != nil {
		t.Fatalf("digest %T: %v", data, err)
	}
	return k
}

// TestDigestUnexportedFields: a field no template could name still counts
// (a method may read it).
func TestDigestUnexportedFields(t *testing.T) {
	type hidden struct {
		Shown string
		kept  int
		inner *struct{ secret string }
	}
	a := hidden{Shown: "x", kept: 1, inner: &struct{ secret string }{"ann"}}
	b := hidden{Shown: "x", kept: 2, inner: &struct{ secret string }{"ann"}}
	c := hidden{Shown: "x", kept: 1, inner: &struct{ secret string }{"bob"}}
	ka, kb, kc := mustDigest(t, "p", a), mustDigest(t, "p", b), mustDigest(t, "p", c)
	if ka == kb || ka == kc {
		t.Error("values differing only in unexported fields digest alike")
	}
	if mustDigest(t, "p", a) != ka {
		t.Error("the same value digests differently twice")
	}
}

type node struct {
	Name string
	Next *node
	Any  any
}

// TestDigestCycles: cyclic data ends, and cycles that differ differ.
func TestDigestCycles(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a := &node{Name: "a"}
		a.Next = a
		b := &node{Name: "b"}
		b.Next = b
		if mustDigest(t, "p", a) == mustDigest(t, "p", b) {
			t.Error("two self-cycles with different names digest alike")
		}
		// Two nodes pointing at each other, and a slice holding itself.
		x, y := &node{Name: "x"}, &node{Name: "y"}
		x.Next, y.Next = y, x
		mustDigest(t, "p", x)
		s := make([]any, 2)
		s[0], s[1] = s, "end"
		mustDigest(t, "p", node{Any: s})
		m := map[string]any{}
		m["self"] = m
		mustDigest(t, "p", m)
		// Shared data, not a cycle: walked in full at each reference,
		// this would not end in any time a test waits.
		mustDigest(t, "p", chain("leaf", 30))
		// The same shape with a different leaf differs.
		k1 := mustDigest(t, "p", chain("leaf", 10))
		k2 := mustDigest(t, "p", chain("other", 10))
		if k1 == k2 {
			t.Error("two shared chains with different leaves digest alike")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the digest of cyclic data did not end")
	}
}

// pair is a node of a chain: both fields point to the next one.
type pair struct {
	A, B *pair
	Leaf string
}

// chain is n pairs, each pointing twice to the next: walked in full each
// time a pointer is met, it would be 2^n leaves.
func chain(leaf string, n int) *pair {
	p := &pair{Leaf: leaf}
	for range n {
		p = &pair{A: p, B: p}
	}
	return p
}

// TestDigestMapsInAnyOrder: a map digests the same however it was filled,
// and differently when a key or a value differs.
func TestDigestMapsInAnyOrder(t *testing.T) {
	up, down := map[string]int{}, map[string]int{}
	for i := range 200 {
		up[strconv.Itoa(i)] = i
		down[strconv.Itoa(199-i)] = 199 - i
	}
	k := mustDigest(t, "p", up)
	for range 20 { // map iteration order is random from one range to the next
		if mustDigest(t, "p", down) != k || mustDigest(t, "p", up) != k {
			t.Fatal("one map's content digests differently")
		}
	}
	down["7"] = 8
	if mustDigest(t, "p", down) == k {
		t.Error("a changed value digests like the map before")
	}
	delete(down, "7")
	down["7x"] = 7
	if mustDigest(t, "p", down) == k {
		t.Error("a changed key digests like the map before")
	}
	f := Form{Errors: map[string]string{"a": "b"}}
	g := Form{Values: map[string]string{"a": "b"}}
	if mustDigest(t, "p", f) == mustDigest(t, "p", g) {
		t.Error("the same map in two fields digests alike")
	}
}

// TestDigestTypes: the same bytes as different types, and the same data
// for different pages, digest differently.
func TestDigestTypes(t *testing.T) {
	type A struct{ X int }
	type B struct{ X int }
	if mustDigest(t, "p", A{1}) == mustDigest(t, "p", B{1}) {
		t.Error("two struct types with the same fields and values digest alike")
	}
	if mustDigest(t, "p", []any{int32(1)}) == mustDigest(t, "p", []any{int64(1)}) {
		t.Error("int32 and int64 in an interface digest alike")
	}
	if mustDigest(t, "p", []any{"ab"}) == mustDigest(t, "p", []any{[]byte("ab")}) {
		t.Error("a string and a []byte digest alike")
	}
	if mustDigest(t, "p", []string{"ab", "c"}) == mustDigest(t, "p", []string{"a", "bc"}) {
		t.Error("strings split differently digest alike")
	}
	if mustDigest(t, "p", (*A)(nil)) == mustDigest(t, "p", &A{}) {
		t.Error("a nil and a zero pointer digest alike")
	}
	if mustDigest(t, "profile.html", ProfilePage{}) == mustDigest(t, "notifications.html", ProfilePage{}) {
		t.Error("one data for two pages digests alike")
	}
}

// TestDigestRefuses: data whose effect the digest cannot know is refused,
// so the page is rendered.
func TestDigestRefuses(t *testing.T) {
	for name, data := range map[string]any{
		"func":                        struct{ F func() string }{func() string { return "x" }},
		"chan":                        struct{ C chan int }{make(chan int)},
		"func in an interface":        []any{func() {}},
		"relative clock":              ProfilePage{Page: Page{Clock: Clock{DateFormat: "relative"}}},
		"relative clock in a pointer": struct{ C *Clock }{&Clock{DateFormat: "relative"}},
	} {
		if _, err := digest("p", data); !errors.Is(err, errNotDigestible) {
			t.Errorf("%s: got %v, want errNotDigestible", name, err)
		}
	}
	if _, err := digest("p", ProfilePage{Page: Page{Clock: Clock{DateFormat: "relative", Now: time.Now()}}}); !errors.Is(err, errNotDigestible) {
		t.Errorf("relative clock with its Now: got %v, want errNotDigestible (it is new every request)", err)
	}
}

// TestDigestPage: what Page holds, as the memo needs it: the badge's count
// is asked and counts, the CSRF token counts, the nonce does not (it is
// filled in after), times count by instant and zone.
func TestDigestPage(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	base := func() Page {
		return Page{Title: "User Profile", User: db.User{ID: 1, Email: "ann@example.com"}, CSRF: "token-a", Nonce: "nonce-a",
			Invites: func() int { return 1 }, Clock: Clock{Zone: paris, DateFormat: "iso"}}
	}
	k := mustDigest(t, "profile.html", ProfilePage{Page: base()})
	same := base()
	same.Nonce = "nonce-b"
	if mustDigest(t, "profile.html", ProfilePage{Page: same}) != k {
		t.Error("a different nonce changes the digest: the memo would never find a page")
	}
	for name, change := range map[string]func(*Page){
		"csrf":     func(p *Page) { p.CSRF = "token-b" },
		"invites":  func(p *Page) { p.Invites = func() int { return 2 } },
		"no badge": func(p *Page) { p.Invites = nil },
		"user id":  func(p *Page) { p.User.ID = 2 },
		"zone":     func(p *Page) { p.Clock.Zone = time.UTC },
		"fixed zone named alike": func(p *Page) {
			p.Clock.Zone = time.FixedZone("Europe/Paris", 3600)
		},
		"theme": func(p *Page) { p.Prefs.Theme = "dark" },
	} {
		p := base()
		change(&p)
		if mustDigest(t, "profile.html", ProfilePage{Page: p}) == k {
			t.Errorf("%s: a changed page digests like the first", name)
		}
	}
	at := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	row := func(t time.Time) ProfilePage { return ProfilePage{Page: base(), Sessions: []SessionRow{{LastSeen: t}}} }
	k = mustDigest(t, "profile.html", row(at))
	if mustDigest(t, "profile.html", row(at.Add(time.Nanosecond))) == k {
		t.Error("a nanosecond later digests alike")
	}
	if mustDigest(t, "profile.html", row(at.In(paris))) == k {
		t.Error("the same instant in another zone digests alike (it can be shown differently)")
	}
	if mustDigest(t, "profile.html", row(time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC))) != k {
		t.Error("the same instant digests differently")
	}
}

// TestMemoBounded: the memo keeps at most memoMaxBytes, dropping the
// least recently used first.
func TestMemoBounded(t *testing.T) {
	m := newMemo()
	page := bytes.Repeat([]byte("x"), memoMaxBytes/10)
	key := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }
	for i := range 10 {
		m.put(key(i), page, nil)
	}
	m.get(key(0)) // used: now the most recent
	for i := 10; i < 15; i++ {
		m.put(key(i), page, nil)
	}
	if m.size > memoMaxBytes {
		t.Errorf("memo holds %d bytes, want at most %d", m.size, memoMaxBytes)
	}
	if _, ok := m.get(key(0)); !ok {
		t.Error("the most recently used page was dropped")
	}
	if _, ok := m.get(key(1)); ok {
		t.Error("the least recently used page is still kept")
	}
	if len(m.entries) != m.order.Len() {
		t.Errorf("%d keys, %d in the order", len(m.entries), m.order.Len())
	}
	m.put(key(99), bytes.Repeat([]byte("x"), memoMaxBytes/2), nil)
	if _, ok := m.get(key(99)); ok {
		t.Error("a page larger than a quarter of the memo was kept")
	}
}

// TestDigestUnexportedKinds: every kind the walk reads, behind unexported
// fields, inside a map value and an interface (which cannot be addressed),
// digests without a panic and counts; a Count it cannot call there is
// refused.
func TestDigestUnexportedKinds(t *testing.T) {
	type inner struct {
		b   []byte
		m   map[string]int
		i   any
		at  time.Time
		loc *time.Location
		arr [2]string
		f   float64
	}
	make1 := func(n int) inner {
		return inner{b: []byte{byte(n)}, m: map[string]int{"k": n}, i: n, at: time.Unix(int64(n), 0), loc: time.UTC,
			arr: [2]string{"a", strconv.Itoa(n)}, f: float64(n)}
	}
	type outer struct {
		direct inner
		inMap  map[string]inner
		inAny  any
	}
	k1 := mustDigest(t, "p", outer{direct: make1(1), inMap: map[string]inner{"x": make1(1)}, inAny: make1(1)})
	k2 := mustDigest(t, "p", outer{direct: make1(1), inMap: map[string]inner{"x": make1(2)}, inAny: make1(1)})
	k3 := mustDigest(t, "p", outer{direct: make1(1), inMap: map[string]inner{"x": make1(1)}, inAny: make1(3)})
	if k1 == k2 || k1 == k3 || k2 == k3 {
		t.Error("unexported values inside a map or an interface do not count")
	}
	if mustDigest(t, "p", map[string]struct{ at time.Time }{"x": {time.Unix(1, 0)}}) ==
		mustDigest(t, "p", map[string]struct{ at time.Time }{"x": {time.Unix(2, 0)}}) {
		t.Error("an unexported time in a map value does not count")
	}
	type counted struct{ count Count }
	if _, err := digest("p", map[string]counted{"x": {func() int { return 1 }}}); !errors.Is(err, errNotDigestible) {
		t.Errorf("an unexported Count in a map value: got %v, want errNotDigestible", err)
	}
}
