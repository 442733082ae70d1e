package db

import "strings"

// NormalEmail is the one form in which Roster stores and compares an email
// address: trimmed, and the whole address lowercased, local part included,
// as GitHub and Keycloak do. Every write of an address and every lookup by
// one goes through it, so two spellings of one mailbox are one address for
// sign-in, sign-up, invites, contact methods and linked logins alike; the
// tables refuse any other form (CHECK in 00010_ids_never_reused.sql).
//
// Only the ASCII letters A to Z are lowercased, as SQLite's lower() of
// that CHECK does: Unicode lowercasing folds other letters onto ASCII ones
// (the Kelvin sign U+212A onto k, U+0130 onto i), so a provider's verified
// "\u212Aarl@example.com", another mailbox, would have linked to the
// profile of karl@example.com. The forms take ASCII addresses only
// (PlainEmail); an address from a provider that is not keeps its other
// letters as they are.
func NormalEmail(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, strings.TrimSpace(s))
}

// PlainEmail reports whether s is written in ASCII alone, as the forms
// require of an address (GitHub and Gitea do the same).
func PlainEmail(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
