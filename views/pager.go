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
	q := url.Values{}
	for k, vs := range p.Query {
		q[k] = vs
	}
	param := p.Param
	if param == "" {
		param = "page"
	}
	q.Set(param, strconv.Itoa(n))
	return p.Path + "?" + q.Encode()
}
