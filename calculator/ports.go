package calculator

import (
	"context"
	"time"

	"github.com/parti-dev/parti/calculator/model"
)

// MemberEventKind says what happened to a worker.
type MemberEventKind int

// Membership event kinds.
const (
	// MemberJoined: a worker is alive (first heartbeat, or back after a gap).
	MemberJoined MemberEventKind = iota + 1
	// MemberLeft: a worker left gracefully (it is draining or deleted its
	// heartbeat); its partitions must be handed off.
	MemberLeft
	// MemberExpired: a worker's heartbeat expired (crash, pause, partition).
	MemberExpired
	// MembersSynced: every member that existed when the watch started has
	// been delivered. Sent once per (re)started watch; until the first one
	// the calculator does not treat absent workers as gone.
	MembersSynced
)

// String returns the event kind's name.
func (k MemberEventKind) String() string {
	switch k {
	case MemberJoined:
		return "joined"
	case MemberLeft:
		return "left"
	case MemberExpired:
		return "expired"
	case MembersSynced:
		return "synced"
	}
	return "unknown"
}

// MemberEvent is one membership change.
type MemberEvent struct {
	Kind   MemberEventKind
	Worker string    // empty for MembersSynced
	At     time.Time // when the source observed it; zero means "now"
}

// Membership is the calculator's port for worker membership.
//
// Watch starts delivering events and returns the channel. The source owns the
// goroutine that feeds the channel: it must close the channel once ctx is
// done, and the calculator drains the channel until it is closed. Events are
// level-triggered: repeating a join for a live worker or a leave for a gone
// worker is harmless. After a watch is re-created (reconnect), the source
// delivers the current members again followed by MembersSynced; the
// calculator treats workers missing from that snapshot as expired.
type Membership interface {
	Watch(ctx context.Context) (<-chan MemberEvent, error)
}

// WorkerEntry is one worker's slice of an assignment, as written to the store.
type WorkerEntry struct {
	Worker string
	Keys   []string // sorted
}

// Commit marks a version complete: readers act on a version only once its
// commit is visible, so they never see a half-written version.
type Commit struct {
	Version    uint64
	Epoch      uint64
	Leader     string
	Workers    []string // sorted IDs of every worker in this version
	Partitions int      // number of partitions covered
	At         time.Time
}

// Store is the calculator's port for published assignments.
//
// A publish of version V writes the changed worker entries (WriteWorker,
// DeleteWorker; the calculator issues these concurrently with a bound) and
// then Commit. Every write carries the leader epoch; the store rejects writes
// from a leader whose epoch is no longer current with an error wrapping
// ErrFenced. Implementations must honour ctx cancellation.
type Store interface {
	// Load returns the latest committed assignment, or ok == false if none.
	Load(ctx context.Context) (a model.Assignment, ok bool, err error)
	WriteWorker(ctx context.Context, epoch, version uint64, e WorkerEntry) error
	DeleteWorker(ctx context.Context, epoch, version uint64, worker string) error
	Commit(ctx context.Context, c Commit) error
}

// Clock is the calculator's port for time. SystemClock is the default; tests
// use it inside a testing/synctest bubble, where time is virtual.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) *time.Timer
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns time.NewTimer(d).
func (SystemClock) NewTimer(d time.Duration) *time.Timer { return time.NewTimer(d) }

// Metrics is the calculator's port for instrumentation. Every method must be
// cheap and non-blocking. NopMetrics discards everything.
type Metrics interface {
	RebalanceAttempt()
	RebalanceDone(d time.Duration, moved int, err error)
	StateTransition(from, to string)
	StateDuration(state string, d time.Duration)
	InvalidTransition(from, to string)
	BreakerState(state string, opens uint64)
	StateChangesDropped(n uint64)
	ActiveWorkers(n int)
	Partitions(n int)
	AssignmentVersion(v uint64)
	StoreOperation(op string, d time.Duration, err error)
}

// NopMetrics implements Metrics by doing nothing.
type NopMetrics struct{}

// RebalanceAttempt does nothing.
func (NopMetrics) RebalanceAttempt() {}

// RebalanceDone does nothing.
func (NopMetrics) RebalanceDone(time.Duration, int, error) {}

// StateTransition does nothing.
func (NopMetrics) StateTransition(string, string) {}

// StateDuration does nothing.
func (NopMetrics) StateDuration(string, time.Duration) {}

// InvalidTransition does nothing.
func (NopMetrics) InvalidTransition(string, string) {}

// BreakerState does nothing.
func (NopMetrics) BreakerState(string, uint64) {}

// StateChangesDropped does nothing.
func (NopMetrics) StateChangesDropped(uint64) {}

// ActiveWorkers does nothing.
func (NopMetrics) ActiveWorkers(int) {}

// Partitions does nothing.
func (NopMetrics) Partitions(int) {}

// AssignmentVersion does nothing.
func (NopMetrics) AssignmentVersion(uint64) {}

// StoreOperation does nothing.
func (NopMetrics) StoreOperation(string, time.Duration, error) {}
