package views

import (
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// mailSamples fill every message text with sample data.
func mailSamples() []Mail {
	when := time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)
	security := func(c SecurityChange) Mail {
		return SecurityMail{Change: c, Name: "Ann", Login: "GitHub", Email: "ann@example.com", When: when,
			IP: "192.0.2.1", Device: "Firefox on Linux", ResetLink: "https://r.example/password/forgot", ProfileLink: "https://r.example/profile"}
	}
	return []Mail{
		VerifyMail{Name: "Ann", Link: "https://r.example/verify/t"},
		ResetMail{Name: "Ann", Link: "https://r.example/password/reset/t"},
		InviteMail{Inviter: "Ann", Account: "Acme", Role: "Admin", Link: "https://r.example/invites/t"},
		EmailChangeMail{Name: "Ann", Old: "ann@example.com", Link: "https://r.example/email-change/t"},
		EmailChangedMail{Old: "ann@example.com", New: "ann@example.org", ResetLink: "https://r.example/password/forgot"},
		CodeMail{Kind: db.KindEmail, Code: "123456", Link: "https://r.example/profile/contacts/1/verify?code=123456"},
		CodeMail{Kind: db.KindSMS, Code: "123456"},
		CodeMail{Kind: db.KindVoice, Code: "123456"},
		CodeMail{Kind: db.KindSlack, Code: "123456"},
		TestMail{Kind: "SMS", Address: "+14155550100"},
		JoinedMail{Name: "Bob", Email: "bob@example.com", Account: "Acme", Role: "Normal"},
		LeftMail{Name: "Bob", Email: "bob@example.com", Account: "Acme"},
		AccountDeletedMail{Owner: "Ann", Account: "Acme"},
		MemberRoleMail{Admin: "Ann", Role: "Admin", Account: "Acme"},
		MemberRemovedMail{Admin: "Ann", Account: "Acme"},
		MemberOwnerMail{Admin: "Ann", Account: "Acme"},
		BillingMail{Account: "Acme", Card: "Visa ending 4242", Owner: "Ann", Reason: db.ClearedExpired},
		security(PasswordChanged), security(PasswordReset), security(LoginRemoved), security(LoginAdded),
		security(LoginLinked), security(SAMLLinked), security(NewDevice),
		security(TwoFactorOn), security(TwoFactorOff), security(RecoveryCodesNew), security(RecoveryCodeUsed),
		security(PasskeyAdded), security(PasskeyRemoved), security(TwoFactorReset), security(WrongCodes),
		SudoCodeMail{Name: "Ann", Code: "123456"},
		InviteMail{Inviter: "Ann", Account: "Acme", Role: "Normal", Link: "https://r.example/invites/t", RequireTwoFactor: true},
		EmailChangeAskedMail{Name: "Ann", New: "ann@example.org", CancelLink: "https://r.example/email-change/cancel/t", When: when, IP: "192.0.2.1",
			Device: "Firefox on Linux", ResetLink: "https://r.example/password/forgot", ProfileLink: "https://r.example/profile"},
	}
}

// TestMailTexts executes every message text with sample data: each file
// is filled by a sample, and none leaves a field unfilled.
func TestMailTexts(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	filled := map[string]bool{}
	for _, m := range mailSamples() {
		filled[m.mailFile()] = true
		got, err := r.Mail(m)
		if err != nil {
			t.Errorf("%s: %v", m.mailFile(), err)
			continue
		}
		if got.Subject == "" || strings.Contains(got.Subject+got.Body, "<no value>") {
			t.Errorf("%s: got subject %q, body %q; want both filled", m.mailFile(), got.Subject, got.Body)
		}
	}
	files, _ := fs.Glob(mailFiles, "mail/*.txt")
	for _, f := range files {
		if !filled[path.Base(f)] {
			t.Errorf("%s: no sample fills it in mailSamples", f)
		}
	}
}

// TestMailWords pins the layout of a few texts: line breaks, the trimmed
// ends and the shared security notice.
func TestMailWords(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	samples := mailSamples()
	tests := []struct {
		m    Mail
		want MailText
	}{
		{samples[0], MailText{"Confirm your email for Roster", "Hello Ann,\n\nConfirm that this is your email address by opening this link:\n\nhttps://r.example/verify/t\n\n" +
			"The link works for 48 hours. If you did not create a Roster profile, ignore this message.\n"}},
		{samples[6], MailText{"Your Roster verification code is 123456. It works for 15 minutes.", ""}},
		{samples[7], MailText{"This is Roster. Your verification code is 1, 2, 3, 4, 5, 6", "Again: 1, 2, 3, 4, 5, 6."}},
		{EmailChangeAskedMail{Name: "Ann", New: "mallory@evil.example", CancelLink: "https://r.example/email-change/cancel/t",
			When: time.Date(2026, 12, 6, 17, 5, 0, 0, time.UTC), IP: "192.0.2.66", Device: "Chrome on Windows",
			ResetLink: "https://r.example/password/forgot", ProfileLink: "https://r.example/profile"},
			MailText{"Security notice: a change of your account email was asked for",
				"Hello Ann,\n\nSomeone, perhaps you, asked to make mallory@evil.example the account email of your Roster profile instead of this address. " +
					"Nothing changes unless the link we sent to mallory@evil.example is followed, within 48 hours, from the session that asked.\n\n" +
					"When: 6 Dec 2026 17:05 UTC\nFrom: IP address 192.0.2.66, Chrome on Windows\n\n" +
					"If this was you, there is nothing to do. If it was not, stop the change at\nhttps://r.example/email-change/cancel/t\n" +
					"then reset your password at\nhttps://r.example/password/forgot\n(which logs out every session) and review your sessions at\nhttps://r.example/profile\n"}},
		{BillingMail{Account: "Acme", Card: "Visa ending 4242", Owner: "Ann", Reason: db.ClearedLeft}, MailText{"No card pays for Acme any more",
			"The card Visa ending 4242 of Ann no longer pays for the account Acme: Ann is no longer a member of the account.\n\n" +
				"An Admin of Acme can choose another card in the account's Manage console, under Billing."}},
		{SecurityMail{Change: NewDevice, Device: "Firefox on Linux", When: time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC), IP: "192.0.2.1",
			ResetLink: "https://r.example/password/forgot", ProfileLink: "https://r.example/profile"}, MailText{"Security notice: sign-in from a new device",
			"Hello,\n\nSomeone, perhaps you, logged in to your Roster profile from Firefox on Linux, a browser that had not logged in to it before.\n\n" +
				"When: 26 Nov 2026 15:30 UTC\nFrom: IP address 192.0.2.1, Firefox on Linux\n\n" +
				"If this was you, there is nothing to do. If it was not, reset your password at\nhttps://r.example/password/forgot\n" +
				"and review your sessions and linked logins at\nhttps://r.example/profile\n"}},
	}
	for _, tt := range tests {
		got, err := r.Mail(tt.m)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.m.mailFile(), got, err, tt.want)
		}
	}
}
