package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster/db"
)

// apiPrefs reads the client's preferences through the JSON API.
func (c *client) apiPrefs() map[string]any {
	c.t.Helper()
	res := c.get("/api/v1/me/preferences")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		c.t.Fatalf("GET /api/v1/me/preferences: got %d %s, want 200 JSON; body %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(res.body), &m); err != nil {
		c.t.Fatalf("preferences JSON: %v", err)
	}
	return m
}

// TestPreferencesRoundTrip saves each preference, with htmx (one field, as
// a control does on change) and without (the whole form), and reads it
// back from the API and the form.
func TestPreferencesRoundTrip(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)

	defaults := map[string]any{
		"page_size": 25.0, "timezone": "UTC", "date_format": "iso", "clock": "24", "week_start": "monday",
		"theme": "system", "graph_style": "bar", "graph_range": "7d", "legend": true, "colourblind": false,
		"number_format": "comma_point",
	}
	if got := c.apiPrefs(); !sameJSON(got, defaults) {
		t.Fatalf("defaults: got %v, want %v", got, defaults)
	}

	tests := []struct {
		field, value string
		want         any    // in the JSON
		selected     string // in the form
	}{
		{"page_size", "50", 50.0, `<option value="50" selected>`},
		{"timezone", "America/New_York", "America/New_York", `value="America/New_York"`},
		{"date_format", "eu", "eu", `<option value="eu" selected>`},
		{"clock", "12", "12", `<option value="12" selected>`},
		{"week_start", "sunday", "sunday", `<option value="sunday" selected>`},
		{"theme", "dark", "dark", `<option value="dark" selected>`},
		{"graph_style", "line", "line", `<option value="line" selected>`},
		{"graph_range", "30d", "30d", `<option value="30d" selected>`},
		{"legend", "0", false, `id="pref-legend" name="legend" type="checkbox" role="switch" value="1"` + "\n"},
		{"colourblind", "1", true, `id="pref-colourblind" name="colourblind" type="checkbox" role="switch" value="1" checked`},
	}
	for _, tt := range tests {
		res := c.postHTMX("/preferences", url.Values{tt.field: {tt.value}})
		if res.status != http.StatusOK || !strings.Contains(res.body, "Saved") {
			t.Errorf("htmx POST %s=%s: got %d %q, want 200 Saved", tt.field, tt.value, res.status, res.body)
		}
		got := c.apiPrefs()
		if got[tt.field] != tt.want {
			t.Errorf("%s after saving %s: got %v, want %v", tt.field, tt.value, got[tt.field], tt.want)
		}
		if page := c.get("/preferences").body; !strings.Contains(page, tt.selected) {
			t.Errorf("form after saving %s=%s: missing %q", tt.field, tt.value, tt.selected)
		}
	}

	// The whole form without JavaScript: 303 and a flash; a checkbox left
	// unchecked posts only its hidden "0".
	form := url.Values{
		"page_size": {"10"}, "timezone": {"Europe/Paris"}, "date_format": {"us"}, "clock": {"24"},
		"week_start": {"saturday"}, "theme": {"light"}, "graph_style": {"area"}, "graph_range": {"90d"},
		"legend": {"0", "1"}, "colourblind": {"0"},
	}
	res := c.postForm("/preferences", form)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/preferences" {
		t.Fatalf("plain POST /preferences: got %d to %q, want 303 to /preferences; body %s", res.status, res.header.Get("Location"), res.body)
	}
	checkFlash(t, c, res, "Saved: Rows per page, Time zone, Date format, Clock, First day of the week, Theme, Chart type, Time range, Show the legend and Colour-blind-safe palette.")
	want := map[string]any{
		"page_size": 10.0, "timezone": "Europe/Paris", "date_format": "us", "clock": "24", "week_start": "saturday",
		"theme": "light", "graph_style": "area", "graph_range": "90d", "legend": true, "colourblind": false,
		"number_format": "comma_point",
	}
	if got := c.apiPrefs(); !sameJSON(got, want) {
		t.Errorf("after the whole form: got %v, want %v", got, want)
	}
	if page := c.get("/profile").body; !strings.Contains(page, `<html lang="en" data-theme="light">`) {
		t.Error("profile after choosing the light theme: no data-theme=light on <html>")
	}
}

