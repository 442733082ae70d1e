package views

import (
	"strconv"
	"time"

	"github.com/rosterhq/roster/db"
)

// NewAccountPage is the Create Account form.
type NewAccountPage struct {
	Page
	Form Form
}

// AccountPage is what every member sees of an account.
type AccountPage struct {
	Page
	Membership  db.Membership // the viewer's
	OwnerName   string
	Members     []db.Member
	MembersPage Pager
	Billing     *db.AccountBilling // the card paying for the account; nil when none
}

// ManagePage is the Manage console of an account, for its Admins. Each
// section has its own Form for its messages, so a failed POST re-renders
// only that section's errors.
type ManagePage struct {
	Page
	// PasskeysOffered: the page loads static/passkey.js, which runs the
	// re-authentication prompt's "Use a passkey" where a sensitive action
	// (ownership, deletion, SAML) swaps it in.
	PasskeysOffered bool
	Membership      db.Membership // the viewer's: the owner-only sections follow it
	Now             time.Time     // marks expired invites
	Members         []db.Member
	MembersPage     Pager
	MembersForm     Form
	InviteForm      Form
	Invites         []db.Invite
	InvitesPage     Pager
	InvitesForm     Form
	SettingsForm    Form
	TwoFAForm       Form        // the outcome of the two-factor requirement's form
	Need2FA         bool        // the Admin has no second factor, so cannot require it (told next to the control)
	Admins          []db.Member // the other Admins, whom ownership can go to
	OwnerForm       Form
	DangerForm      Form
	SAML            []SAMLRow
	SAMLForm        Form
	Billing         BillingSection
}

// SAMLRow is one SAML connection in the console's #saml section, with the
// addresses its identity provider needs and its claims on its email domains.
type SAMLRow struct {
	db.SAMLConnection
	MetadataURL string // also the service provider's entity id
	ACSURL      string
	Domains     []db.SAMLDomain // in the order of EmailDomains
}

// Unverified lists the connection's domains not verified for it yet.
func (r SAMLRow) Unverified() []string {
	var list []string
	for _, d := range r.EmailDomains {
		if !r.DomainVerified(d) {
			list = append(list, d)
		}
	}
	return list
}

// DomainField names the message next to one of the row's domains.
func (r SAMLRow) DomainField(domain string) string { return SAMLDomainField(r.ID, domain) }

// IdPInitiatedField names the message next to the row's IdP-initiated switch.
func (r SAMLRow) IdPInitiatedField() string {
	return "allow_idp_initiated:" + strconv.FormatInt(r.ID, 10)
}

// SAMLDomainField names the message next to the domain of connection connID.
func SAMLDomainField(connID int64, domain string) string {
	return "domain:" + strconv.FormatInt(connID, 10) + ":" + domain
}

// Expired reports whether a pending invite's link no longer works.
func (p ManagePage) Expired(inv db.Invite) bool { return !inv.ExpiresAt.After(p.Now) }

// What the invite page offers, by who is looking at it.
const (
	InviteUnknown    = ""            // no invite has this link
	InviteClosed     = "closed"      // expired, used, ignored or revoked
	InviteSignIn     = "sign-in"     // logged out: log in or sign up first
	InviteAnswer     = "answer"      // addressed to the user's verified email: Accept or Ignore
	InviteVerify     = "verify"      // addressed to the user's email, not confirmed yet
	InviteOtherEmail = "other-email" // addressed to someone else
	InviteMember     = "member"      // the user is already in the account
)

// InvitePage is the page an invite link opens.
type InvitePage struct {
	Page
	Token  string
	Invite db.Invite
	Offer  string // one of the Invite* constants
}
