package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// column describes one table column.
type column struct {
	title string
	width int  // width in cells (the minimum for a flexible column)
	flex  bool // takes the width left over by the fixed columns
	right bool // right-aligned
	// drop ranks optional columns: when the table is too wide, columns
	// with the highest drop are left out first; 0 is never dropped.
	drop int
}

// cell is one table cell: plain text and an optional style.
type cell struct {
	text  string
	style *lipgloss.Style
}

// layoutColumns decides which columns show at width (a gap of one space
// between columns, and one cell for the cursor marker) and their widths.
// It returns the widths, with -1 for a dropped column.
func layoutColumns(cols []column, width int) []int {
	widths := make([]int, len(cols))
	shown := make([]bool, len(cols))
	for i := range cols {
		shown[i] = true
	}
	need := func() int {
		n := 1 // cursor marker
		first := true
		for i, c := range cols {
			if !shown[i] {
				continue
			}
			if !first {
				n++
			}
			first = false
			n += c.width
		}
		return n
	}
	for need() > width {
		worst := -1
		for i, c := range cols {
			if shown[i] && c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		shown[worst] = false
	}
	spare := max(width-need(), 0)
	flexCount := 0
	for i, c := range cols {
		if shown[i] && c.flex {
			flexCount++
		}
	}
	for i, c := range cols {
		switch {
		case !shown[i]:
			widths[i] = -1
		case c.flex && flexCount > 0:
			extra := spare / flexCount
			widths[i] = c.width + extra
			spare -= extra
			flexCount--
		default:
			widths[i] = c.width
		}
	}
	return widths
}

// table renders a header and rows into exactly height lines of at most
// width cells each. rows(i) returns the cells of row i; only visible rows
// are asked for.
type table struct {
	cols   []column
	n      int // number of rows
	cursor int // -1: no cursor
	offset int
	rows   func(i int) []cell
	empty  string // shown when n == 0
}

func (t *table) render(st *Styles, width, height int) []string {
	lines := make([]string, 0, height)
	if height <= 0 || width <= 0 {
		return lines
	}
	widths := layoutColumns(t.cols, width)
	var hb strings.Builder
	hb.WriteByte(' ')
	first := true
	for i, c := range t.cols {
		if widths[i] < 0 {
			continue
		}
		if !first {
			hb.WriteByte(' ')
		}
		first = false
		if c.right {
			hb.WriteString(padLeft(c.title, widths[i]))
		} else {
			hb.WriteString(pad(c.title, widths[i]))
		}
	}
	lines = append(lines, st.Header.Render(fit(strings.TrimRight(hb.String(), " "), width)))
	if t.n == 0 {
		if height > 1 {
			lines = append(lines, st.Muted.Render(fit(" "+t.empty, width)))
		}
		return lines
	}
	for i := t.offset; i < t.n && len(lines) < height; i++ {
		cells := t.rows(i)
		selected := i == t.cursor
		var plain, styled strings.Builder
		marker := " "
		if selected {
			marker = ">"
		}
		plain.WriteString(marker)
		styled.WriteString(marker)
		first := true
		for ci, c := range t.cols {
			if widths[ci] < 0 {
				continue
			}
			if !first {
				plain.WriteByte(' ')
				styled.WriteByte(' ')
			}
			first = false
			var cl cell
			if ci < len(cells) {
				cl = cells[ci]
			}
			var txt string
			if c.right {
				txt = padLeft(cl.text, widths[ci])
			} else {
				txt = pad(cl.text, widths[ci])
			}
			plain.WriteString(txt)
			if cl.style != nil && !selected {
				styled.WriteString(cl.style.Render(txt))
			} else {
				styled.WriteString(txt)
			}
		}
		if selected {
			lines = append(lines, st.Selected.Render(fit(plain.String(), width)))
		} else {
			lines = append(lines, styled.String())
		}
	}
	return lines
}

// list is a cursor and scroll offset over n rows shown height at a time.
type list struct {
	cursor, offset int
}

// clamp keeps the cursor inside n rows and visible in a window of height.
func (l *list) clamp(n, height int) {
	if n <= 0 {
		l.cursor, l.offset = 0, 0
		return
	}
	l.cursor = min(max(l.cursor, 0), n-1)
	if height <= 0 {
		return
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+height {
		l.offset = l.cursor - height + 1
	}
	l.offset = min(max(l.offset, 0), max(n-height, 0))
}

// move moves the cursor by delta rows.
func (l *list) move(delta, n, height int) {
	l.cursor += delta
	l.clamp(n, height)
}
