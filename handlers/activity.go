package handlers

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// activity lists the user's security events, newest first, under the
// sign-in chart, a page at a time by keyset (see eventKey). htmx asks for
// the chart alone when its range is switched.
func (h *Handler) activity(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	chart, err := h.signInChart(c, u.ID)
	if err != nil {
		return err
	}
	page, err := h.store.EventsForUser(ctx, u.ID, eventKey(c), h.prefs(c).PageSize)
	if err != nil {
		return err
	}
	data := views.ActivityPage{Chart: chart, Pager: keysetPager(c, "/profile/activity", "Pages of the activity log")}
	data.Pager.HasNewer, data.Pager.HasOlder = page.Newer, page.Older
	if n := len(page.Events); n > 0 {
		data.Pager.FirstID, data.Pager.LastID = page.Events[0].ID, page.Events[n-1].ID
	}
	if target(c) == "signin-chart" {
		// The pager's links go out of band, so they keep the new range.
		data.Page = h.page(c, "Security activity")
		return h.render(c, http.StatusOK, "activity.html", "activity/chart", data, "activity/pager-box")
	}
	for _, ev := range page.Events {
		row := views.EventRow{When: ev.CreatedAt, What: describe(ev), ByOther: ev.ByOther}
		// Someone else's request: its IP address and device are theirs.
		if !ev.ByOther {
			row.IP, row.Device = ev.IP, device(ev.UserAgent)
		}
		data.Events = append(data.Events, row)
	}
	data.Page = h.page(c, "Security activity")
	return h.render(c, http.StatusOK, "activity.html", "", data)
}

// eventKey reads the log's position from the query, as the pager's links
// write it: ?before=<id> is the page of the events just older than id,
// ?after=<id> the page just newer (?after=0 the oldest page). Anything else,
// an old ?page=<n> bookmark included, is the newest page.
func eventKey(c echo.Context) db.EventKey {
	if id, err := strconv.ParseInt(c.QueryParam("before"), 10, 64); err == nil && id > 0 {
		return db.EventKey{ID: id}
	}
	if id, err := strconv.ParseInt(c.QueryParam("after"), 10, 64); err == nil && id >= 0 {
		return db.EventKey{ID: id, Newer: true}
	}
	return db.EventKey{}
}

