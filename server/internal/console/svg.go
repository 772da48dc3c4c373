package console

import (
	"fmt"
	"html/template"
	"strings"
)

// svg is a chart drawn on the server as inline SVG markup: the console
// fetches no chart library, and the page works on an intranet.
type svg string

// bar is one row of a bar chart: done out of total.
type bar struct {
	Label       string
	Done, Total int64
}

// barChart draws a horizontal bar per row, the done part filled and the
// rest pale, with "done / total" and the share at its end. title is the
// chart's accessible name.
func barChart(title string, rows []bar) svg {
	const (
		width  = 640
		labelW = 150
		barW   = 360
		rowH   = 30
	)
	height := rowH*len(rows) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		width, height, template.HTMLEscapeString(title))
	for i, r := range rows {
		y := 5 + i*rowH
		filled := 0
		if r.Total > 0 {
			filled = int(int64(barW) * min(r.Done, r.Total) / r.Total)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="14" fill="#333">%s</text>`, labelW-8, y+18, template.HTMLEscapeString(r.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="20" rx="3" fill="#f3d9d6"/>`, labelW, y+3, barW)
		if filled > 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="20" rx="3" fill="#c0392b"/>`, labelW, y+3, filled)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" fill="#333">%d / %d（%d%%）</text>`, labelW+barW+8, y+18, r.Done, r.Total, percent(r.Done, r.Total))
	}
	b.WriteString(`</svg>`)
	return svg(b.String())
}
