package views

import (
	"html/template"
	"strconv"

	"github.com/rosterhq/roster/db"
)

// NotifySection is the part of #contact-info about notifications: the
// contact methods and the account email change (routing and the history
// are on NotificationsPage). Each form has its own Form for its messages.
type NotifySection struct {
	Methods      []db.ContactMethod
	Kinds        []string
	AddForm      Form  // kind, address, label
	MethodForm   Form  // a verify, new code, test, label or delete outcome...
	MethodID     int64 // ...about this method
	NewSecret    string
	EmailForm    Form // new_email
	PendingEmail db.EmailChange
}

// ForMethod is MethodForm when it is about the method id, else empty.
func (n NotifySection) ForMethod(id int64) Form {
	if n.MethodID == id {
		return n.MethodForm
	}
	return Form{}
}

// ContactRow is one contact method as its row in #contact-methods shows
// it, worked out once in Go: every {{...}} that writes something costs
// html/template a few escaper calls by reflection (about 5 to 10
// allocations), so the row's template writes each thing once and tests
// only plain fields (an {{if}} on a field costs almost nothing). The
// attribute pairs of its forms are built here from the method's id alone.
type ContactRow struct {
	ID        int64
	Attrs     template.HTMLAttr // the row's id
	Kind      string            // the kind in words
	Label     string
	Address   string
	IsAccount bool
	Editable  bool // not the account email: labelled and deleted here
	Verified  bool
	Locked    bool

	// The action and hx-post of each of the row's forms, empty for a form
	// the row does not have, and the id of its code field.
	TestForm, VerifyForm, LabelForm, ResendForm, DeleteForm template.HTMLAttr
	CodeID                                                  template.HTMLAttr

	// The outcome of a form of this row (NotifySection.MethodForm), all
	// empty for every other row.
	Message, Error        string // the form's message and its error
	CodeError, LabelError string // the fields' errors
	Code                  string // what was typed in the code field
	LabelValue            string // the label field: what was typed, else the label
}

// Rows are the contact methods as the table shows them, the outcome of a
// form (MethodForm) on the row of its method. The template asks once.
func (n NotifySection) Rows() []ContactRow {
	rows := make([]ContactRow, len(n.Methods))
	for i, m := range n.Methods {
		id := strconv.FormatInt(m.ID, 10)
		path := "/profile/contacts/" + id
		form := func(verb string) template.HTMLAttr {
			return template.HTMLAttr(`action="` + path + verb + `" hx-post="` + path + verb + `"`)
		}
		r := ContactRow{ID: m.ID, Attrs: template.HTMLAttr(`id="contact-` + id + `"`), Kind: m.KindName(), Label: m.Label,
			Address: m.Address, IsAccount: m.IsAccount, Editable: !m.IsAccount, Verified: m.Verified(), Locked: m.Locked(), LabelValue: m.Label}
		switch {
		case r.Verified:
			r.TestForm = form("/test")
		case !r.IsAccount:
			r.VerifyForm, r.CodeID = form("/verify"), template.HTMLAttr(`id="code-`+id+`"`)
		}
		if !r.IsAccount {
			r.LabelForm, r.DeleteForm = form("/label"), form("/delete")
			if !r.Verified {
				r.ResendForm = form("/resend")
			}
		}
		if n.MethodID == m.ID {
			f := n.MethodForm
			r.Message, r.Error, r.CodeError, r.LabelError = f.Message, f.Errors["form"], f.Errors["code"], f.Errors["label"]
			if len(f.Values) > 0 {
				r.Code, r.LabelValue = f.Values["code"], f.Values["label"]
			}
		}
		rows[i] = r
	}
	return rows
}

// RouteRow is one row of the routing matrix: a circumstance, for alerts
// one severity.
type RouteRow struct {
	Circumstance string
	Severity     int
	Cells        []RouteCell
}

// Name is the row's heading.
func (r RouteRow) Name() string {
	switch r.Circumstance {
	case db.CircumstanceAlerts:
		return "Alerts, severity " + strconv.Itoa(r.Severity)
	case db.CircumstanceAccount:
		return "Account (invites, membership changes)"
	case db.CircumstanceBilling:
		return "Billing"
	case db.CircumstanceSecurity:
		return "Security (sign-ins, password and login changes)"
	}
	return r.Circumstance
}

// RouteLine is a RouteRow as the routing matrix writes it
// (NotificationsPage.Grid): its heading as a field rather than a method
// called by reflection, and its data-route as one value.
type RouteLine struct {
	Heading string
	Route   string // circumstance:severity
	Cells   []RouteCell
}

// Grid is the routing matrix's rows as the template writes them.
func (n NotificationsPage) Grid() []RouteLine {
	lines := make([]RouteLine, len(n.Routes))
	for i, r := range n.Routes {
		lines[i] = RouteLine{Heading: r.Name(), Route: r.Circumstance + ":" + strconv.Itoa(r.Severity), Cells: r.Cells}
	}
	return lines
}

// RouteColumn is a column of the routing matrix: a method it may route to,
// its address masked as on the rest of /profile/notifications (the page may
// be on a shared screen), and its label to tell two alike apart.
type RouteColumn struct {
	Kind, Address, Label string
}

// Name is the column's kind and masked address.
func (c RouteColumn) Name() string { return c.Kind + " " + c.Address }

// RouteCell is one checkbox: route Value (circumstance:severity:method).
type RouteCell struct {
	Value   string
	Label   string // for screen readers: row and column
	Column  string // the method's kind and address, the cell's label on a phone
	Checked bool
	Fixed   bool // security to the account email: always on
}
