package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// member guards every /accounts/:id/... route: it loads the current user's
// membership once and puts it in the context for currentMembership. A
// non-member gets 404, as if there were no such account, so account ids
// reveal nothing; a member below need gets 403. The writes check again
// inside their transactions, so a role lost meanwhile still counts.
func (h *Handler) member(need string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u, _ := currentUser(c)
			id, err := strconv.ParseInt(c.Param("id"), 10, 64)
			if err != nil {
				return echo.ErrNotFound
			}
			m, err := h.store.Membership(c.Request().Context(), id, u.ID)
			if errors.Is(err, db.ErrNotFound) {
				return echo.ErrNotFound
			}
			if err != nil {
				return err
			}
			// An account that requires two-factor does not open to a member
			// without it, on any route under /accounts/:id (require2fa.go).
			if refused, err := h.secondFactorMissing(c, u, m); refused || err != nil {
				return err
			}
			if !db.RoleAtLeast(m.Role, need) {
				return echo.NewHTTPError(http.StatusForbidden, "Only Admins of "+m.Account.Name+" can do that.")
			}
			c.Set(ctxMembership, m)
			return next(c)
		}
	}
}

// brokenRule returns the text of an account rule that a request broke and
// the person can do something about, shown in the section with 409.
// Permission rules are not among them: accountError makes those a 403.
func brokenRule(err error) (string, bool) {
	var re db.RuleError
	if !errors.As(err, &re) || re == db.ErrForbidden || re == db.ErrOwnerOnly {
		return "", false
	}
	return views.RuleText(re), true
}

// accountError turns what is left of a db error after brokenRule into the
// answer: a missing right is 403, a row gone meanwhile 404.
func accountError(err error) error {
	var re db.RuleError
	switch {
	case errors.As(err, &re):
		return echo.NewHTTPError(http.StatusForbidden, views.RuleText(re))
	case errors.Is(err, db.ErrNotFound):
		return echo.ErrNotFound
	}
	return err
}

// pageParam reads a 1-based page number from the query, 1 when absent or bad.
func pageParam(c echo.Context, name string) int {
	n, err := strconv.Atoi(c.QueryParam(name))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// idParam reads a numeric path parameter; a bad one is a 404.
func idParam(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil {
		return 0, echo.ErrNotFound
	}
	return id, nil
}

// checkAccountName requires a name of 1 to 100 characters, trimmed.
func checkAccountName(form *views.Form, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		form.Fail("name", "Enter a name for the account.")
	case n > 100:
		form.Fail("name", "Use at most 100 characters.")
	case strings.ContainsFunc(name, unicode.IsControl):
		// The name goes into invite mail subjects, where a line break is refused.
		form.Fail("name", "Use a name without line breaks or tabs.")
	}
}

func (h *Handler) newAccountPage(c echo.Context) error {
	return h.render(c, http.StatusOK, "account_new.html", "", views.NewAccountPage{Page: h.page(c, "Create an account")})
}

// unconfirmedAccount refuses to create an account before the user's email
// is confirmed: 403, with the page's sentence and the button that sends
// the link again (the form's fragment shows both for an unverified user).
func (h *Handler) unconfirmedAccount(c echo.Context) error {
	data := views.NewAccountPage{Page: h.page(c, "Create an account")}
	return h.render(c, http.StatusForbidden, "account_new.html", "account-new/form", data)
}

// createAccount makes the user the owner and first Admin of a new account
// and takes them to its Manage console, where inviting people comes next.
func (h *Handler) createAccount(c echo.Context) error {
	u, _ := currentUser(c)
	if !u.EmailVerified() {
		return h.unconfirmedAccount(c)
	}
	name := strings.TrimSpace(c.FormValue("name"))
	data := views.NewAccountPage{Form: views.Form{Values: map[string]string{"name": name}}}
	checkAccountName(&data.Form, name)
	if data.Form.Failed() {
		data.Page = h.page(c, "Create an account")
		return h.render(c, http.StatusUnprocessableEntity, "account_new.html", "account-new/form", data)
	}
	a, err := h.store.CreateAccount(c.Request().Context(), u.ID, name, event(c, db.EventAccountCreated))
	if errors.Is(err, db.ErrUnconfirmedEmail) {
		return h.unconfirmedAccount(c) // confirmed state changed meanwhile
	}
	if err != nil {
		return err
	}
	h.flash.set(c, "success", "The account "+a.Name+" is created. Invite people to it below.")
	return redirect(c, at("/accounts/:id/manage", a.ID))
}

// account shows an account to any of its members.
func (h *Handler) account(c echo.Context) error {
	ctx := c.Request().Context()
	m := currentMembership(c)
	total, err := h.store.CountMembers(ctx, m.Account.ID)
	if err != nil {
		return err
	}
	pager := h.listPage(c, accountURL(m), "page", "Pages of members", total)
	members, _, err := h.store.Members(ctx, m.Account.ID, pager.Size, pager.Offset())
	if err != nil {
		return err
	}
	owner, err := h.store.UserByID(ctx, m.Account.OwnerID)
	if err != nil {
		return err
	}
	billing, err := h.accountBilling(ctx, m.Account.ID)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "account.html", "", views.AccountPage{
		Page: h.page(c, m.Account.Name), Membership: m, OwnerName: owner.DisplayName(),
		Members: members, MembersPage: pager, Billing: billing,
	})
}

// leave takes the user out of an account. It answers from the profile page,
// where the Leave button is: the row disappears from #my-accounts.
func (h *Handler) leave(c echo.Context) error {
	u, _ := currentUser(c)
	m := currentMembership(c)
	ev := event(c, db.EventAccountLeft)
	// The Admins are told, in the transaction of the leaving.
	notice, err := h.views.Notice(db.CircumstanceAccount, views.LeftMail{Name: u.DisplayName(), Email: u.Email, Account: m.Account.Name})
	if err != nil {
		return err
	}
	ev.Notice = notice
	err = h.store.Leave(c.Request().Context(), m.Account.ID, u.ID, ev)
	if msg, ok := brokenRule(err); ok {
		return answer(h, c, profileSection("profile/my-accounts"), http.StatusConflict, "", func(p *views.ProfilePage) {
			p.AccountsForm.Fail("form", msg)
		})
	}
	if err != nil {
		return accountError(err)
	}
	h.queued() // the Admins' notice
	msg := "You left " + m.Account.Name + ". You need a new invite to come back."
	return answer(h, c, profileSection("profile/my-accounts"), http.StatusOK, msg, func(p *views.ProfilePage) { p.AccountsForm.Message = msg })
}
