package views

import (
	"fmt"
	"io"
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
		Nonce: "bm9uY2Vub25jZW5vbmNl", Prefs: db.DefaultPreferences(), Clock: Clock{Zone: zone, DateFormat: "iso"}}}
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
	p.Notify.Columns = columns
	rows := []RouteRow{{Circumstance: db.CircumstanceAccount}, {Circumstance: db.CircumstanceBilling}, {Circumstance: db.CircumstanceSecurity}}
	for s := 1; s <= 5; s++ {
		rows = append(rows, RouteRow{Circumstance: db.CircumstanceAlerts, Severity: s})
	}
	for i := range rows {
		for _, m := range columns {
			rows[i].Cells = append(rows[i].Cells, RouteCell{Value: fmt.Sprintf("%s:%d:%d", rows[i].Circumstance, rows[i].Severity, m.ID),
				Label: "Route " + m.Address, Checked: m.ID == 1})
		}
	}
	p.Notify.Routes = rows
	for i := range 10 {
		p.Notify.Recent = append(p.Notify.Recent, db.Delivery{ID: int64(i), Kind: db.KindEmail, Address: "ann@example.com",
			Subject: "Your verification code", State: "sent", CreatedAt: now})
	}
	for i := range 3 {
		p.Logins = append(p.Logins, LoginRow{ID: int64(i), Provider: "Google", Email: "ann@example.com", Linked: now, LastUsed: now})
	}
	p.AddLogins = []LoginOption{{"google", "Google"}, {"github", "GitHub"}, {"slack", "Slack"}}
	for i := range 4 {
		p.Sessions = append(p.Sessions, SessionRow{ID: int64(i), Device: "Firefox 128 on Linux", IP: "192.0.2.1",
			LastSeen: now, Created: now, Current: i == 0})
	}
	p.SessionsPage = Pager{Num: 1, Size: 25, Total: 4, Path: "/profile", Param: "sessions_page"}
	return p
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
	b.Run("login(reference)", func(b *testing.B) {
		for b.Loop() {
			if err := r.Page(io.Discard, "login.html", AuthPage{Page: data.Page}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
