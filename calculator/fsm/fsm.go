// Package fsm is the calculator's formal state machine: the set of states, the
// table of valid transitions between them, and a Machine that enforces the
// table and tracks when the current state was entered.
//
// It is pure: it must not import NATS or any I/O package.
package fsm

import (
	"errors"
	"fmt"
	"time"
)

// State is one calculator state.
type State uint8

// The calculator states.
const (
	// Init: created, not started.
	Init State = iota
	// ColdStart: no assignment exists yet; members are collected for the
	// cold-start window, then exactly one assignment is published.
	ColdStart
	// Idle: the published assignment matches membership; nothing pending.
	Idle
	// ScalingWindow: a planned change (join, partition set change) is
	// pending; the calculator waits for the window to close to batch it.
	ScalingWindow
	// Emergency: workers holding partitions left or expired; a rebalance
	// runs after a short debounce, bypassing the window and the cooldown.
	Emergency
	// Rebalancing: computing and publishing a new assignment.
	Rebalancing
	// BackingOff: the last publish failed (store unreachable, timeouts); the
	// pending change is kept and retried after a backoff, behind the circuit
	// breaker.
	BackingOff
	// Stopped: terminal; nothing is published any more.
	Stopped
)

var names = [...]string{
	Init:          "init",
	ColdStart:     "cold-start",
	Idle:          "idle",
	ScalingWindow: "scaling-window",
	Emergency:     "emergency",
	Rebalancing:   "rebalancing",
	BackingOff:    "backing-off",
	Stopped:       "stopped",
}

// String returns the state's stable name, as used in metrics and JSON.
func (s State) String() string {
	if int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	st, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// Parse returns the state with the given name.
func Parse(name string) (State, error) {
	for i, n := range names {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("unknown calculator state %q", name)
}

// States lists every state in declaration order.
func States() []State {
	out := make([]State, len(names))
	for i := range names {
		out[i] = State(i)
	}
	return out
}

// table[from] is the set of valid targets, as a bit set.
var table = [len(names)]uint16{
	Init:          bits(ColdStart, Idle, Stopped),
	ColdStart:     bits(Idle, Rebalancing, Stopped),
	Idle:          bits(ScalingWindow, Emergency, Rebalancing, Stopped),
	ScalingWindow: bits(Idle, Emergency, Rebalancing, Stopped),
	Emergency:     bits(Rebalancing, Stopped),
	Rebalancing:   bits(Idle, ScalingWindow, Emergency, BackingOff, Stopped),
	BackingOff:    bits(Idle, Rebalancing, Stopped),
	Stopped:       0,
}

func bits(states ...State) uint16 {
	var b uint16
	for _, s := range states {
		b |= 1 << s
	}
	return b
}

// Valid reports whether from → to is in the transition table. A state never
// transitions to itself.
func Valid(from, to State) bool {
	if int(from) >= len(table) || int(to) >= len(names) {
		return false
	}
	return table[from]&(1<<to) != 0
}

// Targets lists the states reachable from s in one transition.
func Targets(s State) []State {
	var out []State
	for _, t := range States() {
		if Valid(s, t) {
			out = append(out, t)
		}
	}
	return out
}

// ErrInvalidTransition is wrapped by every rejected transition.
var ErrInvalidTransition = errors.New("invalid state transition")

// TransitionError describes a rejected transition.
type TransitionError struct {
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("invalid state transition %s → %s", e.From, e.To)
}

// Unwrap lets errors.Is match ErrInvalidTransition.
func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// Transition is one accepted state change.
type Transition struct {
	From, To State
	At       time.Time
	// InFrom is how long the machine stayed in From.
	InFrom time.Duration
}

// Machine enforces the transition table. It is not safe for concurrent use:
// the calculator drives it from its single event-loop goroutine.
type Machine struct {
	state   State
	since   time.Time
	invalid uint64
	count   uint64
}

// New returns a machine in state Init, entered at now.
func New(now time.Time) *Machine {
	return &Machine{state: Init, since: now}
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// Since is when the current state was entered.
func (m *Machine) Since() time.Time { return m.since }

// Invalid counts rejected transitions.
func (m *Machine) Invalid() uint64 { return m.invalid }

// Count counts accepted transitions.
func (m *Machine) Count() uint64 { return m.count }

// To moves the machine to state to at time now. An invalid transition leaves
// the machine unchanged, is counted, and returns a *TransitionError.
func (m *Machine) To(to State, now time.Time) (Transition, error) {
	if !Valid(m.state, to) {
		m.invalid++
		return Transition{}, &TransitionError{From: m.state, To: to}
	}
	tr := Transition{From: m.state, To: to, At: now, InFrom: now.Sub(m.since)}
	m.state, m.since = to, now
	m.count++
	return tr, nil
}
