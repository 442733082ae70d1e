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

// The Manage console of an account, for its Admins. Every POST answers a
// plain form with 303 back to the console and a flash, and htmx with the
// section it changed. A broken rule re-renders the section (or the whole
// console) with the rule's text and 409; invalid fields give 422. Actions
// that change the Admin's own rights (transfer, demoting or removing
// oneself, delete) redirect, as every section of the page changes with them.

// manageSection is one section of the console: what a POST answers with,
// and the form in it that shows the outcome.
type manageSection struct {
	section[views.ManagePage]
	form func(*views.ManagePage) *views.Form
}

// consoleSection is the console's section fragment; a plain post goes back
// to the console, at anchor.
func consoleSection(fragment string, anchor place, form func(*views.ManagePage) *views.Form) manageSection {
	back := func(c echo.Context) place {
		return at("/accounts/:id/manage", currentMembership(c).Account.ID) + anchor
	}
	return manageSection{section[views.ManagePage]{file: "manage.html", fragment: fragment, load: (*Handler).loadManageData, back: back}, form}
}

// put shows form in the section.
func (s manageSection) put(form views.Form) func(*views.ManagePage) {
	return func(p *views.ManagePage) { *s.form(p) = form }
}

var (
	membersSection  = consoleSection("manage/members", "", func(p *views.ManagePage) *views.Form { return &p.MembersForm })
	inviteSection   = consoleSection("manage/invite", "", func(p *views.ManagePage) *views.Form { return &p.InviteForm })
	invitesSection  = consoleSection("manage/invites", "", func(p *views.ManagePage) *views.Form { return &p.InvitesForm })
	settingsSection = consoleSection("manage/settings", "", func(p *views.ManagePage) *views.Form { return &p.SettingsForm })
	ownerSection    = consoleSection("manage/owner", "", func(p *views.ManagePage) *views.Form { return &p.OwnerForm })
	dangerSection   = consoleSection("manage/danger", "", func(p *views.ManagePage) *views.Form { return &p.DangerForm })
)

func accountURL(m db.Membership) string { return "/accounts/" + strconv.FormatInt(m.Account.ID, 10) }

// loadManageData builds the console. The GET and every failed or htmx POST
// use it, so the page and its fragments cannot drift apart.
func (h *Handler) loadManageData(c echo.Context) (views.ManagePage, error) {
	ctx := c.Request().Context()
	m := currentMembership(c)
	data := views.ManagePage{Membership: m, Now: time.Now(), PasskeysOffered: h.passkeys != nil}
	members, err := h.store.CountMembers(ctx, m.Account.ID)
	if err != nil {
		return views.ManagePage{}, err
	}
	invites, err := h.store.CountPendingInvites(ctx, m.Account.ID)
	if err != nil {
		return views.ManagePage{}, err
	}
	console := accountURL(m) + "/manage"
	data.MembersPage = h.listPage(c, console, "members_page", "Pages of members", members)
	data.InvitesPage = h.listPage(c, console, "invites_page", "Pages of invites", invites)
	data.Members, _, err = h.store.Members(ctx, m.Account.ID, data.MembersPage.Size, data.MembersPage.Offset())
	if err != nil {
		return views.ManagePage{}, err
	}
	data.Invites, _, err = h.store.PendingInvites(ctx, m.Account.ID, data.InvitesPage.Size, data.InvitesPage.Offset())
	if err != nil {
		return views.ManagePage{}, err
	}
	if data.SAML, err = h.samlRows(ctx, m.Account.ID); err != nil {
		return views.ManagePage{}, err
	}
	if err := h.loadBilling(c, &data); err != nil {
		return views.ManagePage{}, err
	}
	if m.IsOwner() {
		admins, err := h.store.Admins(ctx, m.Account.ID)
		if err != nil {
			return views.ManagePage{}, err
		}
		for _, a := range admins {
			if a.UserID != m.UserID {
				data.Admins = append(data.Admins, a)
			}
		}
	}
	if data.Need2FA, err = h.twoFactorNeeded(c, m); err != nil {
		return views.ManagePage{}, err
	}
	data.Page = h.page(c, "Manage "+m.Account.Name)
	return data, nil
}

