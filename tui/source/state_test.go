package source

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/fanout"
	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/tui"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// testState is a state with a settable clock, synced and live.
func testState(now *time.Time) *state {
	o := Options{Now: func() time.Time { return *now }, MaxEvents: 20, MaxHistory: 5}
	o.fill()
	st := newState(o, "c", false)
	st.ttl = 3 * time.Second
	st.genSynced, st.workersSynced = true, true
	return st
}

func TestHeartbeatIntervalIgnoresExtraBeats(t *testing.T) {
	now := t0
	st := testState(&now)
	beat := func(seq uint64, at time.Duration) {
		now = t0.Add(at)
		st.heartbeat("w", codec.Heartbeat{Nonce: "n", Seq: seq, Host: "h", PID: 1}, now)
	}
	beat(1, 0)
	assert.Equal(t, time.Second, st.hbs["w"].w.Interval, "a third of the TTL until measured")
	beat(2, 5*time.Millisecond) // applied a version: an extra beat
	beat(3, 1000*time.Millisecond)
	beat(4, 2000*time.Millisecond)
	beat(5, 2004*time.Millisecond)
	beat(6, 2500*time.Millisecond)
	beat(7, 3000*time.Millisecond)
	beat(8, 3500*time.Millisecond)
	beat(9, 4000*time.Millisecond)
	assert.Equal(t, 500*time.Millisecond, st.hbs["w"].w.Interval)

	// Suspect after two intervals without a heartbeat, logged once.
	now = t0.Add(5100 * time.Millisecond)
	st.tick()
	st.tick()
	n := 0
	for _, e := range st.events {
		if e.Kind == tui.EventWorker && e.Worker == "w" && strings.Contains(e.Text, "suspect") {
			n++
		}
	}
	assert.Equal(t, 1, n)
	// A new process starts measuring again.
	st.heartbeat("w", codec.Heartbeat{Nonce: "m", Seq: 1}, now)
	assert.Equal(t, time.Second, st.hbs["w"].w.Interval)
}

func TestGoneWorkersAreKeptForTheRetention(t *testing.T) {
	now := t0
	st := testState(&now)
	st.heartbeat("w", codec.Heartbeat{Nonce: "n", Seq: 1}, now)
	st.workerGone("w", "expired", now, "w expired")
	snap := st.snapshot()
	require.Len(t, snap.Workers, 1)
	assert.Equal(t, tui.StatusGone, snap.Workers[0].StatusAt(now))
	now = now.Add(DefaultGoneRetention + time.Second)
	st.tick()
	assert.Empty(t, st.snapshot().Workers)

	// An old marker read at start is ignored.
	st.workerGone("old", "expired", now.Add(-time.Hour), "old expired")
	assert.Empty(t, st.snapshot().Workers)
}

func TestWorkersOnlyInTheAssignmentShowAsGone(t *testing.T) {
	now := t0
	st := testState(&now)
	st.setParts([]model.Partition{{Key: "a", Weight: 2}, {Key: "b", Weight: 1}}, "d")
	st.assignment(model.Assignment{Version: 3, Epoch: 1, Owners: map[string][]string{"x": {"a"}, "y": {"b", "zz"}}})
	snap := st.snapshot()
	require.Len(t, snap.Workers, 2)
	assert.True(t, snap.Workers[0].Gone)
	assert.Equal(t, "no heartbeat", snap.Workers[0].GoneReason)
	assert.InDelta(t, 2.0, snap.Workers[0].Weight, 0)
	assert.Equal(t, 2, snap.Workers[1].Partitions)
	require.Len(t, snap.Partitions, 3, "a key owned but not in the set is shown too")
	assert.Equal(t, "zz", snap.Partitions[2].Key)
	assert.InDelta(t, 3.0, snap.TotalWeight, 0)
}

