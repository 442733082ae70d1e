package handlers

import (
	"net/http"
	"net/url"
	"slices"

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
	p.Query = keptQuery(c, param)
	return p
}

// keptQuery is what a pager's links keep of the request's query: a GET's
// parameters but those of the pager itself; nothing of a POST's.
func keptQuery(c echo.Context, drop ...string) url.Values {
	if c.Request().Method != http.MethodGet {
		return nil
	}
	q := url.Values{}
	for k, vs := range c.QueryParams() {
		if !slices.Contains(drop, k) {
			q[k] = vs
		}
	}
	return q
}

// keysetPager starts the KeysetPager of a list on the page at path, which
// reads its position from ?before=<id> or ?after=<id>; the caller sets the
// ids and the flags from the rows it found. A GET's other query parameters
// are kept in the links, but for a ?page=<n> of a bookmark from when the
// list had numbered pages.
func keysetPager(c echo.Context, path, label string) views.KeysetPager {
	return views.KeysetPager{Path: path, Label: label, Query: keptQuery(c, "before", "after", "page")}
}
