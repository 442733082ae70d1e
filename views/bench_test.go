package views

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/rosterhq/roster/db"
)

// s1Profile is the view data of scenario S1's profile: 5 accounts, 8
// contact methods, 3 linked logins, 4 sessions, a full routing matrix and
// recent notifications.
func s1Profile() ProfilePage {
	now := time.Now()
	zone, _ := time.LoadLocation("Europe/Berlin")
	u := db.User{ID: 7, Email: "ann@example.com", Name: "Ann Example", EmailVerifiedAt: now, PasswordHash: "x"}
	p := ProfilePage{Page: Page{Title: "User Profile", User: u, CSRF: "Yx1_Q0hVtbYJ2qCnZ2mVx4Qj6n3sP9aWcT8kL5dR7eF",
		Nonce: "bm9uY2Vub25jZW5vbmNlbm9u", Prefs: db.DefaultPreferences(), Clock: Clock{Zone: zone, DateFormat: "iso"}}}
	for i := range 5 {
		p.Accounts = append(p.Accounts, db.Membership{Account: db.Account{ID: int64(i + 1), Name: fmt.Sprintf("Account %d", i), OwnerID: 7},
			UserID: 7, Role: db.RoleAdmin, CreatedAt: now})
	}
	var columns []db.ContactMethod
	for i := range 8 {
		m := db.ContactMethod{ID: int64(i + 1), UserID: 7, Kind: db.Kinds[i%len(db.Kinds)], Address: fmt.Sprintf("contact-%d@example.com", i),
			Label: "Label", IsAccount: i == 0, CreatedAt: now}
		if i < 6 {
			m.VerifiedAt = now
			columns = append(columns, m)
		}
		p.Notify.Methods = append(p.Notify.Methods, m)
	}
	p.Notify.Kinds = db.Kinds
	for i := range 3 {
		p.Logins = append(p.Logins, LoginRow{ID: int64(i), Provider: "Google", Email: "ann@example.com", Linked: now, LastUsed: now})
	}
	p.AddLogins = []LoginOption{{"google", "Google", "google.svg"}, {"github", "GitHub", "github.svg"}, {"slack", "Slack", "slack.svg"}}
	for i := range 4 {
		p.Sessions = append(p.Sessions, SessionRow{ID: int64(i), Device: "Firefox 128 on Linux", IP: "192.0.2.1",
			LastSeen: now, Created: now, Current: i == 0})
	}
	p.SessionsPage = Pager{Num: 1, Size: 25, Total: 4, Path: "/profile", Param: "sessions_page"}
	return p
}

// s1Notifications is the view data of /profile/notifications for S1's
// user: the routing matrix of their 6 verified methods and a page of
// notifications.
func s1Notifications(p ProfilePage) NotificationsPage {
	n := NotificationsPage{Page: p.Page, Pager: Pager{Num: 1, Size: 25, Total: 10, Path: "/profile/notifications", Param: "page"}}
	var targets []db.ContactMethod
	for _, m := range p.Notify.Methods {
		if m.Verified() {
			targets = append(targets, m)
			n.Columns = append(n.Columns, RouteColumn{Kind: m.KindName(), Address: MaskAddress(m.Kind, m.Address), Label: m.Label})
		}
	}
	rows := []RouteRow{{Circumstance: db.CircumstanceAccount}, {Circumstance: db.CircumstanceBilling}, {Circumstance: db.CircumstanceSecurity}}
	for s := 1; s <= 5; s++ {
		rows = append(rows, RouteRow{Circumstance: db.CircumstanceAlerts, Severity: s})
	}
	for i := range rows {
		for _, m := range targets {
			rows[i].Cells = append(rows[i].Cells, RouteCell{Value: fmt.Sprintf("%s:%d:%d", rows[i].Circumstance, rows[i].Severity, m.ID),
				Label: "Route " + m.Address, Column: m.KindName() + " " + m.Address, Checked: m.ID == 1})
		}
	}
	n.Routes = rows
	for i := range 10 {
		n.Deliveries = append(n.Deliveries, db.Delivery{ID: int64(i), Kind: db.KindEmail, Address: "ann@example.com",
			Subject: "Your verification code", State: "sent", CreatedAt: time.Now()})
	}
	return n
}

