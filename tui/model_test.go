package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withRebalance wires a fake rebalance function counting its calls.
func withRebalance(calls *atomic.Int32) func(*Deps) {
	return func(d *Deps) {
		d.Rebalance = func(_ context.Context, dry bool) (RebalanceOutcome, error) {
			if calls != nil {
				calls.Add(1)
			}
			o := RebalanceOutcome{Leader: "worker-0", Epoch: 3, DryRun: dry, Version: 8, Moved: 3, Duration: 1200 * time.Microsecond}
			if dry {
				o.Version = 7
				o.Plan = map[string][]string{"worker-1": {"p-003", "p-006"}, "worker-2": {"p-010"}}
			}
			return o, nil
		}
	}
}

// run executes cmd (and the commands it batches) and feeds their messages
// back, as the Bubble Tea runtime would. Commands that wait for snapshots
// or ticks are skipped.
func run(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			run(m, c)
		}
	case nil:
	default:
		_, next := m.Update(msg)
		run(m, next)
	}
}

func TestKeysSwitchViews(t *testing.T) {
	m := newModel(t, 100, 30, healthy())
	assert.Equal(t, ViewWorkers, m.CurrentView())
	press(m, "tab")
	assert.Equal(t, ViewAssignments, m.CurrentView())
	assert.Contains(t, m.View(), "PARTITION")
	press(m, "tab", "tab")
	assert.Equal(t, ViewEvents, m.CurrentView())
	assert.Contains(t, m.View(), "transitions from")
	press(m, "tab")
	assert.Equal(t, ViewWorkers, m.CurrentView())
	press(m, "shift+tab")
	assert.Equal(t, ViewEvents, m.CurrentView())
	press(m, "3")
	assert.Equal(t, ViewHistory, m.CurrentView())
	assert.Contains(t, m.View(), "duration")
	press(m, "2")
	assert.Equal(t, ViewAssignments, m.CurrentView())
	press(m, "1")
	assert.Equal(t, ViewWorkers, m.CurrentView())
}

func TestRebalanceNeedsConfirmation(t *testing.T) {
	var calls atomic.Int32
	m := newModel(t, 120, 40, healthy(), withRebalance(&calls))

	// r asks; any key but y cancels, and nothing is sent.
	cmd := press(m, "r")
	assert.Nil(t, cmd, "r alone sends nothing")
	assert.Contains(t, m.View(), "Force a rebalance of cluster parti now?")
	cmd = press(m, "n")
	assert.Nil(t, cmd)
	assert.Contains(t, m.View(), "cancelled")
	assert.Zero(t, calls.Load())

	// r then y sends exactly one request, through a command.
	press(m, "r")
	cmd = press(m, "y")
	require.NotNil(t, cmd, "confirming returns the request command")
	assert.Zero(t, calls.Load(), "Update does not call the request itself")
	run(m, cmd)
	assert.Equal(t, int32(1), calls.Load())
	assert.Contains(t, m.View(), "force rebalance published version 8: 3 partitions moved")
}

func TestDryRunShowsPlan(t *testing.T) {
	var calls atomic.Int32
	m := newModel(t, 120, 40, healthy(), withRebalance(&calls))
	run(m, press(m, "d"))
	assert.Equal(t, int32(1), calls.Load(), "a dry run needs no confirmation")
	v := m.View()
	assert.Contains(t, v, "3 partitions would move")
	assert.Contains(t, v, "p-003,p-006")
	assert.Contains(t, v, "nothing was published")
	press(m, "esc")
	assert.NotContains(t, m.View(), "would move from")
}

func TestRebalanceErrorShown(t *testing.T) {
	m := newModel(t, 100, 30, healthy(), func(d *Deps) {
		d.Rebalance = func(context.Context, bool) (RebalanceOutcome, error) {
			return RebalanceOutcome{}, errors.New("no leader answered")
		}
	})
	press(m, "r")
	run(m, press(m, "y"))
	assert.Contains(t, m.View(), "force rebalance failed: no leader answered")
}

func TestRebalanceUnavailable(t *testing.T) {
	m := newModel(t, 100, 30, healthy())
	assert.Nil(t, press(m, "r"))
	assert.Contains(t, m.View(), "not available")
}

