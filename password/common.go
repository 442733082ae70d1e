package password

import (
	"encoding/json"
	"strings"
	"sync"
	"unicode"

	"github.com/ccojocar/zxcvbn-go/data"
)

// isCommon reports whether pw is a commonly used, expected or compromised
// value in the sense of NIST SP 800-63B: after lowercasing and dropping
// whitespace, it is on the zxcvbn password list, or is such a word padded
// with digits and symbols ("password1234", "iloveyou2024!"), or is nothing
// but digits and symbols, or is a repetition of a short or common unit, or is
// a walk over neighbouring characters ("abcdefghijkl", "qwertyuiopas").
func isCommon(pw string) bool {
	// Spaces carry no strength of their own: "i love you 2024" is "iloveyou2024".
	s := strings.Join(strings.Fields(strings.ToLower(pw)), "")
	core := strings.TrimFunc(s, isPadding)
	return core == "" || guessable(s) || guessable(core)
}

// isPadding reports whether r is the kind of character people add around a
// word to satisfy composition rules.
func isPadding(r rune) bool {
	return unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func guessable(s string) bool {
	if _, ok := commonPasswords()[s]; ok {
		return true
	}
	return isRepetition(s) || isWalk(s)
}

// isRepetition reports whether s is k >= 2 copies of one unit that is at
// most four characters long or common itself ("passwordpassword").
func isRepetition(s string) bool {
	r := []rune(s)
	n := len(r)
	for size := 1; size <= n/2; size++ {
		if n%size != 0 {
			continue
		}
		unit := string(r[:size])
		if strings.Repeat(unit, n/size) == s && (size <= 4 || isCommon(unit)) {
			return true
		}
	}
	return false
}

// minWalkRun is the average length of the runs of neighbouring characters
// from which isWalk calls a string a walk: "1qaz2wsx3edc" is three runs of
// four, "qwertyuiopas" runs of ten and two.
const minWalkRun = 4

// isWalk reports whether s splits into few runs of neighbouring characters:
// the same character, the next or previous code point (digits wrap, as in
// "987654321098"), or a neighbouring key on a QWERTY keyboard.
func isWalk(s string) bool {
	runs, n := 0, 0
	var prev rune
	for _, r := range s {
		if n == 0 || !neighbours(prev, r) {
			runs++
		}
		prev = r
		n++
	}
	return runs*minWalkRun <= n
}

func neighbours(a, b rune) bool {
	switch d := a - b; {
	case d >= -1 && d <= 1:
		return true
	case a == '9' && b == '0', a == '0' && b == '9':
		return true
	}
	_, ok := qwertyPairs()[[2]rune{a, b}]
	return ok
}

// commonPasswords is the password list shipped with zxcvbn-go, lowercased.
// It is loaded on first use; only the data package is imported because
// zxcvbn-go's frequency package parses all of its lists in init.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	var list struct{ List []string }
	mustLoad("data/Passwords.json", &list)
	m := make(map[string]struct{}, len(list.List))
	for _, w := range list.List {
		m[strings.ToLower(w)] = struct{}{}
	}
	return m
})

// qwertyPairs holds every pair of neighbouring keys of zxcvbn-go's QWERTY
// graph, lowercased. The graph lists, for each key, its neighbours as
// strings of the unshifted and shifted character ("qQ", "2@").
var qwertyPairs = sync.OnceValue(func() map[[2]rune]struct{} {
	var g struct{ Graph map[string][]*string }
	mustLoad("data/Qwerty.json", &g)
	m := make(map[[2]rune]struct{})
	for key, adjacent := range g.Graph {
		for _, a := range strings.ToLower(key) {
			for _, keys := range adjacent {
				if keys == nil {
					continue
				}
				for _, b := range strings.ToLower(*keys) {
					m[[2]rune{a, b}] = struct{}{}
					m[[2]rune{b, a}] = struct{}{}
				}
			}
		}
	}
	return m
})

// mustLoad decodes one of zxcvbn-go's embedded JSON files. They are part of
// the binary, so failing to read one is a build defect, not a runtime error.
func mustLoad(name string, v any) {
	raw, err := data.Asset(name)
	if err != nil {
		panic("password: " + err.Error())
	}
	if err := json.Unmarshal(raw, v); err != nil {
		panic("password: decode " + name + ": " + err.Error())
	}
}
