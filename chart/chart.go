// Package chart draws small time-series charts as SVG on the server, so a
// page shows them without JavaScript and under a strict CSP: colours are
// presentation attributes, never style attributes. Series after the first
// are told apart without colour too: hatched bars and areas, dashed lines
// and hollow points, and the legend shows the same marks.
package chart

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart types.
const (
	Line = "line"
	Area = "area"
	Bar  = "bar"
)

// Palettes: Default is the product's; Safe is the blue and orange of
// Okabe and Ito's colour-blind-safe set, told apart with any colour vision.
var (
	Default = []string{"#2e7d32", "#c62828", "#1565c0", "#6a1b9a"}
	Safe    = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7"}
)

// Series is one named line, area or set of bars, one value a bucket.
type Series struct {
	Name   string
	Values []int
}

// Chart is what to draw: len(Labels) buckets along the x axis and one or
// more series over them.
type Chart struct {
	ID      string   // prefix of the ids of <title>, <desc> and the patterns
	Title   string   // the accessible name
	Desc    string   // the accessible description
	Style   string   // Line, Area or Bar
	Labels  []string // one a bucket, as the person reads times
	Ticks   []int    // the buckets whose labels the x axis may show; nil for evenly spaced ones
	Series  []Series
	Legend  bool
	Palette []string         // one colour a series; Default when nil
	Count   func(int) string // writes a count on the axis and in the tooltips; strconv.Itoa when nil
	// Width is the width of the viewBox: Wide (the default) for a page,
	// Narrow for a phone, where the drawing is shown about one viewBox
	// unit a CSS pixel, so its text stays legible. Labels that would run
	// into each other at that width are left out.
	Width int
	Class string // more classes of the <svg>, such as which width it is
}

// Widths of the viewBox.
const (
	Wide   = 720
	Narrow = 340
)

// Geometry of the drawing, in viewBox units, that does not depend on the width.
const (
	height                    = 240
	right, top, bottom        = 12, 28, 36
	minLeft                   = 40
	pointRadius, lineWidthPix = 2.5, 2
	labelGap                  = 8 // the least room between two axis labels
)

// geom is where things go at one width.
type geom struct {
	width, left int
	font        float64 // of the axis labels; the legend's is one more
}

func (g geom) plotWidth() float64  { return float64(g.width - g.left - right) }
func (g geom) plotHeight() float64 { return float64(height - top - bottom) }

// x is the middle of bucket i of n.
func (g geom) x(i, n int) float64 {
	band := g.plotWidth() / float64(max(n, 1))
	return float64(g.left) + band*(float64(i)+0.5)
}

// y is the height of value v on an axis topped at ymax.
func (g geom) y(v, ymax int) float64 {
	return top + g.plotHeight()*(1-float64(v)/float64(ymax))
}

// textWidth estimates how wide s is drawn at font size: about 0.62 em a
// character in a sans-serif face, on the generous side.
func textWidth(s string, font float64) float64 {
	return 0.62 * font * float64(len([]rune(s)))
}

func (c Chart) geom(ymax, step int) geom {
	g := geom{width: c.Width, font: 11}
	if g.width <= 0 {
		g.width = Wide
	}
	if g.width < Wide {
		g.font = 12 // drawn about 1:1 on a phone
	}
	g.left = minLeft
	for v := 0; v <= ymax; v += step {
		g.left = max(g.left, int(math.Ceil(textWidth(c.count(v), g.font)))+10)
	}
	return g
}