// describe says in words what an audit event records.
func describe(ev db.Event) string {
	count := func(key string) int64 {
		n, _ := ev.Detail[key].(float64) // JSON numbers decode as float64
		return int64(n)
	}
	text := func(key string) string {
		s, _ := ev.Detail[key].(string)
		return s
	}
	// The same account event is in the log of the Admin who acted and of
	// the member it concerns; "me" tells them apart.
	me := func(key string) bool { return count(key) == ev.UserID }
	account, role := text("account"), db.RoleName(text("role"))
	memberName := cmp.Or(text("member_name"), "a member")
	switch ev.Kind {
	case db.EventSignUp:
		return "Created the profile"
	case db.EventSignIn:
		m := cmp.Or(text("method"), providerLabel(text("provider")))
		switch text("outcome") {
		case db.LoginCreated:
			return "Created the profile by logging in with " + m
		case db.LoginLinked:
			return "Logged in with " + m + ", which was linked to this profile by its confirmed email " + text("email")
		}
		if f := secondFactorName(text("second_factor")); f != "" {
			return "Logged in with " + cmp.Or(m, "password") + " and " + f
		}
		if m != "" && m != "signup" {
			return "Logged in with " + m
		}
		return "Logged in"
	case db.EventSecondFactor:
		return "Finished logging in with " + text("method") + " with " + secondFactorName(text("second_factor"))
	case db.EventTwoFactorEnabled:
		return "Turned on two-factor authentication with an authenticator app"
	case db.EventTwoFactorDisabled:
		return "Turned off two-factor authentication"
	case db.EventTwoFactorReset:
		what := "A server administrator turned off two-factor authentication"
		if n := count("passkeys_removed"); n > 0 {
			what += " and removed " + views.Plural(n, "passkey", "passkeys")
		}
		if count("sessions_ended") > 0 {
			what += "; every session logged out"
		}
		return what
	case db.EventRecoveryCodesNew:
		return "Made new recovery codes; the old ones stopped working"
	case db.EventRecoveryCodeUsed:
		return fmt.Sprintf("Used a recovery code (%s left)", views.Plural(count("left"), "code", "codes"))
	case db.EventLoginLinked:
		return "Linked a " + cmp.Or(text("method"), providerLabel(text("provider"))) + " login" + inParens(text("email"))
	case db.EventLoginUnlinked:
		if conn := text("connection"); conn != "" {
			return "The SAML login" + inParens(text("email")) + " was removed because its connection " + conn + " of " + account + " was deleted"
		}
		if text("reason") == db.ReasonUnconfirmedEmail {
			return "Removed the " + providerLabel(text("provider")) + " login" + inParens(text("email")) + ": it was linked before the email address was confirmed"
		}
		return "Removed the " + providerLabel(text("provider")) + " login" + inParens(text("email"))
	case db.EventSignInFailed:
		if text("reason") == "second_factor" {
			return "Failed sign-in attempt (wrong two-factor code)"
		}
		return "Failed sign-in attempt (wrong password)"
	case db.EventSudo:
		return "Confirmed it was you " + sudoMethodText(text("method")) + " before a sensitive change"
	case db.EventSudoFailed:
		return "Failed confirmation before a sensitive change (wrong " + sudoMethodWrong(text("method")) + ")"
	case db.EventSignOut:
		return "Logged out"
	case db.EventPasswordChanged:
		if n := count("sessions_revoked"); n > 0 {
			return fmt.Sprintf("Changed the password; %s logged out", views.Plural(n, "other session", "other sessions"))
		}
		return "Changed the password"
	case db.EventPasswordReset:
		return "Reset the password from an emailed link; every session logged out"
	case db.EventSessionRevoked:
		return "Logged out a session"
	case db.EventSessionsRevoked:
		return fmt.Sprintf("Logged out %s", views.Plural(count("count"), "other session", "other sessions"))
	case db.EventEmailVerified:
		return "Confirmed the email address"
	case db.EventAccountCreated:
		return "Created the account " + account
	case db.EventAccountRenamed:
		return "Renamed the account " + account + " to " + text("name")
	case db.EventTwoFactorRequired:
		if on, _ := ev.Detail["on"].(bool); on {
			return "Required two-factor authentication of the members of " + account
		}
		if text("by") == "operator" {
			return "A server administrator stopped requiring two-factor authentication of the members of " + account
		}
		return "Stopped requiring two-factor authentication of the members of " + account
	case db.EventAccountDeleted:
		return "The account " + account + " was deleted by its owner"
	case db.EventRoleChanged:
		if me("member") {
			return "Your role in " + account + " was changed to " + role
		}
		return "Changed the role of " + memberName + " in " + account + " to " + role
	case db.EventMemberRemoved:
		if me("member") {
			return "You were removed from " + account
		}
		return "Removed " + memberName + " from " + account
	case db.EventAccountLeft:
		return "Left the account " + account
	case db.EventOwnerTransferred:
		if me("new_owner") {
			return "Became the owner of " + account
		}
		return "Transferred the ownership of " + account
	case db.EventInviteSent:
		return "Invited " + text("email") + " to " + account + " as " + role
	case db.EventInviteResent:
		return "Sent " + text("email") + " a new invite link to " + account
	case db.EventInviteRevoked:
		return "Revoked the invite of " + text("email") + " to " + account
	case db.EventInviteAccepted:
		if me("member") {
			return "Joined " + account + " as " + role
		}
		who := cmp.Or(text("email"), "Someone")
		if who == db.DeletedPerson {
			who = "A deleted person"
		}
		return who + " accepted your invite to " + account + " as " + role
	case db.EventInviteIgnored:
		return "Ignored an invite to " + account
	case db.EventCardAdded:
		return "Saved the card " + text("card")
	case db.EventCardRemoved:
		if text("by") == "stripe" {
			return "The card " + text("card") + " was removed at Stripe"
		}
		return "Deleted the card " + text("card")
	case db.EventBillingSet:
		if text("card") == "" {
			return "Took the card off " + account
		}
		return "Made the card " + text("card") + " pay for " + account
	case db.EventBillingCleared:
		return "The card " + text("card") + " of " + text("card_owner") + " no longer pays for " + account
	case db.EventSAMLJoined:
		return "Joined " + account + " as " + role + " through single sign-on (" + text("connection") + ")"
	case db.EventSAMLConnectionAdded:
		return "Added the SAML connection " + text("connection") + " to " + account
	case db.EventSAMLConnectionDeleted:
		return "Deleted the SAML connection " + text("connection") + " of " + account
	case db.EventSAMLDomainVerified:
		return "Verified the domain " + text("domain") + " for the SAML connection " + text("connection") + " of " + account
	case db.EventSAMLConnectionChanged:
		if on, _ := ev.Detail["idp_initiated"].(bool); on {
			return "Allowed sign-in started at the identity provider for the SAML connection " + text("connection") + " of " + account
		}
		return "Refused sign-in started at the identity provider for the SAML connection " + text("connection") + " of " + account
	case db.EventProfileUpdated:
		if name, _ := ev.Detail["name"].(string); name != "" {
			return "Changed the name to " + name
		}
		return "Updated the profile"
	case db.EventContactAdded:
		return "Added the contact method " + text("address")
	case db.EventContactVerified:
		return "Verified the contact method " + text("address")
	case db.EventContactDeleted:
		return "Deleted the contact method " + text("address")
	case db.EventRoutingChanged:
		return "Changed the notification routing"
	case db.EventEmailChangeAsked:
		return "Asked to change the account email to " + text("new_email")
	case db.EventEmailChangeCancelled:
		if text("by") == "link" {
			return "Cancelled the change of the account email to " + text("new_email") + ", from the link mailed to the old address; the session that asked was logged out"
		}
		return "Cancelled the change of the account email to " + text("new_email")
	case db.EventEmailChanged:
		if n := count("sessions_revoked"); n > 0 {
			return fmt.Sprintf("Changed the account email from %s to %s; %s logged out", text("old_email"), text("new_email"), views.Plural(n, "other session", "other sessions"))
		}
		return "Changed the account email from " + text("old_email") + " to " + text("new_email")
	}
	if s, ok := describePasskey(ev); ok {
		return s
	}
	return ev.Kind
}

// inParens is " (s)", or nothing for an empty s.
func inParens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// secondFactorName says which second factor a sign-in passed.
func secondFactorName(f string) string {
	switch f {
	case "totp":
		return "an authenticator code"
	case "recovery_code":
		return "a recovery code"
	case "passkey":
		return "a passkey"
	}
	return ""
}
