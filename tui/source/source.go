// Package source feeds the dashboard (package tui) with snapshots of a
// parti cluster. One goroutine per Source owns every NATS watcher it needs
// (heartbeats, leader, partition set, committed assignments, the leader's
// published status and history, the connection state), folds their events
// into one state and hands the dashboard immutable tui.Snapshot values
// through a channel that holds only the latest one, at most MaxRate times a
// second.
//
// Remote is `parti top`: everything comes from NATS. InProcess is `parti run
// --tui`: the same watchers over the node's own connection, plus the node's
// own state and, while the node leads, its calculator read live and its
// state changes from the lossless fan-out (gaps reported as such).
//
// It may import the NATS adapters, the worker and the calculator's pure
// packages; it must not import cmd.
package source

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/fanout"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/store"
	"github.com/parti-dev/parti/nats/watch"
	"github.com/parti-dev/parti/tui"
	"github.com/parti-dev/parti/worker"
)

// Defaults of Options.
const (
	DefaultMinInterval   = 100 * time.Millisecond // at most 10 snapshots a second
	DefaultPoll          = 250 * time.Millisecond
	DefaultGoneRetention = 30 * time.Second
	DefaultMaxEvents     = 500
	DefaultMaxHistory    = 200
)

// ErrInvalidOptions is wrapped by option validation errors.
var ErrInvalidOptions = errors.New("invalid source options")

// Options configure a Source.
type Options struct {
	// Buckets are the cluster's opened buckets (required).
	Buckets *layout.Buckets
	// Tracker reports the connection state; nil means always connected.
	Tracker *natsconn.Tracker
	// URL is shown in the header (passwords redacted by the caller).
	URL string
	// MinInterval is the least time between two snapshots; default
	// DefaultMinInterval.
	MinInterval time.Duration
	// Poll is how often the source re-checks time-based state (suspect
	// workers, gone retention) and, in process, the node; default
	// DefaultPoll.
	Poll time.Duration
	// GoneRetention keeps gone workers visible this long; default
	// DefaultGoneRetention.
	GoneRetention time.Duration
	// MaxEvents and MaxHistory bound the event log and the history kept;
	// defaults DefaultMaxEvents and DefaultMaxHistory.
	MaxEvents, MaxHistory int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Buckets == nil || o.Buckets.Layout == nil || o.Buckets.Workers == nil || o.Buckets.Leader == nil ||
		o.Buckets.Assignments == nil || o.Buckets.Partitions == nil || o.Buckets.Status == nil {
		return errors.Join(ErrInvalidOptions, errors.New("buckets are required"))
	}
	o.fill()
	return nil
}

