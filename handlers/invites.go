package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// inviteMail writes out the mail with an invite's link, to be queued
// with the invite. Only the account name, which checkAccountName keeps to
// one line, goes into the subject.
func (h *Handler) inviteMail(from db.User, account db.Account, role, token string) (*db.Mail, error) {
	return h.views.LinkMail(db.CircumstanceAccount, h.link("/invites/"+token), func(link string) views.Mail {
		return views.InviteMail{Inviter: from.DisplayName(), Account: account.Name, Role: db.RoleName(role), Link: link,
			RequireTwoFactor: account.RequireTwoFactor}
	})
}

// invitePage is where an invite link lands. What it offers depends on who
// looks: sign in or sign up; accept or ignore; confirm the email first; or
// sign in as the invited address.
func (h *Handler) invitePage(c echo.Context) error {
	token := c.Param("token")
	inv, err := h.store.InviteByToken(c.Request().Context(), tokenHash(token))
	if errors.Is(err, db.ErrNotFound) {
		data := views.InvitePage{Page: h.page(c, "Invite"), Offer: views.InviteUnknown}
		return h.render(c, http.StatusNotFound, "invite.html", "", data)
	}
	if err != nil {
		return err
	}
	offer, err := h.inviteOffer(c, inv)
	if err != nil {
		return err
	}
	data := views.InvitePage{Page: h.page(c, "Invite to "+inv.AccountName), Token: token, Invite: inv, Offer: offer}
	status := http.StatusOK
	if offer == views.InviteClosed {
		status = http.StatusGone
	}
	return h.render(c, status, "invite.html", "", data)
}

// inviteOffer decides what the invite page offers the person looking.
func (h *Handler) inviteOffer(c echo.Context, inv db.Invite) (string, error) {
	u, ok := currentUser(c)
	// A member who opens the link again, after accepting, is told so rather
	// than that the (now spent) invite no longer works.
	if ok {
		_, err := h.store.Membership(c.Request().Context(), inv.AccountID, u.ID)
		if err == nil {
			return views.InviteMember, nil
		}
		if !errors.Is(err, db.ErrNotFound) {
			return "", err
		}
	}
	if !inv.Open(time.Now()) {
		return views.InviteClosed, nil
	}
	if !ok {
		return views.InviteSignIn, nil
	}
	verified, err := h.store.HasVerifiedEmail(c.Request().Context(), u.ID, inv.Email)
	switch {
	case err != nil:
		return "", err
	case verified:
		return views.InviteAnswer, nil
	case db.NormalEmail(u.Email) != db.NormalEmail(inv.Email):
		return views.InviteOtherEmail, nil
	}
	return views.InviteVerify, nil
}

func (h *Handler) acceptInvite(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	// Who accepted, for the inviter's activity log, which gets this event
	// too, with an account notice.
	ev := event(c, db.EventInviteAccepted)
	ev.Detail = map[string]any{"member": u.ID, "email": u.Email}
	ev.Notice, err = h.joinedNotice(c, u, id)
	if err != nil {
		return err
	}
	m, err := h.store.AcceptInvite(c.Request().Context(), id, u.ID, ev)
	if err != nil {
		return h.inviteRefused(c, err)
	}
	h.queued()
	msg := "You joined " + m.Account.Name + " as " + db.RoleName(m.Role) + "."
	return answer(h, c, accountInvites, http.StatusOK, msg, func(p *views.ProfilePage) { p.InvitesForm.Message = msg })
}

func (h *Handler) ignoreInvite(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := h.store.IgnoreInvite(c.Request().Context(), id, u.ID, event(c, db.EventInviteIgnored)); err != nil {
		return h.inviteRefused(c, err)
	}
	msg := "You ignored the invite."
	return answer(h, c, accountInvites, http.StatusOK, msg, func(p *views.ProfilePage) { p.InvitesForm.Message = msg })
}

// accountInvites is #account-invites, from which a plain post goes to the
// form's next: the account, from the invite page, or the profile. An
// answer, or a refusal (the invite may have changed under the person),
// changes My Accounts and the menu's badge too.
var accountInvites = section[views.ProfilePage]{file: "profile.html", fragment: "profile/account-invites", load: (*Handler).loadProfileData,
	back: func(c echo.Context) place { return safeNext(c.FormValue("next")) }, oob: []string{"profile/my-accounts", "invite-badge"}}

// inviteRefused answers an Accept or Ignore the rules refused (wrong
// address, invite gone, already a member) with 409 and the reason in
// #account-invites.
func (h *Handler) inviteRefused(c echo.Context, err error) error {
	msg, ok := brokenRule(err)
	if !ok {
		return accountError(err)
	}
	return answer(h, c, accountInvites, http.StatusConflict, "", func(p *views.ProfilePage) {
		p.InvitesForm.Fail("form", msg)
	})
}

// signupInvite finds the open invite that a sign-up came from, by its form
// or query field next=/invites/{token}: with ROSTER_SIGNUP=invite it is
// what lets a person sign up.
func (h *Handler) signupInvite(c echo.Context) (db.Invite, bool, error) {
	token, ok := strings.CutPrefix(string(safeNext(c.FormValue("next"))), "/invites/")
	if !ok || token == "" || strings.Contains(token, "/") {
		return db.Invite{}, false, nil
	}
	inv, err := h.store.InviteByToken(c.Request().Context(), tokenHash(token))
	if errors.Is(err, db.ErrNotFound) {
		return db.Invite{}, false, nil
	}
	if err != nil {
		return db.Invite{}, false, err
	}
	return inv, inv.Open(time.Now()), nil
}

// joinedNotice tells an inviter that u accepted their invite; nil when the
// invite is not one u may answer (AcceptInvite then refuses it).
func (h *Handler) joinedNotice(c echo.Context, u db.User, inviteID int64) (*db.Notice, error) {
	open, err := h.store.InvitesForUser(c.Request().Context(), u.ID)
	if err != nil {
		return nil, err
	}
	for _, inv := range open {
		// Without an inviter (their profile is gone) the notice would go
		// to u, who knows.
		if inv.ID == inviteID && inv.InvitedBy != 0 && inv.InvitedBy != u.ID {
			return h.views.Notice(db.CircumstanceAccount, views.JoinedMail{Name: u.DisplayName(), Email: u.Email, Account: inv.AccountName, Role: db.RoleName(inv.Role)})
		}
	}
	return nil, nil
}

// inviteBadgePath is the menu badge's poll: once a minute it asks whether
// the count changed, sending the count it shows.
const inviteBadgePath = "/profile/invite-badge"

// inviteBadge answers the poll: 204 (htmx swaps nothing) while the count
// is the one the page shows, the new badge otherwise. It reads no flash and
// does not keep the session alive (see loadUser).
func (h *Handler) inviteBadge(c echo.Context) error {
	if !isHTMX(c) {
		return seeOther(c, "/profile#account-invites")
	}
	u, _ := currentUser(c)
	n := h.inviteCount(c, u.ID)
	if c.QueryParam("n") == strconv.Itoa(n) {
		return c.NoContent(http.StatusNoContent)
	}
	return h.render(c, http.StatusOK, "profile.html", "invite-badge", views.Page{User: u, Invites: func() int { return n }})
}
