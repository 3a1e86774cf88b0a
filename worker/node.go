package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/identity"
	"github.com/parti-dev/parti/nats/store"
	"github.com/parti-dev/parti/nats/watch"
)

// node is a running worker: the goroutines that heartbeat, campaign, lead,
// and apply assignments, all owned by run.
type node struct {
	w  *Worker
	id *identity.Identity
	el *election.Elector

	hbDone    chan struct{} // closed when the heartbeat goroutine returned
	rs        *restarts     // restart signals for every watch
	leave     chan struct{} // closed to start the graceful handoff
	left      chan struct{} // closed by the applier once it holds nothing
	leaveOnce sync.Once
}

func newNode(w *Worker, id *identity.Identity, el *election.Elector) *node {
	return &node{w: w, id: id, el: el, leave: make(chan struct{}), left: make(chan struct{})}
}

// cleanupTimeout bounds resigning and releasing the ID after the handoff.
const cleanupTimeout = 2 * time.Second

// run starts every part, waits for ctx or a fatal error, then leaves.
func (n *node) run(ctx context.Context) error {
	w := n.w
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	leadCtx, cancelLead := context.WithCancel(runCtx)
	defer cancelLead()
	var wg sync.WaitGroup
	start := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	defer wg.Wait()

	// Every watch gets its own restart signal: reconnects of this client
	// and stream-leader changes of the cluster's buckets.
	n.rs = newRestarts()
	if w.o.Tracker != nil {
		sig, cancel := w.o.Tracker.Reconnects()
		defer cancel()
		start(func() {
			for {
				select {
				case <-runCtx.Done():
					return
				case <-sig:
					n.rs.notify()
				}
			}
		})
	}
	if sub, err := n.rs.watchLeaderChanges(w.o.Conn, "KV_parti_"+w.o.Buckets.Layout.Cluster()+"_"); err != nil {
		w.o.Logger.Warn("cannot follow stream leader changes", "err", err)
	} else {
		defer func() { _ = sub.Unsubscribe() }()
	}
	readerRestart, stopReaderRestart := n.rs.subscribe()
	defer stopReaderRestart()
	peersRestart, stopPeersRestart := n.rs.subscribe()
	defer stopPeersRestart()

	hbErr := make(chan error, 1)
	hbDone := make(chan struct{})
	n.hbDone = hbDone
	start(func() {
		defer close(hbDone)
		hbErr <- n.id.Run(runCtx, func(err error) {
			w.wm.HeartbeatFailed()
			w.o.Logger.Debug("heartbeat failed", "err", err)
		})
	})
	start(func() {
		if err := n.el.Campaign(runCtx); err != nil && runCtx.Err() == nil {
			w.o.Logger.Error("election stopped", "err", err)
		}
	})
	var leadWG sync.WaitGroup
	leadWG.Add(1)
	go func() { defer leadWG.Done(); n.leadLoop(leadCtx) }()

	assignments := store.NewReader(w.o.Buckets).Watch(runCtx, store.ReaderOptions{
		Restart: readerRestart,
		OnError: func(err error) {
			w.wm.DecodeError("assignments")
			w.o.Logger.Warn("assignment skipped", "err", err)
		},
	})
	peers := watch.Watch(runCtx, w.o.Buckets.Workers, watch.Options{Restart: peersRestart})
	a := newApplier(n)
	start(func() { a.run(runCtx, assignments, peers) })
	if w.o.Tracker != nil {
		start(func() { n.watchConnection(runCtx) })
	}

	var fatal error
	select {
	case <-ctx.Done():
	case err := <-hbErr:
		if err != nil {
			fatal = err
		}
	}
	if fatal != nil {
		// The ID is gone: another process may hold it. Stop acting as it
		// at once: stop leading, release everything locally.
		w.o.Logger.Error("worker id lost; stopping", "err", fatal)
		cancelLead()
		leadWG.Wait()
		cancelRun()
		a.wait()
		a.releaseAllNow("id-lost")
		return fatal
	}
	return n.gracefulLeave(a, cancelLead, &leadWG, cancelRun)
}

// gracefulLeave hands the partitions off, stops leading, resigns, and
// releases the ID.
func (n *node) gracefulLeave(a *applier, cancelLead context.CancelFunc, leadWG *sync.WaitGroup, cancelRun context.CancelFunc) error {
	w := n.w
	w.setState(StateLeaving)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), w.o.LeaveTimeout)
	defer cancel()
	if err := n.id.SetDraining(ctx, true); err != nil {
		w.o.Logger.Warn("could not announce draining", "err", err)
	}
	n.leaveOnce.Do(func() { close(n.leave) })
	select {
	case <-n.left:
		w.o.Logger.Info("handoff complete", "took", time.Since(start))
	case <-ctx.Done():
		w.o.Logger.Warn("handoff timed out; releasing everything", "timeout", w.o.LeaveTimeout)
	}
	// Stop leading before anything else: the calculator must not act on
	// this node's behalf once it resigns. The clean-up gets its own short
	// deadline: the handoff's may be spent.
	cancelLead()
	leadWG.Wait()
	ctx, cancelCleanup := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancelCleanup()
	if err := n.el.Resign(ctx); err != nil {
		w.o.Logger.Debug("resign", "err", err)
	}
	cancelRun()
	a.wait()
	<-n.hbDone
	a.releaseAllNow("leave")
	if err := n.id.Release(ctx); err != nil && !errors.Is(err, identity.ErrReleased) {
		return fmt.Errorf("release worker id: %w", err)
	}
	w.clearState()
	return nil
}

// watchConnection feeds the tracker's state into degraded mode.
func (n *node) watchConnection(ctx context.Context) {
	w := n.w
	changes, cancel := w.o.Tracker.Subscribe()
	defer cancel()
	apply := func(deg bool) {
		w.update(func(s *Status) { s.Degraded = deg })
		w.wm.SetDegraded(deg)
	}
	apply(degradedState(w.o.Tracker.Current()))
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-changes:
			apply(degradedState(c))
			w.update(func(s *Status) { s.Connection = c.State.String() })
		}
	}
}
