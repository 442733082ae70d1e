package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
)

// Every throttle goes through the one limiter of package db: a slot is
// reserved before the work it pays for (a password hash, a mail, a Stripe
// call) starts, atomically, in the database that every process shares.

// rule is one kind of limit: at most max slots per key in any window.
type rule struct {
	prefix string
	max    int
	window time.Duration
}

// on is the rule's limit for one key (an address, a client IP, a user).
func (r rule) on(key string) db.Limit {
	return db.Limit{Key: r.prefix + key, Max: r.max, Window: r.window}
}

// throttle holds every limit, one declaration each.
type throttle struct {
	// Password checks (sign-in, the current password on the profile):
	// failures count; a right password gives its slot back and clears
	// the email's failures.
	signinEmail, signinIP rule
	// Mails with a link, to one address and from one client IP, whatever
	// the outcome: reset, verification, email change, invite.
	resetAddress, resetIP   rule
	verifyAddress, verifyIP rule
	changeAddress, changeIP rule
	inviteAddress, inviteIP rule
	// SetupIntents (card testing) per user, and failed API bearer tokens
	// per client IP.
	cardSetups, apiFailures rule
	// DNS look-ups of the SAML domain Verify button, per account and per
	// client IP, whatever they find: each is a query to a name an Admin chose.
	dnsAccount, dnsIP rule
	// Passkey ceremonies begun from one client IP (passkeys.go), whatever
	// their outcome: each keeps a row for a few minutes.
	passkeyIP rule
	// Wrong codes at the sign-in's second step, per user, on top of the
	// password's limits: someone who holds the password gets this many
	// guesses a day, not 10 every 15 minutes. The one that fills it
	// tells the owner (security notice); a new password (reset or change)
	// clears it, so the owner waits for no window.
	secondStepUser rule
}

var defaultThrottle = throttle{
	signinEmail:    rule{"signin:email:", 10, 15 * time.Minute},
	signinIP:       rule{"signin:ip:", 50, 15 * time.Minute},
	resetAddress:   rule{"reset:addr:", 3, time.Hour},
	resetIP:        rule{"reset:ip:", 20, time.Hour},
	verifyAddress:  rule{"verify:addr:", 3, time.Hour},
	verifyIP:       rule{"verify:ip:", 20, time.Hour},
	changeAddress:  rule{"change:addr:", 3, time.Hour},
	changeIP:       rule{"change:ip:", 20, time.Hour},
	inviteAddress:  rule{"invite:addr:", 3, time.Hour},
	inviteIP:       rule{"invite:ip:", 50, time.Hour}, // an Admin inviting a team at once
	cardSetups:     rule{"setup:user:", 5, time.Hour},
	apiFailures:    rule{"api:ip:", 20, 15 * time.Minute},
	dnsAccount:     rule{"dns:account:", 10, time.Minute},
	dnsIP:          rule{"dns:ip:", 30, time.Minute},
	passkeyIP:      rule{"passkey:ip:", 60, 15 * time.Minute},
	secondStepUser: rule{"code:user:", 20, 24 * time.Hour},
}

const throttledMessage = "Too many failed sign-in attempts. Wait 15 minutes and try again, or reset your password."

// emailKey is the form of an address in a limit's key: the one normal
// form of emails (trimmed, lowercased).
func emailKey(email string) string { return db.NormalEmail(email) }

// ipKey is the form of a client IP in a limit's key: an IPv4 address, or
// the /64 of an IPv6 one, since one IPv6 client usually holds a whole /64
// and could otherwise take a fresh address for every try.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// clientKey is the client of the request, as its per-IP limits count it.
func clientKey(c echo.Context) string { return ipKey(c.RealIP()) }

// reservePassword takes a slot for one password check of email from the
// client's IP, before the hash. A *db.Throttled error means refuse.
func (h *Handler) reservePassword(c echo.Context, email string) (db.Reservation, error) {
	return h.store.Reserve(c.Request().Context(), h.throttle.signinEmail.on(emailKey(email)), h.throttle.signinIP.on(clientKey(c)))
}

// release gives back a reservation whose work did not count. Failing to is
// logged: the slot then expires with its window.
func (h *Handler) release(ctx context.Context, c echo.Context, r db.Reservation) {
	if err := h.store.Release(ctx, r); err != nil {
		logger(c).Warn("release throttle slot", "err", err)
	}
}

// throttled reports whether err is the limiter's refusal and, if so, sets
// Retry-After (whole seconds) on the answer.
func throttled(c echo.Context, err error) (*db.Throttled, bool) {
	var t *db.Throttled
	if !errors.As(err, &t) {
		return nil, false
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(t.RetryAfter/time.Second)))
	return t, true
}

// tryAgainIn says in words when a throttled person may try again.
func tryAgainIn(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute) // rounded up
	if m <= 1 {
		return "Try again in a minute."
	}
	return fmt.Sprintf("Try again in %d minutes.", m)
}

// mailLimitText is the refusal of a mail with a link to address, for a
// person who is signed in (what, e.g. "confirmation links", is plural):
// ip is the rule of the client's limit, the other one is the address's.
func mailLimitText(t *db.Throttled, ip rule, what, address string) string {
	if strings.HasPrefix(t.Limit.Key, ip.prefix) {
		return fmt.Sprintf("You asked for %d %s in the last hour. %s", t.Limit.Max, what, tryAgainIn(t.RetryAfter))
	}
	return fmt.Sprintf("We sent %d %s to %s in the last hour. %s", t.Limit.Max, what, address, tryAgainIn(t.RetryAfter))
}

// clearCodePause forgets the wrong second-step codes of userID when the
// password changes: whoever guessed them with the old one holds nothing
// now, and the owner is not kept waiting for the day's window.
func (h *Handler) clearCodePause(ctx context.Context, userID int64) error {
	return h.store.ClearThrottle(ctx, h.throttle.secondStepUser.on(strconv.FormatInt(userID, 10)).Key)
}
