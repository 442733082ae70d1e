package views

import (
	"regexp"
	"strings"
	"testing"
	"text/template/parse"
)

// The htmx convention of the layout: <main> sets hx-target="closest section"
// and hx-swap="outerHTML" once, so a form (or link) inside a section replaces
// that section with the fragment its handler answers, and says nothing more
// than action and hx-post. A requester that needs another target keeps its
// own attributes. The test reads every page with all branches of every
// {{if}} and {{range}} taken, so forms inside a loop are seen too.

// skeleton is the HTML of a template with every action written as "X",
// both branches of each if/range/with, and every {{template}} inlined.
func skeleton(t *testing.T, set trees, name string) string {
	t.Helper()
	var b strings.Builder
	var walk func(n parse.Node, depth int)
	walk = func(n parse.Node, depth int) {
		if depth > 50 {
			t.Fatalf("%s: templates nest deeper than 50", name)
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c, depth)
			}
		case *parse.TextNode:
			b.Write(n.Text)
		case *parse.ActionNode:
			b.WriteString("X")
		case *parse.IfNode:
			walk(n.List, depth)
			walk(n.ElseList, depth)
		case *parse.RangeNode:
			walk(n.List, depth)
			walk(n.ElseList, depth)
		case *parse.WithNode:
			walk(n.List, depth)
			walk(n.ElseList, depth)
		case *parse.TemplateNode:
			tree := set[n.Name]
			if tree == nil {
				t.Fatalf("%s: no template %q", name, n.Name)
			}
			walk(tree.Root, depth+1)
		}
	}
	tree := set[name]
	if tree == nil {
		t.Fatalf("no template %q", name)
	}
	walk(tree.Root, 0)
	return b.String()
}

// trees are the parse trees of one page's template set, by name.
type trees map[string]*parse.Tree

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>`)
	attrRE = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	void   = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
		"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}
)

type element struct {
	tag   string
	attrs map[string]string
}

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = a[2] + a[3] + a[4]
	}
	return m
}

// inherited is the closest value of attr among the ancestors, and the
// element that sets it.
func inherited(stack []element, attr string) (string, *element) {
	for i := len(stack) - 1; i >= 0; i-- {
		if v, ok := stack[i].attrs[attr]; ok {
			return v, &stack[i]
		}
	}
	return "", nil
}

func closest(stack []element, tag string) *element {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].tag == tag {
			return &stack[i]
		}
	}
	return nil
}

func TestFormsInheritTheirSectionTarget(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	requesters := 0
	for page := range pages {
		m := trees{}
		for _, tmpl := range r.sets[page].Templates() {
			if tmpl.Tree != nil {
				m[tmpl.Name()] = tmpl.Tree
			}
		}
		html := skeleton(t, m, "layout")
		ids := map[string]bool{}
		for _, tag := range tagRE.FindAllStringSubmatch(html, -1) {
			if id, ok := attrs(tag[3])["id"]; ok {
				ids[id] = true
			}
		}
		var stack []element
		for _, tag := range tagRE.FindAllStringSubmatch(html, -1) {
			name := strings.ToLower(tag[2])
			if tag[1] == "/" {
				for i := len(stack) - 1; i >= 0; i-- {
					if stack[i].tag == name {
						stack = stack[:i]
						break
					}
				}
				continue
			}
			el := element{tag: name, attrs: attrs(tag[3])}
			check(t, page, el, stack, ids, &requesters)
			if !void[name] && !strings.HasSuffix(tag[3], "/") {
				stack = append(stack, el)
			}
		}
	}
	// 38 htmx forms when the convention came in, and the preference fields
	// and chart links besides: a walk that finds few has lost its way.
	if requesters < 40 {
		t.Errorf("found %d htmx requesters in the pages, want at least 40", requesters)
	}
}

// check applies the convention to one element, given its ancestors.
func check(t *testing.T, page string, el element, stack []element, ids map[string]bool, requesters *int) {
	t.Helper()
	url, verb := "", ""
	for _, v := range []string{"hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"} {
		if u, ok := el.attrs[v]; ok {
			url, verb = u, v
		}
	}
	if verb == "" {
		return
	}
	*requesters++
	where := page + ": <" + el.tag + " " + verb + "=\"" + url + "\">"
	if el.tag == "form" {
		// Without JavaScript the same form posts to the same route.
		if el.attrs["action"] != url || strings.ToLower(el.attrs["method"]) != "post" {
			t.Errorf("%s: got action %q method %q, want action %q method post", where, el.attrs["action"], el.attrs["method"], url)
		}
	}
	section := closest(stack, "section")
	for _, attr := range []string{"hx-target", "hx-swap"} {
		own, hasOwn := el.attrs[attr]
		up, _ := inherited(stack, attr)
		if hasOwn && own == up {
			t.Errorf("%s: got %s=%q, the value it inherits; want it left out", where, attr, own)
		}
		if attr == "hx-target" && hasOwn && up == "closest section" && section != nil && own == "#"+section.attrs["id"] {
			t.Errorf("%s: got hx-target=%q, its own section, which it inherits; want it left out", where, own)
		}
	}
	target, from := el.attrs["hx-target"], &el
	if target == "" {
		target, from = inherited(stack, "hx-target")
	}
	switch {
	case from == nil:
		t.Errorf("%s: got no hx-target, own or inherited; want one", where)
	case target == "this":
	case target == "closest section":
		if section == nil {
			t.Errorf("%s: got hx-target=%q from <%s> and no section around it; want a section or its own hx-target", where, target, from.tag)
		}
	case strings.HasPrefix(target, "#"):
		if !ids[target[1:]] {
			t.Errorf("%s: got hx-target=%q, not an id on the page; want one that is", where, target)
		}
	default:
		t.Errorf("%s: got hx-target=%q; want this, closest section or #id", where, target)
	}
	if sw := el.attrs["hx-swap"]; sw == "" {
		if sw, _ = inherited(stack, "hx-swap"); sw == "" {
			t.Errorf("%s: got no hx-swap, own or inherited; want one", where)
		}
	}
}
