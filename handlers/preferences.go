package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/internal/zones"
	"github.com/rosterhq/roster/views"
)

// The Preferences page. Each control posts itself with htmx when it
// changes (one field, merged into the saved preferences) and gets "Saved"
// or its error back in place; without JavaScript the whole form posts and
// the answer is a redirect with a flash. A value not on its list is
// refused with 422 and nothing is stored.

// prefField is one preference as the form posts it.
type prefField struct {
	name    string
	message string // shown when the value is not one of the choices
	set     func(p *db.Preferences, v string) bool
}

// oneOf sets *dst to v when v is one of choices.
func oneOf(choices []string, dst func(*db.Preferences) *string) func(*db.Preferences, string) bool {
	return func(p *db.Preferences, v string) bool {
		if !slices.Contains(choices, v) {
			return false
		}
		*dst(p) = v
		return true
	}
}

// onOff reads a checkbox that follows a hidden "0" input of the same name:
// the last value wins, so unchecked is "0" and checked "1".
func onOff(dst func(*db.Preferences) *bool) func(*db.Preferences, string) bool {
	return func(p *db.Preferences, v string) bool {
		if v != "0" && v != "1" {
			return false
		}
		*dst(p) = v == "1"
		return true
	}
}

var prefFields = []prefField{
	{"page_size", "Choose 10, 25, 50 or 100 rows a page.", func(p *db.Preferences, v string) bool {
		// Only the numbers as the form writes them: Atoi also reads "+25" and "025".
		n, err := strconv.Atoi(v)
		if err != nil || strconv.Itoa(n) != v || !slices.Contains(db.PageSizes, n) {
			return false
		}
		p.PageSize = n
		return true
	}},
	{"timezone", "Choose a time zone from the list, such as Europe/Paris.", func(p *db.Preferences, v string) bool {
		if v != "" && !zones.Valid(v) {
			return false
		}
		p.Timezone = v
		return true
	}},
	{"date_format", "Choose ISO 8601, US, European or relative dates.", oneOf(db.DateFormats, func(p *db.Preferences) *string { return &p.DateFormat })},
	{"clock", "Choose a 12- or 24-hour clock.", oneOf(db.Clocks, func(p *db.Preferences) *string { return &p.Clock })},
	{"week_start", "Choose Monday, Sunday or Saturday.", oneOf(db.WeekStarts, func(p *db.Preferences) *string { return &p.WeekStart })},
	{"theme", "Choose the system, light or dark theme.", oneOf(db.Themes, func(p *db.Preferences) *string { return &p.Theme })},
	{"graph_style", "Choose line, area or bar charts.", oneOf(db.GraphStyles, func(p *db.Preferences) *string { return &p.GraphStyle })},
	{"graph_range", "Choose 24 hours, 7, 30 or 90 days.", oneOf(db.GraphRanges, func(p *db.Preferences) *string { return &p.GraphRange })},
	{"legend", "Turn the legend on or off.", onOff(func(p *db.Preferences) *bool { return &p.Legend })},
	{"colourblind", "Turn the colour-blind-safe palette on or off.", onOff(func(p *db.Preferences) *bool { return &p.Colourblind })},
}

// applyPreferences merges the posted fields into p. Fields not posted keep
// their values; each refused one gets a message in form.
func applyPreferences(p db.Preferences, posted url.Values, form *views.Form) (db.Preferences, []string) {
	var changed []string
	for _, f := range prefFields {
		vs, ok := posted[f.name]
		if !ok || len(vs) == 0 {
			continue
		}
		v := vs[len(vs)-1]
		form.Values[f.name] = v
		if !f.set(&p, v) {
			form.Fail(f.name, f.message)
			continue
		}
		changed = append(changed, f.name)
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
	if form.Failed() {
		if isFragment(c) {
			data := h.loadPreferencesData(c, form)
			return h.render(c, http.StatusUnprocessableEntity, "preferences.html", "preferences/status", data)
		}
		form.Message = ""
		return h.render(c, http.StatusUnprocessableEntity, "preferences.html", "", h.loadPreferencesData(c, form))
	}
	if err := h.store.SavePreferences(c.Request().Context(), u.ID, p); err != nil {
		return err
	}
	c.Set(ctxPrefs, p) // the answer already shows them
	return h.done(c, "/preferences", "Your preferences are saved.", func() error {
		data := h.loadPreferencesData(c, views.Form{Message: "Saved"})
		data.Saved = changed
		return h.render(c, http.StatusOK, "preferences.html", "preferences/status", data)
	})
}

// preferencesJSON is the answer of GET /api/v1/me/preferences.
type preferencesJSON struct {
	PageSize    int    `json:"page_size"`
	Timezone    string `json:"timezone"`
	DateFormat  string `json:"date_format"`
	Clock       string `json:"clock"`
	WeekStart   string `json:"week_start"`
	Theme       string `json:"theme"`
	GraphStyle  string `json:"graph_style"`
	GraphRange  string `json:"graph_range"`
	Legend      bool   `json:"legend"`
	Colourblind bool   `json:"colourblind"`
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
	zone := p.Timezone
	if zone == "" {
		zone = "UTC"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, preferencesJSON{
		PageSize: p.PageSize, Timezone: zone, DateFormat: p.DateFormat, Clock: p.Clock, WeekStart: p.WeekStart,
		Theme: p.Theme, GraphStyle: p.GraphStyle, GraphRange: p.GraphRange, Legend: p.Legend, Colourblind: p.Colourblind,
	})
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
		return db.Preferences{}, apiRefusal{http.StatusUnauthorized, "sign in, or send the API's bearer token and ?user="}
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
