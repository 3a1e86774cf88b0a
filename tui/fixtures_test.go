package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

// fleet builds a snapshot of n workers sharing parts partitions round-robin.
func fleet(n, parts int) Snapshot {
	s := Snapshot{
		Taken: now, Cluster: "parti", URL: "nats://127.0.0.1:4222",
		Conn:    Conn{State: ConnConnected, Since: ago(10 * time.Minute)},
		FreshAt: now, Synced: true, WorkerTTL: 3 * time.Second,
		Version: 7, Epoch: 3,
		EventSource: "status bucket (transitions between two status writes may be coalesced)",
	}
	for i := range n {
		s.Workers = append(s.Workers, Worker{
			ID: fmt.Sprintf("worker-%d", i), Host: fmt.Sprintf("node-%d.example", i%3), PID: 4100 + i, Build: "v0.3.0",
			Started: ago(time.Duration(20+i) * time.Minute), LastHeartbeat: ago(time.Duration(100+i*37%900) * time.Millisecond),
			Interval: time.Second, Applied: 7,
		})
	}
	for i := range parts {
		p := Partition{Key: fmt.Sprintf("p-%03d", i), Weight: float64(1 + (i/3)%3)}
		if n > 0 {
			p.Owner = s.Workers[i%n].ID
			s.Workers[i%n].Partitions++
			s.Workers[i%n].Weight += p.Weight
		}
		s.TotalWeight += p.Weight
		s.Partitions = append(s.Partitions, p)
	}
	slices.SortFunc(s.Workers, func(a, b Worker) int { return strings.Compare(a.ID, b.ID) })
	if n > 0 {
		s.Leader = &Leader{ID: "worker-0", Epoch: 3, Since: ago(19 * time.Minute), Renewed: ago(400 * time.Millisecond)}
		s.Calculator = &Calculator{Leader: "worker-0", Epoch: 3, State: "idle", Since: ago(2*time.Minute + 3*time.Second),
			Version: 7, Workers: n, Partitions: parts, Breaker: Breaker{State: "closed"}, Updated: ago(300 * time.Millisecond)}
	}
	return s
}

func healthy() Snapshot {
	s := fleet(3, 64)
	s.History = []Rebalance{
		{At: ago(19 * time.Minute), Leader: "worker-0", Trigger: "cold-start", Reason: "first assignment", Duration: 2100 * time.Microsecond, Moved: 64, Version: 1, Result: "published"},
		{At: ago(15 * time.Minute), Leader: "worker-0", Trigger: "join", Reason: "worker-2 joined", Duration: 900 * time.Microsecond, Moved: 21, Version: 2, Result: "published"},
		{At: ago(11 * time.Minute), Leader: "worker-0", Trigger: "crash", Reason: "worker-3 expired", Duration: 1300 * time.Microsecond, Moved: 16, Version: 3, Result: "published"},
		{At: ago(9 * time.Minute), Leader: "worker-0", Trigger: "force", Reason: "parti top", Duration: 400 * time.Microsecond, Moved: 0, Version: 3, Result: "unchanged"},
		{At: ago(6 * time.Minute), Leader: "worker-0", Trigger: "partitions", Reason: "partition set changed", Duration: 15 * time.Millisecond, Moved: 4, Version: 4, Result: "failed", Error: "store timeout"},
		{At: ago(5 * time.Minute), Leader: "worker-0", Trigger: "retry", Reason: "partition set changed", Duration: 3200 * time.Microsecond, Moved: 4, Version: 5, Result: "published"},
		{At: ago(3 * time.Minute), Leader: "worker-0", Trigger: "join", Reason: "worker-1 joined", Duration: 1100 * time.Microsecond, Moved: 21, Version: 6, Result: "published"},
		{At: ago(2*time.Minute + 4*time.Second), Leader: "worker-0", Trigger: "force", Reason: "parti top", Duration: 800 * time.Microsecond, Moved: 2, Version: 7, Result: "published"},
	}
	s.Events = []Event{
		{At: ago(3*time.Minute + 2*time.Second), Kind: EventWorker, Text: "worker-1 joined (node-1.example, pid 4101)", Worker: "worker-1"},
		{At: ago(3*time.Minute + time.Second), Kind: EventState, Text: "idle → scaling-window (join)"},
		{At: ago(3 * time.Minute), Kind: EventState, Text: "scaling-window → rebalancing (join)"},
		{At: ago(3 * time.Minute), Kind: EventState, Text: "rebalancing → idle (v6)"},
		{At: ago(3 * time.Minute), Kind: EventAssignment, Text: "assignment v6 (epoch 3): 3 workers, 64 partitions"},
		{At: ago(2*time.Minute + 5*time.Second), Kind: EventGap, Text: "2 state changes missed; now rebalancing", Missed: 2},
		{At: ago(2*time.Minute + 3*time.Second), Kind: EventState, Text: "rebalancing → idle (v7)"},
		{At: ago(2*time.Minute + 3*time.Second), Kind: EventRebalance, Text: "force: parti top, moved 2 in 0.80ms → v7 (published)"},
	}
	return s
}

func noLeader() Snapshot {
	s := healthy()
	s.Leader = nil
	s.Calculator.Updated = ago(12 * time.Second)
	s.Workers[0].Gone, s.Workers[0].GoneAt, s.Workers[0].GoneReason = true, ago(2*time.Second), "expired"
	s.Workers[0].LastHeartbeat = ago(5 * time.Second)
	s.Events = append(s.Events, Event{At: ago(2 * time.Second), Kind: EventLeader, Text: "no leader: the leader key expired (worker-0)"})
	return s
}

func breakerOpen() Snapshot {
	s := healthy()
	c := *s.Calculator
	c.State, c.Since = "backing-off", ago(9*time.Second)
	c.Pending, c.PendingDue = "crash", now.Add(2500*time.Millisecond)
	c.Breaker = Breaker{State: "open", Failures: 5, Opens: 1, NextRetry: now.Add(3200 * time.Millisecond)}
	c.LastError = "publish v8: write w.worker-2: nats: timeout"
	s.Calculator = &c
	s.Workers[2].LastHeartbeat = ago(2600 * time.Millisecond) // suspect
	s.Workers[1].Applied = 6
	return s
}

func stale() Snapshot {
	s := healthy()
	s.Conn = Conn{State: ConnReconnecting, Since: ago(12 * time.Second), Err: "EOF"}
	s.FreshAt = ago(12 * time.Second)
	return s
}

func emptyFleet() Snapshot {
	s := fleet(0, 0)
	s.Version, s.Epoch = 0, 0
	return s
}

// newModel returns a sized model over a scripted source showing snap.
func newModel(t *testing.T, w, h int, snap Snapshot, deps ...func(*Deps)) *Model {
	t.Helper()
	src := NewScriptedSource()
	t.Cleanup(src.Close)
	st := NewPlainStyles()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := Deps{Source: src, Context: ctx, Now: func() time.Time { return now }, Location: time.UTC, Styles: &st}
	for _, f := range deps {
		f(&d)
	}
	m := New(d)
	m.SetSize(w, h)
	m.Update(snapshotMsg{snap: snap})
	return m
}

// keyMsg turns a key name into a key message.
func keyMsg(k string) tea.KeyMsg {
	names := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"up": tea.KeyUp, "down": tea.KeyDown, "backspace": tea.KeyBackspace, "ctrl+c": tea.KeyCtrlC,
		"pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp, "home": tea.KeyHome, "end": tea.KeyEnd,
	}
	if t, ok := names[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends keys to m and returns the last command.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// typeText sends each rune of s as a key.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}
