package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the dashboard's one keymap; the help screen is built from it.
type KeyMap struct {
	NextView, PrevView key.Binding
	Workers            key.Binding
	Assignments        key.Binding
	History            key.Binding
	Events             key.Binding
	Up, Down           key.Binding
	PageUp, PageDown   key.Binding
	Top, Bottom        key.Binding
	Enter              key.Binding
	Back               key.Binding
	Filter             key.Binding
	Rebalance          key.Binding
	DryRun             key.Binding
	Pause              key.Binding
	Help               key.Binding
	Quit               key.Binding
	Interrupt          key.Binding
	Confirm            key.Binding
}

// DefaultKeyMap returns the standard bindings. attached changes the help
// texts of q and ctrl+c for `parti run --tui`, where q leaves the node
// running and ctrl+c stops it.
func DefaultKeyMap(attached bool) KeyMap {
	quitHelp, intHelp := "quit", "quit"
	if attached {
		quitHelp, intHelp = "detach", "stop the node"
	}
	return KeyMap{
		NextView:    key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab", "next view")),
		PrevView:    key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab", "previous view")),
		Workers:     key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "workers")),
		Assignments: key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "assignments")),
		History:     key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "history")),
		Events:      key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "events")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+b", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "ctrl+d", " "), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first row")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last row")),
		Enter:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open worker")),
		Back:        key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back or clear")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Rebalance:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "force rebalance")),
		DryRun:      key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "dry run")),
		Pause:       key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause, resume")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q"), key.WithHelp("q", quitHelp)),
		Interrupt:   key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", intHelp)),
		Confirm:     key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "confirm")),
	}
}

// ShortHelp is the footer line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextView, k.Enter, k.Filter, k.Rebalance, k.DryRun, k.Pause, k.Help, k.Quit}
}

// FullHelp is the help screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextView, k.PrevView, k.Workers, k.Assignments, k.History, k.Events},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Enter, k.Back},
		{k.Filter, k.Rebalance, k.DryRun, k.Pause, k.Help, k.Quit, k.Interrupt},
	}
}
