package views

import (
	"strconv"

	"github.com/rosterhq/roster/db"
)

// NotifySection is the part of #contact-info about notifications: the
// contact methods, the routing matrix, the account email change and the
// recent notifications. Each form has its own Form for its messages.
type NotifySection struct {
	Methods      []db.ContactMethod
	Kinds        []string
	AddForm      Form  // kind, address, label
	MethodForm   Form  // a verify, new code, test, label or delete outcome...
	MethodID     int64 // ...about this method
	NewSecret    string
	Routes       []RouteRow
	Columns      []db.ContactMethod // the methods the matrix routes to
	RoutingForm  Form
	EmailForm    Form // new_email
	PendingEmail string
	Recent       []db.Delivery
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

// RouteCell is one checkbox: route Value (circumstance:severity:method).
type RouteCell struct {
	Value   string
	Label   string // for screen readers: row and column
	Checked bool
	Fixed   bool // security to the account email: always on
}