func TestDrillDownAndBack(t *testing.T) {
	m := newModel(t, 120, 40, healthy())
	press(m, "down", "down", "enter")
	assert.Equal(t, "worker-2", m.Detail())
	v := m.View()
	assert.Contains(t, v, "Partitions (21)")
	assert.Contains(t, v, "Recent history of worker-2")
	assert.Contains(t, v, "worker-2 joined")
	press(m, "esc")
	assert.Empty(t, m.Detail())

	// From the assignments view, enter opens the partition's owner.
	press(m, "2", "down", "enter")
	assert.Equal(t, "worker-1", m.Detail())
}

func TestFilter(t *testing.T) {
	m := newModel(t, 100, 30, healthy())
	press(m, "/")
	typeText(m, "WORKER-2")
	assert.Equal(t, 1, m.rowCount(ViewWorkers), "case-insensitive")
	press(m, "enter")
	assert.Contains(t, m.View(), "filter /WORKER-2  1 of 3")
	press(m, "esc")
	assert.Equal(t, 3, m.rowCount(ViewWorkers))

	press(m, "2", "/")
	typeText(m, "p-00")
	assert.Equal(t, 10, m.rowCount(ViewAssignments))
	press(m, "backspace", "backspace")
	assert.Equal(t, 64, m.rowCount(ViewAssignments))
	press(m, "esc")
	assert.Equal(t, 64, m.rowCount(ViewAssignments))
}

func TestPauseHoldsUpdates(t *testing.T) {
	m := newModel(t, 100, 30, healthy())
	press(m, "p")
	assert.True(t, m.Paused())
	next := healthy()
	next.Version = 9
	m.Update(snapshotMsg{snap: next})
	assert.Equal(t, uint64(7), m.Snapshot().Version, "paused: the screen keeps the old snapshot")
	assert.Contains(t, m.View(), "PAUSED")
	assert.Contains(t, m.View(), "1 update held")
	press(m, "p")
	assert.Equal(t, uint64(9), m.Snapshot().Version, "resumed: the newest held snapshot shows")
}

func TestQuitOutcomes(t *testing.T) {
	m := newModel(t, 80, 24, healthy())
	cmd := press(m, "q")
	require.NotNil(t, cmd)
	assert.IsType(t, tea.QuitMsg{}, cmd())
	assert.Equal(t, OutcomeQuit, m.Outcome())

	m = newModel(t, 80, 24, healthy(), func(d *Deps) { d.Attached = true })
	press(m, "q")
	assert.Equal(t, OutcomeDetach, m.Outcome())
	assert.Contains(t, m.View(), "detach")
	m = newModel(t, 80, 24, healthy(), func(d *Deps) { d.Attached = true })
	press(m, "?") // ctrl+c works even in help
	press(m, "ctrl+c")
	assert.Equal(t, OutcomeStop, m.Outcome())
}

func TestHelpToggles(t *testing.T) {
	m := newModel(t, 80, 24, healthy())
	press(m, "?")
	assert.Contains(t, m.View(), "force rebalance")
	press(m, "?")
	assert.NotContains(t, m.View(), "force rebalance")
}

func TestCursorFollowsItemAcrossSnapshots(t *testing.T) {
	m := newModel(t, 100, 30, healthy())
	press(m, "down", "down") // worker-2
	s := healthy()
	s.Workers = slices.Insert(s.Workers, 1, Worker{ID: "worker-00", LastHeartbeat: now, Interval: time.Second})
	m.Update(snapshotMsg{snap: s})
	i, ok := m.selected(ViewWorkers)
	require.True(t, ok)
	assert.Equal(t, "worker-2", m.Snapshot().Workers[i].ID)
}

func TestScrollingKeepsCursorVisible(t *testing.T) {
	m := newModel(t, 80, 24, fleet(200, 1000))
	press(m, "end")
	v := m.View()
	assert.Contains(t, v, ">  worker-99", "sorted by ID: worker-99 is last")
	press(m, "home")
	assert.Contains(t, m.View(), ">★ worker-0")
	press(m, "pgdown")
	checkFits(t, m.View(), 80, 24)
}

