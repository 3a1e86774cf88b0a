package tui

// pane is one view's component: the area it draws in, its cursor and
// scroll position, its filter, and the snapshot rows it shows. The model
// owns one per view (and one for the drill-down), routes the terminal size
// down with SetSize, and recomputes the rows when a snapshot or the filter
// changes; rendering reads them.
type pane struct {
	width, height int
	list          list
	filter        string
	rows          []int // snapshot indexes shown, in display order, unless all
	all           bool  // no filter: every row, in the view's natural order
}

// SetSize sets the area the pane draws in.
func (p *pane) SetSize(w, h int) {
	p.width, p.height = max(w, 0), max(h, 0)
}
