package chart

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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

// mark is a bar or a point of the drawing.
type mark struct {
	XMLName xml.Name
	Class   string `xml:"class,attr"`
	Value   string `xml:"data-value,attr"`
	Y       string `xml:"y,attr"`
	Height  string `xml:"height,attr"`
	CY      string `xml:"cy,attr"`
}

type group struct {
	Class string `xml:"class,attr"`
	Name  string `xml:"data-name,attr"`
	Marks []mark `xml:",any"`
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
			ymax, _ := scale(c.max())
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
					want := num(yOf(v, ymax))
					switch m.Class {
					case "bar":
						if m.Y != want || m.Height != num(yOf(0, ymax)-yOf(v, ymax)) {
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
