package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheck checks the password policy: it never accepts invalid
// UTF-8 or a length outside MinLength..MaxLength code points, and always
// answers nil or one of its own reasons, the one that fits.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"correct horse battery staple", "Tr0ub4dor&3xyz", "password1234", "iloveyou2024!", "qwertyuiopas", "abcdefghijkl",
		"987654321098", "passwordpassword", "aaaaaaaaaaaa", "11111111111!", "short", "", "ñ日本語パスワードですよね!",
		"\xff\xfe\xfd" + strings.Repeat("x", 20), strings.Repeat("é", 256), strings.Repeat("é", 257), "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"1qaz2wsx3edc", "P a s s w o r d 1 2 3", "😀😁😂🤣😃😄😅😆😉😊😋😎",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		err := Check(pw)
		n := utf8.RuneCountInString(pw)
		var want error
		switch {
		case !utf8.ValidString(pw):
			want = ErrInvalidUTF8
		case n < MinLength:
			want = ErrTooShort
		case n > MaxLength:
			want = ErrTooLong
		}
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("Check(%q) = %v, want %v", pw, err, want)
			}
			return
		}
		if err != nil && !errors.Is(err, ErrCommon) {
			t.Fatalf("Check(%q) = %v, want nil or ErrCommon", pw, err)
		}
		// Case does not make a common password uncommon (ASCII only: other
		// scripts do not always lowercase back to what they were).
		ascii := !strings.ContainsFunc(pw, func(r rune) bool { return r > 0x7f })
		if upper := strings.ToUpper(pw); ascii && (err == nil) != (Check(upper) == nil) {
			t.Fatalf("Check(%q) = %v, but Check(%q) = %v", pw, err, upper, Check(upper))
		}
	})
}