// TestPreferenceListRoundTrip posts every value of every declared
// preference (db.PreferenceList) with htmx, as its control does, and
// finds it in the JSON API and selected in the form: a preference added
// to the list is covered without a line here.
func TestPreferenceListRoundTrip(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)

	got := c.apiPrefs()
	for _, d := range db.PreferenceList {
		if _, ok := got[d.Name]; !ok {
			t.Errorf("the API has no %s", d.Name)
		}
	}
	if len(got) != len(db.PreferenceList) {
		t.Errorf("the API has %d preferences, %d are declared: %v", len(got), len(db.PreferenceList), got)
	}
	for _, d := range db.PreferenceList {
		values := d.Values()
		if values == nil {
			values = []string{"Asia/Tokyo", ""} // the zone: any name of the tz database
		}
		for _, v := range values {
			before := formText(c.apiPrefs()[d.Name])
			if d.Name == "timezone" && before == "UTC" {
				before = "" // the API names the zone pages use until one is chosen
			}
			res := c.postHTMX("/preferences", url.Values{d.Name: {v}})
			// "Saved" only when the value is not the one already saved.
			if res.status != http.StatusOK || strings.Contains(res.body, "Saved") != (v != before) {
				t.Errorf("htmx POST %s=%s (was %q): got %d %q, want 200 with Saved only for a change", d.Name, v, before, res.status, res.body)
				continue
			}
			want := v
			if d.Name == "timezone" && v == "" {
				want = "UTC" // the API names the zone pages use until one is chosen
			}
			if got := formText(c.apiPrefs()[d.Name]); got != want {
				t.Errorf("API after saving %s=%s: got %q, want %q", d.Name, v, got, want)
			}
			page := c.get("/preferences").body
			end := `[^>]*>` // the input
			if d.Choices != nil {
				end = `.*?</select>`
			}
			control := regexp.MustCompile(`(?s)id="pref-` + d.Name + `"` + end).FindString(page)
			var shown bool
			switch {
			case d.Switch():
				shown = strings.Contains(control, " checked") == (v == "1")
			case d.Choices != nil:
				shown = strings.Contains(control, `<option value="`+v+`" selected>`)
			default:
				shown = strings.Contains(control, `value="`+v+`"`)
			}
			if control == "" || !shown {
				t.Errorf("form after saving %s=%s: the control does not show it: %q", d.Name, v, control)
			}
		}
	}
}

// formText is a JSON value as the form would post it.
func formText(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

func sameJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestPreferencesRefused: an unknown value is refused with 422 and a
// message, and nothing at all is saved, with or without htmx.
func TestPreferencesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field, value, message string
	}{
		{"page_size", "7", "Choose 10, 25, 50 or 100 rows a page."},
		{"timezone", "Mars/Olympus", "Choose a time zone from the list, such as Europe/Paris."},
		{"theme", "neon", "Choose the system, light or dark theme."},
		{"legend", "maybe", "Turn the legend on or off."},
	}
	var scenarios []scenario
	for _, tt := range tests {
		for _, htmx := range []bool{false, true} {
			name := tt.field + "=" + tt.value
			if htmx {
				name += " with htmx"
			}
			scenarios = append(scenarios, scenario{
				name:  name,
				path:  "/preferences",
				form:  url.Values{tt.field: {tt.value}, "graph_style": {"area"}}, // a valid field is not saved either
				htmx:  htmx,
				setup: signedUp,
				// The whole page names the field; the htmx answer goes next to it.
				wantStatus:   http.StatusUnprocessableEntity,
				wantContains: []string{tt.message},
				after: func(t *testing.T, s *state, res *response) {
					got := s.c.apiPrefs()
					if got["graph_style"] != "bar" || got[tt.field] == tt.value {
						t.Errorf("after a refused POST: got %v, want the defaults", got)
					}
					p, err := s.app.store.Preferences(context.Background(), 1)
					if err != nil || p != db.DefaultPreferences() {
						t.Errorf("stored: got %+v, %v; want the defaults", p, err)
					}
				},
			})
		}
	}
	runScenarios(t, scenarios)
}