// fill applies the defaults.
func (o *Options) fill() {
	if o.MinInterval <= 0 {
		o.MinInterval = DefaultMinInterval
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.GoneRetention <= 0 {
		o.GoneRetention = DefaultGoneRetention
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxHistory <= 0 {
		o.MaxHistory = DefaultMaxHistory
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Source is a running snapshot source. It implements tui.Source.
type Source struct {
	out    chan tui.Snapshot
	cancel context.CancelFunc
	done   chan struct{}
}

var _ tui.Source = (*Source)(nil)

// Remote starts a source over the cluster's buckets, for `parti top`. It
// runs until ctx is done or Stop is called.
func Remote(ctx context.Context, o Options) (*Source, error) {
	return start(ctx, o, nil)
}

// InProcess starts a source for `parti run --tui`: the cluster as Remote
// sees it, plus node w's own state and, while w leads, its calculator.
func InProcess(ctx context.Context, w *worker.Worker, o Options) (*Source, error) {
	if w == nil {
		return nil, errors.Join(ErrInvalidOptions, errors.New("worker is required"))
	}
	return start(ctx, o, w)
}

func start(ctx context.Context, o Options, w *worker.Worker) (*Source, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Source{out: make(chan tui.Snapshot, 1), cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, o, w)
	return s, nil
}

// Snapshots delivers the snapshots; it is closed once the source stopped.
func (s *Source) Snapshots() <-chan tui.Snapshot { return s.out }

// Stop stops the source and waits for every goroutine it started. It is
// idempotent.
func (s *Source) Stop() {
	s.cancel()
	<-s.done
}

// Done is closed when the source has stopped.
func (s *Source) Done() <-chan struct{} { return s.done }

// send hands snap over, replacing a snapshot not yet read. Only the run
// goroutine sends, so this never blocks.
func (s *Source) send(snap tui.Snapshot) {
	select {
	case <-s.out:
	default:
	}
	s.out <- snap
}

// run owns every watcher. It folds their events into st and sends a
// snapshot after changes, no more often than MinInterval.
func (s *Source) run(ctx context.Context, o Options, w *worker.Worker) {
	defer close(s.done)
	defer close(s.out)
	b := o.Buckets
	errs := make(chan error, 16)
	onError := func(err error) {
		select {
		case errs <- err:
		default: // a burst: the state already shows an error
		}
	}
	restart := func() <-chan struct{} {
		if o.Tracker == nil {
			return nil
		}
		sig, stop := o.Tracker.Reconnects()
		context.AfterFunc(ctx, stop)
		return sig
	}
	st := newState(o, b.Layout.Cluster(), w != nil)
	st.initial(ctx, b)

	workers := watch.Watch(ctx, b.Workers, watch.Options{Restart: restart(), OnError: onError})
	leader := watch.Watch(ctx, b.Leader, watch.Options{Keys: []string{layout.KeyLeader}, Restart: restart(), OnError: onError})
	parts := watch.Watch(ctx, b.Partitions, watch.Options{Keys: []string{layout.KeyManifest}, Restart: restart(), OnError: onError})
	assign := store.NewReader(b).Watch(ctx, store.ReaderOptions{Restart: restart(), OnError: onError})
	status := control.WatchStatus(ctx, b, control.WatchOptions{Restart: restart(), OnError: onError})
	var conn <-chan natsconn.Change
	if o.Tracker != nil {
		ch, stop := o.Tracker.Subscribe()
		defer stop()
		conn = ch
	}
	var calcEvents <-chan fanout.Event[calculator.StateChange]
	var calc *calculator.Calculator
	unsubscribe := func() {}
	defer func() { unsubscribe() }()

	poll := time.NewTicker(o.Poll)
	defer poll.Stop()
	pace := time.NewTimer(0)
	defer pace.Stop()
	dirty, paced := true, true

	for {
		select {
		case <-ctx.Done():
			for range workers { //nolint:revive // drain until closed
			}
			for range leader { //nolint:revive // drain until closed
			}
			for range parts { //nolint:revive // drain until closed
			}
			for range assign { //nolint:revive // drain until closed
			}
			for range status { //nolint:revive // drain until closed
			}
			return
		case ev := <-workers:
			st.workerEvent(ev)
		case ev := <-leader:
			st.leaderEvent(ev)
		case ev := <-parts:
			st.partitionsEvent(ctx, b.Partitions, ev)
		case a := <-assign:
			st.assignment(a)
		case snap := <-status:
			st.status(snap)
		case c, ok := <-conn:
			if !ok {
				conn = nil
				continue
			}
			st.connection(c)
		case err := <-errs:
			st.sourceError(err)
		case ev, ok := <-calcEvents:
			if !ok {
				calcEvents = nil
				unsubscribe()
				unsubscribe, calc = func() {}, nil
				st.calcStopped()
				break
			}
			st.calcEvent(ev)
		case <-poll.C:
			if w != nil {
				if c := w.Calculator(); c != calc {
					unsubscribe()
					calc, calcEvents, unsubscribe = c, nil, func() {}
					if c != nil {
						calcEvents, unsubscribe = c.Subscribe()
					}
					st.calcAttached(c)
				}
				st.nodeStatus(w.Status())
			}
			st.tick()
		case <-pace.C:
			paced = true
		}
		if st.changed {
			dirty, st.changed = true, false
		}
		if dirty && paced {
			s.send(st.snapshot())
			dirty, paced = false, false
			pace.Reset(o.MinInterval)
		}
	}
}

// initial reads what the watchers cannot tell: the workers bucket's TTL
// and whether any assignment was ever committed.
func (st *state) initial(ctx context.Context, b *layout.Buckets) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s, err := b.Workers.Status(ctx); err == nil {
		st.ttl = s.TTL()
	}
	if _, err := b.Assignments.Get(ctx, layout.KeyCommit); errors.Is(err, jetstream.ErrKeyNotFound) {
		st.assignSynced = true
	}
}
