package chart

import (
	"encoding/xml"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixed is the data set of the golden files: a week of sign-ins.
func fixed(style string) Chart {
	return Chart{
		ID:     "signins",
		Title:  "Sign-ins per day, last 7 days",
		Desc:   "12 successful and 5 failed sign-ins from Thu 20 Nov to Wed 26 Nov.",
		Style:  style,
		Labels: []string{"Thu 20", "Fri 21", "Sat 22", "Sun 23", "Mon 24", "Tue 25", "Wed 26"},
		Series: []Series{
			{Name: "Successful", Values: []int{2, 0, 1, 3, 4, 0, 2}},
			{Name: "Failed", Values: []int{0, 1, 0, 0, 3, 1, 0}},
		},
		Legend: true,
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		c    Chart
	}{
		{"line.svg", fixed(Line)},
		{"area.svg", fixed(Area)},
		{"bar.svg", fixed(Bar)},
		{"bar-safe-nolegend.svg", func() Chart { c := fixed(Bar); c.Palette, c.Legend = Safe, false; return c }()},
		{"bar-narrow.svg", func() Chart { c := fixed(Bar); c.Width, c.Class = Narrow, "chart-narrow"; return c }()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := SVG(tt.c)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./chart -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("got a different SVG from %s (go test ./chart -update rewrites it after a deliberate change):\n%s", path, got)
			}
			var any struct{}
			if err := xml.Unmarshal([]byte(got), &any); err != nil {
				t.Errorf("not well-formed XML: %v", err)
			}
		})
	}
}

// drawn is a bar or a point of the drawing.
type drawn struct {
	XMLName xml.Name
	Class   string `xml:"class,attr"`
	Value   string `xml:"data-value,attr"`
	Y       string `xml:"y,attr"`
	Height  string `xml:"height,attr"`
	CY      string `xml:"cy,attr"`
}

type group struct {
	Class string  `xml:"class,attr"`
	Name  string  `xml:"data-name,attr"`
	Mark  string  `xml:"data-mark,attr"`
	Marks []drawn `xml:",any"`
}

type svg struct {
	Title  string  `xml:"title"`
	Desc   string  `xml:"desc"`
	Groups []group `xml:"g"`
}

// TestMarksMatchTheData checks that every bar and point carries its
// bucket's number and is drawn at the height of that number.
func TestMarksMatchTheData(t *testing.T) {
	for _, style := range []string{Line, Area, Bar} {
		t.Run(style, func(t *testing.T) {
			c := fixed(style)
			var doc svg
			if err := xml.Unmarshal([]byte(SVG(c)), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Title != c.Title || doc.Desc != c.Desc {
				t.Errorf("title %q and desc %q, want %q and %q", doc.Title, doc.Desc, c.Title, c.Desc)
			}
			ymax, step := scale(c.max())
			gm := c.geom(ymax, step)
			seen := 0
			for _, g := range doc.Groups {
				if !strings.HasPrefix(g.Class, "series ") {
					continue
				}
				s := seen
				seen++
				if g.Name != c.Series[s].Name {
					t.Errorf("series %d is named %q, want %q", s, g.Name, c.Series[s].Name)
				}
				var values []int
				for _, m := range g.Marks {
					if m.Class != "bar" && m.Class != "point" {
						continue
					}
					v, err := strconv.Atoi(m.Value)
					if err != nil {
						t.Fatalf("data-value %q: %v", m.Value, err)
					}
					values = append(values, v)
					want := num(gm.y(v, ymax))
					switch m.Class {
					case "bar":
						if m.Y != want || m.Height != num(gm.y(0, ymax)-gm.y(v, ymax)) {
							t.Errorf("bar of %d: y %s height %s, want y %s", v, m.Y, m.Height, want)
						}
					case "point":
						if m.CY != want {
							t.Errorf("point of %d: cy %s, want %s", v, m.CY, want)
						}
					}
				}
				if got, want := join(values), join(c.Series[s].Values); got != want {
					t.Errorf("series %s: got values %s, want %s", c.Series[s].Name, got, want)
				}
			}
			if seen != len(c.Series) {
				t.Errorf("got %d series, want %d", seen, len(c.Series))
			}
		})
	}
}

func join(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, " ")
}

