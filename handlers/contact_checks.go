package handlers

import (
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/netguard"
	"github.com/rosterhq/roster/views"
)

// The checks of a new contact method's fields.

// checkContact validates a new method and returns its address normalized:
// E.164 for phone numbers, as typed otherwise.
func (h *Handler) checkContact(form *views.Form, kind, address, label string) string {
	if utf8.RuneCountInString(label) > 50 || strings.ContainsFunc(label, unicode.IsControl) {
		form.Fail("label", "Use at most 50 characters, on one line.")
	}
	switch kind {
	case db.KindEmail:
		return checkContactEmail(form, address)
	case db.KindSMS, db.KindVoice:
		return checkPhone(form, address)
	case db.KindSlack, db.KindWebhook:
		return h.checkHookURL(form, kind, address)
	}
	form.Fail("kind", "Choose email, SMS, voice call, Slack or webhook.")
	return ""
}

func checkContactEmail(form *views.Form, address string) string {
	if address == "" {
		form.Fail("address", "Enter an email address.")
		return ""
	}
	a, err := mail.ParseAddress(address)
	if err != nil || a.Address != address || len(address) > 254 || !strings.Contains(address[strings.LastIndexByte(address, '@')+1:], ".") {
		form.Fail("address", "Enter one email address, such as ann@example.com.")
		return ""
	}
	return address
}

func checkPhone(form *views.Form, address string) string {
	const msg = "Enter the number in international format: + and the country code, such as +1 415 555 0100."
	if address == "" {
		form.Fail("address", "Enter a phone number. "+msg)
		return ""
	}
	if !strings.HasPrefix(address, "+") || len(address) > 40 {
		form.Fail("address", msg)
		return ""
	}
	n, err := phonenumbers.Parse(address, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		form.Fail("address", "This is not a valid phone number. "+msg)
		return ""
	}
	// The library's metadata allows some numbers longer than E.164's 15
	// digits ("+49 201 000000000000"), which no SMS gateway takes.
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if !e164Number.MatchString(e164) {
		form.Fail("address", "This is not a valid phone number. "+msg)
		return ""
	}
	return e164
}

var e164Number = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkHookURL accepts https URLs; plain http only to this machine, and
// only while Roster itself runs on http (development and tests).
func (h *Handler) checkHookURL(form *views.Form, kind, address string) string {
	example := "https://hooks.example.com/roster"
	if kind == db.KindSlack {
		example = "https://hooks.slack.com/services/..."
	}
	u, err := url.Parse(address)
	if err == nil {
		// What is stored is u.String(), which escapes what was typed raw
		// and must itself parse ("https://[::%25\xc6]" does not).
		u, err = url.Parse(u.String())
	}
	if address == "" || err != nil || strings.ContainsFunc(address, unicode.IsSpace) || u.Hostname() == "" || u.User != nil || len(u.String()) > 2000 || (u.Scheme != "https" && u.Scheme != "http") {
		form.Fail("address", "Enter the full URL, such as "+example+".")
		return ""
	}
	if u.Scheme == "http" && (h.cfg.Secure() || !netguard.Loopback(u.Hostname())) {
		form.Fail("address", "Use an https URL: notifications must not travel unencrypted.")
		return ""
	}
	return u.String()
}