// SVG draws c. Every text it includes is escaped.
func SVG(c Chart) string {
	ymax, step := scale(c.max())
	g := c.geom(ymax, step)
	palette := c.Palette
	if len(palette) == 0 {
		palette = Default
	}
	var b strings.Builder
	id := c.ID
	if id == "" {
		id = "chart"
	}
	class := "chart chart-" + c.Style
	if c.Class != "" {
		class += " " + c.Class
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="%s-title %s-desc" class="%s">`+"\n",
		g.width, height, esc(id), esc(id), esc(class))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`+"\n", esc(id), esc(c.Title))
	fmt.Fprintf(&b, `<desc id="%s-desc">%s</desc>`+"\n", esc(id), esc(c.Desc))
	c.patterns(&b, id, palette)

	// Grid and y axis labels.
	fmt.Fprintf(&b, `<g class="axis y" fill="currentColor" font-size="%s" text-anchor="end">`+"\n", num(g.font))
	for v := 0; v <= ymax; v += step {
		y := g.y(v, ymax)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="currentColor" stroke-opacity="0.15"/>`, g.left, g.width-right, num(y), num(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s">%s</text>`+"\n", g.left-6, num(y+4), esc(c.count(v)))
	}
	b.WriteString("</g>\n")

	// X axis labels: those that fit without running into the one before.
	fmt.Fprintf(&b, `<g class="axis x" fill="currentColor" font-size="%s" text-anchor="middle">`+"\n", num(g.font))
	for _, t := range c.xLabels(g) {
		fmt.Fprintf(&b, `<text x="%s" y="%d">%s</text>`+"\n", num(t.x), height-bottom+16, esc(c.Labels[t.i]))
	}
	b.WriteString("</g>\n")

	for s, series := range c.Series {
		colour := palette[s%len(palette)]
		fmt.Fprintf(&b, `<g class="series s%d" data-name="%s" data-mark="%s">`+"\n", s, esc(series.Name), mark(s))
		switch c.Style {
		case Bar:
			c.bars(&b, g, id, s, series, colour, ymax)
		default:
			c.lines(&b, g, id, s, series, colour, ymax)
		}
		b.WriteString("</g>\n")
	}
	if c.Legend {
		c.legend(&b, g, id, palette)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// mark names how series s is drawn apart from colour: the first solid,
// the others hatched (dashed, hollow points, as lines).
func mark(s int) string {
	if s == 0 {
		return "solid"
	}
	return "hatched"
}

// fill is the fill of series s's bars and areas: its colour, or its
// hatching in that colour.
func fill(id string, s int, colour string) string {
	if s == 0 {
		return colour
	}
	return "url(#" + esc(id) + "-hatch-" + strconv.Itoa(s) + ")"
}

// patterns defines the hatching of every series after the first: stripes
// of the page's background over its colour, at an angle of its own.
func (c Chart) patterns(b *strings.Builder, id string, palette []string) {
	if len(c.Series) < 2 || c.Style == Line {
		return
	}
	angles := []int{45, -45, 0}
	b.WriteString("<defs>\n")
	for s := 1; s < len(c.Series); s++ {
		fmt.Fprintf(b, `<pattern id="%s-hatch-%d" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(%d)">`+
			`<rect width="6" height="6" fill="%s"/><rect width="2.5" height="6" fill="#fff" fill-opacity="0.75"/></pattern>`+"\n",
			esc(id), s, angles[(s-1)%len(angles)], palette[s%len(palette)])
	}
	b.WriteString("</defs>\n")
}

// count writes v as c.Count says.
func (c Chart) count(v int) string {
	if c.Count == nil {
		return strconv.Itoa(v)
	}
	return c.Count(v)
}

func (c Chart) max() int {
	m := 0
	for _, s := range c.Series {
		for _, v := range s.Values {
			m = max(m, v)
		}
	}
	return m
}

// ticks are the buckets that may be labelled: c.Ticks, or at most one
// every 60 units spread evenly, every 1, 2, 3, 4, 6 or 12 buckets.
func (c Chart) ticks(g geom) []int {
	if c.Ticks != nil {
		return c.Ticks
	}
	most := max(2, int(g.plotWidth()/60))
	every := max(1, (len(c.Labels)+most-1)/most)
	for _, nice := range []int{1, 2, 3, 4, 6, 12} {
		if nice >= every {
			every = nice
			break
		}
	}
	var list []int
	for i := 0; i < len(c.Labels); i += every {
		list = append(list, i)
	}
	return list
}

// xLabel is an x axis label: its bucket and where its middle is drawn.
type xLabel struct {
	i int
	x float64
}

// xLabels are the ticks whose labels fit: each inside the drawing and at
// least labelGap after the one before; the others are left out.
func (c Chart) xLabels(g geom) []xLabel {
	var list []xLabel
	end := math.Inf(-1)
	for _, i := range c.ticks(g) {
		if i < 0 || i >= len(c.Labels) {
			continue
		}
		w := textWidth(c.Labels[i], g.font)
		x := g.x(i, len(c.Labels))
		x = math.Max(x, w/2+1)                  // not past the left edge
		x = math.Min(x, float64(g.width)-w/2-1) // nor the right one
		if x-w/2 < end+labelGap {
			continue
		}
		list = append(list, xLabel{i, x})
		end = x + w/2
	}
	return list
}

func (c Chart) bars(b *strings.Builder, g geom, id string, s int, series Series, colour string, ymax int) {
	n := len(c.Labels)
	band := g.plotWidth() / float64(max(n, 1))
	k := max(len(c.Series), 1)
	w := band * 0.8 / float64(k)
	for i, v := range series.Values {
		x := float64(g.left) + float64(i)*band + band*0.1 + float64(s)*w
		y := g.y(v, ymax)
		fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="0.75" data-value="%d"><title>%s: %s %s</title></rect>`+"\n",
			num(x), num(y), num(w), num(g.y(0, ymax)-y), fill(id, s, colour), colour, v, esc(c.label(i)), esc(c.count(v)), esc(series.Name))
	}
}

func (c Chart) lines(b *strings.Builder, g geom, id string, s int, series Series, colour string, ymax int) {
	n := len(c.Labels)
	var pts []string
	for i, v := range series.Values {
		pts = append(pts, num(g.x(i, n))+","+num(g.y(v, ymax)))
	}
	if len(pts) == 0 {
		return
	}
	if c.Style == Area {
		base := num(g.y(0, ymax))
		opacity := "0.25"
		if s > 0 {
			opacity = "0.5" // hatching is half background already
		}
		fmt.Fprintf(b, `<path class="area" d="M%s,%s L%s L%s,%s Z" fill="%s" fill-opacity="%s"/>`+"\n",
			num(g.x(0, n)), base, strings.Join(pts, " L"), num(g.x(len(series.Values)-1, n)), base, fill(id, s, colour), opacity)
	}
	fmt.Fprintf(b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="%d" stroke-linejoin="round"%s/>`+"\n",
		strings.Join(pts, " "), colour, lineWidthPix, dash(s))
	for i, v := range series.Values {
		fmt.Fprintf(b, `<circle class="point" cx="%s" cy="%s" r="%s" %s data-value="%d"><title>%s: %s %s</title></circle>`+"\n",
			num(g.x(i, n)), num(g.y(v, ymax)), num(pointRadius), pointPaint(s, colour), v, esc(c.label(i)), esc(c.count(v)), esc(series.Name))
	}
}

// dash is the stroke pattern of series s's line: solid for the first.
func dash(s int) string {
	if s == 0 {
		return ""
	}
	return ` stroke-dasharray="6 4"`
}

// pointPaint fills the first series' points; the others' are rings.
func pointPaint(s int, colour string) string {
	if s == 0 {
		return `fill="` + colour + `"`
	}
	return `fill="none" stroke="` + colour + `" stroke-width="1.5"`
}

func (c Chart) legend(b *strings.Builder, g geom, id string, palette []string) {
	font := g.font + 1
	fmt.Fprintf(b, `<g class="legend" fill="currentColor" font-size="%s">`+"\n", num(font))
	x := float64(g.left)
	for s, series := range c.Series {
		colour := palette[s%len(palette)]
		swatch := 12.0
		if c.Style == Bar {
			fmt.Fprintf(b, `<rect x="%s" y="8" width="12" height="12" fill="%s" stroke="%s" stroke-width="0.75"/>`, num(x), fill(id, s, colour), colour)
		} else {
			swatch = 18
			fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="14" y2="14" stroke="%s" stroke-width="%d"%s/><circle cx="%s" cy="14" r="%s" %s/>`,
				num(x), num(x+swatch), colour, lineWidthPix, dash(s), num(x+swatch/2), num(pointRadius), pointPaint(s, colour))
		}
		fmt.Fprintf(b, `<text x="%s" y="18">%s</text>`+"\n", num(x+swatch+4), esc(series.Name))
		x += swatch + 4 + textWidth(series.Name, font) + 16
	}
	b.WriteString("</g>\n")
}

func (c Chart) label(i int) string {
	if i < len(c.Labels) {
		return c.Labels[i]
	}
	return ""
}

// scale picks the top of the y axis and its step: steps of 1, 2 or 5 times
// a power of ten, about four of them, whole numbers only.
func scale(m int) (ymax, step int) {
	if m <= 0 {
		return 1, 1
	}
	raw := float64(m) / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 1
	for _, f := range []float64{1, 2, 5, 10} {
		if s := f * p; s >= raw {
			step = max(1, int(math.Ceil(s)))
			break
		}
	}
	ymax = step * ((m + step - 1) / step)
	return ymax, step
}

// num writes a coordinate with at most two decimals, the same on every machine.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }
