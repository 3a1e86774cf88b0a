package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Screen layout: header (2 lines), calculator panel (2), tabs (1), content,
// status line (1), footer (1).
const (
	chromeTop    = 5
	chromeBottom = 2
	// recentPanel is the height of the recent-rebalances panel under the
	// workers table on tall terminals, shown from minRecentContent up.
	recentPanel      = 8
	minRecentContent = 22
)

// seg is a piece of a line: plain text and its style.
type seg struct {
	text  string
	style *lipgloss.Style
}

// segs lays pieces out on one line of at most width cells: plain text
// first, cut to fit, then styled.
func segs(width int, parts ...seg) string {
	var b strings.Builder
	used := 0
	for _, p := range parts {
		if used >= width {
			break
		}
		t := fit(p.text, width-used)
		used += textWidth(t)
		if p.style != nil {
			b.WriteString(p.style.Render(t))
		} else {
			b.WriteString(t)
		}
	}
	return b.String()
}

// contentHeight is the number of lines between the tabs and the status
// line.
func (m *Model) contentHeight() int { return max(m.height-chromeTop-chromeBottom, 0) }

// workersTableHeight is the workers table's height, header included.
// On tall terminals the recent rebalances panel takes what the workers do
// not need, and at least recentPanel lines.
func (m *Model) workersTableHeight() int {
	ch := m.panes[ViewWorkers].height
	if ch >= minRecentContent && len(m.snap.History) > 0 {
		need := max(m.rowCount(ViewWorkers)+1, 2)
		return min(need, ch-recentPanel)
	}
	return ch
}

// listRows is the number of data rows view v shows at once.
func (m *Model) listRows(v View) int {
	ch := m.panes[v].height
	switch v {
	case ViewWorkers:
		return max(m.workersTableHeight()-1, 1)
	case ViewAssignments:
		return max(ch-1, 1)
	case ViewHistory:
		return max(ch-historyChartLines-1, 1)
	case ViewEvents:
		return max(ch-2, 1)
	case viewDetail:
		_, _, rows := m.detailGrid()
		return max(rows, 1)
	}
	return 1
}

// View renders the screen: exactly height lines, none wider than width.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	w := m.width
	lines := make([]string, 0, m.height+4)
	lines = append(lines, m.headerLine(w), m.leaderLine(w), m.calcLine(w), m.breakerLine(w), m.tabsLine(w))
	ch := m.contentHeight()
	content := m.content()
	for i := range ch {
		if i < len(content) {
			lines = append(lines, content[i])
		} else {
			lines = append(lines, "")
		}
	}
	lines = append(lines, m.statusLine(w), m.footerLine(w))
	if len(lines) > m.height {
		lines = lines[:m.height] // shorter than the chrome: keep the top
	}
	for i, l := range lines {
		if len(l) > w && screenWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return strings.Join(lines, "\n")
}

// group is a run of pieces that is shown whole or not at all.
type group struct {
	parts []seg
	rank  int // 0: always shown; when the line is too long the highest ranks go first
}

func groupWidth(g group) int {
	n := 0
	for _, p := range g.parts {
		n += textWidth(p.text)
	}
	return n
}

// groups lays groups out on one line of at most width cells, leaving out
// the least important groups (highest rank) until the rest fits; what
// still does not fit is cut.
func groups(width int, gs ...group) string {
	total, top := 0, 0
	for _, g := range gs {
		total += groupWidth(g)
		top = max(top, g.rank)
	}
	for r := top; total > width && r > 0; r-- {
		kept := gs[:0:0]
		for _, g := range gs {
			if g.rank == r {
				total -= groupWidth(g)
				continue
			}
			kept = append(kept, g)
		}
		gs = kept
	}
	var parts []seg
	for _, g := range gs {
		parts = append(parts, g.parts...)
	}
	return segs(width, parts...)
}

// fits reports whether the groups fit width without leaving any out.
func fits(width int, gs []group) bool {
	total := 0
	for _, g := range gs {
		total += groupWidth(g)
	}
	return total <= width
}

// headerLine: who, where, connection, version, partitions, workers.
func (m *Model) headerLine(w int) string {
	gs := m.headerGroups(false)
	if !fits(w, gs) {
		gs = m.headerGroups(true)
	}
	return groups(w, gs...)
}

