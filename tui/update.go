package tui

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// key handles a key press. Modal states come first: the confirmation
// prompt, the filter being typed, the help screen.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	km := &m.keys
	if key.Matches(k, km.Interrupt) {
		return m.quit(true)
	}
	if m.confirm {
		m.confirm = false
		if key.Matches(k, km.Confirm) {
			return m.startRebalance(false)
		}
		m.setMessage("force rebalance cancelled", false)
		return nil
	}
	if m.editing {
		m.editFilter(k)
		return nil
	}
	if m.help {
		switch {
		case key.Matches(k, km.Quit):
			return m.quit(false)
		case key.Matches(k, km.Help, km.Back):
			m.help = false
		}
		return nil
	}
	switch {
	case key.Matches(k, km.Quit):
		return m.quit(false)
	case key.Matches(k, km.Help):
		m.help = true
	case key.Matches(k, km.NextView):
		m.switchView((m.view + 1) % numViews)
	case key.Matches(k, km.PrevView):
		m.switchView((m.view + numViews - 1) % numViews)
	case key.Matches(k, km.Workers):
		m.switchView(ViewWorkers)
	case key.Matches(k, km.Assignments):
		m.switchView(ViewAssignments)
	case key.Matches(k, km.History):
		m.switchView(ViewHistory)
	case key.Matches(k, km.Events):
		m.switchView(ViewEvents)
	case key.Matches(k, km.Up):
		m.scroll(-1)
	case key.Matches(k, km.Down):
		m.scroll(1)
	case key.Matches(k, km.PageUp):
		m.scroll(-max(m.pageRows(), 1))
	case key.Matches(k, km.PageDown):
		m.scroll(max(m.pageRows(), 1))
	case key.Matches(k, km.Top):
		m.scroll(-1 << 30)
	case key.Matches(k, km.Bottom):
		m.scroll(1 << 30)
	case key.Matches(k, km.Enter):
		m.drill()
	case key.Matches(k, km.Back):
		m.back()
	case key.Matches(k, km.Filter):
		m.dry = nil
		m.editing = true
	case key.Matches(k, km.Rebalance):
		switch {
		case m.d.Rebalance == nil:
			m.setMessage("rebalance is not available here", true)
		case m.inflight > 0:
			m.setMessage("a request is already in flight", true)
		default:
			m.confirm = true
		}
	case key.Matches(k, km.DryRun):
		switch {
		case m.d.Rebalance == nil:
			m.setMessage("dry run is not available here", true)
		case m.inflight > 0:
			m.setMessage("a request is already in flight", true)
		default:
			return m.startRebalance(true)
		}
	case key.Matches(k, km.Pause):
		m.togglePause()
	}
	return nil
}

// quit ends the program. In `parti run --tui`, ctrl+c stops the node and
// q detaches from it.
func (m *Model) quit(interrupt bool) tea.Cmd {
	switch {
	case !m.d.Attached:
		m.outcome = OutcomeQuit
	case interrupt:
		m.outcome = OutcomeStop
	default:
		m.outcome = OutcomeDetach
	}
	return tea.Quit
}

func (m *Model) setMessage(s string, bad bool) {
	m.message, m.messageBad = s, bad
}

// target is the view whose list and filter the keys act on.
func (m *Model) target() View {
	if m.detail != "" {
		return viewDetail
	}
	return m.view
}

func (m *Model) switchView(v View) {
	m.view, m.detail, m.dry = v, "", nil
	m.clampLists()
}

// scroll moves the cursor of the current list (or the dry-run result).
func (m *Model) scroll(delta int) {
	if m.dry != nil {
		m.dry.offset = min(max(m.dry.offset+delta, 0), max(len(m.dry.workers)-1, 0))
		return
	}
	v := m.target()
	if v == viewDetail {
		_, total, visible := m.detailGrid()
		l := &m.panes[v].list
		l.offset = min(max(l.offset+delta, 0), max(total-visible, 0))
		return
	}
	m.panes[v].list.move(delta, m.rowCount(v), m.pageRows())
}

// drill opens the worker under the cursor: the selected worker in the
// workers view, the owner of the selected partition in the assignments view.
func (m *Model) drill() {
	if m.detail != "" || m.dry != nil {
		return
	}
	var id string
	switch m.view {
	case ViewWorkers:
		if i, ok := m.selected(ViewWorkers); ok {
			id = m.snap.Workers[i].ID
		}
	case ViewAssignments:
		if i, ok := m.selected(ViewAssignments); ok {
			id = m.snap.Partitions[i].Owner
		}
	}
	if id == "" {
		return
	}
	m.detail = id
	m.panes[viewDetail].filter = ""
	m.panes[viewDetail].list = list{}
	m.refilter(viewDetail)
}

