package views

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/rosterhq/roster/db"
)

// The words of every email, SMS, call and notice Roster sends: one
// text/template file per message in mail/, defining "subject" and "body",
// with the definitions they share in mail/shared.tmpl.
//
//go:embed mail/*.txt mail/shared.tmpl
var mailFiles embed.FS

// Mail is the typed data of one message text: each type names the file
// in mail/ that it fills.
type Mail interface {
	mailFile() string
}

// MailText is a message written out: its subject (one line) and body.
type MailText struct {
	Subject string
	Body    string
}

// parseMail parses each mail/*.txt file with the shared definitions, and
// checks that it defines a subject and a body.
func parseMail() (map[string]*template.Template, error) {
	shared, err := template.ParseFS(mailFiles, "mail/shared.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse mail/shared.tmpl: %w", err)
	}
	names, err := fs.Glob(mailFiles, "mail/*.txt")
	if err != nil {
		return nil, err
	}
	sets := map[string]*template.Template{}
	for _, name := range names {
		t, err := template.Must(shared.Clone()).ParseFS(mailFiles, name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, part := range []string{"subject", "body"} {
			if t.Lookup(part) == nil {
				return nil, fmt.Errorf("parse %s: no %q defined", name, part)
			}
		}
		sets[path.Base(name)] = t
	}
	return sets, nil
}

// Mail writes out the message m's data fills.
func (r *Renderer) Mail(m Mail) (MailText, error) {
	t, ok := r.mail[m.mailFile()]
	if !ok {
		return MailText{}, fmt.Errorf("mail: no text mail/%s", m.mailFile())
	}
	var subject, body bytes.Buffer
	if err := t.ExecuteTemplate(&subject, "subject", m); err != nil {
		return MailText{}, fmt.Errorf("mail %s: %w", m.mailFile(), err)
	}
	if err := t.ExecuteTemplate(&body, "body", m); err != nil {
		return MailText{}, fmt.Errorf("mail %s: %w", m.mailFile(), err)
	}
	if strings.ContainsAny(subject.String(), "\r\n") {
		return MailText{}, fmt.Errorf("mail %s: the subject is not one line", m.mailFile())
	}
	return MailText{Subject: subject.String(), Body: body.String()}, nil
}

// Notice writes out m as a notice queued under circumstance.
func (r *Renderer) Notice(circumstance string, m Mail) (*db.Notice, error) {
	t, err := r.Mail(m)
	if err != nil {
		return nil, err
	}
	return &db.Notice{Circumstance: circumstance, Subject: t.Subject, Body: t.Body}, nil
}

// LinkRemoved takes the place of a link in the copy of a mail the outbox
// keeps once the mail is sent or given up: the outbox, and the
// notifications page that lists it, keep no link that works.
const LinkRemoved = "(link removed after delivery)"

// LinkMail writes out a mail that carries link, given by with: the mail
// itself, and the body the outbox keeps once it is sent, with LinkRemoved
// in the link's place.
func (r *Renderer) LinkMail(circumstance, link string, with func(link string) Mail) (*db.Mail, error) {
	t, err := r.Mail(with(link))
	if err != nil {
		return nil, err
	}
	kept, err := r.Mail(with(LinkRemoved))
	if err != nil {
		return nil, err
	}
	return &db.Mail{Circumstance: circumstance, Subject: t.Subject, Body: t.Body, Kept: kept.Body}, nil
}

// BillingNotice writes the notice an account's Admins get when its card
// stops paying for it: the program gives it to the store
// (db.Store.SetBillingComposer), which queues it inside the transaction
// of the change.
func (r *Renderer) BillingNotice(b db.BillingCleared) (db.Notice, error) {
	t, err := r.Mail(BillingMail{Account: b.AccountName, Card: b.Card.Label(), Owner: b.OwnerName, Reason: b.Reason})
	if err != nil {
		return db.Notice{}, err
	}
	return db.Notice{Subject: t.Subject, Body: t.Body}, nil
}

// VerifyMail asks a new user to confirm their account email.
type VerifyMail struct{ Name, Link string }

// ResetMail carries a password reset link.
type ResetMail struct{ Name, Link string }

// InviteMail invites an address to an account. RequireTwoFactor: the
// account requires two-factor authentication of its members.
type InviteMail struct {
	Inviter, Account, Role, Link string
	RequireTwoFactor             bool
}

// EmailChangeMail asks the new address to confirm an account email change.
type EmailChangeMail struct{ Name, Old, Link string }

// EmailChangeAskedMail tells the old (current) address, when a change of
// the account email is asked for, which address it is to, when and from
// where, with the link that cancels it (CancelLink).
type EmailChangeAskedMail struct {
	Name, New, CancelLink, ResetLink, ProfileLink string
	When                                          time.Time
	IP, Device                                    string
}

