// Package calculator is parti's leader-side engine: it watches membership,
// decides when to rebalance (windows, grace, cooldown, emergencies), places
// partitions with a strategy and publishes versioned assignments through a
// store, retrying failures with backoff behind a circuit breaker.
//
// The engine is split into focused parts: the membership monitor
// (monitor.go), the formal state machine (package fsm), the emergency
// detector (emergency.go), the publisher (publisher.go), the planner
// (planner.go), the state fan-out (package fanout) and the rebalance history
// (package history). All engine state is owned by one event-loop goroutine;
// other goroutines talk to it through channels and read immutable status
// snapshots.
//
// The package talks to the outside world only through the ports in
// ports.go. It must not import NATS, Prometheus or any I/O package.
package calculator

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parti-dev/parti/calculator/breaker"
	"github.com/parti-dev/parti/calculator/fanout"
	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/history"
	"github.com/parti-dev/parti/calculator/model"
)

// StateChange is one state transition, delivered to subscribers.
type StateChange struct {
	From    fsm.State `json:"from"`
	To      fsm.State `json:"to"`
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger,omitempty"`
	Version uint64    `json:"version"`
}

// Calculator is the leader-side engine. Create it with New, run it with
// Start, and stop it with Stop. All methods are safe for concurrent use.
type Calculator struct {
	cfg     Config
	members Membership
	store   Store

	hub     *fanout.Hub[StateChange]
	hist    *history.Ring
	brk     *breaker.Breaker
	status  atomic.Pointer[Status]
	reqs    chan request
	done    chan struct{}
	startMu sync.Mutex
	started bool
	stopped bool
	doneOne sync.Once
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	err     atomic.Pointer[error]

	loop *loop // owned by the event-loop goroutine
}

// New validates cfg and builds a calculator over the given ports.
func New(cfg Config, members Membership, store Store) (*Calculator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if members == nil || store == nil {
		return nil, fmt.Errorf("%w: membership and store ports are required", ErrInvalidConfig)
	}
	parts, err := model.NormalizePartitions(cfg.Partitions)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	cfg.Partitions = parts
	c := &Calculator{
		members: members,
		store:   store,
		reqs:    make(chan request),
		done:    make(chan struct{}),
	}
	userHook := cfg.Breaker.OnStateChange
	cfg.Breaker.OnStateChange = func(from, to breaker.State) {
		if c.brk != nil {
			c.cfg.Metrics.BreakerState(to.String(), c.brk.Snapshot(c.cfg.Clock.Now()).Opens)
		}
		if userHook != nil {
			userHook(from, to)
		}
	}
	c.cfg = cfg.withDefaults()
	c.hist = history.NewRing(c.cfg.HistorySize)
	c.brk = breaker.New(c.cfg.Breaker)
	c.hub = fanout.NewHub[StateChange](fanout.Options{
		Buffer: c.cfg.SubscriberBuffer,
		OnDrop: func(n uint64) { c.cfg.Metrics.StateChangesDropped(n) },
	})
	c.loop = newLoop(c)
	c.status.Store(c.loop.snapshot())
	return c, nil
}

// Start launches the event loop. It is idempotent; starting a stopped
// calculator returns ErrStopped.
func (c *Calculator) Start(ctx context.Context) error {
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if c.stopped {
		return ErrStopped
	}
	if c.started {
		return nil
	}
	c.started = true
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.closeDone()
		err := c.loop.run(ctx)
		if err != nil {
			c.err.Store(&err)
		}
	}()
	return nil
}

// Stop cancels the calculator's context, waits for every goroutine it
// started and closes all subscriptions. Nothing is published after Stop
// returns. It is idempotent and safe to call concurrently.
func (c *Calculator) Stop() {
	c.startMu.Lock()
	c.stopped = true
	cancel := c.cancel
	if !c.started {
		c.closeDone()
	}
	c.startMu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
	c.hub.Close()
}

func (c *Calculator) closeDone() { c.doneOne.Do(func() { close(c.done) }) }

// Done is closed when the event loop has exited: after Stop, or on its own
// when the store reported that a newer leader fenced this one (then Err
// returns an error wrapping ErrFenced).
func (c *Calculator) Done() <-chan struct{} { return c.done }

// Err returns why the event loop exited on its own, or nil.
func (c *Calculator) Err() error {
	if p := c.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Subscribe returns a channel of state changes and a function that ends the
// subscription. A subscriber receives every transition in order, or, if it
// falls more than SubscriberBuffer events behind, a gap event (IsGap) with
// the number missed and the latest change. The calculator never blocks on a
// subscriber. The channel is closed by the cancel function or by Stop.
func (c *Calculator) Subscribe() (<-chan fanout.Event[StateChange], func()) {
	return c.hub.Subscribe()
}

// Status returns a consistent snapshot of the calculator's observable state.
func (c *Calculator) Status() Status {
	s := *c.status.Load()
	s.Breaker = c.brk.Snapshot(c.cfg.Clock.Now())
	s.History = c.hist.Snapshot()
	s.DroppedStateChanges = c.hub.Dropped()
	return s
}

// History returns the recent rebalance records, oldest first.
func (c *Calculator) History() []history.Record { return c.hist.Snapshot() }

// RebalanceRequest asks for an immediate rebalance.
type RebalanceRequest struct {
	// DryRun computes the plan without publishing it.
	DryRun bool
	// Reason is recorded in the history.
	Reason string
}

// Move is one partition changing owner.
type Move struct {
	Partition string `json:"partition"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// RebalanceResult describes a forced rebalance or a dry run.
type RebalanceResult struct {
	Version         uint64        `json:"version"`
	PreviousVersion uint64        `json:"previous_version"`
	Moved           int           `json:"moved"`
	Duration        time.Duration `json:"-"`
	Result          string        `json:"result"` // published | unchanged | dry-run
	Moves           []Move        `json:"moves,omitempty"`
	MaxOverAvg      float64       `json:"max_over_avg_load"`
}

// Rebalance recomputes the assignment now, bypassing the scale window and
// the cooldown, and publishes it as a new version (or, with DryRun, returns
// the plan without publishing). It fails with ErrBreakerOpen while the
// circuit breaker is open, ErrNoWorkers without live workers, and
// ErrStopped after Stop.
func (c *Calculator) Rebalance(ctx context.Context, req RebalanceRequest) (RebalanceResult, error) {
	r := request{rebalance: &req, reply: make(chan reply, 1)}
	return c.call(ctx, r)
}

// SetPartitions replaces the partition set; the change is rebalanced after
// the scale window. The set is validated first.
func (c *Calculator) SetPartitions(ctx context.Context, parts []model.Partition) error {
	norm, err := model.NormalizePartitions(parts)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, request{partitions: norm, setParts: true, reply: make(chan reply, 1)})
	return err
}

func (c *Calculator) call(ctx context.Context, r request) (RebalanceResult, error) {
	select {
	case c.reqs <- r:
	case <-c.done:
		return RebalanceResult{}, ErrStopped
	case <-ctx.Done():
		return RebalanceResult{}, ctx.Err()
	}
	select {
	case rep := <-r.reply:
		return rep.result, rep.err
	case <-ctx.Done():
		return RebalanceResult{}, ctx.Err()
	}
}

type request struct {
	rebalance  *RebalanceRequest
	setParts   bool
	partitions []model.Partition
	reply      chan reply
}

type reply struct {
	result RebalanceResult
	err    error
}

// errorText returns err's message, or "" for nil.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