// back closes the dry-run result or the drill-down, or clears the filter.
func (m *Model) back() {
	switch {
	case m.dry != nil:
		m.dry = nil
	case m.panes[m.target()].filter != "":
		m.panes[m.target()].filter = ""
		m.refilter(m.target())
	case m.detail != "":
		m.detail = ""
	}
}

// editFilter edits the current filter as it is typed: it applies at once;
// enter keeps it, esc clears it.
func (m *Model) editFilter(k tea.KeyMsg) {
	v := m.target()
	f := m.panes[v].filter
	switch k.Type {
	case tea.KeyEnter:
		m.editing = false
		return
	case tea.KeyEsc:
		m.editing = false
		f = ""
	case tea.KeyBackspace:
		if f != "" {
			_, n := utf8.DecodeLastRuneInString(f)
			f = f[:len(f)-n]
		}
	case tea.KeyCtrlU:
		f = ""
	case tea.KeyRunes, tea.KeySpace:
		for _, r := range k.Runes {
			if unicode.IsPrint(r) && len(f) < 64 {
				f += string(r)
			}
		}
	default:
		return
	}
	m.panes[v].filter = f
	m.panes[v].list = list{}
	m.refilter(v)
}

func (m *Model) togglePause() {
	m.paused = !m.paused
	if m.paused {
		m.pausedAt = m.now
		m.setMessage("updates paused: the screen is frozen; p resumes", false)
		return
	}
	m.setMessage(fmt.Sprintf("updates resumed (%s received while paused)", plural(m.heldN, "update")), false)
	if m.held != nil {
		m.apply(*m.held)
	} else {
		m.now = m.d.Now()
		m.refilter(ViewWorkers)
	}
	m.held, m.heldN = nil, 0
}

// startRebalance sends a (dry-run) rebalance request in a command.
func (m *Model) startRebalance(dryRun bool) tea.Cmd {
	m.inflight++
	m.asked = m.snap.Version
	if dryRun {
		m.setMessage("dry run requested from the leader…", false)
	} else {
		m.setMessage("force rebalance requested from the leader…", false)
	}
	return m.request(dryRun)
}

// rebalanceDone shows a request's answer.
func (m *Model) rebalanceDone(r rebalanceMsg) {
	what := "force rebalance"
	if r.dryRun {
		what = "dry run"
	}
	if r.err != nil {
		m.setMessage(what+" failed: "+r.err.Error(), true)
		return
	}
	o := r.out
	if r.dryRun {
		d := &dryRun{out: o}
		for w := range o.Plan {
			d.workers = append(d.workers, w)
		}
		slices.Sort(d.workers)
		m.dry = d
		m.setMessage(fmt.Sprintf("dry run by leader %s: %s would move (nothing was published; esc closes)",
			o.Leader, plural(o.Moved, "partition")), false)
		return
	}
	if o.Result == "unchanged" || o.Result == "" && o.Moved == 0 && o.Version <= m.asked {
		m.setMessage(fmt.Sprintf("force rebalance: nothing to move, version %d stays (leader %s, %s)",
			o.Version, o.Leader, millis(o.Duration)), false)
		return
	}
	m.setMessage(fmt.Sprintf("force rebalance published version %d: %s moved in %s (leader %s, epoch %d)",
		o.Version, plural(o.Moved, "partition"), millis(o.Duration), o.Leader, o.Epoch), false)
}

// newestFirst reports whether view v lists its rows newest first.
func newestFirst(v View) bool { return v == ViewHistory || v == ViewEvents }

// rowCount is the number of rows view v shows.
func (m *Model) rowCount(v View) int {
	if m.panes[v].all {
		return m.length(v)
	}
	return len(m.panes[v].rows)
}

// length is the number of rows of view v before filtering.
func (m *Model) length(v View) int {
	switch v {
	case ViewWorkers:
		return len(m.snap.Workers)
	case ViewAssignments, viewDetail:
		return len(m.snap.Partitions)
	case ViewHistory:
		return len(m.snap.History)
	case ViewEvents:
		return len(m.snap.Events)
	}
	return 0
}

// index maps row i of view v to an index into the snapshot's slice.
func (m *Model) index(v View, i int) int {
	if !m.panes[v].all {
		return m.panes[v].rows[i]
	}
	if newestFirst(v) {
		return m.length(v) - 1 - i
	}
	return i
}

// selected returns the snapshot index under view v's cursor.
func (m *Model) selected(v View) (int, bool) {
	n := m.rowCount(v)
	if n == 0 {
		return 0, false
	}
	c := min(max(m.panes[v].list.cursor, 0), n-1)
	return m.index(v, c), true
}

// refilter recomputes the rows view v shows after a snapshot or filter
// change, keeping the cursor on the same item when it can.
func (m *Model) refilter(v View) {
	m.refilterAt(v, m.cursorKey(v))
}

