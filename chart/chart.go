// Package chart draws small time-series charts as SVG on the server, so a
// page shows them without JavaScript and under a strict CSP: colours are
// presentation attributes, never style attributes.
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
	ID      string   // prefix of the ids of <title> and <desc>
	Title   string   // the accessible name
	Desc    string   // the accessible description
	Style   string   // Line, Area or Bar
	Labels  []string // one a bucket, as the person reads times
	Ticks   []int    // the buckets whose labels the x axis shows; nil for evenly spaced ones
	Series  []Series
	Legend  bool
	Palette []string         // one colour a series; Default when nil
	Count   func(int) string // writes a count on the axis and in the tooltips; strconv.Itoa when nil
}

// Geometry of the drawing, in viewBox units.
const (
	width, height             = 720, 240
	left, right, top, bottom  = 40, 12, 28, 36
	plotWidth, plotHeight     = width - left - right, height - top - bottom
	maxTicks                  = 8
	pointRadius, lineWidthPix = 2.5, 2
)

// SVG draws c. Every text it includes is escaped.
func SVG(c Chart) string {
	n := len(c.Labels)
	ymax, step := scale(c.max())
	palette := c.Palette
	if len(palette) == 0 {
		palette = Default
	}
	var b strings.Builder
	id := c.ID
	if id == "" {
		id = "chart"
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" class="chart chart-%s">`+"\n",
		width, height, esc(id), esc(id), esc(c.Style))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`+"\n", esc(id), esc(c.Title))
	fmt.Fprintf(&b, `<desc id="%s-desc">%s</desc>`+"\n", esc(id), esc(c.Desc))

	// Grid and y axis labels.
	b.WriteString(`<g class="axis y" fill="currentColor" font-size="11" text-anchor="end">` + "\n")
	for v := 0; v <= ymax; v += step {
		y := yOf(v, ymax)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="currentColor" stroke-opacity="0.15"/>`, left, width-right, num(y), num(y))
		fmt.Fprintf(&b, `<text x="%d" y="%s">%s</text>`+"\n", left-6, num(y+4), esc(c.count(v)))
	}
	b.WriteString("</g>\n")

	// X axis labels.
	b.WriteString(`<g class="axis x" fill="currentColor" font-size="11" text-anchor="middle">` + "\n")
	for _, i := range c.ticks() {
		fmt.Fprintf(&b, `<text x="%s" y="%d">%s</text>`+"\n", num(xOf(i, n)), height-bottom+16, esc(c.Labels[i]))
	}
	b.WriteString("</g>\n")

	for s, series := range c.Series {
		colour := palette[s%len(palette)]
		fmt.Fprintf(&b, `<g class="series s%d" data-name="%s">`+"\n", s, esc(series.Name))
		switch c.Style {
		case Bar:
			c.bars(&b, s, series, colour, ymax)
		default:
			c.lines(&b, series, colour, ymax)
		}
		b.WriteString("</g>\n")
	}
	if c.Legend {
		c.legend(&b, palette)
	}
	b.WriteString("</svg>\n")
	return b.String()
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

// ticks are the buckets to label: c.Ticks, or at most maxTicks spread evenly.
func (c Chart) ticks() []int {
	if c.Ticks != nil {
		return c.Ticks
	}
	every := max(1, (len(c.Labels)+maxTicks-1)/maxTicks)
	var list []int
	for i := 0; i < len(c.Labels); i += every {
		list = append(list, i)
	}
	return list
}

func (c Chart) bars(b *strings.Builder, s int, series Series, colour string, ymax int) {
	n := len(c.Labels)
	band := float64(plotWidth) / float64(max(n, 1))
	k := max(len(c.Series), 1)
	w := band * 0.8 / float64(k)
	for i, v := range series.Values {
		x := left + float64(i)*band + band*0.1 + float64(s)*w
		y := yOf(v, ymax)
		fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s" data-value="%d"><title>%s: %s %s</title></rect>`+"\n",
			num(x), num(y), num(w), num(yOf(0, ymax)-y), colour, v, esc(c.label(i)), esc(c.count(v)), esc(series.Name))
	}
}

func (c Chart) lines(b *strings.Builder, series Series, colour string, ymax int) {
	n := len(c.Labels)
	var pts []string
	for i, v := range series.Values {
		pts = append(pts, num(xOf(i, n))+","+num(yOf(v, ymax)))
	}
	if len(pts) == 0 {
		return
	}
	if c.Style == Area {
		base := num(yOf(0, ymax))
		fmt.Fprintf(b, `<path class="area" d="M%s,%s L%s L%s,%s Z" fill="%s" fill-opacity="0.25"/>`+"\n",
			num(xOf(0, n)), base, strings.Join(pts, " L"), num(xOf(len(series.Values)-1, n)), base, colour)
	}
	fmt.Fprintf(b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="%d" stroke-linejoin="round"/>`+"\n",
		strings.Join(pts, " "), colour, lineWidthPix)
	for i, v := range series.Values {
		fmt.Fprintf(b, `<circle class="point" cx="%s" cy="%s" r="%s" fill="%s" data-value="%d"><title>%s: %s %s</title></circle>`+"\n",
			num(xOf(i, n)), num(yOf(v, ymax)), num(pointRadius), colour, v, esc(c.label(i)), esc(c.count(v)), esc(series.Name))
	}
}

func (c Chart) legend(b *strings.Builder, palette []string) {
	b.WriteString(`<g class="legend" fill="currentColor" font-size="12">` + "\n")
	x := float64(left)
	for s, series := range c.Series {
		fmt.Fprintf(b, `<rect x="%s" y="8" width="12" height="12" fill="%s"/><text x="%s" y="18">%s</text>`+"\n",
			num(x), palette[s%len(palette)], num(x+16), esc(series.Name))
		x += 16 + 7.5*float64(len([]rune(series.Name))) + 20
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

// xOf and yOf place bucket i and value v; the tests check the drawing
// against them.
func xOf(i, n int) float64 {
	band := float64(plotWidth) / float64(max(n, 1))
	return left + band*(float64(i)+0.5)
}

func yOf(v, ymax int) float64 {
	return top + float64(plotHeight)*(1-float64(v)/float64(ymax))
}

// num writes a coordinate with at most two decimals, the same on every machine.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }
