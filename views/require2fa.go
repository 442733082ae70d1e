package views

import "github.com/rosterhq/roster/db"

// Accounts may require two-factor authentication of their members
// (handlers/require2fa.go).

// TwoFactorFirstText is the Manage console's note to an Admin without a
// second factor, next to the requirement's control.
func (p ManagePage) TwoFactorFirstText() string { return RuleText(db.ErrTwoFactorFirst) }

// TwoFactorRequiredPage refuses an account's pages to a member without a
// second factor while the account requires one.
type TwoFactorRequiredPage struct {
	Page
	Account string
}

// TwoFactorRequiredBy names the user's accounts that require two-factor
// authentication: turning it off loses them (the panel's warning).
func (p ProfilePage) TwoFactorRequiredBy() []string {
	var names []string
	for _, m := range p.Accounts {
		if m.Account.RequireTwoFactor {
			names = append(names, m.Account.Name)
		}
	}
	return names
}
