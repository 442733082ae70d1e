package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestRouteAddedBesideItsGroup: a route under a group's prefix that skips
// the group, and so its middleware, stops the route table.
func TestRouteAddedBesideItsGroup(t *testing.T) {
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	deny := func(echo.HandlerFunc) echo.HandlerFunc {
		return func(echo.Context) error { return echo.ErrForbidden }
	}
	e := echo.New()
	member := group(e, "/accounts/:id")
	manage := group(e, "/accounts/:id", deny)
	member.GET("", ok)
	manage.POST("/settings", ok)
	e.POST("/accounts", ok)
	if err := grouped(e, member, manage); err != nil {
		t.Fatalf("every route through its group: got %v, want nil", err)
	}
	e.POST("/accounts/:id/delete", ok)
	if err := grouped(e, member, manage); err == nil {
		t.Fatal("POST /accounts/:id/delete beside the groups: got nil, want an error")
	}

	// The group's middleware runs on its routes.
	req := func(method, path string) int {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code
	}
	if got := req(http.MethodPost, "/accounts/1/settings"); got != http.StatusForbidden {
		t.Errorf("POST /accounts/1/settings: got %d, want 403 from the group's middleware", got)
	}
	if got := req(http.MethodGet, "/accounts/1"); got != http.StatusOK {
		t.Errorf("GET /accounts/1: got %d, want 200", got)
	}
}