func (h *Handler) manage(c echo.Context) error {
	data, err := h.loadManageData(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "manage.html", "", data)
}

// manageResult answers a POST after its write. A broken rule re-renders the
// section with its text and 409, keeping what was typed in form; other
// errors go to accountError. Success shows message in the section, with
// oob marking what else changed.
func (h *Handler) manageResult(c echo.Context, s manageSection, form views.Form, err error, message string, oob ...string) error {
	if msg, ok := brokenRule(err); ok {
		form.Fail("form", msg)
		return answer(h, c, s.section, http.StatusConflict, "", s.put(form))
	}
	if err != nil {
		return accountError(err)
	}
	return answer(h, c, s.section, http.StatusOK, message, s.put(views.Form{Message: message}), oob...)
}

// leaveConsole redirects, with a flash, after an action that changed what
// the Admin may see.
func (h *Handler) leaveConsole(c echo.Context, to place, message string) error {
	h.flash.set(c, "success", message)
	return redirect(c, to)
}

const chooseRole = "Choose Admin, Normal or Read-Only."

func (h *Handler) setRole(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	uid, err := idParam(c, "uid")
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	if !db.ValidRole(role) {
		var form views.Form
		form.Fail("form", chooseRole)
		return answer(h, c, membersSection.section, http.StatusUnprocessableEntity, "", membersSection.put(form))
	}
	target, err := h.store.UserByID(ctx, uid)
	if err != nil {
		return accountError(err)
	}
	ev := event(c, db.EventRoleChanged)
	ev.Detail = map[string]any{"member_name": target.DisplayName()}
	if uid != u.ID {
		if ev.Notice, err = h.views.Notice(db.CircumstanceAccount, views.MemberRoleMail{Admin: u.DisplayName(), Role: db.RoleName(role), Account: m.Account.Name}); err != nil {
			return err
		}
	}
	err = h.store.SetRole(ctx, m.Account.ID, u.ID, uid, role, ev)
	h.queued() // the member's notice, when the change was made
	if err == nil && uid == u.ID && role != db.RoleAdmin {
		return h.leaveConsole(c, at("/accounts/:id", m.Account.ID), "You are now "+db.RoleName(role)+" in "+m.Account.Name+".")
	}
	return h.manageResult(c, membersSection, views.Form{}, err, target.DisplayName()+" is now "+db.RoleName(role)+".",
		"manage/owner") // the Admins may have changed
}

func (h *Handler) removeMember(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	uid, err := idParam(c, "uid")
	if err != nil {
		return err
	}
	target, err := h.store.UserByID(ctx, uid)
	if err != nil {
		return accountError(err)
	}
	ev := event(c, db.EventMemberRemoved)
	ev.Detail = map[string]any{"member_name": target.DisplayName()}
	if uid != u.ID {
		if ev.Notice, err = h.views.Notice(db.CircumstanceAccount, views.MemberRemovedMail{Admin: u.DisplayName(), Account: m.Account.Name}); err != nil {
			return err
		}
	}
	err = h.store.RemoveMember(ctx, m.Account.ID, u.ID, uid, ev)
	h.queued() // the member's notice, when the change was made
	if err == nil && uid == u.ID {
		return h.leaveConsole(c, "/profile", "You left "+m.Account.Name+". You need a new invite to come back.")
	}
	return h.manageResult(c, membersSection, views.Form{}, err, target.DisplayName()+" is removed from "+m.Account.Name+".",
		"manage/owner")
}