func TestScale(t *testing.T) {
	tests := []struct{ m, ymax, step int }{
		{0, 1, 1}, {1, 1, 1}, {3, 3, 1}, {4, 4, 1}, {7, 8, 2}, {9, 10, 5}, {17, 20, 5}, {40, 40, 10}, {99, 100, 50}, {130, 150, 50},
	}
	for _, tt := range tests {
		if ymax, step := scale(tt.m); ymax != tt.ymax || step != tt.step {
			t.Errorf("scale(%d): got %d step %d, want %d step %d", tt.m, ymax, step, tt.ymax, tt.step)
		}
	}
}

// TestCount: the axis and the tooltips write counts with Chart.Count, and
// the data-value attributes stay plain numbers.
func TestCount(t *testing.T) {
	for _, style := range []string{Line, Bar} {
		c := fixed(style)
		c.Series[0].Values[4] = 1234
		c.Count = func(n int) string { return "#" + strconv.Itoa(n) }
		got := SVG(c)
		for _, want := range []string{`>#0</text>`, `: #1234 Successful</title>`, `data-value="1234"`} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: no %q in\n%s", style, want, got)
			}
		}
		if strings.Contains(got, `: 1234 `) {
			t.Errorf("%s: a count written without Count:\n%s", style, got)
		}
	}
}

// TestSeriesApartWithoutColour draws both series in one grey: the failed
// ones must still look different from the successful ones, in the drawing
// and in the legend (hatched bars and areas, a dashed line, ring points).
func TestSeriesApartWithoutColour(t *testing.T) {
	for _, style := range []string{Bar, Line, Area} {
		c := fixed(style)
		c.Palette = []string{"#777777", "#777777"}
		got := SVG(c)
		series := regexp.MustCompile(`(?s)<g class="series s(\d)" data-name="[^"]*" data-mark="(\w+)">(.*?)</g>`).FindAllStringSubmatch(got, -1)
		if len(series) != 2 || series[0][2] != "solid" || series[1][2] != "hatched" {
			t.Fatalf("%s: series marks %v, want solid then hatched", style, series)
		}
		// Each series' drawing without its numbers and texts: what the eye sees.
		look := func(s string) string {
			s = regexp.MustCompile(`<title>.*?</title>|data-value="\d+"|(x|y|cx|cy|height|points|d)="[^"]*"`).ReplaceAllString(s, "")
			return s
		}
		if look(series[0][3]) == look(series[1][3]) {
			t.Errorf("%s: in one colour the two series are drawn alike:\n%s", style, got)
		}
		switch style {
		case Bar:
			if !strings.Contains(series[1][3], `fill="url(#signins-hatch-1)"`) || strings.Contains(series[0][3], "url(") ||
				!strings.Contains(got, `<pattern id="signins-hatch-1"`) {
				t.Errorf("bar: failed bars not hatched:\n%s", got)
			}
		case Line, Area:
			if !strings.Contains(series[1][3], `stroke-dasharray="6 4"`) || strings.Contains(series[0][3], "stroke-dasharray") ||
				!strings.Contains(series[1][3], `class="point" cx="87.71" cy="204" r="2.5" fill="none"`) {
				t.Errorf("%s: failed line not dashed with rings:\n%s", style, got)
			}
		}
		legend := regexp.MustCompile(`(?s)<g class="legend"[^>]*>(.*?)</g>`).FindStringSubmatch(got)
		if legend == nil {
			t.Fatalf("%s: no legend", style)
		}
		items := strings.Split(strings.TrimSpace(legend[1]), "\n")
		if len(items) != 2 || look(strings.Split(items[0], "<text")[0]) == look(strings.Split(items[1], "<text")[0]) {
			t.Errorf("%s: in one colour the legend's two swatches are alike: %q", style, items)
		}
	}
}

// label is an x axis label as drawn.
type label struct {
	X    string `xml:"x,attr"`
	Text string `xml:",chardata"`
}

