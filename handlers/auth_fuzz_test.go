package handlers

import (
	"net/mail"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// emailSeeds are addresses good and bad for the email validators.
var emailSeeds = []string{
	"ann@example.com", "ann.b+tag@sub.example.co.uk", "ANN@EXAMPLE.COM", "ann@localhost", "ann",
	"@example.com", "ann@", "Ann <ann@example.com>", "ann@example.com, bob@example.com",
	"ann@example.com\r\nBcc: eve@evil.com", "ann@example.com\n", "\"ann\"@example.com",
	"\"a\\\r\nb\"@example.com", "ann@[127.0.0.1]", "ann@exa mple.com", "ann@example.com.",
	"=?utf-8?q?ann?= <ann@example.com>", "ann@éxample.com", "ann(comment)@example.com",
	strings.Repeat("a", 250) + "@b.co", "ann@example.com\x00", "ann@.com",
}

// FuzzCheckEmail checks the sign-up and contact-method email validators: an
// accepted address is exactly what net/mail reads from it, one address on
// one line that mail headers and SMTP commands can carry as it is.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range emailSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		var form views.Form
		checkNewEmail(&form, email)
		var contact views.Form
		got := checkContactEmail(&contact, email)
		if form.Failed() != contact.Failed() {
			t.Fatalf("%q: checkNewEmail failed %v, checkContactEmail failed %v, want the same", email, form.Failed(), contact.Failed())
		}
		if contact.Failed() {
			if got != "" {
				t.Fatalf("checkContactEmail(%q) refused it but returned %q", email, got)
			}
			return
		}
		if got != email {
			t.Fatalf("checkContactEmail(%q) = %q, want it as typed", email, got)
		}
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || a.Name != "" {
			t.Fatalf("accepted %q, but net/mail reads %+v (err %v)", email, a, err)
		}
		if !db.PlainEmail(email) {
			t.Fatalf("accepted %q, which is not ASCII", email)
		}
		if !utf8.ValidString(email) || strings.ContainsFunc(email, unicode.IsControl) || strings.ContainsAny(email, " ,<>") {
			t.Fatalf("accepted %q, which has a control character, space or separator", email)
		}
		if len(email) > 254 || strings.Count(email, "@") != 1 {
			t.Fatalf("accepted %q: want one @ and at most 254 bytes", email)
		}
		if _, domain, _ := strings.Cut(email, "@"); !strings.Contains(domain, ".") {
			t.Fatalf("accepted %q, whose domain has no dot", email)
		}
	})
}

// FuzzCheckName checks the person and account name validators: an
// accepted name has 1 to 100 characters and nothing that could break a
// line, in a page, a log line or an invite's Subject.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{
		"Ann", "Ann Lee", "Zoë Ångström", "李小龙", "Acme, Inc.", "", " ", strings.Repeat("a", 100), strings.Repeat("é", 101),
		"Ann\nLee", "Ann\r\nBcc: eve@evil.com", "Ann\tLee", "Ann\x00", "Ann\u0085Lee", "Ann\u2028Lee", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, check := range []struct {
			what string
			fn   func(*views.Form, string)
		}{{"checkName", checkName}, {"checkAccountName", checkAccountName}} {
			var form views.Form
			check.fn(&form, name)
			n := utf8.RuneCountInString(name)
			if form.Failed() {
				if len(form.Errors) != 1 || form.Errors["name"] == "" {
					t.Fatalf("%s(%q) failed with %v, want one message on name", check.what, name, form.Errors)
				}
				if n >= 1 && n <= 100 && !strings.ContainsFunc(name, unicode.IsControl) {
					t.Fatalf("%s(%q) refused a plain name of %d characters: %v", check.what, name, n, form.Errors)
				}
				continue
			}
			if n < 1 || n > 100 {
				t.Fatalf("%s accepted %q of %d characters, want 1 to 100", check.what, name, n)
			}
			if strings.ContainsFunc(name, unicode.IsControl) {
				t.Fatalf("%s accepted %q, which has a control character", check.what, name)
			}
		}
	})
}