func TestObservedStatesAndGaps(t *testing.T) {
	now := t0
	st := testState(&now)
	status := func(state string, since time.Duration) {
		st.status(control.Snapshot{Status: &codec.Status{Leader: "l", Epoch: 2, State: state, StateSince: t0.Add(since)}})
	}
	status("idle", 0) // the first read: no event
	status("emergency", time.Second)
	status("idle", 3*time.Second) // emergency → rebalancing → idle
	status("idle", 4*time.Second) // idle → … → idle
	var kinds []tui.EventKind
	var texts []string
	for _, e := range st.events {
		kinds = append(kinds, e.Kind)
		texts = append(texts, e.Text)
	}
	assert.Equal(t, []tui.EventKind{tui.EventState, tui.EventGap, tui.EventGap}, kinds, texts)
	assert.Equal(t, "idle → emergency", texts[0])
	assert.Contains(t, texts[1], "emergency → … → idle")
}

func TestHistoryMergesAcrossLeadersAndFormats(t *testing.T) {
	now := t0
	st := testState(&now)
	st.statusSynced = true
	h := &codec.History{Leader: "a", Epoch: 1, Entries: []codec.HistoryEntry{
		{At: t0, Reason: "cold-start: first", DurationMS: 1.5, Moved: 4, Version: 1, Result: "published"},
		{At: t0.Add(time.Second), Reason: "join: worker x joined", DurationMS: 1, Moved: 2, Version: 2, Result: "published"},
	}}
	st.status(control.Snapshot{History: h})
	// A new leader publishes only its own records.
	st.status(control.Snapshot{History: &codec.History{Leader: "b", Epoch: 2, Entries: []codec.HistoryEntry{
		{At: t0.Add(5 * time.Second), Reason: "crash: worker a expired", DurationMS: 2, Moved: 2, Version: 3, Result: "published"},
	}}})
	snap := st.snapshot()
	require.Len(t, snap.History, 3)
	assert.Equal(t, "cold-start", snap.History[0].Trigger)
	assert.Equal(t, "first", snap.History[0].Reason)
	assert.Equal(t, 1500*time.Microsecond, snap.History[0].Duration)
	assert.Equal(t, "b", snap.History[2].Leader)
	// The same record from the live calculator is not added twice.
	st.mergeHistory([]tui.Rebalance{{At: t0.Add(5 * time.Second), Trigger: "crash", Version: 3, Result: "published"}}, true)
	assert.Len(t, st.snapshot().History, 3)
	// Bounded: the oldest go.
	for i := range 5 {
		st.mergeHistory([]tui.Rebalance{{At: t0.Add(time.Duration(10+i) * time.Second), Version: uint64(4 + i), Result: "published"}}, false)
	}
	got := st.snapshot().History
	require.Len(t, got, 5)
	assert.Equal(t, uint64(4), got[0].Version)
	assert.Equal(t, uint64(3), snap.History[2].Version, "an earlier snapshot is unchanged")
}

func TestEventLogIsBoundedAndSnapshotsStayImmutable(t *testing.T) {
	now := t0
	st := testState(&now)
	for i := range 20 {
		st.event(tui.Event{Kind: tui.EventInfo, Text: string(rune('a' + i))})
	}
	first := st.snapshot()
	st.event(tui.Event{Kind: tui.EventInfo, Text: "new"})
	second := st.snapshot()
	assert.Len(t, first.Events, 20)
	assert.Equal(t, "a", first.Events[0].Text)
	assert.Len(t, second.Events, 16)
	assert.Equal(t, "new", second.Events[15].Text)
}

func TestCalculatorEventsAndGaps(t *testing.T) {
	now := t0
	st := testState(&now)
	st.calcEvent(fanout.Event[calculator.StateChange]{Seq: 1, Value: calculator.StateChange{From: fsm.Idle, To: fsm.ScalingWindow, Trigger: "join", At: t0}})
	st.calcEvent(fanout.Event[calculator.StateChange]{Seq: 9, Missed: 7, Value: calculator.StateChange{From: fsm.Rebalancing, To: fsm.Idle, Version: 4, At: t0}})
	require.Len(t, st.events, 2)
	assert.Equal(t, "idle → scaling-window (join)", st.events[0].Text)
	assert.Equal(t, tui.EventGap, st.events[1].Kind)
	assert.Equal(t, uint64(7), st.events[1].Missed)
	assert.Contains(t, st.events[1].Text, "7 state changes missed")
}
