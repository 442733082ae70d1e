package views

// EndedBeforeConfirmedText says what the first confirmation of the account
// email ended besides the logins (db.Verified.Ended): two-factor
// authentication (on or being set up), passkeys and contact methods added
// before the address was confirmed. "" when nothing went.
func EndedBeforeConfirmedText(twoFactor bool, passkeys, contacts int64) string {
	var s string
	if twoFactor {
		s += " Two-factor authentication was turned off, because it was set up before your email address was confirmed: turn it on again with your own authenticator app."
	}
	if passkeys > 0 {
		s += " " + Plural(passkeys, "passkey was", "passkeys were") + " removed, because they were added before your email address was confirmed."
	}
	if contacts > 0 {
		s += " " + Plural(contacts, "contact method was", "contact methods were") + " removed, because they were added before your email address was confirmed; every notice goes to your account email."
	}
	if s == "" {
		return ""
	}
	return s[1:]
}
