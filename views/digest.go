package views

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The digest of a page's data: the memo's key (memo.go). A page's bytes
// are a pure function of its template file and its data, so two requests
// whose data digest alike get the same bytes. The digest therefore takes in
// everything the template could read: every field reachable from the data,
// exported or not, through pointers, slices, arrays, maps (in an order of
// their keys that does not depend on the map's) and interfaces (with the
// dynamic type). It is written as a self-delimiting encoding (lengths
// before contents, a mark before each optional value, the type at the root
// and at every interface), so two different data never encode alike, and
// hashed with SHA-256, so two different encodings never share a key in
// practice.
//
// What cannot be taken in is refused (errNotDigestible): a function (it
// could answer anything; the one exception is Count, called here as the
// template would call it), a channel, an unsafe pointer. A refused page is
// rendered, not memoized.

// errNotDigestible says a page's data holds something whose effect on the
// page the digest cannot know.
var errNotDigestible = errors.New("page data cannot be digested")

// Count is a number a template may ask for, counted only then: the menu's
// badge (Page.Invites) costs a query that an htmx fragment without the
// badge never makes. The digest asks for it too, since the page shows it,
// so a Count must answer the same every time within one request
// (handlers' inviteCount keeps its answer, a failed count's 0 included).
type Count func() int

// maxDigestDepth bounds how deep the walk goes: data that deep is refused
// rather than walked (no page model is near it).
const maxDigestDepth = 64

// memoSkip is the struct tag of a field that no template writes and that
// is filled into the page after rendering (Page.Nonce): it is left out of
// the digest, and the memo refuses to keep bytes that contain its value.
const memoSkip = "-"

// digester writes the encoding of one value into buf.
type digester struct {
	buf   []byte
	seen  []seenRef // the pointers, maps and slices met so far, in order
	depth int
}

// seenRef is a reference already walked: meeting it again writes its index
// instead of walking it again, so shared and cyclic data end.
type seenRef struct {
	t   reflect.Type
	ptr unsafe.Pointer
	n   int // a slice's length
}

var digesters = sync.Pool{New: func() any { return &digester{buf: make([]byte, 0, 4096)} }}

// digest is the SHA-256 of page's name and data's encoding.
func digest(page string, data any) ([32]byte, error) {
	d := digesters.Get().(*digester)
	defer func() {
		if cap(d.buf) <= 1<<20 {
			d.buf, d.seen, d.depth = d.buf[:0], d.seen[:0], 0
			clear(d.seen[:cap(d.seen)])
			digesters.Put(d)
		}
	}()
	d.str(page)
	if err := d.any(addressable(data)); err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(d.buf), nil
}