func TestPreferencesNeedSignIn(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	if res := c.get("/api/v1/me/preferences"); res.status != http.StatusUnauthorized || !strings.Contains(res.body, `"error"`) {
		t.Errorf("GET /api/v1/me/preferences logged out: got %d %s, want 401 JSON", res.status, res.body)
	}
	if res := c.get("/preferences"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login?next=") {
		t.Errorf("GET /preferences logged out: got %d to %q, want 303 to /login", res.status, res.header.Get("Location"))
	}
}

// TestPreferencesAPIWithBearer: a service holding ROSTER_API_TOKEN reads
// a user's preferences by id or email.
func TestPreferencesAPIWithBearer(t *testing.T) {
	t.Parallel()
	const token = "service-token-for-preferences"
	a := newApp(t, func(ac *appConfig) { ac.APIToken = token })
	ann := a.seedUser(t, annName, annEmail, annPassword)
	p := db.DefaultPreferences()
	p.Theme, p.Timezone = "dark", "Europe/Paris"
	if err := a.store.SavePreferences(context.Background(), ann.ID, p); err != nil {
		t.Fatal(err)
	}
	c := a.client(t)
	bearer := func(v string) http.Header { return http.Header{"Authorization": {"Bearer " + v}} }
	tests := []struct {
		name, path string
		header     http.Header
		status     int
		want       string
	}{
		{"by id", "/api/v1/me/preferences?user=" + strconv.FormatInt(ann.ID, 10), bearer(token), http.StatusOK, `"theme":"dark"`},
		{"by email", "/api/v1/me/preferences?user=" + url.QueryEscape(annEmail), bearer(token), http.StatusOK, `"timezone":"Europe/Paris"`},
		{"no user named", "/api/v1/me/preferences", bearer(token), http.StatusBadRequest, `"error"`},
		{"unknown user", "/api/v1/me/preferences?user=nobody@example.com", bearer(token), http.StatusNotFound, `no such user`},
		{"wrong token", "/api/v1/me/preferences?user=1", bearer("nope"), http.StatusUnauthorized, `"error"`},
		{"neither cookie nor token", "/api/v1/me/preferences?user=1", nil, http.StatusUnauthorized, `"error"`},
	}
	for _, tt := range tests {
		res := c.do(http.MethodGet, tt.path, nil, tt.header)
		if res.status != tt.status || !strings.Contains(res.body, tt.want) {
			t.Errorf("%s: got %d %s, want %d with %s", tt.name, res.status, res.body, tt.status, tt.want)
		}
	}
}

var pagerLink = regexp.MustCompile(`<a href="([^"]+)" rel="(first|prev|next|last)">`)