// TestLegibleOnAPhone: the narrow drawing has a viewBox no wider than a
// 375 px screen's content, so one unit is at least a CSS pixel there and
// its text at least 12 px; it scales with the page (width 100%, no fixed
// height); and for every range the sign-in chart has (24 hours, 7, 30 and
// 90 days) its x labels stay inside it without running into each other.
func TestLegibleOnAPhone(t *testing.T) {
	hours := make([]string, 24)
	for i := range hours {
		hours[i] = fmt.Sprintf("%02d:00", i)
	}
	days := func(n int, format string) []string {
		var l []string
		d := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			l = append(l, d.AddDate(0, 0, i).Format(format))
		}
		return l
	}
	weekly := func(n, every int) []int {
		var l []int
		for i := 0; i < n; i += every {
			l = append(l, i)
		}
		return l
	}
	tests := []struct {
		name   string
		labels []string
		ticks  []int
	}{
		{"24 hours", hours, nil},
		{"7 days", days(7, "Mon 2"), nil},
		{"30 days", days(30, "2 Jan"), weekly(30, 7)},
		{"90 days", days(90, "2 Jan"), weekly(90, 14)},
	}
	for _, tt := range tests {
		for _, width := range []int{Narrow, Wide} {
			c := fixed(Bar)
			c.Width, c.Labels, c.Ticks = width, tt.labels, tt.ticks
			c.Series = []Series{{Name: "Successful", Values: make([]int, len(tt.labels))}, {Name: "Failed", Values: make([]int, len(tt.labels))}}
			c.Series[0].Values[0] = 1234
			c.Count = func(n int) string { return strconv.FormatFloat(float64(n)/1000, 'f', 3, 64) } // as wide as 1,234
			got := SVG(c)
			var doc struct {
				ViewBox string `xml:"viewBox,attr"`
				Width   string `xml:"width,attr"`
				Height  string `xml:"height,attr"`
				Groups  []struct {
					Class  string  `xml:"class,attr"`
					Font   string  `xml:"font-size,attr"`
					Labels []label `xml:"text"`
				} `xml:"g"`
			}
			if err := xml.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatal(err)
			}
			var vw, vh int
			if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &vw, &vh); err != nil || vw != width {
				t.Fatalf("%s at %d: viewBox %q", tt.name, width, doc.ViewBox)
			}
			if doc.Width != "100%" || doc.Height != "" {
				t.Errorf("%s at %d: width %q height %q, want 100%% and none, so it scales with the page", tt.name, width, doc.Width, doc.Height)
			}
			const phone = 375 - 2*16 // the content of a 375 px screen
			if width == Narrow && vw > phone {
				t.Errorf("%s: the narrow viewBox is %d wide, more than a phone's %d px", tt.name, vw, phone)
			}
			for _, g := range doc.Groups {
				if !strings.HasPrefix(g.Class, "axis") && g.Class != "legend" {
					continue
				}
				font, _ := strconv.ParseFloat(g.Font, 64)
				if width == Narrow && font < 12 {
					t.Errorf("%s: %s text %s units, under 12 px on a phone", tt.name, g.Class, g.Font)
				}
				if g.Class != "axis x" {
					continue
				}
				if len(g.Labels) < 3 {
					t.Errorf("%s at %d: only %d x labels", tt.name, width, len(g.Labels))
				}
				end := math.Inf(-1)
				for _, l := range g.Labels {
					x, _ := strconv.ParseFloat(l.X, 64)
					w := textWidth(l.Text, font)
					if x-w/2 < 0 || x+w/2 > float64(vw) {
						t.Errorf("%s at %d: label %q at %s sticks out of the drawing", tt.name, width, l.Text, l.X)
					}
					if x-w/2 < end+labelGap {
						t.Errorf("%s at %d: label %q at %s runs into the one before", tt.name, width, l.Text, l.X)
					}
					end = x + w/2
				}
			}
			// The y labels fit left of the plot.
			gm := c.geom(scale(c.max()))
			if float64(gm.left-6) < textWidth(c.count(1500), gm.font) {
				t.Errorf("%s at %d: left margin %d too small for %q", tt.name, width, gm.left, c.count(1500))
			}
		}
	}
}
