package tui

import (
	"context"
	"sync"
	"time"
)

// Source produces snapshots. Snapshots delivers them; a slow reader only
// ever gets the latest one (an unread snapshot is replaced), and the
// channel is closed when the source stops.
type Source interface {
	Snapshots() <-chan Snapshot
}

// RebalanceOutcome is the leader's answer to a (dry-run) rebalance request.
type RebalanceOutcome struct {
	Leader  string
	Epoch   uint64
	DryRun  bool
	Version uint64 // the version published (or current, for a dry run)
	// Result is "published", "unchanged" or "dry-run"; "" from a leader
	// too old to say.
	Result   string
	Moved    int
	Duration time.Duration
	// Plan maps each worker to the partitions it would receive (dry run).
	Plan map[string][]string
}

// RebalanceFunc asks the leader for a rebalance (a dry run when dryRun is
// set). It must honour ctx.
type RebalanceFunc func(ctx context.Context, dryRun bool) (RebalanceOutcome, error)

// ScriptedSource is a Source fed by hand, for tests and demos: Push
// delivers a snapshot (replacing an unread one) and Close ends it.
type ScriptedSource struct {
	mu     sync.Mutex
	ch     chan Snapshot
	closed bool
}

// NewScriptedSource returns an open ScriptedSource.
func NewScriptedSource() *ScriptedSource {
	return &ScriptedSource{ch: make(chan Snapshot, 1)}
}

// Snapshots implements Source.
func (s *ScriptedSource) Snapshots() <-chan Snapshot { return s.ch }

// Push delivers snap, replacing a snapshot not yet read. It is a no-op
// after Close.
func (s *ScriptedSource) Push(snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case <-s.ch:
	default:
	}
	s.ch <- snap
}

// Close closes the channel. It is idempotent.
func (s *ScriptedSource) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