// addressable is data as a reflect.Value whose fields can be addressed: a
// copy of it. Reading a time.Time or a Count then costs no copy into an
// interface (an allocation each).
func addressable(data any) reflect.Value {
	v := reflect.ValueOf(data)
	if !v.IsValid() || v.CanAddr() {
		return v
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	return c
}

// Marks written before values whose presence varies.
const (
	markNil  = 0
	markSome = 1
	markSeen = 2
)

func (d *digester) byte1(b byte) { d.buf = append(d.buf, b) }
func (d *digester) u64(n uint64) { d.buf = binary.LittleEndian.AppendUint64(d.buf, n) }
func (d *digester) str(s string) { d.u64(uint64(len(s))); d.buf = append(d.buf, s...) }
func (d *digester) raw(b []byte) { d.u64(uint64(len(b))); d.buf = append(d.buf, b...) }
func (d *digester) typ(t reflect.Type) {
	// Types are never freed, so a type's descriptor address names it
	// uniquely for the life of the process, which is the memo's. Its name
	// alone would not: two packages may both be called db.
	d.u64(uint64(uintptr(reflect.ValueOf(t).UnsafePointer())))
}

// any writes the dynamic type of v, then v: the root and interfaces.
func (d *digester) any(v reflect.Value) error {
	if !v.IsValid() {
		d.byte1(markNil)
		return nil
	}
	d.byte1(markSome)
	d.typ(v.Type())
	return d.value(v)
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	locationType = reflect.TypeFor[*time.Location]()
	countType    = reflect.TypeFor[Count]()
	clockType    = reflect.TypeFor[Clock]()
	byteSlice    = reflect.TypeFor[[]byte]()
)

// value writes v, whose type the encoding around it already says.
func (d *digester) value(v reflect.Value) error {
	if d.depth++; d.depth > maxDigestDepth {
		return fmt.Errorf("%w: deeper than %d", errNotDigestible, maxDigestDepth)
	}
	err := d.kind(v)
	d.depth--
	return err
}

func (d *digester) kind(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			d.byte1(1)
		} else {
			d.byte1(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.u64(uint64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		d.u64(v.Uint())
	case reflect.Float32, reflect.Float64:
		d.u64(math.Float64bits(v.Float()))
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		d.u64(math.Float64bits(real(c)))
		d.u64(math.Float64bits(imag(c)))
	case reflect.String:
		d.str(v.String())
	case reflect.Struct:
		switch v.Type() {
		case timeType:
			return d.time(v)
		case clockType:
			// Relative times count from Clock.Now (a zero Now: from the
			// moment of rendering, which the data does not hold), which
			// is new on every request: such a page would never be found
			// again, and keeping it would only push others out.
			r, ok := readable(v)
			if !ok {
				return fmt.Errorf("%w: an unexported Clock", errNotDigestible)
			}
			if c := (*Clock)(r.Addr().UnsafePointer()); c.DateFormat == "relative" {
				return fmt.Errorf("%w: relative times", errNotDigestible)
			}
		}
		for _, i := range walkedFields(v.Type()) {
			if err := d.value(v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.Type() == locationType {
			return d.location(v)
		}
		if v.IsNil() {
			d.byte1(markNil)
			return nil
		}
		if d.met(v.Type(), v.UnsafePointer(), 0) {
			return nil
		}
		return d.value(v.Elem())
	case reflect.Interface:
		return d.any(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			d.byte1(markNil)
			return nil
		}
		if v.Type() == byteSlice {
			d.byte1(markSome)
			d.raw(v.Bytes())
			return nil
		}
		if v.Len() > 0 && d.met(v.Type(), v.UnsafePointer(), v.Len()) {
			return nil
		}
		d.byte1(markSome)
		d.u64(uint64(v.Len()))
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			d.byte1(markNil)
			return nil
		}
		if d.met(v.Type(), v.UnsafePointer(), 0) {
			return nil
		}
		return d.mapEntries(v)
	case reflect.Func:
		if v.Type() == countType {
			return d.count(v)
		}
		return fmt.Errorf("%w: a %s (%s)", errNotDigestible, v.Kind(), v.Type())
	default: // Chan, UnsafePointer
		return fmt.Errorf("%w: a %s (%s)", errNotDigestible, v.Kind(), v.Type())
	}
	return nil
}

// met writes whether the reference was walked before: its index if so
// (and reports true), else a mark, remembering it.
func (d *digester) met(t reflect.Type, p unsafe.Pointer, n int) bool {
	for i, s := range d.seen {
		if s.ptr == p && s.t == t && s.n == n {
			d.byte1(markSeen)
			d.u64(uint64(i))
			return true
		}
	}
	d.seen = append(d.seen, seenRef{t: t, ptr: p, n: n})
	d.byte1(markSome)
	return false
}

// mapEntries writes a map's entries ordered by their keys' encodings, so
// the map's own iteration order plays no part.
func (d *digester) mapEntries(v reflect.Value) error {
	type entry struct {
		key []byte
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	kd := &digester{}
	for it := v.MapRange(); it.Next(); {
		kd.buf, kd.seen, kd.depth = kd.buf[:0], kd.seen[:0], d.depth
		if err := kd.value(it.Key()); err != nil {
			return err
		}
		entries = append(entries, entry{key: bytes.Clone(kd.buf), val: it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	d.u64(uint64(len(entries)))
	for _, e := range entries {
		d.raw(e.key)
		if err := d.value(e.val); err != nil {
			return err
		}
	}
	return nil
}

// readable returns v addressable, so that it can be read as its Go type
// without copying it into an interface, even when it was reached through
// an unexported field (which reflect reads only by kind). digest makes the
// data addressable at the root, so only what a map or an interface holds
// is copied here.
func readable(v reflect.Value) (reflect.Value, bool) {
	if v.CanAddr() {
		return v, true
	}
	if v.CanInterface() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		return c, true
	}
	return v, false
}

// time writes an instant and the location it is shown in: what Format
// reads. The monotonic clock reading is left out; nothing shows it.
func (d *digester) time(v reflect.Value) error {
	r, ok := readable(v)
	if !ok {
		// An unexported time.Time in a value that cannot be addressed:
		// walk its fields instead (the monotonic reading then counts too,
		// which costs hits, not correctness).
		for i := range v.NumField() {
			if err := d.value(v.Field(i)); err != nil {
				return err
			}
		}
		return nil
	}
	t := (*time.Time)(r.Addr().UnsafePointer())
	d.u64(uint64(t.Unix()))
	d.u64(uint64(t.Nanosecond()))
	return d.loc(t.Location())
}

// location writes a *time.Location.
func (d *digester) location(v reflect.Value) error {
	if v.IsNil() {
		d.byte1(markNil)
		return nil
	}
	return d.loc((*time.Location)(v.UnsafePointer()))
}

// loc writes a location by its whole content: its name alone would not do
// (time.FixedZone("X", 3600) and ("X", 7200) share one). The content's
// digest is kept per location, which holds the location alive, so no other
// location can come to have its address; zones.Load keeps every zone it
// loads anyway, so this holds at most one entry a zone in use, and beyond
// maxLocations each is walked again instead.
func (d *digester) loc(l *time.Location) error {
	d.byte1(markSome)
	_ = l.String() // time.Local loads itself on first use; walk it loaded
	if sum, ok := locations.Load(l); ok {
		s := sum.([32]byte)
		d.buf = append(d.buf, s[:]...)
		return nil
	}
	ld := &digester{}
	if err := ld.value(reflect.ValueOf(l).Elem()); err != nil {
		return err
	}
	s := sha256.Sum256(ld.buf)
	if locationCount.Add(1) <= maxLocations {
		locations.Store(l, s)
	}
	d.buf = append(d.buf, s[:]...)
	return nil
}

const maxLocations = 1024

var (
	locations     sync.Map // *time.Location -> [32]byte
	locationCount atomic.Int64
)

// count writes what a Count answers, as the template would ask it.
func (d *digester) count(v reflect.Value) error {
	r, ok := readable(v)
	if !ok {
		return fmt.Errorf("%w: an unexported Count", errNotDigestible)
	}
	c := *(*Count)(r.Addr().UnsafePointer())
	if c == nil {
		d.byte1(markNil)
		return nil
	}
	d.byte1(markSome)
	d.u64(uint64(c()))
	return nil
}

// walkedFields are the indexes of t's fields the digest takes in: all but
// those tagged memo:"-".
func walkedFields(t reflect.Type) []int {
	if f, ok := fieldPlans.Load(t); ok {
		return f.([]int)
	}
	var f []int
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("memo") != memoSkip {
			f = append(f, i)
		}
	}
	fieldPlans.Store(t, f)
	return f
}

var fieldPlans sync.Map // reflect.Type -> []int
