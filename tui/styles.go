package tui

import (
	"github.com/charmbracelet/lipgloss"
)

// Styles are the dashboard's text styles. Every piece of text is laid out
// as plain text first and styled last, so styles never change a width.
type Styles struct {
	Title     lipgloss.Style // the header's first word
	Label     lipgloss.Style // field names
	Value     lipgloss.Style // field values
	Muted     lipgloss.Style // secondary text
	OK        lipgloss.Style // healthy: alive, closed, connected
	Warn      lipgloss.Style // attention: suspect, half-open, behind
	Bad       lipgloss.Style // trouble: gone, open, disconnected, errors
	Leader    lipgloss.Style // the leader marker
	Header    lipgloss.Style // table header row
	Selected  lipgloss.Style // the row under the cursor
	TabActive lipgloss.Style
	TabIdle   lipgloss.Style
	Banner    lipgloss.Style // stale / paused banner
	Key       lipgloss.Style // a key in help texts
	Bar       lipgloss.Style // weight share bars, sparklines
}

// NewStyles returns the styles for renderer r (its colour profile decides
// what reaches the terminal; tests use termenv.Ascii for plain text).
func NewStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	c := func(light, dark string) lipgloss.AdaptiveColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	return Styles{
		Title:     r.NewStyle().Bold(true).Foreground(c("#5A2CA0", "#C4A7FF")),
		Label:     r.NewStyle().Foreground(c("#6B6B6B", "#8A8A8A")),
		Value:     r.NewStyle().Bold(true),
		Muted:     r.NewStyle().Foreground(c("#8A8A8A", "#6B6B6B")),
		OK:        r.NewStyle().Foreground(c("#1A7F37", "#56D364")),
		Warn:      r.NewStyle().Foreground(c("#9A6700", "#E3B341")).Bold(true),
		Bad:       r.NewStyle().Foreground(c("#CF222E", "#FF7B72")).Bold(true),
		Leader:    r.NewStyle().Foreground(c("#9A6700", "#E3B341")).Bold(true),
		Header:    r.NewStyle().Bold(true).Underline(true),
		Selected:  r.NewStyle().Reverse(true),
		TabActive: r.NewStyle().Reverse(true).Bold(true),
		TabIdle:   r.NewStyle().Foreground(c("#6B6B6B", "#8A8A8A")),
		Banner:    r.NewStyle().Reverse(true).Bold(true).Foreground(c("#CF222E", "#FF7B72")),
		Key:       r.NewStyle().Bold(true).Foreground(c("#0969DA", "#79C0FF")),
		Bar:       r.NewStyle().Foreground(c("#0969DA", "#79C0FF")),
	}
}
