package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/mssola/useragent"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/clip"
	"github.com/rosterhq/roster/password"
	"github.com/rosterhq/roster/views"
)

// loadProfileData builds the User Profile page. The GET and every failed or
// htmx POST use it, so the page and its fragments cannot drift apart.
func (h *Handler) loadProfileData(c echo.Context) (views.ProfilePage, error) {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	accounts, err := h.store.MembershipsForUser(ctx, u.ID)
	if err != nil {
		return views.ProfilePage{}, err
	}
	invites, err := h.store.InvitesForUser(ctx, u.ID)
	if err != nil {
		return views.ProfilePage{}, err
	}
	// The badge counts what this list holds: no second query for it.
	c.Set(ctxInvites, len(invites))
	list, err := h.store.SessionsForUser(ctx, u.ID, h.sessions.IdleSince())
	if err != nil {
		return views.ProfilePage{}, err
	}
	logins, err := h.store.IdentitiesForUser(ctx, u.ID)
	if err != nil {
		return views.ProfilePage{}, err
	}
	notify, err := h.loadNotifyData(c, u)
	if err != nil {
		return views.ProfilePage{}, err
	}
	var verifyMail db.MailState
	if !u.EmailVerified() {
		if verifyMail, err = h.store.VerifyMailState(ctx, u.ID); err != nil {
			return views.ProfilePage{}, err
		}
	}
	var keys views.ProfilePage
	if err := h.loadPasskeyRows(c, u, &keys); err != nil {
		return views.ProfilePage{}, err
	}
	current := sessionHash(c)
	rows := make([]views.SessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, views.SessionRow{
			ID: s.ID, Device: device(s.UserAgent), IP: s.IP,
			LastSeen: s.LastSeenAt, Created: s.CreatedAt, Current: bytes.Equal(s.IDHash, current),
		})
	}
	// This device first, then the others by when they were last used.
	slices.SortStableFunc(rows, func(a, b views.SessionRow) int {
		switch {
		case a.Current == b.Current:
			return 0
		case a.Current:
			return -1
		}
		return 1
	})
	// A person has few sessions, so they are paged here rather than in SQL,
	// which keeps "this device first" simple.
	pager := h.listPage(c, "/profile", "sessions_page", "Pages of sessions", len(rows))
	rows = rows[min(pager.Offset(), len(rows)):min(pager.Offset()+pager.Size, len(rows))]
	twoFactor, err := h.loadTwoFactor(c, u)
	if err != nil {
		return views.ProfilePage{}, err
	}
	second, err := h.hasSecondFactor(c, u.ID)
	if err != nil {
		return views.ProfilePage{}, err
	}
	return views.ProfilePage{SecondFactor: second, Page: h.page(c, "User Profile"), VerifyMail: verifyMail, Accounts: accounts, Invites: invites, Notify: notify, Sessions: rows,
		SessionsPage: pager, Logins: loginRows(logins), AddLogins: h.loginOptions(), TwoFactor: twoFactor,
		Passkeys: keys.Passkeys, PasskeysOffered: keys.PasskeysOffered}, nil
}

// devices remembers the names device gave recent user agents: a profile
// shows every session's and the activity page every event's, and parsing
// one was a fortieth of the profile's time. A person's few browsers repeat
// across requests; at most maxDevices are kept, an arbitrary one going
// when a new one comes, and a user agent longer than maxDeviceKey is not
// kept (the header can be kilobytes).
var devices = struct {
	sync.Mutex
	names map[string]string
}{names: map[string]string{}}

const (
	maxDevices   = 256
	maxDeviceKey = 512
)

// device names a browser and system from a user agent, such as "Firefox 128 on Linux".
func device(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	if len(ua) > maxDeviceKey {
		return parseDevice(ua)
	}
	devices.Lock()
	name, ok := devices.names[ua]
	devices.Unlock()
	if ok {
		return name
	}
	name = parseDevice(ua)
	devices.Lock()
	if len(devices.names) >= maxDevices {
		for k := range devices.names {
			delete(devices.names, k)
			break
		}
	}
	devices.names[ua] = name
	devices.Unlock()
	return name
}

// parseDevice is device without the cache.
func parseDevice(ua string) string {
	p := useragent.New(ua)
	name, version := p.Browser()
	if name == "" {
		return clip.String(ua, 60)
	}
	if i := strings.IndexByte(version, '.'); i > 0 {
		version = version[:i]
	}
	d := strings.TrimSpace(name + " " + version)
	if osName := p.OSInfo().Name; osName != "" {
		d += " on " + osName
	}
	return d
}

func (h *Handler) profile(c echo.Context) error {
	data, err := h.loadProfileData(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "profile.html", "", data)
}

// profileSection is a section of the User Profile that a POST answers with.
func profileSection(fragment string) section[views.ProfilePage] {
	return section[views.ProfilePage]{file: "profile.html", fragment: fragment, load: (*Handler).loadProfileData, back: to("/profile")}
}

