package views

import (
	"html/template"
	"strconv"

	"github.com/rosterhq/roster/db"
)

// The rows of the profile's other tables as their templates write them,
// worked out once per render for the reason ContactRow gives: each {{...}}
// that writes costs html/template several allocations by reflection, and
// a {{$.Time .At}} a method call on the whole page. Attributes holding a
// URL are built here from int ids only; every other value is a string
// html/template escapes.

// postTo is the action and hx-post of a form posting to path.
func postTo(path string) template.HTMLAttr {
	return template.HTMLAttr(`action="` + path + `" hx-post="` + path + `"`)
}

// AccountLine is one membership in #my-accounts.
type AccountLine struct {
	Name      string
	Role      string // in words
	IsOwner   bool
	IsAdmin   bool
	Needs2FA  bool              // the account requires two-factor and the user has none: it will not open
	Link      template.HTMLAttr // href of the account's page
	Manage    template.HTMLAttr // href of its Manage page
	LeaveForm template.HTMLAttr
}

// AccountLines are the Accounts as #my-accounts shows them.
func (p ProfilePage) AccountLines() []AccountLine {
	lines := make([]AccountLine, len(p.Accounts))
	for i, m := range p.Accounts {
		path := "/accounts/" + strconv.FormatInt(m.Account.ID, 10)
		lines[i] = AccountLine{Name: m.Account.Name, Role: db.RoleName(m.Role), IsOwner: m.IsOwner(), IsAdmin: m.IsAdmin(),
			Needs2FA: m.Account.RequireTwoFactor && !p.SecondFactor, Link: template.HTMLAttr(`href="` + path + `"`), Manage: template.HTMLAttr(`href="` + path + `/manage"`),
			LeaveForm: postTo(path + "/leave")}
	}
	return lines
}

// LoginLine is one linked login in #sso-logins.
type LoginLine struct {
	Provider, Email  string
	Linked, LastUsed template.HTML // Page.Time of each
	RemoveForm       template.HTMLAttr
}

// LoginLines are the Logins as #sso-logins shows them.
func (p ProfilePage) LoginLines() []LoginLine {
	lines := make([]LoginLine, len(p.Logins))
	for i, l := range p.Logins {
		lines[i] = LoginLine{Provider: l.Provider, Email: l.Email, Linked: p.Clock.Tag(l.Linked), LastUsed: p.Clock.Tag(l.LastUsed),
			RemoveForm: postTo("/profile/logins/" + strconv.FormatInt(l.ID, 10) + "/delete")}
	}
	return lines
}

// SessionLine is one session in #sessions.
type SessionLine struct {
	Device, IP        string
	Current           bool
	LastSeen, Created template.HTML     // Page.Time of each
	RevokeForm        template.HTMLAttr // none for this device's session
}

// SessionLines are the Sessions as #sessions shows them.
func (p ProfilePage) SessionLines() []SessionLine {
	lines := make([]SessionLine, len(p.Sessions))
	for i, s := range p.Sessions {
		lines[i] = SessionLine{Device: s.Device, IP: s.IP, Current: s.Current, LastSeen: p.Clock.Tag(s.LastSeen), Created: p.Clock.Tag(s.Created)}
		if !s.Current {
			lines[i].RevokeForm = postTo("/profile/sessions/" + strconv.FormatInt(s.ID, 10) + "/revoke")
		}
	}
	return lines
}
