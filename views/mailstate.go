package views

import "github.com/rosterhq/roster/db"

// The words for where a mail with a link stands, on the pages where the
// person waits for it: the account email's status, the pending email
// change, the Manage console's pending invites.

// MailNote is a pending invite's mail state in a few words, "" once it is
// sent (or when nothing is known of it).
func MailNote(m db.MailState) string {
	switch {
	case m.State == db.DeliveryQueued && m.Failing:
		return "delivery failed, retrying"
	case m.State == db.DeliveryQueued:
		return "sending…"
	case m.State == db.DeliveryFailed:
		return "not delivered: resend it"
	}
	return ""
}

// EmailStatus is the account email's status on the profile: verified, or
// where its confirmation link stands.
func EmailStatus(u db.User, m db.MailState) string {
	if u.EmailVerified() {
		return "Verified"
	}
	switch {
	case m.State == db.DeliveryQueued && m.Failing:
		return "Not verified yet. We could not deliver the confirmation link yet, we keep trying."
	case m.State == db.DeliveryQueued:
		return "Not verified yet. Confirmation link sending…"
	case m.State == db.DeliveryFailed:
		return "Not verified yet. We could not deliver the confirmation link: send it again."
	}
	return "Not verified yet: follow the link we emailed you."
}

// ChangeStatus says where the link of a pending email change stands.
func ChangeStatus(c db.EmailChange) string {
	switch {
	case c.Mail.State == db.DeliveryQueued && c.Mail.Failing:
		return "We could not deliver the link to " + c.Email + " yet, we keep trying."
	case c.Mail.State == db.DeliveryQueued:
		return "The link to " + c.Email + " is sending…"
	case c.Mail.State == db.DeliveryFailed:
		return "We could not deliver the link to " + c.Email + ": ask for a new one below."
	}
	return "Waiting for you to follow the link sent to " + c.Email + "."
}
