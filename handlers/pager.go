package handlers

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/rosterhq/roster/views"
)

// listPage starts the Pager of a list on the page at path: its number from
// the query parameter param, its size from the page-size preference, total
// rows counted by the caller. A number past the end shows the last page.
// A GET's other query parameters are kept in the pager's links; a POST's
// answer (an htmx section) links to path alone.
func (h *Handler) listPage(c echo.Context, path, param, label string, total int) views.Pager {
	p := views.Pager{
		Num: pageParam(c, param), Size: h.prefs(c).PageSize, Total: total,
		Path: path, Param: param, Label: label,
	}
	p.Num = min(p.Num, p.Pages())
	if c.Request().Method == http.MethodGet {
		q := url.Values{}
		for k, vs := range c.QueryParams() {
			if k != param {
				q[k] = vs
			}
		}
		p.Query = q
	}
	return p
}
