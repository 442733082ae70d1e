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

// keysetPager starts the KeysetPager of a list on the page at path, which
// reads its position from ?before=<id> or ?after=<id>; the caller sets the
// ids and the flags from the rows it found. A GET's other query parameters
// are kept in the links, but for a ?page=<n> of a bookmark from when the
// list had numbered pages.
func keysetPager(c echo.Context, path, label string) views.KeysetPager {
	p := views.KeysetPager{Path: path, Label: label}
	if c.Request().Method == http.MethodGet {
		q := url.Values{}
		for k, vs := range c.QueryParams() {
			if k != "before" && k != "after" && k != "page" {
				q[k] = vs
			}
		}
		p.Query = q
	}
	return p
}