func (m *Model) headerGroups(compact bool) []group {
	st := &m.st
	s := &m.snap
	title := "parti top"
	if m.d.Attached {
		title = "parti run --tui"
	}
	gs := []group{{parts: []seg{{title, &st.Title}}}}
	if !m.have {
		return append(gs, group{parts: []seg{{"  waiting for the first snapshot…", &st.Muted}}})
	}
	if s.Stale() {
		gs = append(gs, group{parts: []seg{{"  ", nil}, {fmt.Sprintf(" STALE: NATS %s; data is %s old (%s) ",
			s.Conn.State, age(m.now, s.FreshAt), clock(s.FreshAt, m.d.Location)), &st.Banner}}})
	}
	if n := s.Node; n != nil {
		gs = append(gs, group{parts: []seg{{"  node ", &st.Label}, {n.ID, &st.Value}, {" (" + n.State + ")", nodeStyle(st, n)}}})
	}
	ver := "none"
	if s.Version > 0 {
		ver = "v" + strconv.FormatUint(s.Version, 10)
	}
	alive, present := s.AliveCount(m.now)
	ws := &st.OK
	if alive < present || present == 0 {
		ws = &st.Warn
	}
	conn := []seg{{"  ● connected ", &st.OK}, {s.URL, nil}}
	if s.Stale() {
		conn = []seg{{"  ● " + s.Conn.State.String() + " ", &st.Bad}, {s.URL, nil}}
	}
	counts := fmt.Sprintf("%d/%d", alive, present)
	parts := strconv.Itoa(len(s.Partitions))
	if compact {
		gs = append(gs,
			group{parts: []seg{{"  " + s.Cluster, &st.Value}}},
			group{parts: []seg{{"  " + ver, &st.Value}}},
			group{parts: []seg{{"  " + parts, &st.Value}, {" parts", &st.Label}}, rank: 2},
			group{parts: []seg{{"  " + counts, ws}, {" alive", &st.Label}}},
			group{parts: conn, rank: 1})
	} else {
		gs = append(gs,
			group{parts: []seg{{"  cluster ", &st.Label}, {s.Cluster, &st.Value}}},
			group{parts: []seg{{"  assignment ", &st.Label}, {ver, &st.Value}}},
			group{parts: []seg{{"  partitions ", &st.Label}, {parts, &st.Value}}, rank: 2},
			group{parts: []seg{{"  workers alive ", &st.Label}, {counts, ws}}},
			group{parts: conn, rank: 1})
	}
	if !s.Synced && !s.Stale() {
		gs = append(gs, group{parts: []seg{{"  (syncing…)", &st.Muted}}, rank: 3})
	}
	return gs
}

func nodeStyle(st *Styles, n *Node) *lipgloss.Style {
	switch n.State {
	case "stable":
		return &st.OK
	case "degraded", "stopped":
		return &st.Bad
	}
	return &st.Warn
}

// leaderLine: the leader, its epoch and since when.
func (m *Model) leaderLine(w int) string {
	st := &m.st
	s := &m.snap
	if !m.have {
		return ""
	}
	l := s.Leader
	if l == nil {
		return groups(w, group{parts: []seg{{"leader ", &st.Label}, {"NONE", &st.Bad}}},
			group{parts: []seg{{": no worker holds the leader key; nothing is rebalanced until one is elected", &st.Muted}}})
	}
	gs := []group{{parts: []seg{{"leader ", &st.Label}, {"★ " + l.ID, &st.Leader}}}}
	if l.Epoch == 0 {
		gs = append(gs, group{parts: []seg{{"  taking office", &st.Warn}}})
	} else {
		gs = append(gs, group{parts: []seg{{"  epoch ", &st.Label}, {strconv.FormatUint(l.Epoch, 10), &st.Value}}})
	}
	gs = append(gs, group{parts: []seg{{"  since ", &st.Label}, {clock(l.Since, m.d.Location), nil}}},
		group{parts: []seg{{" (" + age(m.now, l.Since) + " ago)", nil}}, rank: 1})
	if !l.Renewed.IsZero() {
		gs = append(gs, group{parts: []seg{{"  renewed ", &st.Label}, {age(m.now, l.Renewed) + " ago", nil}}, rank: 3})
	}
	if s.WorkerTTL > 0 {
		gs = append(gs, group{parts: []seg{{"  heartbeat ttl ", &st.Label}, {dur(s.WorkerTTL), nil}}, rank: 2})
	}
	return groups(w, gs...)
}

// calcStale is how old (in seconds) a remote calculator status may be
// before it is flagged: the leader rewrites it every second.
const calcStale = 3

