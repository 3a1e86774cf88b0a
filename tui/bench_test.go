package tui

import (
	"io"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// benchModel is a model at 200x60 over 1 000 workers and 100 000
// partitions, with history and events.
func benchModel(b *testing.B, styles ...Styles) *Model {
	b.Helper()
	s := fleet(1000, 100_000)
	h := healthy()
	for range 8 {
		s.History = append(s.History, h.History...)
	}
	for range 60 {
		s.Events = append(s.Events, h.Events...)
	}
	src := NewScriptedSource()
	b.Cleanup(src.Close)
	st := NewPlainStyles()
	if len(styles) > 0 {
		st = styles[0]
	}
	m := New(Deps{Source: src, Now: func() time.Time { return now }, Styles: &st})
	m.SetSize(200, 60)
	m.Update(snapshotMsg{snap: s})
	return m
}

// BenchmarkView renders every view over 1 000 workers and 100 000
// partitions.
func BenchmarkView(b *testing.B) {
	for _, v := range []struct {
		name string
		keys []string
	}{
		{"workers", nil},
		{"assignments", []string{"2"}},
		{"assignments-end", []string{"2", "end"}},
		{"history", []string{"3"}},
		{"events", []string{"4"}},
		{"drilldown", []string{"down", "enter"}},
	} {
		b.Run(v.name, func(b *testing.B) {
			m := benchModel(b)
			press(m, v.keys...)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkViewColour renders the workers view with true-colour styles, as
// on a modern terminal.
func BenchmarkViewColour(b *testing.B) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	r.SetHasDarkBackground(true)
	m := benchModel(b, NewStyles(r))
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkApplySnapshot is the cost of taking a new snapshot in Update
// (filters recomputed) with an assignments filter active.
func BenchmarkApplySnapshot(b *testing.B) {
	m := benchModel(b)
	press(m, "2", "/")
	typeText(m, "p-0999")
	press(m, "enter")
	s := m.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		m.Update(snapshotMsg{snap: s})
	}
}