// refilterAt recomputes view v's rows and puts the cursor back on the
// item identified by prevKey (see cursorKey).
func (m *Model) refilterAt(v View, prevKey string) {
	f := strings.ToLower(m.panes[v].filter)
	m.panes[v].rows = m.panes[v].rows[:0]
	switch v {
	case ViewWorkers:
		if f == "" {
			m.panes[v].all = true
			break
		}
		m.panes[v].all = false
		for i := range m.snap.Workers {
			w := &m.snap.Workers[i]
			if containsFold(w.ID, f) || containsFold(w.Host, f) || containsFold(w.StatusAt(m.now).String(), f) {
				m.panes[v].rows = append(m.panes[v].rows, i)
			}
		}
	case ViewAssignments:
		if f == "" {
			m.panes[v].all = true
			break
		}
		m.panes[v].all = false
		for i := range m.snap.Partitions {
			p := &m.snap.Partitions[i]
			if containsFold(p.Key, f) || containsFold(p.Owner, f) {
				m.panes[v].rows = append(m.panes[v].rows, i)
			}
		}
	case ViewHistory:
		if f == "" {
			m.panes[v].all = true
			break
		}
		m.panes[v].all = false
		for i := len(m.snap.History) - 1; i >= 0; i-- {
			r := &m.snap.History[i]
			if containsFold(r.Trigger, f) || containsFold(r.Reason, f) || containsFold(r.Result, f) ||
				containsFold(r.Error, f) || containsFold(r.Leader, f) {
				m.panes[v].rows = append(m.panes[v].rows, i)
			}
		}
	case ViewEvents:
		if f == "" {
			m.panes[v].all = true
			break
		}
		m.panes[v].all = false
		for i := len(m.snap.Events) - 1; i >= 0; i-- {
			e := &m.snap.Events[i]
			if containsFold(e.Text, f) || containsFold(e.Kind.String(), f) {
				m.panes[v].rows = append(m.panes[v].rows, i)
			}
		}
	case viewDetail:
		m.panes[v].all = false
		if m.detail == "" {
			break
		}
		for i := range m.snap.Partitions {
			p := &m.snap.Partitions[i]
			if p.Owner == m.detail && (f == "" || containsFold(p.Key, f)) {
				m.panes[v].rows = append(m.panes[v].rows, i)
			}
		}
	}
	m.restoreCursor(v, prevKey)
}

// cursorKey identifies the item under view v's cursor, so a new snapshot
// does not move the cursor to another item.
func (m *Model) cursorKey(v View) string {
	if v == viewDetail || v == ViewHistory || v == ViewEvents {
		return ""
	}
	n := m.rowCount(v)
	if n == 0 || m.panes[v].list.cursor <= 0 {
		return ""
	}
	i := m.index(v, min(m.panes[v].list.cursor, n-1))
	switch v {
	case ViewWorkers:
		if i < len(m.snap.Workers) {
			return m.snap.Workers[i].ID
		}
	case ViewAssignments:
		if i < len(m.snap.Partitions) {
			return m.snap.Partitions[i].Key
		}
	}
	return ""
}

func (m *Model) restoreCursor(v View, k string) {
	if v == viewDetail {
		return // the grid scrolls by offset; detailView bounds it
	}
	if k != "" {
		switch v {
		case ViewWorkers:
			m.panes[v].list.cursor = m.findRow(v, func(i int) bool { return m.snap.Workers[i].ID >= k })
		case ViewAssignments:
			m.panes[v].list.cursor = m.findRow(v, func(i int) bool { return m.snap.Partitions[i].Key >= k })
		}
	}
	m.panes[v].list.clamp(m.rowCount(v), m.listRows(v))
}

// findRow returns the first row of sorted view v whose item satisfies ge.
func (m *Model) findRow(v View, ge func(i int) bool) int {
	lo, hi := 0, m.rowCount(v)
	for lo < hi {
		mid := (lo + hi) / 2
		if ge(m.index(v, mid)) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (m *Model) clampLists() {
	for v := range numViews {
		m.panes[v].list.clamp(m.rowCount(v), m.listRows(v))
	}
}

// pageRows is the number of rows the current list shows at once.
func (m *Model) pageRows() int {
	if m.dry != nil {
		return max(m.contentHeight()-2, 1)
	}
	return m.listRows(m.target())
}

// containsFold reports whether s contains lower-case sub, ignoring ASCII
// case, without allocating.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	if len(sub) > len(s) {
		return false
	}
	if !isASCII(s) || !isASCII(sub) {
		return strings.Contains(strings.ToLower(s), sub)
	}
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != first {
			continue
		}
		j := 1
		for ; j < len(sub); j++ {
			d := s[i+j]
			if 'A' <= d && d <= 'Z' {
				d += 'a' - 'A'
			}
			if d != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}
