package fsm

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// want is the transition table written out longhand, so a change to the
// table in fsm.go must be made twice on purpose.
var want = map[State][]State{
	Init:          {ColdStart, Idle, Stopped},
	ColdStart:     {Idle, Rebalancing, Stopped},
	Idle:          {ScalingWindow, Emergency, Rebalancing, Stopped},
	ScalingWindow: {Idle, Emergency, Rebalancing, Stopped},
	Emergency:     {Rebalancing, Stopped},
	Rebalancing:   {Idle, ScalingWindow, Emergency, BackingOff, Stopped},
	BackingOff:    {Idle, Rebalancing, Stopped},
	Stopped:       nil,
}

func TestEveryValidTransitionIsAccepted(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for from, targets := range want {
		for _, to := range targets {
			m := &Machine{state: from, since: t0}
			tr, err := m.To(to, t0.Add(3*time.Second))
			require.NoError(t, err, "%s → %s", from, to)
			assert.Equal(t, to, m.State())
			assert.Equal(t, Transition{From: from, To: to, At: t0.Add(3 * time.Second), InFrom: 3 * time.Second}, tr)
			assert.Equal(t, t0.Add(3*time.Second), m.Since())
			assert.Equal(t, uint64(1), m.Count())
			assert.Zero(t, m.Invalid())
		}
	}
}

func TestEveryOtherTransitionIsRejected(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rejected := 0
	for _, from := range States() {
		for _, to := range States() {
			if contains(want[from], to) {
				continue
			}
			m := &Machine{state: from, since: t0}
			_, err := m.To(to, t0.Add(time.Second))
			require.Error(t, err, "%s → %s must be rejected", from, to)
			assert.True(t, errors.Is(err, ErrInvalidTransition))
			var te *TransitionError
			require.True(t, errors.As(err, &te))
			assert.Equal(t, from, te.From)
			assert.Equal(t, to, te.To)
			assert.Contains(t, err.Error(), from.String()+" → "+to.String())
			assert.Equal(t, from, m.State(), "state unchanged")
			assert.Equal(t, t0, m.Since(), "since unchanged")
			assert.Equal(t, uint64(1), m.Invalid())
			assert.Zero(t, m.Count())
			rejected++
		}
	}
	assert.Positive(t, rejected)
}

func TestNoSelfTransitions(t *testing.T) {
	for _, s := range States() {
		assert.False(t, Valid(s, s), s.String())
	}
}

func TestStoppedIsTerminalAndReachableFromEverywhere(t *testing.T) {
	assert.Empty(t, Targets(Stopped))
	for _, s := range States() {
		if s != Stopped {
			assert.True(t, Valid(s, Stopped), "%s → stopped", s)
		}
	}
}

func TestEveryStateReachableFromInit(t *testing.T) {
	seen := map[State]bool{Init: true}
	queue := []State{Init}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range Targets(s) {
			if !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	assert.Len(t, seen, len(States()))
}

func TestTargetsMatchesTable(t *testing.T) {
	for from, targets := range want {
		assert.ElementsMatch(t, targets, Targets(from), from.String())
	}
}

func TestNamesRoundTrip(t *testing.T) {
	for _, s := range States() {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var got State
		require.NoError(t, got.UnmarshalText(b))
		assert.Equal(t, s, got)
	}
	var s State
	assert.Error(t, s.UnmarshalText([]byte("bogus")))
	assert.Equal(t, "state(200)", State(200).String())
	assert.False(t, Valid(State(200), Idle))
	assert.False(t, Valid(Idle, State(200)))
}

func TestNewStartsInInit(t *testing.T) {
	now := time.Unix(5, 0)
	m := New(now)
	assert.Equal(t, Init, m.State())
	assert.Equal(t, now, m.Since())
}

func contains(list []State, s State) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
