package views

import (
	"errors"
	"strings"

	"github.com/rosterhq/roster/db"
)

// ruleSentences are the words for the rule codes of db: a translation
// changes this table, never db.
var ruleSentences = map[db.RuleError]string{
	db.ErrForbidden:        "You need to be an Admin of this account to do that.",
	db.ErrOwnerOnly:        "Only the owner of this account can do that.",
	db.ErrOwnerStays:       "The owner cannot leave, be removed or stop being an Admin. Transfer ownership to another Admin first.",
	db.ErrLastAdmin:        "An account needs at least one Admin. Make someone else an Admin first.",
	db.ErrTransferToAdmin:  "Ownership can only go to another Admin of this account.",
	db.ErrAlreadyMember:    "This person is already a member of the account.",
	db.ErrInvitePending:    "This address already has a pending invite. Resend it instead.",
	db.ErrInviteLimit:      "This account has sent 50 invites today. Try again tomorrow.",
	db.ErrInviteGone:       "This invite has expired or was already used, ignored or revoked.",
	db.ErrInviteWrongEmail: "This invite was sent to another email address.",
	db.ErrTwoFactorFirst:   "Turn on two-factor authentication for yourself before you require it of the members.",
	// Only as a LastTwoFactorAdminError, which RuleText words with the accounts' names.
	db.ErrLastTwoFactorAdmin: "You are the last Admin with two-factor authentication of an account that requires it: turning it off would lock every Admin out of its Manage console. Ask another Admin to turn two-factor on first, or stop requiring it in the account's Manage console.",
	db.ErrUnconfirmedEmail:   "Confirm your email address before you create an account or invite people: follow the link we sent to it, or ask for a new one.",
	db.ErrCardNotYours:       "Choose one of your own saved cards.",
	db.ErrCardExpired:        "This card has expired. Choose another one.",
	db.ErrCardSaved:          "You have already saved this card.",
	// Only as a CardInUseError, which RuleText words with the account's name.
	db.ErrCardInUse:              "This card pays for an account. Choose another card for it in the account's Manage console first.",
	db.ErrTooManyMethods:         "You can have at most 10 contact methods. Delete one first.",
	db.ErrTooManyPhones:          "You can have at most 3 phone numbers (SMS and voice calls together). Delete one first.",
	db.ErrAccountMethod:          "The account email cannot be deleted. Change the account email instead.",
	db.ErrCodeLocked:             "Too many wrong codes: this code is locked. Send a new code.",
	db.ErrCodeExpired:            "This code has expired. Send a new code.",
	db.ErrCodeWrong:              "That code is not right. Check the last message and try again.",
	db.ErrNotVerified:            "Verify this contact method first.",
	db.ErrCodesAddress:           "We sent 5 codes to this address in the last hour. Wait an hour, then send a new code.",
	db.ErrCodesUser:              "We sent you 20 verification codes in the last day. Try again tomorrow.",
	db.ErrTestsMethod:            "We sent 3 test messages to this method in the last hour. Wait an hour, then try again.",
	db.ErrEmailTaken:             "Another profile uses this email address.",
	db.ErrLinkUnverifiedProvider: "A profile with this email already exists, but the provider does not confirm that the email is yours. Log in with your password, then use Add Login on your profile to link this login.",
	db.ErrLinkUnverifiedLocal:    "A profile with this email already exists, but its email has not been confirmed. Log in with your password, then use Add Login on your profile to link this login.",
	db.ErrIdentityTaken:          "This login is already linked to another profile. Log in with it and unlink it there first.",
	db.ErrPasskeyCeremony:        "This passkey request has expired or was already used. Try again.",
	db.ErrTooManyPasskeys:        "You can have at most 20 passkeys. Remove one first.",
	db.ErrPasskeyTaken:           "This passkey is already added.",
	db.ErrLastLogin:              "This is your only way to log in. Set a password or link another login before removing it.",
	db.ErrSignupClosed:           "There is no profile for this login, and sign-up is closed on this server. Ask an account admin for an invitation.",
	db.ErrNoEmail:                "The provider did not tell us your email address, so we cannot make a profile for this login. Log in another way, then use Add Login on your profile to link it.",
	db.ErrLinkUnconfirmedEmail:   "Confirm your email address before you link a login: follow the link we sent to it, or ask for a new one under Contact info.",
	db.ErrSAMLRequestUnknown:     "This sign-in has expired or was already used. Start again from the login page.",
	db.ErrSAMLReplayed:           "This sign-in response was already used. Start again from the login page.",
	db.ErrTwoFactorOn:            "Two-factor authentication is already on.",
	db.ErrFactorUnconfirmedEmail: "Confirm your email address before you turn on two-factor authentication or add a passkey: follow the link we sent to it, or ask for a new one under Contact info.",
	db.ErrTwoFactorOff:           "Two-factor authentication is off: turn it on first.",
	db.ErrCodeReplayed:           "That code was already used. Wait for your app to show the next one.",
	db.ErrRecoveryRefused:        "That recovery code is not one of yours, or it was already used.",
	db.ErrPendingGone:            "This sign-in took longer than 10 minutes or is over. Log in again.",
	db.ErrSAMLOtherBrowser:       "This sign-in was started in another browser, so it cannot finish in this one. If you did not just start a sign-in, someone may be trying to log you in to their profile: close this page. Otherwise start again from the login page in this browser.",
	db.ErrSAMLNoProfile:          "There is no Roster profile for this email yet, and single sign-on makes profiles only at email domains verified for the connection. Ask your account admin to verify the domain, or sign up with your password.",
}

// SAMLRuleText is RuleText for a refused SAML login. Add Login has no
// SAML option, so where RuleText would send the person there, it says
// what works instead: the account admin verifying the email's domain.
func SAMLRuleText(err error) string {
	if errors.Is(err, db.ErrLinkUnverifiedProvider) {
		return "A profile with this email already exists, but its email domain is not verified for this single sign-on connection, so we cannot link them. " +
			"Log in with your password, and ask your account admin to verify the domain; after that, single sign-on can link to your profile."
	}
	return RuleText(err)
}

// RuleText is the sentence for a broken rule in err, written for the
// person who tried; "" when err holds no rule of db.
func RuleText(err error) string {
	var inUse db.CardInUseError
	if errors.As(err, &inUse) {
		return "This card pays for the account " + inUse.Account + ". Choose another card for " + inUse.Account + " in its Manage console first."
	}
	var last db.LastTwoFactorAdminError
	if errors.As(err, &last) {
		return lastTwoFactorAdminText(last.Accounts)
	}
	var rule db.RuleError
	if errors.As(err, &rule) {
		return ruleSentences[rule]
	}
	return ""
}

// lastTwoFactorAdminText refuses turning two-factor off to the last Admin
// with it of the accounts named, which require it.
func lastTwoFactorAdminText(accounts []string) string {
	names := accounts[0]
	if n := len(accounts); n > 1 {
		names = strings.Join(accounts[:n-1], ", ") + " and " + accounts[n-1]
	}
	if len(accounts) == 1 {
		return "You are the last Admin of " + names + " with two-factor authentication, which " + names + " requires: turning it off would lock every Admin out of its Manage console. " +
			"Ask another Admin to turn two-factor on first, or stop requiring it in " + names + "'s Manage console."
	}
	return "You are the last Admin of " + names + " with two-factor authentication, which they require: turning it off would lock every Admin out of their Manage consoles. " +
		"Ask another Admin of each to turn two-factor on first, or stop requiring it in their Manage consoles."
}
