package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/zones"
	"github.com/rosterhq/roster/views"
)

// The Preferences page. With JavaScript each control saves itself with
// htmx when it changes (htmx posts the whole form, merged into the saved
// preferences) and gets "Saved" or its error back in place; without it the
// form's Save button (inside <noscript>, so never both) posts the whole form
// and the answer is a redirect with a flash naming what changed. Nothing is
// written, and nothing says "Saved", when no value differs from the saved
// one. A value not on its list is refused with 422 and nothing is stored.
// The browser's time zone is only offered (views/preferences.html,
// static/app.js), never saved without the person's click.

// applyPreferences merges the posted fields into p. Fields not posted keep
// their values; each refused one gets a message in form. changed lists the
// fields whose value differs from p's, in the form's order.
func applyPreferences(p db.Preferences, posted url.Values, form *views.Form) (db.Preferences, []string) {
	var changed []string
	for _, d := range db.PreferenceList {
		// A checkbox follows a hidden "0" input of the same name: the last
		// value wins, so unchecked is "0" and checked "1".
		vs, ok := posted[d.Name]
		if !ok || len(vs) == 0 {
			continue
		}
		v := vs[len(vs)-1]
		form.Values[d.Name] = v
		before := d.Text(p)
		if !d.Set(&p, v) {
			form.Fail(d.Name, d.Refused)
			continue
		}
		if d.Text(p) != before {
			changed = append(changed, d.Name)
		}
	}
	return p, changed
}

func (h *Handler) preferencesPage(c echo.Context) error {
	return h.render(c, http.StatusOK, "preferences.html", "", h.loadPreferencesData(c, views.Form{}))
}

// loadPreferencesData builds the page for the GET and for a refused POST.
func (h *Handler) loadPreferencesData(c echo.Context, form views.Form) views.PreferencesPage {
	return views.PreferencesPage{Page: h.page(c, "Preferences"), Form: form, Zones: zones.Names()}
}

func (h *Handler) savePreferences(c echo.Context) error {
	u, _ := currentUser(c)
	posted, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	saved := h.prefs(c) // read with the session: the saved row
	form := views.Form{Values: map[string]string{}}
	p, changed := applyPreferences(saved, posted, &form)
	// A control's status ("status-theme") gets the short answer; the
	// browser-zone offer, which swaps the section, gets the section.
	sec := preferencesStatus
	if target(c) == "preferences" {
		sec = preferencesSection
	}
	if form.Failed() {
		return answer(h, c, sec, http.StatusUnprocessableEntity, "", func(p *views.PreferencesPage) { p.Form = form })
	}
	if len(changed) == 0 {
		// Nothing to write: htmx gets an empty status, a plain form a
		// flash that says so.
		return answer(h, c, sec, http.StatusOK, views.PreferencesUnchanged, nil)
	}
	if err := h.store.SavePreferenceChanges(c.Request().Context(), u.ID, p, changed); err != nil {
		return err
	}
	c.Set(ctxPrefs, p) // the answer already shows them
	return answer(h, c, sec, http.StatusOK, views.PreferencesSaved(changed), func(p *views.PreferencesPage) {
		p.Saved = changed
	})
}

// preferencesStatus is where a saved control shows "Saved" or its error;
// without JavaScript the whole page does. The status shows only the POST's
// outcome (Form and Saved, which the handler fills in), so for htmx nothing
// else of the page is loaded: no menu, token, clock or zone list, and the
// flash stays for the next page (S2 in docs/BENCHMARKS.md).
var preferencesStatus = section[views.PreferencesPage]{file: "preferences.html", fragment: "preferences/status", back: to("/preferences"),
	load: func(h *Handler, c echo.Context) (views.PreferencesPage, error) {
		if isFragment(c) {
			return views.PreferencesPage{}, nil
		}
		return loadPreferencesPage(h, c)
	}}

// preferencesSection is the whole form, for a POST that is not one
// control's: the browser-zone offer's "Use it".
var preferencesSection = section[views.PreferencesPage]{file: "preferences.html", fragment: "preferences/section", back: to("/preferences"),
	load: loadPreferencesPage}

// loadPreferencesPage is the whole Preferences page, saved values shown.
func loadPreferencesPage(h *Handler, c echo.Context) (views.PreferencesPage, error) {
	return h.loadPreferencesData(c, views.Form{}), nil
}

// preferencesJSON is the answer of GET /api/v1/me/preferences: every
// declared preference under its name, in the form's order. The zone is
// "UTC" until one is chosen.
func preferencesJSON(p db.Preferences) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, d := range db.PreferenceList {
		v := d.Value(p)
		if d.Name == "timezone" && p.Timezone == "" {
			v = "UTC"
		}
		key, err := json.Marshal(d.Name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// apiPreferences returns a user's preferences as JSON, so other parts of a
// product can honour them: the signed-in user's with the session cookie, or
// with the notify API's bearer token (ROSTER_API_TOKEN, a service token that
// is no one) the user named by ?user= (an id or an email). The zone is
// "UTC" until one is chosen.
func (h *Handler) apiPreferences(c echo.Context) error {
	p, err := h.apiPreferencesOf(c)
	var refused apiRefusal
	if errors.As(err, &refused) {
		if refused.status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
		}
		return apiFail(c, refused.status, refused.msg)
	}
	if err != nil {
		return err
	}
	body, err := preferencesJSON(p)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, body)
}

// apiRefusal is an API call refused with status and a message for its caller.
type apiRefusal struct {
	status int
	msg    string
}

func (r apiRefusal) Error() string { return r.msg }

// apiPreferencesOf reads the preferences the API call asks for.
func (h *Handler) apiPreferencesOf(c echo.Context) (db.Preferences, error) {
	if _, ok := currentUser(c); ok {
		return h.prefs(c), nil
	}
	if c.Request().Header.Get("Authorization") == "" {
		return db.Preferences{}, apiRefusal{http.StatusUnauthorized, "log in, or send the API's bearer token and ?user="}
	}
	if _, replica := h.replica(); replica {
		// The bearer token's failure throttle writes (apiBearer).
		return db.Preferences{}, errOnPrimary
	}
	if err := h.apiBearer(c); err != nil {
		return db.Preferences{}, err
	}
	who := c.QueryParam("user")
	if who == "" {
		return db.Preferences{}, apiRefusal{http.StatusBadRequest, "name the user with ?user= and an id or an email"}
	}
	raw, err := json.Marshal(who)
	if err != nil {
		return db.Preferences{}, err
	}
	u, err := h.apiUser(c, raw)
	if errors.Is(err, db.ErrNotFound) {
		return db.Preferences{}, apiRefusal{http.StatusNotFound, "no such user"}
	}
	if err != nil {
		return db.Preferences{}, err
	}
	return h.store.Preferences(c.Request().Context(), u.ID)
}
