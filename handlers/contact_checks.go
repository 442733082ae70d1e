package handlers

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
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
	offered := db.KindsOffered(h.hasProvider)
	if slices.Contains(db.Kinds, kind) && !slices.Contains(offered, kind) {
		// Only a hand-made request gets here: the form does not offer it.
		form.Fail("kind", "This server cannot send "+kindWords(kind)+". Choose "+kindChoice(offered)+".")
		return ""
	}
	switch kind {
	case db.KindEmail:
		return checkContactEmail(form, address)
	case db.KindSMS, db.KindVoice:
		return checkPhone(form, address)
	case db.KindSlack, db.KindWebhook:
		return h.checkHookURL(form, kind, address)
	}
	form.Fail("kind", "Choose "+kindChoice(offered)+".")
	return ""
}

// kindWords names what a kind sends, for the refusal of one not offered.
func kindWords(kind string) string {
	switch kind {
	case db.KindSMS:
		return "SMS messages"
	case db.KindVoice:
		return "voice calls"
	}
	return db.KindName(kind) + " notifications"
}

// kindChoice lists the kinds offered as a choice: "email, Slack or webhook".
func kindChoice(kinds []string) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = db.KindName(k)
		if k != db.KindSlack && k != db.KindSMS {
			names[i] = strings.ToLower(names[i])
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func checkContactEmail(form *views.Form, address string) string {
	if address == "" {
		form.Fail("address", "Enter an email address.")
		return ""
	}
	if !db.PlainEmail(address) {
		form.Fail("address", notPlainEmail)
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
	// Slack takes notifications only at its incoming webhooks: anything
	// else would be a webhook under another name, without its signature.
	if kind == db.KindSlack && (u.Scheme != "https" || strings.ToLower(u.Host) != "hooks.slack.com" || !strings.HasPrefix(u.Path, "/services/") || len(u.Path) == len("/services/")) {
		form.Fail("address", "Enter the incoming-webhook URL Slack gave you: it starts with https://hooks.slack.com/services/. For another service, choose Webhook.")
		return ""
	}
	return u.String()
}