// calcLine: the calculator's state and how long it has been in it.
func (m *Model) calcLine(w int) string {
	st := &m.st
	s := &m.snap
	if !m.have {
		return ""
	}
	c := s.Calculator
	if c == nil {
		return segs(w, seg{"calculator ", &st.Label}, seg{"unknown: no leader has published a status yet", &st.Muted})
	}
	gs := []group{{parts: []seg{{"calculator ", &st.Label}, {c.State, stateStyle(st, c.State)},
		{" for " + age(m.now, c.Since), nil}}}}
	if c.Pending != "" {
		p := "  pending " + c.Pending
		if !c.PendingDue.IsZero() {
			p += " in " + dur(c.PendingDue.Sub(m.now))
		}
		gs = append(gs, group{parts: []seg{{p, &st.Warn}}, rank: 1})
	}
	if c.Version > 0 {
		gs = append(gs, group{parts: []seg{{"  published ", &st.Label}, {"v" + strconv.FormatUint(c.Version, 10), nil}}, rank: 3})
	}
	switch {
	case s.Leader == nil:
		gs = append(gs, group{parts: []seg{{fmt.Sprintf("  (last known, from %s, %s old)", c.Leader, age(m.now, c.Updated)), &st.Warn}}})
	case c.Leader != "" && c.Leader != s.Leader.ID:
		gs = append(gs, group{parts: []seg{{fmt.Sprintf("  (from former leader %s, %s old)", c.Leader, age(m.now, c.Updated)), &st.Warn}}})
	case !c.Live && !c.Updated.IsZero() && m.now.Sub(c.Updated).Seconds() > calcStale:
		gs = append(gs, group{parts: []seg{{fmt.Sprintf("  (status %s old)", age(m.now, c.Updated)), &st.Warn}}})
	case c.Live:
		gs = append(gs, group{parts: []seg{{"  (live: this node leads)", &st.Muted}}, rank: 2})
	}
	return groups(w, gs...)
}

func stateStyle(st *Styles, state string) *lipgloss.Style {
	switch state {
	case "idle":
		return &st.OK
	case "emergency", "backing-off", "stopped":
		return &st.Bad
	}
	return &st.Warn
}

// breakerLine: the circuit breaker and the last error.
func (m *Model) breakerLine(w int) string {
	st := &m.st
	if !m.have {
		return ""
	}
	c := m.snap.Calculator
	if c == nil {
		return segs(w, seg{"breaker ", &st.Label}, seg{"unknown", &st.Muted})
	}
	b := c.Breaker
	bs := &st.OK
	switch b.State {
	case "open":
		bs = &st.Bad
	case "half-open":
		bs = &st.Warn
	}
	name := b.State
	if name == "" {
		name = "unknown"
	}
	gs := []group{
		{parts: []seg{{"breaker ", &st.Label}, {name, bs}}},
		{parts: []seg{{"  failures ", &st.Label}, {strconv.Itoa(b.Failures), nil}}},
		{parts: []seg{{"  opens ", &st.Label}, {strconv.FormatUint(b.Opens, 10), nil}}, rank: 3},
	}
	if !b.NextRetry.IsZero() {
		gs = append(gs, group{parts: []seg{{"  next retry ", &st.Label}, {"in " + dur(b.NextRetry.Sub(m.now)), &st.Warn}}},
			group{parts: []seg{{" (" + clock(b.NextRetry, m.d.Location) + ")", &st.Warn}}, rank: 2})
	}
	le := group{parts: []seg{{"  last error ", &st.Label}, {"none", &st.Muted}}}
	if c.LastError != "" {
		le.parts[1] = seg{c.LastError, &st.Bad}
	}
	// The last error goes last and is cut rather than left out.
	reserve := min(groupWidth(le), max(w/3, 20))
	line := groups(max(w-reserve, 0), gs...)
	return line + segs(max(w-ansi.StringWidth(line), 0), le.parts...)
}

// tabsLine: the views, with row counts, and what is on screen.
func (m *Model) tabsLine(w int) string {
	st := &m.st
	var parts []seg
	for v := range numViews {
		t := fmt.Sprintf(" %d %s %d ", v+1, v, m.length(v))
		if v == m.view {
			parts = append(parts, seg{t, &st.TabActive})
		} else {
			parts = append(parts, seg{t, &st.TabIdle})
		}
		parts = append(parts, seg{" ", nil})
	}
	if m.detail != "" {
		parts = append(parts, seg{"» worker " + m.detail + " ", &st.Value})
	}
	if m.dry != nil {
		parts = append(parts, seg{"» dry run ", &st.Value})
	}
	if m.help {
		parts = append(parts, seg{"» help ", &st.Value})
	}
	if m.paused {
		parts = append(parts, seg{fmt.Sprintf(" PAUSED %s, %s held ", age(m.d.Now(), m.pausedAt), plural(m.heldN, "update")), &st.Banner})
	}
	if m.closed {
		parts = append(parts, seg{" source stopped ", &st.Banner})
	}
	return segs(w, parts...)
}

