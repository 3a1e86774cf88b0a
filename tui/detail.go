package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
)

// Drill-down layout: three info lines, a blank line, the partitions title,
// the partitions grid, then the worker's recent activity.
const detailInfoLines = 5

// detailActivityHeight is the height of the activity section for content
// height ch.
func detailActivityHeight(ch int) int {
	if ch < 12 {
		return 0
	}
	return min(max(ch/3, 5), 12)
}

// detailGrid returns the partitions grid's column count, total rows and
// visible rows.
func (m *Model) detailGrid() (cols, total, visible int) {
	keyW := 4
	for _, i := range m.panes[viewDetail].rows {
		keyW = max(keyW, textWidth(m.snap.Partitions[i].Key))
	}
	p := &m.panes[viewDetail]
	colW := min(keyW+2, max(p.width-1, 1))
	cols = max((p.width-1)/colW, 1)
	n := len(p.rows)
	total = (n + cols - 1) / cols
	ch := p.height
	visible = max(ch-detailInfoLines-detailActivityHeight(ch), 1)
	return cols, total, visible
}

// detailView is one worker: its facts, its partitions and its recent
// activity (rebalances that name it, its events).
func (m *Model) detailView(w, h int) []string {
	s := &m.snap
	st := &m.st
	wk := s.Worker(m.detail)
	if wk == nil {
		return []string{"", segs(w, seg{"  worker " + m.detail + " is no longer in the cluster (esc goes back)", &st.Warn})}
	}
	ws := wk.StatusAt(m.now)
	l1 := []seg{{wk.ID, &st.Title}}
	if s.IsLeader(wk.ID) {
		l1 = append(l1, seg{"  ★ leader", &st.Leader})
	}
	status := ws.String()
	if ws == StatusGone {
		status += fmt.Sprintf(" (%s %s ago)", wk.GoneReason, age(m.now, wk.GoneAt))
	}
	l1 = append(l1, seg{"  " + status, m.statusStyle(ws)},
		seg{"  host ", &st.Label}, seg{orDash(wk.Host), nil},
		seg{"  pid ", &st.Label}, seg{orDash(strconv.Itoa(wk.PID)), nil},
		seg{"  build ", &st.Label}, seg{orDash(wk.Build), nil})
	if !wk.Started.IsZero() {
		l1 = append(l1, seg{"  started ", &st.Label}, seg{fmt.Sprintf("%s (%s ago)", clock(wk.Started, m.d.Location), age(m.now, wk.Started)), nil})
	}
	hb := "none seen"
	if !wk.LastHeartbeat.IsZero() {
		hb = age(m.now, wk.LastHeartbeat) + " ago"
	}
	l2 := []seg{{"heartbeat ", &st.Label}, {hb, nil}}
	if wk.Interval > 0 {
		l2 = append(l2, seg{" (every " + dur(wk.Interval), nil})
		if s.WorkerTTL > 0 {
			l2 = append(l2, seg{", ttl " + dur(s.WorkerTTL), nil})
		}
		l2 = append(l2, seg{")", nil})
	}
	applied := "v" + strconv.FormatUint(wk.Applied, 10)
	as := (*lipgloss.Style)(nil)
	if wk.Applied < s.Version && ws != StatusGone {
		applied += " (behind)"
		as = &st.Warn
	}
	l2 = append(l2, seg{"  applied ", &st.Label}, seg{applied, as},
		seg{fmt.Sprintf(" (published v%d)", s.Version), nil})
	share, fair := 0.0, fairShare(s, m.now)
	if s.TotalWeight > 0 {
		share = wk.Weight / s.TotalWeight
	}
	l3 := []seg{{"owns ", &st.Label}, {plural(wk.Partitions, "partition"), &st.Value},
		{fmt.Sprintf("  weight %s = %.1f%% of %s (fair share %.1f%%)  ", weight(wk.Weight), share*100, weight(s.TotalWeight), fair*100), nil},
		{shareBar(share, fair, shareBarWidth), &st.Bar}}
	lines := []string{segs(w, l1...), segs(w, l2...), segs(w, l3...), ""}

	cols, total, visible := m.detailGrid()
	off := min(m.panes[viewDetail].list.offset, max(total-visible, 0))
	title := fmt.Sprintf("Partitions (%d)", len(m.panes[viewDetail].rows))
	if f := m.panes[viewDetail].filter; f != "" {
		title += " matching /" + f
	}
	if total > visible {
		title += fmt.Sprintf("  rows %d-%d of %d (↑↓ scroll)", off+1, min(off+visible, total), total)
	}
	lines = append(lines, segs(w, seg{title, &st.Header}))
	colW := max((w-1)/cols, 1)
	for r := off; r < off+visible; r++ {
		if r >= total {
			lines = append(lines, "")
			continue
		}
		var b strings.Builder
		b.WriteByte(' ')
		for c := range cols {
			k := r*cols + c
			if k >= len(m.panes[viewDetail].rows) {
				break
			}
			b.WriteString(pad(s.Partitions[m.panes[viewDetail].rows[k]].Key, colW))
		}
		lines = append(lines, fit(strings.TrimRight(b.String(), " "), w))
	}
	if len(m.panes[viewDetail].rows) == 0 {
		lines[len(lines)-visible] = st.Muted.Render(fit(" owns no partition", w))
	}
	if act := h - len(lines); act > 2 {
		lines = append(lines, m.activity(wk.ID, w, act)...)
	}
	return lines
}

