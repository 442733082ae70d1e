// Package zones lists the IANA time zones a person may choose. Go's
// time/tzdata embeds the zone data but not its list of names, so the list is
// generated (gen.go, into names.txt) from the zoneinfo.zip of the same Go
// release and embedded; it needs nothing from the machine, which on
// distroless has no /usr/share/zoneinfo.
package zones

//go:generate go run gen.go

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed names.txt
var namesTxt string

// names are the zones of names.txt, sorted as gen.go wrote them, read once.
var names = sync.OnceValue(func() []string {
	var list []string
	for line := range strings.Lines(namesTxt) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			list = append(list, line)
		}
	}
	return list
})

// Names returns every zone name, sorted. The caller must not change it.
func Names() []string { return names() }

// Valid reports whether name is one of Names. LoadLocation alone would also
// take "Local" and "", which are not zones a person chose.
func Valid(name string) bool {
	_, found := slices.BinarySearch(names(), name)
	return found
}

// loaded holds each zone Load has read: time.LoadLocation reads and parses
// the zone's file on every call (about 5 us), and every page shown to a
// person with a zone set needs it. Only valid names are kept, so it holds
// at most len(names()) entries; a Location is safe to share.
var loaded sync.Map // name -> *time.Location

// Load returns the location of a valid zone name, and UTC for any other.
func Load(name string) *time.Location {
	if loc, ok := loaded.Load(name); ok {
		return loc.(*time.Location)
	}
	if !Valid(name) {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	loaded.Store(name, loc)
	return loc
}