// statusLine: the confirmation prompt, the filter being typed, or the
// latest message.
func (m *Model) statusLine(w int) string {
	st := &m.st
	v := m.target()
	switch {
	case m.confirm:
		return groups(w, group{parts: []seg{{fmt.Sprintf("Force a rebalance of cluster %s now? ", m.snap.Cluster), &st.Warn},
			{"y", &st.Key}, {" yes  ", nil}, {"any other key", &st.Key}, {" no", nil}}},
			group{parts: []seg{{"  (publishes a new version; partitions may move)", &st.Muted}}, rank: 1})
	case m.editing:
		return segs(w, seg{"filter " + viewLabel(v, m.detail) + ": ", &st.Label}, seg{"/" + m.panes[v].filter + "█", &st.Value},
			seg{fmt.Sprintf("  %d of %d  (enter keeps, esc clears)", m.rowCount(v), m.filterBase(v)), &st.Muted})
	case m.message != "":
		if m.messageBad {
			return segs(w, seg{m.message, &st.Bad})
		}
		return segs(w, seg{m.message, &st.Value})
	case m.panes[v].filter != "":
		return segs(w, seg{"filter ", &st.Label}, seg{"/" + m.panes[v].filter, &st.Value},
			seg{fmt.Sprintf("  %d of %d  (/ edits, esc clears)", m.rowCount(v), m.filterBase(v)), &st.Muted})
	}
	return ""
}

// filterBase is the number of rows a filter of view v picks from.
func (m *Model) filterBase(v View) int {
	if v == viewDetail {
		if w := m.snap.Worker(m.detail); w != nil {
			return w.Partitions
		}
	}
	return m.length(v)
}

func viewLabel(v View, detail string) string {
	if v == viewDetail {
		return detail + "'s partitions"
	}
	return strings.ToLower(v.String())
}

// footerLine: the main keys; the less important ones are left out when the
// terminal is narrow.
func (m *Model) footerLine(w int) string {
	st := &m.st
	k := &m.keys
	type item struct {
		key, desc string
		rank      int // lower is kept longer
	}
	items := []item{
		{k.NextView.Help().Key + "/1-4", "views", 3},
		{k.Enter.Help().Key, "open", 5},
		{k.Filter.Help().Key, "filter", 4},
		{k.Rebalance.Help().Key, "rebalance", 2},
		{k.DryRun.Help().Key, "dry-run", 6},
		{k.Pause.Help().Key, "pause", 7},
		{k.Help.Help().Key, "help", 1},
	}
	if m.d.Attached {
		items = append(items, item{k.Quit.Help().Key, "detach (node keeps running)", 0},
			item{k.Interrupt.Help().Key, "stop node", 0})
	} else {
		items = append(items, item{k.Quit.Help().Key, "quit", 0})
	}
	size := func(it item) int { return textWidth(it.key) + 1 + textWidth(it.desc) + 2 }
	total := 0
	for _, it := range items {
		total += size(it)
	}
	for rank := 7; total-2 > w && rank > 0; rank-- {
		for i := 0; i < len(items); i++ {
			if items[i].rank == rank {
				total -= size(items[i])
				items = append(items[:i], items[i+1:]...)
				i--
			}
		}
	}
	var parts []seg
	for i, it := range items {
		sep := "  "
		if i == len(items)-1 {
			sep = ""
		}
		parts = append(parts, seg{it.key, &st.Key}, seg{" " + it.desc + sep, &st.Muted})
	}
	return segs(w, parts...)
}

// content renders the area between the tabs and the status line: the
// current pane at the size routed to it.
func (m *Model) content() []string {
	p := &m.panes[m.target()]
	w, h := p.width, p.height
	switch {
	case h <= 0:
		return nil
	case m.help:
		return m.helpView(w, h)
	case !m.have:
		return []string{"", m.st.Muted.Render(fit("  Waiting for the first snapshot from the cluster…", w))}
	case m.dry != nil:
		return m.dryRunView(w, h)
	case m.detail != "":
		return m.detailView(w, h)
	}
	switch m.view {
	case ViewAssignments:
		return m.assignmentsView(w, h)
	case ViewHistory:
		return m.historyView(w, h)
	case ViewEvents:
		return m.eventsView(w, h)
	}
	return m.workersView(w, h)
}
