package views

import (
	"bytes"
	"container/list"
	"sync"
	"sync/atomic"
)

// The render memo: the bytes of recently rendered pages, by the digest of
// their page file and whole data (digest.go). Rendering is a pure function
// of the two (the templates are fixed at start-up, every function and
// method they call is a function of its arguments: funcs_test.go), so a
// page whose data digests like a kept one's gets that one's bytes without
// running the template. Nothing is ever invalidated: a change of anything a
// page shows changes its data, so its digest, and one person's data
// (their id, email, name, token) never digests like another's.
//
// The bytes are kept as rendered, before the CSRF token and the script
// nonce are filled in (fillSlots): neither is ever kept, and bytes holding
// either value are not kept at all.

// memoMaxBytes bounds the memory of kept pages: about 300 profile pages of
// 28 KB. The least recently used go first.
const memoMaxBytes = 8 << 20

// memoPages are the page files memoized: those whose tests show that every
// change the page shows reaches the next answer (handlers/memo_test.go).
var memoPages = map[string]bool{
	"profile.html":       true,
	"notifications.html": true,
}

type memo struct {
	off atomic.Bool // for tests that compare with a fresh render

	mu      sync.Mutex
	entries map[[32]byte]*list.Element // of *memoEntry
	order   list.List                  // most recently used first
	size    int

	hits, misses atomic.Int64
}

type memoEntry struct {
	key   [32]byte
	page  []byte // never written to once kept
	slots []slot // where its CSRF token and nonce go
}

func newMemo() *memo { return &memo{entries: map[[32]byte]*list.Element{}} }

// get returns the page kept for key.
func (m *memo) get(key [32]byte) (*memoEntry, bool) {
	m.mu.Lock()
	e, ok := m.entries[key]
	if ok {
		m.order.MoveToFront(e)
	}
	m.mu.Unlock()
	if !ok {
		m.misses.Add(1)
		return nil, false
	}
	m.hits.Add(1)
	return e.Value.(*memoEntry), true
}

// put keeps page for key, dropping the least recently used pages beyond
// memoMaxBytes. A page larger than a quarter of that is not kept.
func (m *memo) put(key [32]byte, page []byte, slots []slot) {
	if len(page) > memoMaxBytes/4 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; ok {
		return
	}
	m.entries[key] = m.order.PushFront(&memoEntry{key: key, page: page, slots: slots})
	m.size += len(page)
	for m.size > memoMaxBytes {
		last := m.order.Back()
		e := last.Value.(*memoEntry)
		m.order.Remove(last)
		delete(m.entries, e.key)
		m.size -= len(e.page)
	}
}

// keepable reports whether rendered bytes may be kept: they hold neither
// the CSRF token nor the nonce of the page they were rendered for (both
// are filled in after, so a template that wrote one itself would
// otherwise have it served to the next request).
func keepable(rendered []byte, data any) bool {
	p, ok := data.(slotPage)
	if !ok {
		return true
	}
	for _, secret := range []string{p.csrfToken(), p.nonce()} {
		if secret != "" && bytes.Contains(rendered, []byte(secret)) {
			return false
		}
	}
	return true
}

// SetMemo turns the render memo on or off (tests compare its answers with
// fresh renders). It is on from New.
func (r *Renderer) SetMemo(on bool) { r.memo.off.Store(!on) }

// MemoStats are how many memoized pages were found kept and not.
func (r *Renderer) MemoStats() (hits, misses int64) { return r.memo.hits.Load(), r.memo.misses.Load() }

// pageMemo renders page like Fragment(w, page, "layout", data), through
// the memo when data can be digested.
func (r *Renderer) pageMemo(buf *bytes.Buffer, page string, data any) (ok bool, err error) {
	if !memoPages[page] || r.memo.off.Load() {
		return false, nil
	}
	// A secret shown once is never kept, not even under its own key.
	if s, ok := data.(interface{ HoldsSecret() bool }); ok && s.HoldsSecret() {
		return false, nil
	}
	key, err := digest(page, data)
	if err != nil {
		return false, nil // rendered as any page is
	}
	n := buf.Len()
	var slots []slot
	if kept, ok := r.memo.get(key); ok {
		buf.Write(kept.page)
		slots = kept.slots
	} else {
		if err := r.execute(buf, page, "layout", data); err != nil {
			return true, err
		}
		out := buf.Bytes()[n:]
		slots = findSlots(out)
		if keepable(out, data) {
			r.memo.put(key, bytes.Clone(out), slots)
		}
	}
	if err := fillSlotsAt(buf, n, slots, data); err != nil {
		buf.Truncate(n)
		return true, err
	}
	return true, nil
}