func (h *Handler) createInvite(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	email, role := strings.TrimSpace(c.FormValue("email")), c.FormValue("role")
	form := views.Form{Values: map[string]string{"email": email, "role": role}}
	if email == "" {
		form.Fail("email", "Enter the email of the person to invite.")
	} else {
		checkNewEmail(&form, email)
	}
	if !db.ValidRole(role) {
		form.Fail("role", chooseRole)
	}
	if form.Failed() {
		return answer(h, c, inviteSection.section, http.StatusUnprocessableEntity, "", inviteSection.put(form))
	}
	if !u.EmailVerified() {
		return unconfirmedInvite(h, c, inviteSection, form)
	}
	slot, err := h.reserveInvite(c, email)
	if t, ok := throttled(c, err); ok {
		return h.inviteThrottled(c, inviteSection, form, t, email)
	}
	if err != nil {
		return err
	}
	token, hash := newToken()
	mail, err := h.inviteMail(u, m.Account, role, token)
	if err != nil {
		return err
	}
	_, err = h.store.CreateInvite(ctx, m.Account.ID, u.ID, email, role, hash, mail, event(c, db.EventInviteSent))
	if err == nil {
		h.queued()
	} else {
		h.release(ctx, c, slot) // refused: nothing was sent
	}
	if errors.Is(err, db.ErrUnconfirmedEmail) {
		return unconfirmedInvite(h, c, inviteSection, form)
	}
	return h.manageResult(c, inviteSection, form, err, "An invite is on its way to "+email+".",
		"manage/invites") // a new one is pending
}

// unconfirmedInvite refuses an invite from an Admin whose email is not
// confirmed: 403 and the section. The invite section shows the rule's
// sentence with the button that sends the confirmation link again; the
// invites list (resend) gets the sentence as its form's error.
func unconfirmedInvite(h *Handler, c echo.Context, s manageSection, form views.Form) error {
	if s.fragment != inviteSection.fragment {
		form.Fail("form", views.RuleText(db.ErrUnconfirmedEmail))
	}
	return answer(h, c, s.section, http.StatusForbidden, "", s.put(form))
}

// resendInvite gives the invite a new link and expiry and mails it; the
// old link stops working.
func (h *Handler) resendInvite(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	iid, err := idParam(c, "iid")
	if err != nil {
		return err
	}
	if !u.EmailVerified() {
		return unconfirmedInvite(h, c, invitesSection, views.Form{})
	}
	// The address is needed for its limit before the invite gets a new
	// link: a refused resend leaves the old link working.
	inv, err := h.store.PendingInvite(ctx, m.Account.ID, iid)
	if err != nil {
		return h.manageResult(c, invitesSection, views.Form{}, err, "")
	}
	slot, err := h.reserveInvite(c, inv.Email)
	if t, ok := throttled(c, err); ok {
		return h.inviteThrottled(c, invitesSection, views.Form{}, t, inv.Email)
	}
	if err != nil {
		return err
	}
	token, hash := newToken()
	mail, err := h.inviteMail(u, m.Account, inv.Role, token)
	if err != nil {
		return err
	}
	inv, err = h.store.ResendInvite(ctx, m.Account.ID, u.ID, iid, hash, mail, event(c, db.EventInviteResent))
	if err == nil {
		h.queued()
	} else {
		h.release(ctx, c, slot)
	}
	if errors.Is(err, db.ErrUnconfirmedEmail) {
		return unconfirmedInvite(h, c, invitesSection, views.Form{})
	}
	return h.manageResult(c, invitesSection, views.Form{}, err, "A new link is on its way to "+inv.Email+".")
}

// reserveInvite takes the slots of one invite mail to email.
func (h *Handler) reserveInvite(c echo.Context, email string) (db.Reservation, error) {
	return h.store.Reserve(c.Request().Context(), h.throttle.inviteAddress.on(emailKey(email)), h.throttle.inviteIP.on(clientKey(c)))
}

