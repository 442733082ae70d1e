// Package csrfmask writes the CSRF token masked afresh for every place a
// response carries it, and reads it back, so that compressed pages do not
// leak it (BREACH): what a page holds is pad || (token XOR pad) with a new
// random pad each time, in unpadded base64url, as Django and Rails do. The
// bytes differ in every response, so a compression oracle has nothing
// stable to guess at; the server XORs the two halves to get the token back.
package csrfmask

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// TokenBytes is the length of the token itself (the cookie's value is its
// unpadded base64url, RawLen characters).
const (
	TokenBytes = 32
	RawLen     = 43 // base64.RawURLEncoding.EncodedLen(TokenBytes)
	MaskedLen  = 86 // base64.RawURLEncoding.EncodedLen(2 * TokenBytes)
)

// Mask returns raw (the cookie's token, RawLen characters of base64url)
// masked with a new random pad: MaskedLen characters, never the same twice.
// A raw token of another shape (only in tests) is returned as it is.
func Mask(raw string) string {
	var tok [TokenBytes]byte
	if len(raw) != RawLen {
		return raw
	}
	if n, err := base64.RawURLEncoding.Decode(tok[:], []byte(raw)); err != nil || n != TokenBytes {
		return raw
	}
	var both [2 * TokenBytes]byte
	rand.Read(both[:TokenBytes])
	for i := range TokenBytes {
		both[TokenBytes+i] = tok[i] ^ both[i]
	}
	return base64.RawURLEncoding.EncodeToString(both[:])
}

// Unmask is the token a masked one (MaskedLen characters) carries, in the
// cookie's form (RawLen characters of base64url); ok is false for anything
// that is not a masked token.
func Unmask(sent string) (raw string, ok bool) {
	var both [2 * TokenBytes]byte
	if len(sent) != MaskedLen {
		return "", false
	}
	if n, err := base64.RawURLEncoding.Decode(both[:], []byte(sent)); err != nil || n != 2*TokenBytes {
		return "", false
	}
	var got [TokenBytes]byte
	for i := range TokenBytes {
		got[i] = both[i] ^ both[TokenBytes+i]
	}
	return base64.RawURLEncoding.EncodeToString(got[:]), true
}

// Matches says whether sent, as a form or header carried it, is the token
// raw (the cookie's) masked. Only a masked token of exactly MaskedLen
// characters counts, and, while pages served before masking may still be
// open (a transition of one release, DECISIONS), the raw token itself.
// The comparison takes the same time whatever the bytes.
func Matches(raw, sent string) bool {
	var tok [TokenBytes]byte
	if len(raw) != RawLen {
		return false
	}
	if n, err := base64.RawURLEncoding.Decode(tok[:], []byte(raw)); err != nil || n != TokenBytes {
		return false
	}
	switch len(sent) {
	case MaskedLen:
		var both [2 * TokenBytes]byte
		if n, err := base64.RawURLEncoding.Decode(both[:], []byte(sent)); err != nil || n != 2*TokenBytes {
			return false
		}
		var got [TokenBytes]byte
		for i := range TokenBytes {
			got[i] = both[i] ^ both[TokenBytes+i]
		}
		return subtle.ConstantTimeCompare(got[:], tok[:]) == 1
	case RawLen:
		if !AcceptRaw {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(raw), []byte(sent)) == 1
	}
	return false
}

// AcceptRaw lets the unmasked token through during the transition: pages
// rendered before masking carry it, and it appears in no response any more
// (every slot is masked), so a compression oracle cannot read it; the next
// release sets this to false.
const AcceptRaw = true
