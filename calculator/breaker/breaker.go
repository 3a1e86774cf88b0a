// Package breaker holds the calculator's failure handling: a circuit breaker
// that stops retrying a failing operation for a cooldown, and a capped,
// jittered exponential Backoff for the delays between retries.
//
// Both are pure and deterministic: nothing here starts a goroutine, reads a
// clock or draws a random number by itself. The caller passes the current
// time and the random source, so tests drive them with fake time. The
// package must not import NATS or any I/O package.
package breaker

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// State is the state of a Breaker.
type State int

// Breaker states.
const (
	// Closed: calls go through; consecutive failures are counted.
	Closed State = iota
	// Open: calls are rejected until the cooldown has elapsed.
	Open
	// HalfOpen: the cooldown has elapsed; a single trial call decides
	// whether the breaker closes again or reopens.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Default configuration values.
const (
	DefaultFailureThreshold = 5
	DefaultOpenTimeout      = 5 * time.Second
)

// Config configures a Breaker.
type Config struct {
	// FailureThreshold is the number of consecutive failures that opens
	// the breaker. Zero means DefaultFailureThreshold.
	FailureThreshold int
	// OpenTimeout is the cooldown an open breaker waits before it lets a
	// trial call through. Zero means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// OnStateChange, if not nil, is called after every state transition,
	// for metrics and logs. It is called outside the breaker's lock, from
	// the goroutine whose Allow, Success or Failure call caused the
	// transition, so it may call back into the Breaker.
	OnStateChange func(from, to State)
}

// DefaultConfig returns a Config with the default threshold and timeout.
func DefaultConfig() Config {
	return Config{FailureThreshold: DefaultFailureThreshold, OpenTimeout: DefaultOpenTimeout}
}

// Validate reports every invalid field of c in one error wrapping
// ErrInvalidConfig, or nil. Zero values are valid: they select defaults.
func (c Config) Validate() error {
	var errs []error
	if c.FailureThreshold < 0 {
		errs = append(errs, fmt.Errorf("%w: Config.FailureThreshold must not be negative, got %d",
			ErrInvalidConfig, c.FailureThreshold))
	}
	if c.OpenTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: Config.OpenTimeout must not be negative, got %s",
			ErrInvalidConfig, c.OpenTimeout))
	}
	return errors.Join(errs...)
}

// Snapshot is a consistent copy of a Breaker's state for status displays.
type Snapshot struct {
	// State is the state as of the snapshot's time; see Breaker.State.
	State State
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	// Opens counts how many times the breaker has opened in total.
	Opens uint64
	// OpenedAt is when the breaker last opened; zero while Closed.
	OpenedAt time.Time
	// NextRetry is when an Open breaker lets the next trial through
	// (OpenedAt + OpenTimeout); zero in any other state.
	NextRetry time.Time
	// LastChange is when the state last changed; zero if it never did.
	LastChange time.Time
}

// Breaker is a circuit breaker driven by explicit time.
//
// A Closed breaker allows every call and opens after FailureThreshold
// consecutive failures. An Open breaker rejects calls until OpenTimeout has
// passed since it opened; the next Allow then moves it to HalfOpen and lets
// exactly one trial through. The trial's Success closes the breaker and
// resets the failure count; its Failure reopens it with a fresh cooldown.
//
// The caller reports the outcome of every allowed call with Success or
// Failure. Outcomes reported while Open belong to calls allowed before the
// breaker opened and are ignored. If a trial's outcome is never reported,
// Allow grants a new trial once OpenTimeout has passed since the previous
// one, so a lost outcome cannot wedge the breaker in HalfOpen.
//
// A Breaker is safe for concurrent use.
type Breaker struct {
	threshold int
	timeout   time.Duration
	onChange  func(from, to State)

	mu          sync.Mutex
	state       State
	consecutive int
	opens       uint64
	openedAt    time.Time
	trialAt     time.Time // when the current HalfOpen trial was granted
	lastChange  time.Time
}

// New returns a Closed breaker. Zero or negative fields of cfg are
// replaced by their defaults (Validate reports negative ones as errors).
func New(cfg Config) *Breaker {
	b := &Breaker{
		threshold: cfg.FailureThreshold,
		timeout:   cfg.OpenTimeout,
		onChange:  cfg.OnStateChange,
	}
	if b.threshold <= 0 {
		b.threshold = DefaultFailureThreshold
	}
	if b.timeout <= 0 {
		b.timeout = DefaultOpenTimeout
	}
	return b
}

