package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/db"
	"github.com/rosterhq/roster/views"
)

// The routing matrix of /profile/notifications (#notification-routing):
// which circumstances and severities reach which contact methods.

// routingMatrix lays the rules out as rows of circumstances by columns of
// the methods they may use: the account email and every verified method.
func routingMatrix(methods []db.ContactMethod, rules []db.Rule) ([]views.RouteColumn, []views.RouteRow) {
	on := map[string]bool{}
	for _, r := range rules {
		on[ruleValue(r)] = true
	}
	var targets []db.ContactMethod
	var cols []views.RouteColumn
	for _, m := range methods {
		if m.IsAccount || m.Verified() {
			targets = append(targets, m)
			cols = append(cols, views.RouteColumn{Kind: m.KindName(), Address: views.MaskAddress(m.Kind, m.Address), Label: m.Label})
		}
	}
	var rows []views.RouteRow
	add := func(circ string, sev int) {
		row := views.RouteRow{Circumstance: circ, Severity: sev}
		for i, m := range targets {
			v := ruleValue(db.Rule{Circumstance: circ, Severity: sev, MethodID: m.ID})
			fixed := circ == db.CircumstanceSecurity && m.IsAccount
			column := cols[i].Name()
			row.Cells = append(row.Cells, views.RouteCell{Value: v, Checked: on[v] || fixed, Fixed: fixed,
				Label: row.Name() + " to " + column, Column: column})
		}
		rows = append(rows, row)
	}
	for sev := 1; sev <= 5; sev++ {
		add(db.CircumstanceAlerts, sev)
	}
	for _, circ := range db.Circumstances[1:] {
		add(circ, 0)
	}
	return cols, rows
}

func ruleValue(r db.Rule) string {
	return fmt.Sprintf("%s:%d:%d", r.Circumstance, r.Severity, r.MethodID)
}

func parseRule(v string) (db.Rule, bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return db.Rule{}, false
	}
	sev, err1 := strconv.Atoi(parts[1])
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	return db.Rule{Circumstance: parts[0], Severity: sev, MethodID: id}, err1 == nil && err2 == nil
}

// saveRouting replaces the routing matrix with the boxes ticked.
func (h *Handler) saveRouting(c echo.Context) error {
	u, _ := currentUser(c)
	if err := c.Request().ParseForm(); err != nil {
		return echo.ErrBadRequest
	}
	var rules []db.Rule
	form := views.Form{}
	for _, v := range c.Request().PostForm["route"] {
		r, ok := parseRule(v)
		if !ok {
			form.Fail("form", "That routing choice is not available any more. Reload the page.")
			break
		}
		rules = append(rules, r)
	}
	if !form.Failed() {
		err := h.store.SetRules(c.Request().Context(), u.ID, rules, event(c, db.EventRoutingChanged))
		switch {
		case errors.Is(err, db.ErrBadRule):
			form.Fail("form", "That routing choice is not available any more. Reload the page.")
		case err != nil:
			return err
		default:
			form.Message = "Notification routing is saved."
		}
	}
	return answer(h, c, routingSection, formStatus(form), form.Message, func(p *views.NotificationsPage) { p.RoutingForm = form })
}