// pagerLinks maps the rel of each pager link on a page to its URL.
func pagerLinks(body string) map[string]string {
	links := map[string]string{}
	for _, m := range pagerLink.FindAllStringSubmatch(body, -1) {
		links[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return links
}

// TestActivityFollowsPageSize: 60 events show 25 a page, then 10 once the
// page size is changed. Next from the first page meets every event once,
// in order; Last shows the oldest full page; Previous from there climbs
// back to the first page; a bookmarked page keeps its place.
func TestActivityFollowsPageSize(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword) // event 1: signup
	c.signInOnly(ann.ID)                                 // no other event: the log holds exactly the 60 below
	for i := 2; i <= 60; i++ {
		if err := a.store.AddEvent(context.Background(), db.Event{UserID: ann.ID, Kind: db.EventProfileUpdated, Detail: map[string]any{"name": "Ann " + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string // newest first
	for i := 60; i >= 2; i-- {
		all = append(all, "Changed the name to Ann "+strconv.Itoa(i))
	}
	all = append(all, "Created the profile")

	check := func(size, pages int) {
		t.Helper()
		var seen []string
		path := "/profile/activity"
		for n := 1; ; n++ {
			if n > pages {
				t.Fatalf("page size %d: still a next link after %d pages", size, pages)
			}
			rows, body := activityAt(t, c, path)
			links := pagerLinks(body)
			if want := min(size, 60-len(seen)); len(rows) != want {
				t.Errorf("page size %d: page %d has %d rows, want %d", size, n, len(rows), want)
			}
			if n == 1 && (links["first"] != "" || links["prev"] != "") {
				t.Errorf("page size %d: page 1 links %v, want no first or prev", size, links)
			}
			seen = append(seen, rows...)
			if links["next"] == "" {
				if n != pages || links["last"] != "" {
					t.Errorf("page size %d: page %d has no next link, links %v; want %d pages", size, n, links, pages)
				}
				break
			}
			if links["last"] != "/profile/activity?after=0" {
				t.Errorf("page size %d: page %d links %v, want last ?after=0", size, n, links)
			}
			path = links["next"]
		}
		if !slices.Equal(seen, all) {
			t.Errorf("page size %d: walking next met %q, want every event once, newest first", size, seen)
		}

		rows, body := activityAt(t, c, "/profile/activity?after=0")
		for k := 0; ; k++ {
			if k > pages {
				t.Fatalf("page size %d: still a prev link after %d pages up", size, pages)
			}
			links := pagerLinks(body)
			if links["prev"] == "" {
				if !slices.Equal(rows, all[:size]) || links["next"] == "" {
					t.Errorf("page size %d: climbing ended on %q with links %v, want the first page", size, rows, links)
				}
				break
			}
			if want := all[60-(k+1)*size : 60-k*size]; !slices.Equal(rows, want) {
				t.Errorf("page size %d: page %d from the oldest is %q, want %q", size, k+1, rows, want)
			}
			if k == 0 && (links["first"] != "/profile/activity" || links["next"] != "" || links["last"] != "") {
				t.Errorf("page size %d: last page links %v, want first and prev only", size, links)
			}
			rows, body = activityAt(t, c, links["prev"])
		}
	}
	check(25, 3)
	_, body := activity(t, c)
	bookmark := pagerLinks(body)["next"] // older than "Ann 36"
	if res := c.postHTMX("/preferences", url.Values{"page_size": {"10"}}); res.status != http.StatusOK {
		t.Fatalf("save page size 10: got %d", res.status)
	}
	check(10, 6)
	if rows, _ := activityAt(t, c, bookmark); !slices.Equal(rows, all[25:35]) {
		t.Errorf("bookmarked page after the size change: got %q, want %q", rows, all[25:35])
	}
	// Older than the oldest shows the last page.
	if rows, _ := activityAt(t, c, "/profile/activity?before=1"); !slices.Equal(rows, all[50:]) {
		t.Errorf("?before=1: got %q, want the last page", rows)
	}
}

// TestTimesFollowPreferences renders the activity log's times in the
// chosen zone, format and clock, each in <time> with the UTC instant.
func TestTimesFollowPreferences(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	tag := regexp.MustCompile(`<td[^>]*><time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)" title="(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)">([^<]+)</time></td>`)
	tests := []struct {
		prefs url.Values
		text  *regexp.Regexp
	}{
		{url.Values{}, regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d UTC$`)},
		{url.Values{"timezone": {"Asia/Kolkata"}, "date_format": {"eu"}, "clock": {"24"}}, regexp.MustCompile(`^\d\d/\d\d/\d{4} \d\d:\d\d IST$`)},
		{url.Values{"timezone": {"America/New_York"}, "date_format": {"us"}, "clock": {"12"}}, regexp.MustCompile(`^\d\d/\d\d/\d{4} \d{1,2}:\d\d [AP]M E[SD]T$`)},
		{url.Values{"date_format": {"relative"}}, regexp.MustCompile(`^just now|\d+ minutes? ago$`)},
	}
	for _, tt := range tests {
		if len(tt.prefs) > 0 {
			if res := c.postHTMX("/preferences", tt.prefs); res.status != http.StatusOK {
				t.Fatalf("save %v: got %d", tt.prefs, res.status)
			}
		}
		_, body := activity(t, c)
		m := tag.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%v: no <time datetime title> in the activity log:\n%s", tt.prefs, body)
		}
		if !tt.text.MatchString(m[3]) {
			t.Errorf("%v: time shows %q, want it to match %s", tt.prefs, m[3], tt.text)
		}
	}
}

// TestNumberFormat: the number format saved through POST /preferences
// writes the activity page's counts (the chart's table, its totals and its
// description) as 1,234 or 1 234 with a narrow no-break space.
func TestNumberFormat(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for range 1234 {
		if err := a.store.AddEvent(context.Background(), db.Event{UserID: ann.ID, Kind: db.EventSignIn}); err != nil {
			t.Fatal(err)
		}
	}
	if form := c.get("/preferences").body; !strings.Contains(form, `<option value="comma_point" selected>1,234.5</option>`) ||
		!strings.Contains(form, "<option value=\"space_comma\">1\u202f234,5</option>") {
		t.Errorf("the form does not offer 1,234.5 (chosen) and 1\u202f234,5:\n%s", form)
	}
	for _, tt := range []struct{ format, count string }{
		{"", "1,234"}, // the default
		{"space_comma", "1\u202f234"},
		{"comma_point", "1,234"},
	} {
		if tt.format != "" {
			res := c.postHTMX("/preferences", url.Values{"number_format": {tt.format}})
			if res.status != http.StatusOK || !strings.Contains(res.body, "Saved") {
				t.Fatalf("htmx POST number_format=%s: got %d %q, want 200 Saved", tt.format, res.status, res.body)
			}
		}
		page := c.get("/profile/activity").body
		for _, want := range []string{
			"<td>" + tt.count + "</td><td>0</td></tr>\n",
			`<tfoot><tr><th scope="row">Total</th><td>` + tt.count + `</td><td>0</td></tr></tfoot>`,
			tt.count + " successful and 0 failed sign-ins",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("number format %q: the activity page has no %q", tt.format, want)
			}
		}
	}
	if res := c.postHTMX("/preferences", url.Values{"number_format": {"1 234,5"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown number format: got %d, want 422", res.status)
	}
}

// TestSignInChart draws the sign-ins of the preferred range as bars per
// day (failed ones hatched as well as red, a legend), with the totals in
// words for the period shown, at a page's width and at a phone's; switches
// range for one request without saving it, and keeps the table's numbers
// equal to the drawing's.
func TestSignInChart(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	a.seedUser(t, annName, annEmail, annPassword)
	c.login(annEmail, annPassword)
	if res := c.postForm("/login", url.Values{"email": {annEmail}, "password": {"not the password at all"}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("wrong password: got %d, want 422", res.status)
	}
	c.login(annEmail, annPassword)

	page := c.get("/profile/activity").body
	for _, want := range []string{
		`<section id="signin-chart"`, `role="img" aria-labelledby="signin-chart-title signin-chart-desc"`,
		`<title id="signin-chart-title">Sign-ins per day, last 7 days</title>`,
		`2 successful and 1 failed sign-ins`, `class="chart chart-bar chart-wide"`, `viewBox="0 0 720 240"`,
		`<tfoot><tr><th scope="row">Total</th><td>2</td><td>1</td></tr></tfoot>`,
		`<p class="chart-totals" id="signin-chart-totals"><strong>2 successful, 1 failed in the last 7 days</strong></p>`,
		// The phone's drawing: its own ids, a viewBox about a phone wide.
		`viewBox="0 0 340 240" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="signin-chart-narrow-title signin-chart-narrow-desc" class="chart chart-bar chart-narrow"`,
		// Failed sign-ins hatched, in the bars and the legend, not only red.
		`<g class="series s1" data-name="Failed" data-mark="hatched">`, `fill="url(#signin-chart-hatch-1)" stroke="#c62828"`,
		`fill="url(#signin-chart-narrow-hatch-1)"`, `<g class="legend"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("activity page: missing %q", want)
		}
	}
	sum := func(body, series string) int {
		g := regexp.MustCompile(`(?s)<g class="series ` + series + `"[^>]*>(.*?)</g>`).FindStringSubmatch(body)
		if g == nil {
			t.Fatalf("no series %s in the chart", series)
		}
		n := 0
		for _, m := range regexp.MustCompile(`data-value="(\d+)"`).FindAllStringSubmatch(g[1], -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		return n
	}
	if ok, failed := sum(page, "s0"), sum(page, "s1"); ok != 2 || failed != 1 {
		t.Errorf("chart marks add up to %d and %d, want 2 and 1 as in the table", ok, failed)
	}

	// The range switched in place: htmx gets the chart alone.
	res := c.do(http.MethodGet, "/profile/activity?range=24h", nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"signin-chart"}})
	if res.status != http.StatusOK || strings.Contains(res.body, "<html") || !strings.Contains(res.body, "Sign-ins per hour, last 24 hours") ||
		!strings.Contains(res.body, "2 successful, 1 failed in the last 24 hours") || strings.Contains(res.body, `id="activity"`) {
		t.Errorf("htmx range 24h: got %d, want the chart fragment per hour; body %s", res.status, res.body)
	}
	if !strings.Contains(res.body, `<div id="activity-pager" hx-swap-oob="true">`) {
		t.Error("htmx range 24h: the pager is not sent out of band")
	}
	if got := c.apiPrefs()["graph_range"]; got != "7d" {
		t.Errorf("switching the range saved it: graph_range %v, want 7d", got)
	}
	// Without JavaScript the link loads the page with that range, and the
	// pager keeps it.
	if body := c.get("/profile/activity?range=90d").body; !strings.Contains(body, "Sign-ins per day, last 90 days") {
		t.Error("?range=90d: not the 90-day chart")
	}
	// The preferred style and palette: a line chart, failed dashed.
	c.postHTMX("/preferences", url.Values{"graph_style": {"line"}, "colourblind": {"1"}, "legend": {"0"}})
	body := c.get("/profile/activity").body
	if !strings.Contains(body, `class="chart chart-line chart-wide"`) || !strings.Contains(body, `stroke="#0072B2"`) || strings.Contains(body, `class="legend"`) ||
		!strings.Contains(body, `stroke="#E69F00" stroke-width="2" stroke-linejoin="round" stroke-dasharray="6 4"/>`) {
		t.Error("line chart in the colour-blind palette without legend, failed dashed: not drawn so")
	}
}

// TestAccountMembersFollowPageSize pages the members of the account page
// and the Manage console with the page size, keeping the other list's page.
func TestAccountMembersFollowPageSize(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	acc := a.seedAccount(t, ann, "Acme")
	for i := range 11 {
		u := a.seedUser(t, "Member "+strconv.Itoa(i), "m"+strconv.Itoa(i)+"@example.com", bobPassword)
		a.join(t, acc, ann, u, db.RoleNormal)
	}
	c.postHTMX("/preferences", url.Values{"page_size": {"10"}})
	path := "/accounts/" + strconv.FormatInt(acc.ID, 10)
	body := c.get(path).body
	links := pagerLinks(body)
	if links["last"] != path+"?page=2" || !strings.Contains(body, "Page 1 of 2") {
		t.Errorf("account page: links %v, want last %s?page=2", links, path)
	}
	manage := c.get(path + "/manage?invites_page=1").body
	ml := pagerLinks(manage)
	if ml["last"] != path+"/manage?invites_page=1&members_page=2" {
		t.Errorf("manage: links %v, want last members page 2 keeping invites_page", ml)
	}
}

// TestSessionsFollowPageSize pages the #sessions table, this browser first.
func TestSessionsFollowPageSize(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	for range 11 {
		a.client(t).adopt(ann.ID)
	}
	c.postHTMX("/preferences", url.Values{"page_size": {"10"}})
	rows := regexp.MustCompile(`(?s)<section id="sessions".*?</section>`)
	count := func(path string) (int, string) {
		section := rows.FindString(c.get(path).body)
		return strings.Count(section, "<tr") - 1, section // minus the header row
	}
	n, first := count("/profile")
	if n != 10 || !strings.Contains(first, "(this device)") {
		t.Errorf("page 1: got %d rows, want 10 with this device", n)
	}
	if l := pagerLinks(first); l["last"] != "/profile?sessions_page=2" {
		t.Errorf("page 1: links %v, want last /profile?sessions_page=2", l)
	}
	if !strings.Contains(first, "Log out other sessions") {
		t.Error("page 1: no Log out other sessions")
	}
	if n, second := count("/profile?sessions_page=2"); n != 2 || strings.Contains(second, "(this device)") {
		t.Errorf("page 2: got %d rows, want the 2 others", n)
	}
}

// postControl posts as a control of the Preferences form does with htmx:
// the whole form, its answer swapped into the control's status.
func (c *client) postControl(field string, form url.Values) *response {
	c.t.Helper()
	return c.do(http.MethodPost, "/preferences", form, http.Header{
		"Hx-Request": {"true"}, "Hx-Target": {"status-" + field}, "X-Csrf-Token": {c.csrf()},
	})
}

// wholeForm is every preference of p as the form posts it (a switch as its
// hidden "0" then, when on, "1").
func wholeForm(p db.Preferences) url.Values {
	v := url.Values{}
	for _, d := range db.PreferenceList {
		t := d.Text(p)
		if d.Switch() && t == "1" {
			v[d.Name] = []string{"0", "1"}
			continue
		}
		v.Set(d.Name, t)
	}
	return v
}

// TestPreferencesSaveOnlyChanges: "Saved" follows a real change only. A
// control's htmx POST that changes nothing answers an empty status; one that changes its value answers "Saved" and stores
// it. Without JavaScript the Save button's flash says "No changes to
// save." or names what changed. The browser-zone offer's POST answers the
// whole section with "Saved" next to the zone alone.
func TestPreferencesSaveOnlyChanges(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	ann := a.seedUser(t, annName, annEmail, annPassword)
	c.adopt(ann.ID)
	ctx := context.Background()
	events := func() int {
		page, err := a.store.EventsForUser(ctx, ann.ID, db.EventKey{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	eventsBefore := events()
	defaults := db.DefaultPreferences()

	// The form as loaded, posted as the theme select does: nothing changed.
	res := c.postControl("theme", wholeForm(defaults))
	if res.status != http.StatusOK || strings.TrimSpace(res.body) != "" {
		t.Errorf("unchanged htmx POST: got %d %q, want 200 and an empty status", res.status, res.body)
	}

	// The theme changed: "Saved" in its status, stored.
	form := wholeForm(defaults)
	form.Set("theme", "dark")
	res = c.postControl("theme", form)
	if res.status != http.StatusOK || strings.TrimSpace(res.body) != `<span class="saved" role="status">Saved</span>` {
		t.Errorf("changed htmx POST: got %d %q, want 200 Saved", res.status, res.body)
	}
	if got := c.apiPrefs()["theme"]; got != "dark" {
		t.Errorf("after saving theme=dark: theme %v", got)
	}
	// The same form again: nothing to say.
	if res := c.postControl("theme", form); strings.Contains(res.body, "Saved") {
		t.Errorf("the same change again: got %q, want no Saved", res.body)
	}
	// A refused value: its message, nothing stored.
	bad := wholeForm(defaults)
	bad.Set("page_size", "7")
	if res := c.postControl("page_size", bad); res.status != http.StatusUnprocessableEntity || strings.Contains(res.body, "Saved") ||
		!strings.Contains(res.body, "Choose 10, 25, 50 or 100 rows a page.") {
		t.Errorf("refused htmx POST: got %d %q", res.status, res.body)
	}

	// Without JavaScript: the Save button.
	p := defaults
	p.Theme = "dark"
	res = c.postForm("/preferences", wholeForm(p))
	if res.status != http.StatusSeeOther {
		t.Fatalf("unchanged plain POST: got %d, want 303", res.status)
	}
	checkFlash(t, c, res, "No changes to save.")
	p.PageSize, p.Legend = 50, false
	res = c.postForm("/preferences", wholeForm(p))
	checkFlash(t, c, res, "Saved: Rows per page and Show the legend.")
	if got := c.apiPrefs(); got["page_size"] != 50.0 || got["legend"] != false || got["theme"] != "dark" {
		t.Errorf("after the plain POST: got %v", got)
	}

	// The browser-zone offer: its own form, the zone alone; its answer is
	// the section with "Saved" next to the zone and nowhere else.
	res = c.do(http.MethodPost, "/preferences", url.Values{"timezone": {"Europe/Paris"}}, http.Header{
		"Hx-Request": {"true"}, "Hx-Target": {"preferences"}, "X-Csrf-Token": {c.csrf()},
	})
	if res.status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(res.body), `<section id="preferences">`) {
		t.Fatalf("offer POST: got %d, want the section; body %s", res.status, res.body)
	}
	if !regexp.MustCompile(`<small id="status-timezone" class="pref-status" aria-live="polite"><span class="saved" role="status">Saved</span></small>`).MatchString(res.body) ||
		strings.Count(res.body, ">Saved<") != 1 {
		t.Errorf("offer POST: want Saved next to the time zone only; body %s", res.body)
	}
	if !strings.Contains(res.body, `data-saved-zone="Europe/Paris"`) || !strings.Contains(res.body, `value="Europe/Paris"`) {
		t.Error("offer POST: the section does not show the saved zone")
	}
	if got := c.apiPrefs()["timezone"]; got != "Europe/Paris" {
		t.Errorf("after the offer: timezone %v", got)
	}

	// The page itself never says Saved, and posts nothing by itself: the
	// zone is offered, not filled in.
	page := c.get("/preferences").body
	if strings.Contains(page, ">Saved<") || strings.Contains(page, "data-browser-zone") {
		t.Error("GET /preferences says Saved or fills in the browser's zone")
	}
	if !strings.Contains(page, `<form id="zone-offer" class="zone-offer" method="post" action="/preferences" hx-post="/preferences" hidden data-saved-zone="Europe/Paris">`) {
		t.Error("GET /preferences: no hidden zone offer with the saved zone")
	}
	if !strings.Contains(page, `<noscript><button type="submit">Save preferences</button></noscript>`) {
		t.Error("GET /preferences: the Save button is not kept for browsers without JavaScript")
	}
	// Preferences are not audited; a save that changes nothing adds nothing either.
	if n := events(); n != eventsBefore {
		t.Errorf("saving preferences added %d audit events", n-eventsBefore)
	}
}

// TestPreferenceStatusKeepsFlash: a control's htmx save answers with its
// status alone, so it leaves a message waiting for the next page (the flash
// of a plain form's save, redirected to that page) where it is: the page
// shows it, once.
func TestPreferenceStatusKeepsFlash(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	c := a.client(t)
	c.adopt(a.seedUser(t, annName, annEmail, annPassword).ID)
	p := db.DefaultPreferences()
	p.PageSize = 50
	res := c.postForm("/preferences", wholeForm(p))
	if res.status != http.StatusSeeOther {
		t.Fatalf("plain POST: got %d, want 303", res.status)
	}
	// Before the browser follows the redirect, a control saves itself.
	p.Theme = "dark"
	if got := c.postControl("theme", wholeForm(p)); got.status != http.StatusOK || !strings.Contains(got.body, "Saved") {
		t.Fatalf("htmx POST: got %d %q, want 200 Saved", got.status, got.body)
	}
	checkFlash(t, c, res, "Saved: Rows per page.")
}