// formStatus is the status of an answer whose fields were checked: 422
// when one failed.
func formStatus(form views.Form) int {
	if form.Failed() {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

func (h *Handler) updateName(c echo.Context) error {
	u, _ := currentUser(c)
	name := strings.TrimSpace(c.FormValue("name"))
	form := views.Form{Values: map[string]string{"name": name}}
	checkName(&form, name)
	if !form.Failed() {
		ev := event(c, db.EventProfileUpdated)
		ev.Detail = map[string]any{"name": name}
		if err := h.store.UpdateName(c.Request().Context(), u.ID, name, ev); err != nil {
			return err
		}
		u.Name = name
		c.Set(ctxUser, u)
		form = views.Form{Message: "Your name is saved."}
	}
	return answer(h, c, profileSection(contactFragment), formStatus(form), form.Message, func(p *views.ProfilePage) { p.Contact = form })
}

func (h *Handler) resendVerification(c echo.Context) error {
	u, _ := currentUser(c)
	msg := "Your email is already confirmed."
	if !u.EmailVerified() {
		_, err := h.store.Reserve(c.Request().Context(), h.throttle.verifyAddress.on(emailKey(u.Email)), h.throttle.verifyIP.on(clientKey(c)))
		if t, ok := throttled(c, err); ok {
			return answer(h, c, profileSection(contactFragment), http.StatusTooManyRequests, "", func(p *views.ProfilePage) {
				p.Contact.Fail("form", mailLimitText(t, h.throttle.verifyIP, "confirmation links", u.Email))
			})
		}
		if err != nil {
			return err
		}
		if err := h.sendVerification(c.Request().Context(), u); err != nil {
			return err
		}
		msg = "A new confirmation link is on its way to " + u.Email + "."
	}
	return answer(h, c, profileSection(contactFragment), http.StatusOK, msg, func(p *views.ProfilePage) { p.Contact.Message = msg })
}

// changePassword checks the current password (when the user has one), sets
// the new one and signs out every other session, in one transaction.
func (h *Handler) changePassword(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := currentUser(c)
	var form views.Form
	current, next := c.FormValue("current_password"), c.FormValue("new_password")
	if u.PasswordHash != "" {
		refused, err := h.checkCurrentPassword(c, u, current, &form)
		if err != nil {
			return err
		}
		if refused {
			return answer(h, c, profileSection("profile/change-password"), http.StatusTooManyRequests, "", func(p *views.ProfilePage) { p.Password = form })
		}
	}
	if err := password.Check(next); err != nil {
		form.Fail("new_password", err.Error())
	}
	var revoked int64
	if !form.Failed() {
		hash, err := h.hashInLine(c, u.Email, next)
		if err != nil {
			return h.hashError(err)
		}
		// The security notice is queued in the transaction of the change.
		ev := event(c, db.EventPasswordChanged)
		if ev.Notice, err = h.securityNoticeFor(c, u, views.SecurityMail{Change: views.PasswordChanged}); err != nil {
			return err
		}
		if revoked, err = h.store.ChangePassword(ctx, u.ID, hash, sessionHash(c), ev); err != nil {
			return err
		}
		if err := h.clearCodePause(ctx, u.ID); err != nil {
			return err
		}
		h.queued()
		form.Message = "Your password is changed."
		if u.PasswordHash == "" {
			form.Message = "Your password is set: you can log in with it too."
		}
		u.PasswordHash = hash
		c.Set(ctxUser, u)
		if revoked > 0 {
			form.Message += fmt.Sprintf(" %s logged out.", views.Plural(revoked, "other session was", "other sessions were"))
		}
	}
	if form.Failed() {
		return answer(h, c, profileSection("profile/change-password"), http.StatusUnprocessableEntity, "", func(p *views.ProfilePage) { p.Password = form })
	}
	return answer(h, c, profileSection("profile/change-password"), http.StatusOK, form.Message, func(p *views.ProfilePage) { p.Password = form },
		"profile/sessions") // the sessions table changed too
}

// checkCurrentPassword checks the current password as a sign-in does, with
// the same slots, taken before the hash and kept by a wrong password;
// refused is the limit's refusal (Retry-After is set).
func (h *Handler) checkCurrentPassword(c echo.Context, u db.User, current string, form *views.Form) (refused bool, err error) {
	if current == "" {
		form.Fail("current_password", "Enter your current password.")
		return false, nil
	}
	ctx := c.Request().Context()
	slot, err := h.reservePassword(c, u.Email)
	if _, ok := throttled(c, err); ok {
		form.Fail("current_password", throttledMessage)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	ok, err := h.verifyInLine(c, u.Email, current, u.PasswordHash)
	if err != nil || ok {
		h.release(ctx, c, slot) // a right password, or nothing checked
	}
	if err != nil {
		return false, h.hashError(err)
	}
	if !ok {
		form.Fail("current_password", "That is not your current password.")
	}
	return false, nil
}

func (h *Handler) revokeSession(c echo.Context) error {
	u, _ := currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	err = h.store.RevokeSession(c.Request().Context(), u.ID, id, event(c, db.EventSessionRevoked))
	if errors.Is(err, db.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "That session has already ended.")
	}
	if err != nil {
		return err
	}
	msg := "The session is logged out."
	return answer(h, c, profileSection("profile/sessions"), http.StatusOK, msg, func(p *views.ProfilePage) { p.SessionsMessage = msg })
}

func (h *Handler) revokeOtherSessions(c echo.Context) error {
	u, _ := currentUser(c)
	n, err := h.store.RevokeOtherSessions(c.Request().Context(), u.ID, sessionHash(c), event(c, db.EventSessionsRevoked))
	if err != nil {
		return err
	}
	msg := views.Plural(n, "other session was", "other sessions were") + " logged out."
	return answer(h, c, profileSection("profile/sessions"), http.StatusOK, msg, func(p *views.ProfilePage) { p.SessionsMessage = msg })
}
