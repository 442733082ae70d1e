package views

import (
	"net/url"
	"strconv"
)

// Pager is the position in a paginated list, and the links of the shared
// "pager" partial: first, previous, next and last, plain links that work
// without JavaScript.
type Pager struct {
	Num     int        // from 1
	Size    int        // rows a page: the page-size preference
	Total   int        // rows in the whole list; 0 when not counted
	HasMore bool       // for a list that is not counted: a next page exists
	Path    string     // the page the list is on
	Param   string     // the query parameter of the page number
	Query   url.Values // other parameters of the request, kept in the links
	Label   string     // names the list for screen readers, e.g. "Pages of members"
}

// Pages is the number of pages, at least 1.
func (p Pager) Pages() int {
	if p.Size <= 0 || p.Total <= p.Size {
		return 1
	}
	return (p.Total + p.Size - 1) / p.Size
}

// Offset is the number of rows before this page.
func (p Pager) Offset() int { return max(p.Num-1, 0) * p.Size }

// Counted reports whether the list's length is known, so "Last" can link.
func (p Pager) Counted() bool { return p.Total > 0 }

// HasPrev reports whether a page comes before this one.
func (p Pager) HasPrev() bool { return p.Num > 1 }

// HasNext reports whether a page comes after this one.
func (p Pager) HasNext() bool {
	if !p.Counted() {
		return p.HasMore
	}
	return p.Num < p.Pages()
}

// Prev is the number of the page before.
func (p Pager) Prev() int { return p.Num - 1 }

// Next is the number of the page after.
func (p Pager) Next() int { return p.Num + 1 }

// URL links to page n of the list, keeping the request's other parameters.
func (p Pager) URL(n int) string {
	param := p.Param
	if param == "" {
		param = "page"
	}
	return listLink(p.Path, p.Query, param, strconv.Itoa(n))
}

// listLink is path with the query keep and, unless param is "", param set
// to value: a pager's link that keeps the list's other parameters.
func listLink(path string, keep url.Values, param, value string) string {
	q := url.Values{}
	for k, vs := range keep {
		q[k] = vs
	}
	if param != "" {
		q.Set(param, value)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// KeysetPager is the position in a list paged by keyset rather than by
// number, such as the activity log: its links name the row next to the
// page they lead to (?before=<id>, ?after=<id>), so a page deep in a long
// list costs what the first does, and a bookmarked link shows the same rows
// however many were added since. It has no page numbers; First and Last
// lead to the two ends, Last by ?after=0.
type KeysetPager struct {
	FirstID  int64 // the id of the page's first (newest) row; 0 on an empty page
	LastID   int64 // the id of its last (oldest) row
	HasNewer bool  // rows come before the page
	HasOlder bool  // rows come after the page
	Path     string
	Query    url.Values // other parameters of the request, kept in the links
	Label    string     // names the list for screen readers, e.g. "Pages of the activity log"
}

// FirstURL links to the newest page.
func (p KeysetPager) FirstURL() string { return p.url("", 0) }

// PrevURL links to the page of the rows just newer than this one.
func (p KeysetPager) PrevURL() string { return p.url("after", p.FirstID) }

// NextURL links to the page of the rows just older than this one.
func (p KeysetPager) NextURL() string { return p.url("before", p.LastID) }

// LastURL links to the oldest page.
func (p KeysetPager) LastURL() string { return p.url("after", 0) }

func (p KeysetPager) url(param string, id int64) string {
	return listLink(p.Path, p.Query, param, strconv.FormatInt(id, 10))
}