// inviteThrottled answers an invite mail refused by its limit, with 429
// and when to try again in the section.
func (h *Handler) inviteThrottled(c echo.Context, s manageSection, form views.Form, t *db.Throttled, email string) error {
	form.Fail("form", mailLimitText(t, h.throttle.inviteIP, "invites", email))
	return answer(h, c, s.section, http.StatusTooManyRequests, "", s.put(form))
}

func (h *Handler) revokeInvite(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	iid, err := idParam(c, "iid")
	if err != nil {
		return err
	}
	err = h.store.RevokeInvite(c.Request().Context(), m.Account.ID, u.ID, iid, event(c, db.EventInviteRevoked))
	return h.manageResult(c, invitesSection, views.Form{}, err, "The invite is revoked: its link no longer works.")
}

func (h *Handler) renameAccount(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	name := strings.TrimSpace(c.FormValue("name"))
	form := views.Form{Values: map[string]string{"name": name}}
	checkAccountName(&form, name)
	if form.Failed() {
		return answer(h, c, settingsSection.section, http.StatusUnprocessableEntity, "", settingsSection.put(form))
	}
	err := h.store.RenameAccount(c.Request().Context(), m.Account.ID, u.ID, name, event(c, db.EventAccountRenamed))
	if err == nil {
		m.Account.Name = name
		c.Set(ctxMembership, m)
	}
	return h.manageResult(c, settingsSection, form, err, "The account is renamed to "+name+".",
		"manage/heading", "manage/danger") // they show the name
}

func (h *Handler) transferOwnership(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	m := currentMembership(c)
	if !m.IsOwner() {
		return accountError(db.ErrOwnerOnly) // before the form, so other Admins always get 403
	}
	to, err := strconv.ParseInt(c.FormValue("user_id"), 10, 64)
	if err != nil {
		var form views.Form
		form.Fail("form", "Choose the new owner.")
		return answer(h, c, ownerSection.section, http.StatusUnprocessableEntity, "", ownerSection.put(form))
	}
	ev := event(c, db.EventOwnerTransferred)
	notice, err := h.views.Notice(db.CircumstanceAccount, views.MemberOwnerMail{Admin: u.DisplayName(), Account: m.Account.Name})
	if err != nil {
		return err
	}
	ev.Notice = notice
	err = h.store.TransferOwnership(ctx, m.Account.ID, u.ID, to, ev)
	if err != nil {
		return h.manageResult(c, ownerSection, views.Form{}, err, "")
	}
	h.queued() // the new owner's notice
	owner, err := h.store.UserByID(ctx, to)
	if err != nil {
		return err
	}
	return h.leaveConsole(c, at("/accounts/:id/manage", m.Account.ID), owner.DisplayName()+" now owns "+m.Account.Name+". You stay an Admin.")
}

// deleteAccount deletes the account once its owner has typed its name, so
// a stray click cannot.
func (h *Handler) deleteAccount(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	if !m.IsOwner() {
		return accountError(db.ErrOwnerOnly)
	}
	confirm := strings.TrimSpace(c.FormValue("confirm_name"))
	form := views.Form{Values: map[string]string{"confirm_name": confirm}}
	if confirm != m.Account.Name {
		form.Fail("confirm_name", "Type the account name, "+m.Account.Name+", exactly as shown.")
		return answer(h, c, dangerSection.section, http.StatusUnprocessableEntity, "", dangerSection.put(form))
	}
	ev := event(c, db.EventAccountDeleted)
	notice, err := h.views.Notice(db.CircumstanceAccount, views.AccountDeletedMail{Owner: u.DisplayName(), Account: m.Account.Name})
	if err != nil {
		return err
	}
	ev.Notice = notice
	err = h.store.DeleteAccount(c.Request().Context(), m.Account.ID, u.ID, ev)
	if err != nil {
		return h.manageResult(c, dangerSection, form, err, "")
	}
	h.queued() // the former members' notices
	return h.leaveConsole(c, "/profile", "The account "+m.Account.Name+" is deleted.")
}
