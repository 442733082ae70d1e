// Package password holds Roster's password rules (DESIGN section 5): the policy a
// new password must meet, and Argon2id hashing with bounded concurrency.
package password

import (
	"unicode/utf8"
)

// Length limits of a password, counted in Unicode code points.
const (
	MinLength = 12
	MaxLength = 256
)

// PolicyError is a reason Check refuses a password. Unlike other
// errors its text is a full sentence written for the person choosing the
// password, to be shown next to the field; handlers find it with errors.As.
type PolicyError string

func (e PolicyError) Error() string { return string(e) }

// Reasons a password is refused. The texts repeat MinLength and MaxLength;
// a test keeps them in step.
var (
	ErrTooShort    = PolicyError("Use at least 12 characters.")
	ErrTooLong     = PolicyError("Use at most 256 characters.")
	ErrCommon      = PolicyError("This password is too common. Pick something harder to guess, such as a few unrelated words.")
	ErrInvalidUTF8 = PolicyError("This password contains characters that can't be read. Type it again or pick another one.")
)

// Check reports whether pw may be set as a new password: valid UTF-8,
// between MinLength and MaxLength code points, any characters, no composition
// rules, and not common (see isCommon). It returns nil or a PolicyError.
//
// The password is not normalised, so a length is what the person typed.
func Check(pw string) error {
	if !utf8.ValidString(pw) {
		return ErrInvalidUTF8
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return ErrTooShort
	case n > MaxLength:
		return ErrTooLong
	case isCommon(pw):
		return ErrCommon
	}
	return nil
}