func orDash(s string) string {
	if s == "" || s == "0" {
		return "-"
	}
	return s
}

// activityItem is one line of a worker's recent activity.
type activityItem struct {
	at     time.Time
	what   string
	detail string
	style  *lipgloss.Style
}

// activity lists the rebalances naming worker id and its events, newest
// first, in h lines.
func (m *Model) activity(id string, w, h int) []string {
	s := &m.snap
	st := &m.st
	var items []activityItem
	for i := range s.History {
		r := &s.History[i]
		if !historyMentions(r, id) {
			continue
		}
		d := fmt.Sprintf("%s · moved %d · v%d · %s", r.Reason, r.Moved, r.Version, r.Result)
		if r.Error != "" {
			d += " — " + r.Error
		}
		items = append(items, activityItem{at: r.At, what: "rebalance " + r.Trigger, detail: d})
	}
	for i := range s.Events {
		e := &s.Events[i]
		if e.Worker == id {
			items = append(items, activityItem{at: e.At, what: e.Kind.String(), detail: e.Text, style: &st.Warn})
		}
	}
	slices.SortStableFunc(items, func(a, b activityItem) int { return b.at.Compare(a.at) })
	lines := []string{segs(w, seg{"Recent history of " + id + " (rebalances naming it, its events)", &st.Header})}
	t := table{
		cols:   []column{{title: "TIME", width: 8}, {title: "WHAT", width: 18}, {title: "DETAIL", width: 20, flex: true}},
		n:      len(items),
		cursor: -1,
		empty:  "nothing recorded for this worker",
		rows: func(i int) []cell {
			it := &items[i]
			return []cell{{text: clock(it.at, m.d.Location)}, {text: it.what, style: it.style}, {text: it.detail}}
		},
	}
	return append(lines, t.render(st, w, h-1)...)
}

// dryRunView shows what a rebalance would move.
func (m *Model) dryRunView(w, h int) []string {
	st := &m.st
	d := m.dry
	o := d.out
	lines := []string{segs(w, seg{"Dry run", &st.Title},
		seg{fmt.Sprintf(" by leader %s (epoch %d): ", o.Leader, o.Epoch), nil},
		seg{plural(o.Moved, "partition") + " would move", &st.Value},
		seg{fmt.Sprintf(" from version %d; nothing was published.  esc closes, r forces it", o.Version), &st.Muted})}
	if o.Moved == 0 || len(d.workers) == 0 {
		return append(lines, "", st.OK.Render(fit("  Nothing would move: the current assignment is what the strategy computes.", w)))
	}
	idw := 10
	for _, wk := range d.workers {
		idw = max(idw, len(wk))
	}
	t := table{
		cols:   []column{{title: "RECEIVING WORKER", width: min(idw, 28)}, {title: "GETS", width: 5, right: true}, {title: "PARTITIONS", width: 20, flex: true}},
		n:      len(d.workers),
		cursor: -1,
		offset: min(d.offset, max(len(d.workers)-1, 0)),
	}
	listW := max(w-min(idw, 28)-5-4, 10)
	t.rows = func(i int) []cell {
		wk := d.workers[i]
		keys := d.out.Plan[wk]
		return []cell{{text: wk}, {text: strconv.Itoa(len(keys))}, {text: joinFit(keys, listW)}}
	}
	return append(lines, t.render(st, w, h-1)...)
}

// helpView lists every key, then what the marks on screen mean.
func (m *Model) helpView(w, h int) []string {
	st := &m.st
	groups := m.keys.FullHelp()
	colW := max(w/len(groups), 20)
	keyW := 11
	rows := 0
	for _, g := range groups {
		rows = max(rows, len(g))
	}
	lines := []string{segs(w, seg{"Keys", &st.Header})}
	for r := range rows {
		var parts []seg
		for gi, g := range groups {
			if (gi+1)*colW > w+colW/2 {
				break
			}
			if r >= len(g) {
				parts = append(parts, seg{strings.Repeat(" ", colW), nil})
				continue
			}
			hk := g[r].Help()
			parts = append(parts, seg{" " + pad(hk.Key, keyW-1), &st.Key}, seg{pad(hk.Desc, colW-keyW), nil})
		}
		lines = append(lines, segs(w, parts...))
	}
	notes := []string{
		"",
		"status   alive · draining (leaving, handing off) · suspect (no heartbeat for over two intervals,",
		"         key not expired yet) · gone (key expired or deleted; shown for a while)",
		"★        the leader: it runs the calculator and answers rebalance requests",
		"share    weight share as a bar: the ┊ mark is the fair share, a full bar twice it",
		"applied  the assignment version a worker has applied; \"behind\" is older than published",
		"STALE    NATS is unreachable: the data shown is as of the time given, not live",
		"events   calculator transitions; a GAP line stands for transitions that were missed",
	}
	if m.d.Attached {
		notes = append(notes, "quit     q detaches: the node keeps running headless (logs go to stderr again);",
			"         ctrl+c stops the node with a graceful leave")
	} else {
		notes = append(notes, "quit     q or ctrl+c: the dashboard only watches; quitting changes nothing in the cluster")
	}
	for _, n := range notes {
		lines = append(lines, st.Muted.Render(fit(n, w)))
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return lines
}
