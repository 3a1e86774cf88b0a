package tui

import (
	"context"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// View is one of the dashboard's main views.
type View int

// Views, in tab order.
const (
	ViewWorkers View = iota
	ViewAssignments
	ViewHistory
	ViewEvents
	numViews
)

// viewDetail indexes the drill-down's filter and list state.
const viewDetail = numViews

var viewNames = [numViews]string{"Workers", "Assignments", "History", "Events"}

// String returns the view's name.
func (v View) String() string {
	if v >= 0 && v < numViews {
		return viewNames[v]
	}
	return "view"
}

// Outcome says why the dashboard ended.
type Outcome int

// Outcomes.
const (
	// OutcomeRunning: it has not ended.
	OutcomeRunning Outcome = iota
	// OutcomeQuit: q or ctrl+c in `parti top`.
	OutcomeQuit
	// OutcomeDetach: q in `parti run --tui`: the node keeps running.
	OutcomeDetach
	// OutcomeStop: ctrl+c in `parti run --tui`: the node leaves.
	OutcomeStop
)

// Defaults of Deps.
const (
	DefaultTick           = 250 * time.Millisecond
	DefaultRequestTimeout = 10 * time.Second
)

// Deps are what the model needs from outside.
type Deps struct {
	// Source delivers snapshots (required).
	Source Source
	// Rebalance sends a (dry-run) rebalance request; nil disables r and d.
	Rebalance RebalanceFunc
	// Context ends the model's commands (waiting for snapshots, ticks,
	// requests) when done; default context.Background.
	Context context.Context
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Location displays wall-clock times; default time.Local.
	Location *time.Location
	// Styles default to NewStyles(nil).
	Styles *Styles
	// Keys default to DefaultKeyMap(Attached).
	Keys *KeyMap
	// Attached is set for `parti run --tui`: q detaches, ctrl+c stops the
	// node.
	Attached bool
	// Tick is how often the clock is re-read to age what is shown; default
	// DefaultTick.
	Tick time.Duration
	// RequestTimeout bounds a rebalance request; default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// Model is the dashboard's Bubble Tea model. Update and View never block:
// snapshots come in as messages, and requests run in commands.
type Model struct {
	d    Deps
	keys KeyMap
	st   Styles

	width, height int

	snap     Snapshot
	have     bool // a snapshot arrived
	now      time.Time
	closed   bool // the source closed its channel
	paused   bool
	pausedAt time.Time
	held     *Snapshot // newest snapshot received while paused
	heldN    int

	view     View
	detail   string  // worker drilled into, "" for none
	dry      *dryRun // dry-run result on screen
	help     bool
	confirm  bool   // waiting for y to force a rebalance
	editing  bool   // typing a filter
	inflight int    // requests in flight
	asked    uint64 // the version on screen when the last request was sent

	// panes are the views' components, and the drill-down's (viewDetail).
	panes [numViews + 1]pane

	message    string
	messageBad bool

	outcome Outcome
}

// dryRun is a dry-run answer on screen.
type dryRun struct {
	out     RebalanceOutcome
	workers []string // sorted
	offset  int
}

// Messages.
type (
	snapshotMsg     struct{ snap Snapshot }
	sourceClosedMsg struct{}
	tickMsg         struct{}
	rebalanceMsg    struct {
		dryRun bool
		out    RebalanceOutcome
		err    error
	}
)

// New returns a model over d.
func New(d Deps) *Model {
	if d.Context == nil {
		d.Context = context.Background()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Location == nil {
		d.Location = time.Local
	}
	if d.Tick <= 0 {
		d.Tick = DefaultTick
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	m := &Model{d: d, now: d.Now()}
	if d.Styles != nil {
		m.st = *d.Styles
	} else {
		m.st = NewStyles(nil)
	}
	if d.Keys != nil {
		m.keys = *d.Keys
	} else {
		m.keys = DefaultKeyMap(d.Attached)
	}
	for v := range m.panes {
		m.panes[v].all = true
	}
	return m
}

// NewPlainStyles returns styles that render no colour or attributes
// (tests, goldens, NO_COLOR).
func NewPlainStyles() Styles {
	r := lipgloss.NewRenderer(io.Discard, termenv.WithProfile(termenv.Ascii))
	r.SetColorProfile(termenv.Ascii)
	return NewStyles(r)
}

// Outcome says why the dashboard ended (OutcomeRunning while it runs).
func (m *Model) Outcome() Outcome { return m.outcome }

// CurrentView returns the view on screen.
func (m *Model) CurrentView() View { return m.view }

// Detail returns the worker drilled into, or "".
func (m *Model) Detail() string { return m.detail }

// Paused reports whether updates are paused.
func (m *Model) Paused() bool { return m.paused }

// Snapshot returns the snapshot on screen.
func (m *Model) Snapshot() Snapshot { return m.snap }

// Init starts waiting for snapshots and ticking the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.waitSnapshot(), m.tick())
}

// waitSnapshot is the command that waits for the source's next snapshot.
func (m *Model) waitSnapshot() tea.Cmd {
	ch, done := m.d.Source.Snapshots(), m.d.Context.Done()
	return func() tea.Msg {
		select {
		case s, ok := <-ch:
			if !ok {
				return sourceClosedMsg{}
			}
			return snapshotMsg{snap: s}
		case <-done:
			return nil
		}
	}
}

// tick is the command that wakes the model to age what it shows.
func (m *Model) tick() tea.Cmd {
	d, done := m.d.Tick, m.d.Context.Done()
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return tickMsg{}
		case <-done:
			return nil
		}
	}
}

// request is the command that sends a rebalance request.
func (m *Model) request(dryRun bool) tea.Cmd {
	f, parent, timeout := m.d.Rebalance, m.d.Context, m.d.RequestTimeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		out, err := f(ctx, dryRun)
		return rebalanceMsg{dryRun: dryRun, out: out, err: err}
	}
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.SetSize(msg.Width, msg.Height)
		return m, nil
	case snapshotMsg:
		if m.paused {
			s := msg.snap
			m.held = &s
			m.heldN++
		} else {
			m.apply(msg.snap)
		}
		return m, m.waitSnapshot()
	case sourceClosedMsg:
		m.closed = true
		return m, nil
	case tickMsg:
		if !m.paused {
			m.now = m.d.Now()
			m.refilter(ViewWorkers) // statuses age
		}
		return m, m.tick()
	case rebalanceMsg:
		m.inflight--
		m.rebalanceDone(msg)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// SetSize sets the terminal size and routes the content area's size down
// to every pane.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 0), max(h, 0)
	for v := range m.panes {
		m.panes[v].SetSize(m.width, m.contentHeight())
	}
	m.clampLists()
}

// apply shows a new snapshot.
func (m *Model) apply(s Snapshot) {
	var keys [numViews + 1]string
	for v := range numViews + 1 {
		keys[v] = m.cursorKey(v)
	}
	m.snap, m.have = s, true
	m.now = m.d.Now()
	for v := range numViews + 1 {
		m.refilterAt(v, keys[v])
	}
}
