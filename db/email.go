package db

import "strings"

// NormalEmail is the one form in which Roster stores and compares an email
// address: trimmed, and the whole address lowercased, local part included,
// as GitHub and Keycloak do. Every write of an address and every lookup by
// one goes through it, so two spellings of one mailbox are one address for
// sign-in, sign-up, invites, contact methods and linked logins alike; the
// tables refuse any other form (CHECK in 00010_ids_never_reused.sql).
func NormalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