func TestWorkerStatus(t *testing.T) {
	w := Worker{LastHeartbeat: ago(500 * time.Millisecond), Interval: time.Second}
	assert.Equal(t, StatusAlive, w.StatusAt(now))
	w.LastHeartbeat = ago(2100 * time.Millisecond)
	assert.Equal(t, StatusSuspect, w.StatusAt(now))
	w.Draining = true
	assert.Equal(t, StatusDraining, w.StatusAt(now))
	w.Gone = true
	assert.Equal(t, StatusGone, w.StatusAt(now))
}

func TestSmallAndOddSizesFit(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {81, 25}, {60, 15}, {40, 10}, {200, 60}, {20, 5}} {
		for _, snap := range []Snapshot{healthy(), breakerOpen(), stale(), emptyFleet(), fleet(50, 5000)} {
			m := newModel(t, size[0], size[1], snap)
			for _, keys := range [][]string{nil, {"2"}, {"3"}, {"4"}, {"1", "enter"}, {"?"}} {
				press(m, "esc", "esc")
				press(m, keys...)
				checkFits(t, m.View(), size[0], size[1])
			}
		}
	}
}

func TestSourceClosedShown(t *testing.T) {
	m := newModel(t, 80, 24, healthy())
	m.Update(sourceClosedMsg{})
	assert.Contains(t, m.View(), "source stopped")
}

func TestContainsWord(t *testing.T) {
	assert.True(t, containsWord("worker-1 joined", "worker-1"))
	assert.False(t, containsWord("worker-10 joined", "worker-1"))
	assert.True(t, containsWord("a, worker-1", "worker-1"))
}

func TestSparkline(t *testing.T) {
	assert.Equal(t, "▁▅█", Sparkline([]float64{0, 1, 2}, 10))
	assert.Equal(t, "█▁", Sparkline([]float64{5, 9, 0}, 2))
	assert.Empty(t, Sparkline(nil, 5))
}

func TestJoinFit(t *testing.T) {
	assert.Equal(t, "a,b,c", joinFit([]string{"a", "b", "c"}, 10))
	got := joinFit([]string{"p-001", "p-002", "p-003", "p-004"}, 16)
	assert.LessOrEqual(t, textWidth(got), 16)
	assert.Contains(t, got, "…(+")
	assert.Equal(t, "-", joinFit(nil, 5))
}

func TestWidths(t *testing.T) {
	for _, s := range []string{"abc", "★ worker-0", "█▌┊·×→—…", "日本語", "é", "\x1b[1mbold\x1b[0m ▁▂", "⚡x"} {
		assert.Equal(t, ansi.StringWidth(s), screenWidth(s), s)
		if !strings.Contains(s, "\x1b") {
			assert.Equal(t, ansi.StringWidth(s), textWidth(s), s)
		}
	}
	assert.Equal(t, "日…", fit("日本語", 3))
	assert.Equal(t, "ab…", fit("abcdef", 3))
}

// TestProgramSmoke runs the model in the real Bubble Tea runtime over a
// scripted source: the snapshot arrives through the waiting command, keys
// switch views, q quits, and every goroutine ends.
func TestProgramSmoke(t *testing.T) {
	src := NewScriptedSource()
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := NewPlainStyles()
	m := New(Deps{Source: src, Context: ctx, Now: func() time.Time { return now }, Location: time.UTC, Styles: &st})
	got := make(chan struct{})
	var once sync.Once
	var out syncWriter
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(&out), tea.WithoutSignalHandler(), tea.WithContext(ctx),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(snapshotMsg); ok {
				once.Do(func() { close(got) })
			}
			return msg
		}))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	src.Push(healthy())
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot reached the model")
	}
	p.Send(keyMsg("3"))
	p.Send(keyMsg("q"))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the program did not quit")
	}
	assert.Equal(t, ViewHistory, m.CurrentView())
	assert.Equal(t, OutcomeQuit, m.Outcome())
	assert.Contains(t, out.String(), "cold-start")
}

// syncWriter is a goroutine-safe buffer.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestRebalanceUnchanged(t *testing.T) {
	m := newModel(t, 100, 30, healthy(), func(d *Deps) {
		d.Rebalance = func(context.Context, bool) (RebalanceOutcome, error) {
			return RebalanceOutcome{Leader: "worker-0", Epoch: 3, Version: 7, Result: "unchanged"}, nil
		}
	})
	press(m, "r")
	run(m, press(m, "y"))
	assert.Contains(t, m.View(), "nothing to move, version 7 stays")
}
