package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/metrics"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/identity"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/store"
)

// Worker is one parti node. Create it with New and run it with Run; the
// other methods are safe to call from any goroutine at any time.
type Worker struct {
	o     Options
	wm    *metrics.Worker
	cm    *metrics.Calculator
	audit *auditLog

	mu      sync.Mutex
	status  Status
	calc    *calculator.Calculator
	el      *election.Elector
	id      *identity.Identity
	running bool

	claimed   chan struct{}
	claimOnce sync.Once
}

// New validates o and returns a worker ready to Run.
func New(o Options) (*Worker, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.defaults()
	w := &Worker{
		o:       o,
		wm:      metrics.NewWorker(o.Registry),
		cm:      metrics.NewCalculator(o.Registry),
		claimed: make(chan struct{}),
	}
	if o.AuditLog != nil {
		w.audit = &auditLog{w: o.AuditLog}
	}
	w.status = Status{State: StateStarting, Since: time.Now(), Partitions: []string{}}
	return w, nil
}

// Run runs the node until ctx is done, then leaves gracefully: it hands its
// partitions off (within LeaveTimeout), resigns leadership and releases its
// ID. It returns nil after a graceful leave, or the error that stopped it
// (its ID was lost, or the start-up failed). Run may be called once.
func (w *Worker) Run(ctx context.Context) (err error) {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("worker: Run called twice")
	}
	w.running = true
	w.mu.Unlock()
	defer func() {
		w.update(func(s *Status) {
			if err != nil {
				s.LastError = err.Error()
			}
		})
		w.setState(StateStopped)
	}()

	if err := w.seed(ctx); err != nil {
		return err
	}
	w.setState(StateClaiming)
	id, err := w.claim(ctx)
	if err != nil {
		return err
	}
	w.update(func(s *Status) { s.ID = id.ID() })
	w.claimOnce.Do(func() { close(w.claimed) })
	w.setState(StateWaiting)
	w.o.Logger.Info("worker id claimed", "worker", id.ID(), "cluster", w.o.Buckets.Layout.Cluster())

	el, err := election.New(election.Config{
		Leader: w.o.Buckets.Leader, Assignments: w.o.Buckets.Assignments,
		ID: id.ID(), Nonce: id.Nonce(), TTL: w.o.Buckets.Layout.Options().LeaderTTL,
		OnError: func(err error) { w.o.Logger.Debug("election", "err", err) },
	})
	if err != nil {
		return errors.Join(err, id.Release(context.WithoutCancel(ctx)))
	}

	w.mu.Lock()
	w.el, w.id = el, id
	w.mu.Unlock()
	n := newNode(w, id, el)
	return n.run(ctx)
}

// seed stores the configured partitions if the cluster has no partition
// set yet.
func (w *Worker) seed(ctx context.Context) error {
	if len(w.o.Partitions) == 0 {
		return nil
	}
	_, err := store.ReadPartitions(ctx, w.o.Buckets.Partitions)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNoPartitionSet) {
		return fmt.Errorf("read partition set: %w", err)
	}
	if _, err := store.WritePartitions(ctx, w.o.Buckets.Partitions, w.o.Partitions); err != nil && !errors.Is(err, store.ErrConcurrentUpdate) {
		return fmt.Errorf("seed partition set: %w", err)
	}
	w.o.Logger.Info("seeded partition set", "partitions", len(w.o.Partitions))
	return nil
}

