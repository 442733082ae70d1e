package db

// RuleError is a broken rule, as a code: the person who tried can do
// something about it. Its Error is a short string for developers and logs;
// the sentence shown to people is views.RuleText's, so that storage never
// chooses words. errors.Is matches the constants listed in Rules.
type RuleError string

func (e RuleError) Error() string { return string(e) }

// Rules lists every RuleError this package returns, so that a test of
// views can check each has a sentence (TestRulesListed keeps this list
// complete).
func Rules() []RuleError {
	return []RuleError{
		// accounts.go
		ErrForbidden, ErrOwnerOnly, ErrOwnerStays, ErrLastAdmin, ErrTransferToAdmin,
		ErrAlreadyMember, ErrInvitePending, ErrInviteLimit, ErrInviteGone, ErrInviteWrongEmail,
		ErrUnconfirmedEmail, ErrTwoFactorFirst,
		// cards.go
		ErrCardNotYours, ErrCardExpired, ErrCardSaved, ErrCardInUse,
		// contacts.go
		ErrTooManyMethods, ErrTooManyPhones, ErrAccountMethod, ErrCodeLocked, ErrCodeExpired,
		ErrCodeWrong, ErrNotVerified, ErrCodesAddress, ErrCodesUser, ErrTestsMethod,
		// emailchange.go
		ErrEmailTaken,
		// identities.go
		ErrLinkUnverifiedProvider, ErrLinkUnverifiedLocal, ErrIdentityTaken, ErrLastLogin,
		ErrSignupClosed, ErrNoEmail, ErrLinkUnconfirmedEmail,
		// passkeys.go
		ErrPasskeyCeremony, ErrTooManyPasskeys, ErrPasskeyTaken,
		// saml.go
		ErrSAMLRequestUnknown, ErrSAMLReplayed, ErrSAMLOtherBrowser, ErrSAMLNoProfile,
		// twofactor.go
		ErrTwoFactorOn, ErrTwoFactorOff, ErrCodeReplayed, ErrRecoveryRefused, ErrPendingGone,
		ErrLastTwoFactorAdmin, ErrFactorUnconfirmedEmail,
	}
}
