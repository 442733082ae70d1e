package views

import (
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