// BenchmarkProfileRender renders S1's profile page, the bulk of GET
// /profile's own time. Its reference is the sign-in page, the smallest page
// on the same layout.
//
//	go test -run '^$' -bench ProfileRender ./views/
func BenchmarkProfileRender(b *testing.B) {
	r, err := New()
	if err != nil {
		b.Fatal(err)
	}
	data := s1Profile()
	b.Run("profile", func(b *testing.B) {
		for b.Loop() {
			if err := r.Page(io.Discard, "profile.html", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	notifications := s1Notifications(data)
	b.Run("notifications", func(b *testing.B) {
		for b.Loop() {
			if err := r.Page(io.Discard, "notifications.html", notifications); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("login(reference)", func(b *testing.B) {
		for b.Loop() {
			if err := r.Page(io.Discard, "login.html", AuthPage{Page: data.Page}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// writeSessions writes the #sessions section the way a template compiler
// such as templ generates code: direct writes and escaping, no reflection.
// It exists only to measure what html/template's evaluation costs, and is
// checked byte for byte against the template below.
func writeSessions(w *bytes.Buffer, p *ProfilePage) {
	w.WriteString("\n<section id=\"sessions\">\n<h2>Sessions</h2>\n")
	if p.SessionsMessage != "" {
		w.WriteString(`<p class="flash success" role="status">`)
		w.WriteString(html.EscapeString(p.SessionsMessage))
		w.WriteString("</p>")
	}
	w.WriteString("\n<p class=\"muted\">Browsers logged in to your profile. Revoke any you don't recognise.</p>\n<div class=\"overflow-auto\">\n<table class=\"stack\">\n" +
		"<thead><tr><th scope=\"col\">Device</th><th scope=\"col\">IP address</th><th scope=\"col\">Last seen</th><th scope=\"col\">Logged in</th><th scope=\"col\"><span class=\"sr-only\">Actions</span></th></tr></thead>\n<tbody>\n")
	for _, s := range p.Sessions {
		w.WriteString("\n<tr")
		if s.Current {
			w.WriteString(" class=\"current\"")
		}
		w.WriteString(">\n<td data-label=\"Device\">")
		w.WriteString(html.EscapeString(s.Device))
		if s.Current {
			w.WriteString(" <small class=\"muted\">(this device)</small>")
		}
		w.WriteString("</td>\n<td data-label=\"IP address\">")
		w.WriteString(html.EscapeString(s.IP))
		w.WriteString("</td>\n<td data-label=\"Last seen\">")
		w.WriteString(string(p.Time(s.LastSeen)))
		w.WriteString("</td>\n<td data-label=\"Logged in\">")
		w.WriteString(string(p.Time(s.Created)))
		w.WriteString("</td>\n<td class=\"actions\" data-label=\"Actions\">")
		if !s.Current {
			id := strconv.FormatInt(s.ID, 10)
			w.WriteString("\n<form method=\"post\" action=\"/profile/sessions/" + id + "/revoke\" hx-post=\"/profile/sessions/" + id +
				"/revoke\">\n<input type=\"hidden\" name=\"_csrf\" value=\"")
			w.WriteString(html.EscapeString(p.CSRF))
			w.WriteString("\">\n<button type=\"submit\" class=\"secondary outline\">Revoke</button>\n</form>\n")
		}
		w.WriteString("</td>\n</tr>\n")
	}
	w.WriteString("\n</tbody>\n</table>\n</div>\n\n")
	if p.SessionsPage.Total > 1 {
		w.WriteString("\n<form method=\"post\" action=\"/profile/sessions/revoke-others\" hx-post=\"/profile/sessions/revoke-others\">\n<input type=\"hidden\" name=\"_csrf\" value=\"")
		w.WriteString(html.EscapeString(p.CSRF))
		w.WriteString("\">\n<button type=\"submit\" class=\"secondary\">Log out other sessions</button>\n</form>\n")
	}
	w.WriteString("\n</section>\n")
}

// BenchmarkSessionsSection renders S1's #sessions section (4 sessions) with
// html/template and with direct writes producing the same bytes: the gap
// is what a compiled template would save on every section of the page.
func BenchmarkSessionsSection(b *testing.B) {
	r, err := New()
	if err != nil {
		b.Fatal(err)
	}
	data := s1Profile()
	var tmpl, direct bytes.Buffer
	if err := r.Fragment(&tmpl, "profile.html", "profile/sessions", data); err != nil {
		b.Fatal(err)
	}
	writeSessions(&direct, &data)
	if tmpl.String() != direct.String() {
		b.Fatalf("direct writes differ from the template:\n--- template\n%s\n--- direct\n%s", tmpl.String(), direct.String())
	}
	b.Run("html-template", func(b *testing.B) {
		for b.Loop() {
			if err := r.Fragment(io.Discard, "profile.html", "profile/sessions", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct-writes", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			writeSessions(&buf, &data)
		}
	})
}

// BenchmarkProfileMemo is the render memo's cost on S1's pages: the
// digest of the page data alone, a page answered from the memo (the
// digest, the copy and the CSRF token and nonce filled in), and the page
// rendered with the memo off; for /profile also a miss (data new every
// time: the digest, the render, and the page kept).
//
//	go test -run '^$' -bench ProfileMemo -benchmem ./views/
func BenchmarkProfileMemo(b *testing.B) {
	r, err := New()
	if err != nil {
		b.Fatal(err)
	}
	profile := s1Profile()
	profile.Page.Invites = func() int { return 2 }
	b.Run("profile.html/miss", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		data := profile
		i := 0
		for b.Loop() {
			i++
			data.Page.Flash = Flash{Kind: "success", Message: strconv.Itoa(i)}
			buf.Reset()
			if err := r.Page(&buf, "profile.html", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range []struct {
		file string
		data any
	}{{"profile.html", profile}, {"notifications.html", s1Notifications(profile)}} {
		b.Run(p.file+"/digest", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := digest(p.file, p.data); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, memo := range []bool{true, false} {
			name := "/hit"
			if !memo {
				name = "/render"
			}
			b.Run(p.file+name, func(b *testing.B) {
				r.SetMemo(memo)
				defer r.SetMemo(true)
				b.ReportAllocs()
				var buf bytes.Buffer
				for b.Loop() {
					buf.Reset()
					if err := r.Page(&buf, p.file, p.data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
