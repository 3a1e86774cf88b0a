package tui

import (
	"fmt"
	"strconv"
	"time"

	"github.com/charmbracelet/lipgloss"
)

// historyChartLines is the height of the sparklines above the history table.
const historyChartLines = 2

// shareBarWidth is the width of a worker's weight share bar.
const shareBarWidth = 10

// fairShare is each live worker's fair fraction of the total weight.
func fairShare(s *Snapshot, now time.Time) float64 {
	n := 0
	for i := range s.Workers {
		switch s.Workers[i].StatusAt(now) {
		case StatusAlive, StatusSuspect:
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return 1 / float64(n)
}

// idWidth is the width of the worker ID column: the longest ID (with the
// two-cell leader marker), between 10 and 28.
func idWidth(s *Snapshot) int {
	n := 8
	for i := range s.Workers {
		n = max(n, len(s.Workers[i].ID))
	}
	return min(n+2, 28)
}

func (m *Model) statusStyle(ws WorkerStatus) *lipgloss.Style {
	switch ws {
	case StatusAlive:
		return &m.st.OK
	case StatusDraining, StatusSuspect:
		return &m.st.Warn
	}
	return &m.st.Bad
}

// workersView is the workers table and, on tall terminals, the most recent
// rebalances under it.
func (m *Model) workersView(w, h int) []string {
	s := &m.snap
	st := &m.st
	th := m.workersTableHeight()
	fair := fairShare(s, m.now)
	total := s.TotalWeight
	t := table{
		cols: []column{
			{title: "WORKER", width: idWidth(s)},
			{title: "HOST", width: 8, flex: true, drop: 4},
			{title: "STATUS", width: 8},
			{title: "HB AGE", width: 6, right: true},
			{title: "PARTS", width: 5, right: true},
			{title: "SHARE VS FAIR", width: shareBarWidth + 6},
			{title: "WEIGHT", width: 6, right: true, drop: 3},
			{title: "APPLIED", width: 10},
			{title: "PID", width: 7, right: true, drop: 5},
			{title: "BUILD", width: 10, drop: 6},
			{title: "UPTIME", width: 7, right: true, drop: 7},
		},
		n:      m.rowCount(ViewWorkers),
		cursor: m.panes[ViewWorkers].list.cursor,
		offset: m.panes[ViewWorkers].list.offset,
		empty:  "no workers: start one with `parti run`",
	}
	if m.panes[ViewWorkers].filter != "" {
		t.empty = "no worker matches the filter"
	}
	t.rows = func(i int) []cell {
		wk := &s.Workers[m.index(ViewWorkers, i)]
		ws := wk.StatusAt(m.now)
		id := "  " + wk.ID
		var idStyle *lipgloss.Style
		if s.IsLeader(wk.ID) {
			id = "★ " + wk.ID
			idStyle = &st.Leader
		}
		share := 0.0
		if total > 0 {
			share = wk.Weight / total
		}
		ratio := "  -  "
		if fair > 0 && ws != StatusGone {
			ratio = fmt.Sprintf("%4.2f×", share/fair)
		}
		applied, appliedStyle := "-", (*lipgloss.Style)(nil)
		if wk.Applied > 0 || !wk.LastHeartbeat.IsZero() {
			applied = "v" + strconv.FormatUint(wk.Applied, 10)
			if wk.Applied < s.Version && ws != StatusGone {
				applied += " behind"
				appliedStyle = &st.Warn
			}
		}
		pid := ""
		if wk.PID > 0 {
			pid = strconv.Itoa(wk.PID)
		}
		uptime := ""
		if !wk.Started.IsZero() && ws != StatusGone {
			uptime = age(m.now, wk.Started)
		}
		status := ws.String()
		return []cell{
			{text: id, style: idStyle},
			{text: wk.Host},
			{text: status, style: m.statusStyle(ws)},
			{text: age(m.now, wk.LastHeartbeat)},
			{text: strconv.Itoa(wk.Partitions)},
			{text: shareBar(share, fair, shareBarWidth) + " " + ratio, style: &st.Bar},
			{text: fmt.Sprintf("%.1f%%", share*100)},
			{text: applied, style: appliedStyle},
			{text: pid},
			{text: wk.Build},
			{text: uptime},
		}
	}
	lines := t.render(st, w, th)
	if th == h {
		return lines
	}
	for len(lines) < th {
		lines = append(lines, "")
	}
	lines = append(lines, "")
	lines = append(lines, m.recentTitle(w))
	n := len(s.History)
	hist := table{cols: historyColumns(), n: n, cursor: -1,
		rows: func(i int) []cell { return m.historyRow(&s.History[n-1-i]) }}
	return append(lines, hist.render(st, w, h-len(lines))...)
}

// recentTitle heads the recent rebalances panel, with sparklines.
func (m *Model) recentTitle(w int) string {
	st := &m.st
	durs, moved := historySeries(m.snap.History)
	return segs(w, seg{"Recent rebalances (newest first)", &st.Value},
		seg{"   duration ", &st.Label}, seg{Sparkline(durs, 24), &st.Bar},
		seg{"   moved ", &st.Label}, seg{Sparkline(moved, 24), &st.Bar},
		seg{"   (3 for all)", &st.Muted})
}

// historySeries returns the durations (ms) and moved counts, oldest first.
func historySeries(h []Rebalance) (durs, moved []float64) {
	durs = make([]float64, len(h))
	moved = make([]float64, len(h))
	for i := range h {
		durs[i] = float64(h[i].Duration) / float64(time.Millisecond)
		moved[i] = float64(h[i].Moved)
	}
	return durs, moved
}

func historyColumns() []column {
	return []column{
		{title: "TIME", width: 8},
		{title: "LEADER", width: 10, drop: 3},
		{title: "TRIGGER", width: 10},
		{title: "REASON", width: 16, flex: true},
		{title: "DURATION", width: 8, right: true},
		{title: "MOVED", width: 5, right: true},
		{title: "VERSION", width: 7, right: true},
		{title: "RESULT", width: 9},
	}
}

func (m *Model) historyRow(r *Rebalance) []cell {
	st := &m.st
	res := r.Result
	var rs *lipgloss.Style
	switch r.Result {
	case "published":
		rs = &st.OK
	case "failed":
		rs = &st.Bad
	case "skipped":
		rs = &st.Warn
	default:
		rs = &st.Muted
	}
	reason := r.Reason
	if r.Error != "" {
		reason += " — " + r.Error
	}
	ver := "-"
	if r.Version > 0 {
		ver = "v" + strconv.FormatUint(r.Version, 10)
	}
	return []cell{
		{text: clock(r.At, m.d.Location)},
		{text: r.Leader},
		{text: r.Trigger},
		{text: reason},
		{text: millis(r.Duration)},
		{text: strconv.Itoa(r.Moved)},
		{text: ver},
		{text: res, style: rs},
	}
}

// assignmentsView is partition → owner, weight.
func (m *Model) assignmentsView(w, h int) []string {
	s := &m.snap
	st := &m.st
	t := table{
		cols: []column{
			{title: "PARTITION", width: 12, flex: true},
			{title: "WEIGHT", width: 8, right: true},
			{title: "OWNER", width: 12, flex: true},
			{title: "OWNER STATUS", width: 12, drop: 1},
		},
		n:      m.rowCount(ViewAssignments),
		cursor: m.panes[ViewAssignments].list.cursor,
		offset: m.panes[ViewAssignments].list.offset,
		empty:  "no partitions: the cluster has no partition set yet",
	}
	if m.panes[ViewAssignments].filter != "" {
		t.empty = "no partition or owner matches the filter"
	}
	t.rows = func(i int) []cell {
		p := &s.Partitions[m.index(ViewAssignments, i)]
		if p.Owner == "" {
			return []cell{{text: p.Key}, {text: weight(p.Weight)}, {text: "(unassigned)", style: &st.Bad}, {}}
		}
		owner := "  " + p.Owner
		var os *lipgloss.Style
		if s.IsLeader(p.Owner) {
			owner, os = "★ "+p.Owner, &st.Leader
		}
		status, ss := "unknown", &st.Warn
		if wk := s.Worker(p.Owner); wk != nil {
			ws := wk.StatusAt(m.now)
			status, ss = ws.String(), m.statusStyle(ws)
		}
		return []cell{{text: p.Key}, {text: weight(p.Weight)}, {text: owner, style: os}, {text: status, style: ss}}
	}
	return t.render(st, w, h)
}

// historyView is the rebalance history, newest first, under sparklines of
// durations and moved counts.
func (m *Model) historyView(w, h int) []string {
	s := &m.snap
	st := &m.st
	durs, moved := historySeries(s.History)
	spark := max(min(w-40, 60), 8)
	var maxD, lastD, maxM, lastM float64
	for i := range durs {
		maxD, maxM = max(maxD, durs[i]), max(maxM, moved[i])
	}
	if n := len(durs); n > 0 {
		lastD, lastM = durs[n-1], moved[n-1]
	}
	ms := func(v float64) string { return millis(time.Duration(v * float64(time.Millisecond))) }
	lines := []string{
		segs(w, seg{"duration ", &st.Label}, seg{pad(Sparkline(durs, spark), spark), &st.Bar},
			seg{"  max " + ms(maxD) + "  last " + ms(lastD), &st.Muted}),
		segs(w, seg{"moved    ", &st.Label}, seg{pad(Sparkline(moved, spark), spark), &st.Bar},
			seg{"  max " + strconv.Itoa(int(maxM)) + "  last " + strconv.Itoa(int(lastM)), &st.Muted}),
	}
	t := table{
		cols:   historyColumns(),
		n:      m.rowCount(ViewHistory),
		cursor: m.panes[ViewHistory].list.cursor,
		offset: m.panes[ViewHistory].list.offset,
		empty:  "no rebalance yet",
	}
	if m.panes[ViewHistory].filter != "" {
		t.empty = "no rebalance matches the filter"
	}
	t.rows = func(i int) []cell { return m.historyRow(&s.History[m.index(ViewHistory, i)]) }
	return append(lines, t.render(st, w, h-len(lines))...)
}

// eventsView is the event log, newest first.
func (m *Model) eventsView(w, h int) []string {
	s := &m.snap
	st := &m.st
	gaps := 0
	for i := range s.Events {
		if s.Events[i].Kind == EventGap {
			gaps++
		}
	}
	src := s.EventSource
	if src == "" {
		src = "unknown"
	}
	gs := &st.Muted
	if gaps > 0 {
		gs = &st.Bad
	}
	lines := []string{segs(w, seg{"transitions from ", &st.Label}, seg{src, &st.Value},
		seg{fmt.Sprintf("  ·  %s  ·  ", plural(len(s.Events), "event")), &st.Muted}, seg{plural(gaps, "gap"), gs})}
	t := table{
		cols: []column{
			{title: "TIME", width: 12},
			{title: "KIND", width: 6},
			{title: "EVENT", width: 20, flex: true},
		},
		n:      m.rowCount(ViewEvents),
		cursor: m.panes[ViewEvents].list.cursor,
		offset: m.panes[ViewEvents].list.offset,
		empty:  "no events yet",
	}
	if m.panes[ViewEvents].filter != "" {
		t.empty = "no event matches the filter"
	}
	t.rows = func(i int) []cell {
		e := &s.Events[m.index(ViewEvents, i)]
		var ks *lipgloss.Style
		switch e.Kind {
		case EventGap, EventError:
			ks = &st.Bad
		case EventState:
			ks = &st.Value
		case EventWorker, EventLeader, EventConn:
			ks = &st.Warn
		}
		ts := "-"
		if !e.At.IsZero() {
			ts = e.At.In(m.d.Location).Format("15:04:05.000")
		}
		return []cell{{text: ts}, {text: e.Kind.String(), style: ks}, {text: e.Text, style: ks}}
	}
	return append(lines, t.render(st, w, h-len(lines))...)
}