// claim takes the worker ID. An explicit ID still held by a previous
// process (a restart within the worker TTL) is retried until it expires.
func (w *Worker) claim(ctx context.Context) (*identity.Identity, error) {
	cfg := identity.Config{Workers: w.o.Buckets.Workers, ID: w.o.WorkerID, Interval: w.o.HeartbeatInterval,
		Info: identity.Info{Version: w.o.Version}, Resume: w.resumeFrom()}
	warned := false
	for {
		id, err := identity.Claim(ctx, cfg)
		if err == nil {
			if id.Resumed() {
				w.o.Logger.Info("took over the worker id from this worker's previous process", "worker", id.ID())
			}
			w.saveState(id)
			return id, nil
		}
		if !errors.Is(err, identity.ErrIDTaken) || w.o.WorkerID == "" {
			return nil, fmt.Errorf("claim worker id: %w", err)
		}
		if !warned {
			w.o.Logger.Warn("worker id is held by another process; waiting for it to expire", "worker", w.o.WorkerID)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("claim worker id %s: %w", w.o.WorkerID, ctx.Err())
		case <-time.After(w.o.HeartbeatInterval / 2):
		}
	}
}

// ID returns the claimed worker ID, or "" before the claim.
func (w *Worker) ID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status.ID
}

// Claimed is closed once the worker holds its ID.
func (w *Worker) Claimed() <-chan struct{} { return w.claimed }

// Status returns a snapshot of the worker.
func (w *Worker) Status() Status {
	w.mu.Lock()
	s := w.status
	calc, el := w.calc, w.el
	w.mu.Unlock()
	if el != nil && !s.IsLeader {
		if l, ok := el.Leader(); ok {
			s.Leader, s.LeaderEpoch = l.ID, l.Epoch
		}
	}
	s.Partitions = slices.Clone(s.Partitions)
	s.Pending = slices.Clone(s.Pending)
	if calc != nil {
		cs := calc.Status()
		s.Calculator = &cs
	}
	return s
}

// LeaseDeadline is the time until which no other worker can have taken
// this worker's partitions: its ID's key cannot expire before the last
// acknowledged heartbeat's send time plus the worker TTL. Applications that
// must never act on a partition another worker may hold (for example after
// this process was paused) check it before each side effect, minus their
// clock skew to the NATS server's host. Zero before the ID is claimed and
// after it was released or lost.
func (w *Worker) LeaseDeadline() time.Time {
	w.mu.Lock()
	id := w.id
	w.mu.Unlock()
	if id == nil || id.Err() != nil { // not claimed yet, released or lost
		return time.Time{}
	}
	sent := id.LastSent()
	if sent.IsZero() {
		return time.Time{}
	}
	return sent.Add(w.o.Buckets.Layout.Options().WorkerTTL)
}

// LeaseValid reports whether the lease (see LeaseDeadline) still holds.
func (w *Worker) LeaseValid() bool { return time.Now().Before(w.LeaseDeadline()) }

// Owned returns the partitions this worker owns now, sorted.
func (w *Worker) Owned() []string { return w.Status().Partitions }

// Calculator returns the running calculator while this node leads, else nil.
func (w *Worker) Calculator() *calculator.Calculator {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calc
}

// Ready returns nil once an assignment is applied and the worker is not
// degraded or leaving; otherwise an error saying why not.
func (w *Worker) Ready() error {
	s := w.Status()
	switch {
	case s.ID == "":
		return errors.New("no worker ID yet")
	case s.Degraded:
		return errors.New("degraded: NATS unreachable")
	case s.State == StateLeaving || s.State == StateStopped:
		return errors.New(string(s.State))
	case s.Version == 0:
		return errors.New("no assignment applied yet")
	}
	return nil
}

// Healthy returns nil while the worker runs normally, or why it does not.
func (w *Worker) Healthy() error {
	s := w.Status()
	if s.State == StateStopped && s.LastError != "" {
		return errors.New(s.LastError)
	}
	return nil
}

func (w *Worker) update(f func(*Status)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.status)
}

// setState records a lifecycle state; degraded overrides the steady states.
func (w *Worker) setState(st State) {
	w.update(func(s *Status) {
		if s.State != st {
			s.State, s.Since = st, time.Now()
		}
	})
}

// connState maps the connection tracker's state to degraded.
func degradedState(c natsconn.Change) bool {
	return c.State != natsconn.StateConnected
}