// EmailChangedMail tells the old address that the account email changed.
type EmailChangedMail struct{ Old, New, ResetLink string }

// CodeMail carries a contact method's verification code, worded for its
// kind (db.KindEmail, KindSMS, KindVoice; any other kind as a test
// message); Link is the email's verification link.
type CodeMail struct{ Kind, Code, Link string }

// Spoken is the code as a voice call reads it out, digit by digit.
func (m CodeMail) Spoken() string { return strings.Join(strings.Split(m.Code, ""), ", ") }

// TestMail is the message of "Send test"; Kind is the method's kind name.
type TestMail struct{ Kind, Address string }

// JoinedMail tells an inviter that Name accepted their invite.
type JoinedMail struct{ Name, Email, Account, Role string }

// LeftMail tells an account's Admins that a member left.
type LeftMail struct{ Name, Email, Account string }

// AccountDeletedMail tells the members that Owner deleted the account.
type AccountDeletedMail struct{ Owner, Account string }

// MemberRoleMail tells a member that Admin gave them Role.
type MemberRoleMail struct{ Admin, Role, Account string }

// MemberRemovedMail tells a member that Admin removed them.
type MemberRemovedMail struct{ Admin, Account string }

// MemberOwnerMail tells a member that Admin made them the owner.
type MemberOwnerMail struct{ Admin, Account string }

// BillingMail is the billing notice; Reason is a db.Cleared* constant.
type BillingMail struct{ Account, Card, Owner, Reason string }

// Expired reports whether the card stopped paying because it expired.
func (m BillingMail) Expired() bool { return m.Reason == db.ClearedExpired }

// OwnerLeft reports whether it stopped because its owner left the account.
func (m BillingMail) OwnerLeft() bool { return m.Reason == db.ClearedLeft }

// SecurityChange is what a security notice tells of.
type SecurityChange string

// The changes a security notice tells of, each with its mail/security_*.txt.
const (
	PasswordChanged SecurityChange = "password_changed"
	PasswordReset   SecurityChange = "password_reset"
	LoginRemoved    SecurityChange = "login_removed"
	LoginAdded      SecurityChange = "login_added"  // with Add Login
	LoginLinked     SecurityChange = "login_linked" // by its email, at its first sign-in
	SAMLLinked      SecurityChange = "saml_linked"  // the same, through single sign-on
	NewDevice       SecurityChange = "new_device"
	// Two-factor authentication (issue 18).
	TwoFactorOn      SecurityChange = "two_factor_on"
	TwoFactorOff     SecurityChange = "two_factor_off"
	RecoveryCodesNew SecurityChange = "recovery_codes_new"
	RecoveryCodeUsed SecurityChange = "recovery_code_used"
	TwoFactorReset   SecurityChange = "two_factor_reset" // by an operator (roster user reset-2fa); Login says what else went
	WrongCodes       SecurityChange = "wrong_codes"      // a day's limit of wrong codes at the second step was reached
)

// SecurityMail tells a person that the ways into their profile changed,
// with when and from where. Name is the greeting's ("" for none); Login
// names the login (a provider, or the SAML connection) and Email its email.
type SecurityMail struct {
	Change      SecurityChange
	Name        string
	Login       string
	Email       string
	When        time.Time
	IP          string
	Device      string
	ResetLink   string
	ProfileLink string
}

func (VerifyMail) mailFile() string           { return "verify.txt" }
func (ResetMail) mailFile() string            { return "reset.txt" }
func (InviteMail) mailFile() string           { return "invite.txt" }
func (EmailChangeMail) mailFile() string      { return "email_change.txt" }
func (EmailChangedMail) mailFile() string     { return "email_changed.txt" }
func (EmailChangeAskedMail) mailFile() string { return "email_change_asked.txt" }
func (TestMail) mailFile() string             { return "test.txt" }
func (JoinedMail) mailFile() string           { return "joined.txt" }
func (LeftMail) mailFile() string             { return "left.txt" }
func (AccountDeletedMail) mailFile() string   { return "account_deleted.txt" }
func (MemberRoleMail) mailFile() string       { return "member_role.txt" }
func (MemberRemovedMail) mailFile() string    { return "member_removed.txt" }
func (MemberOwnerMail) mailFile() string      { return "member_owner.txt" }
func (BillingMail) mailFile() string          { return "billing.txt" }
func (m SecurityMail) mailFile() string       { return "security_" + string(m.Change) + ".txt" }

func (m CodeMail) mailFile() string {
	switch m.Kind {
	case db.KindEmail, db.KindSMS, db.KindVoice:
		return "code_" + m.Kind + ".txt"
	}
	return "code_other.txt"
}