// Allow reports whether a call may go ahead at now. Closed: always. Open:
// not until now reaches OpenedAt+OpenTimeout; then the breaker moves to
// HalfOpen and Allow returns true for that one trial. HalfOpen: false while
// the trial is in flight.
func (b *Breaker) Allow(now time.Time) bool {
	b.mu.Lock()
	ok, c := b.allow(now)
	b.mu.Unlock()
	b.report(c)
	return ok
}

func (b *Breaker) allow(now time.Time) (bool, change) {
	switch b.state {
	case Closed:
		return true, change{}
	case Open:
		if now.Before(b.openedAt.Add(b.timeout)) {
			return false, change{}
		}
		b.trialAt = now
		return true, b.moveTo(HalfOpen, now)
	default: // HalfOpen
		if now.Before(b.trialAt.Add(b.timeout)) {
			return false, change{}
		}
		b.trialAt = now // the previous trial's outcome was lost
		return true, change{}
	}
}

// Success records that an allowed call succeeded at now. It resets the
// consecutive failure count, and closes a HalfOpen breaker.
func (b *Breaker) Success(now time.Time) {
	b.mu.Lock()
	c := b.success(now)
	b.mu.Unlock()
	b.report(c)
}

func (b *Breaker) success(now time.Time) change {
	switch b.state {
	case Closed:
		b.consecutive = 0
	case HalfOpen:
		b.consecutive = 0
		b.openedAt = time.Time{}
		b.trialAt = time.Time{}
		return b.moveTo(Closed, now)
	}
	return change{} // Open: a stale outcome
}

// Failure records that an allowed call failed at now. Closed: the
// consecutive failure count grows and the breaker opens when it reaches
// FailureThreshold. HalfOpen: the trial failed and the breaker reopens
// with a fresh cooldown starting at now.
func (b *Breaker) Failure(now time.Time) {
	b.mu.Lock()
	c := b.failure(now)
	b.mu.Unlock()
	b.report(c)
}

func (b *Breaker) failure(now time.Time) change {
	switch b.state {
	case Closed:
		b.consecutive++
		if b.consecutive < b.threshold {
			return change{}
		}
	case HalfOpen:
		b.consecutive++
		b.trialAt = time.Time{}
	default: // Open: a stale outcome
		return change{}
	}
	b.opens++
	b.openedAt = now
	return b.moveTo(Open, now)
}

// State returns the state as of now. An Open breaker whose cooldown has
// elapsed is reported as HalfOpen, since the next Allow lets a trial
// through; State itself changes nothing, and the transition (with its
// OnStateChange call) happens in that Allow.
func (b *Breaker) State(now time.Time) State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.effective(now)
}

// Snapshot returns a consistent copy of the breaker's state as of now,
// reported like State. While an elapsed cooldown is reported as HalfOpen,
// NextRetry is zero and LastChange is the moment the cooldown ended.
func (b *Breaker) Snapshot(now time.Time) Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{
		State:               b.effective(now),
		ConsecutiveFailures: b.consecutive,
		Opens:               b.opens,
		OpenedAt:            b.openedAt,
		LastChange:          b.lastChange,
	}
	switch {
	case s.State == Open:
		s.NextRetry = b.openedAt.Add(b.timeout)
	case b.state == Open: // cooldown elapsed, reported as HalfOpen
		s.LastChange = b.openedAt.Add(b.timeout)
	}
	return s
}

// effective returns the state as reported at now. The caller holds mu.
func (b *Breaker) effective(now time.Time) State {
	if b.state == Open && !now.Before(b.openedAt.Add(b.timeout)) {
		return HalfOpen
	}
	return b.state
}

// change is a state transition to report to OnStateChange.
type change struct {
	from, to State
	ok       bool
}

// moveTo sets the state to to at now and returns the change to report.
// The caller holds mu.
func (b *Breaker) moveTo(to State, now time.Time) change {
	c := change{from: b.state, to: to, ok: true}
	b.state = to
	b.lastChange = now
	return c
}

// report calls OnStateChange for c, if any. The caller must not hold mu.
func (b *Breaker) report(c change) {
	if c.ok && b.onChange != nil {
		b.onChange(c.from, c.to)
	}
}
