package worker

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/watch"
)

// applier applies committed assignments to this worker with a
// revoke-then-grant handoff:
//
//   - partitions no longer assigned to this worker are released at once,
//     then the worker's heartbeat announces the version as applied;
//   - partitions newly assigned are acquired only once every other live
//     worker has applied that version (or holds nothing), so their previous
//     owner has released them. A worker that crashed holds nothing once its
//     heartbeat has expired.
//
// All fields are owned by the applier's goroutine.
type applier struct {
	n  *node
	me string

	held    map[string]struct{}
	pending []string
	version uint64 // revocations applied through this version
	epoch   uint64

	peers       map[string]peer
	peersSynced bool

	leaving bool
	leftSet bool
	done    chan struct{}
}

// peer is another worker as its heartbeat describes it.
type peer struct {
	applied  uint64
	draining bool
}

func newApplier(n *node) *applier {
	return &applier{n: n, me: n.id.ID(), held: make(map[string]struct{}), peers: make(map[string]peer),
		done: make(chan struct{})}
}

// wait blocks until run has returned.
func (a *applier) wait() { <-a.done }

func (a *applier) run(ctx context.Context, assignments <-chan model.Assignment, peers <-chan watch.Event) {
	defer close(a.done)
	leave := a.n.leave
	for {
		select {
		case <-ctx.Done():
			// Wait for the reader and the watcher to finish: they close
			// their channels once ctx is done.
			if assignments != nil {
				for range assignments { //nolint:revive // drain until closed
				}
			}
			if peers != nil {
				for range peers { //nolint:revive // drain until closed
				}
			}
			return
		case asg, ok := <-assignments:
			if !ok {
				assignments = nil
				continue
			}
			a.apply(ctx, asg)
		case ev, ok := <-peers:
			if !ok {
				peers = nil
				continue
			}
			a.onPeer(ev)
		case <-leave:
			leave = nil
			a.leaving = true
		}
		a.tryAcquire()
		a.checkLeft()
	}
}

// apply takes a newer committed assignment: release what is no longer ours,
// announce the version, and queue what we gained.
func (a *applier) apply(ctx context.Context, asg model.Assignment) {
	w := a.n.w
	mine := asg.Owners[a.me]
	want := make(map[string]struct{}, len(mine))
	for _, k := range mine {
		want[k] = struct{}{}
	}
	var lost []string
	for k := range a.held {
		if _, ok := want[k]; !ok {
			lost = append(lost, k)
		}
	}
	slices.Sort(lost)
	a.version, a.epoch = asg.Version, asg.Epoch
	if len(lost) > 0 {
		now := time.Now()
		for _, k := range lost {
			delete(a.held, k)
			w.audit.write(AuditRecord{Time: now, Worker: a.me, Nonce: a.n.id.Nonce(), Event: "release",
				Partition: k, Version: asg.Version, Epoch: asg.Epoch})
		}
		w.wm.AssignmentChanged(0, len(lost))
		a.notify(nil, lost)
	}
	a.pending = a.pending[:0]
	for _, k := range mine {
		if _, ok := a.held[k]; !ok {
			a.pending = append(a.pending, k)
		}
	}
	a.publish()
	// Announce the version so new owners may take what we released.
	a.n.id.SetApplied(asg.Version)
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := a.n.id.Heartbeat(hctx); err != nil {
		w.o.Logger.Debug("immediate heartbeat failed", "err", err)
	}
	cancel()
	w.wm.SetAppliedVersion(asg.Version)
}

// onPeer tracks other workers' applied versions from their heartbeats.
func (a *applier) onPeer(ev watch.Event) {
	switch ev.Kind {
	case watch.Reset:
		clear(a.peers)
		a.peersSynced = false
	case watch.Synced:
		a.peersSynced = true
	case watch.Entry:
		e := ev.Entry
		id := e.Key()
		if id == a.me {
			return
		}
		if e.Operation() != jetstream.KeyValuePut {
			delete(a.peers, id)
			return
		}
		hb, err := codec.DecodeHeartbeat(e.Key(), e.Value())
		if err != nil {
			a.n.w.wm.DecodeError(a.n.w.o.Buckets.Layout.WorkersBucket())
			a.n.w.o.Logger.Warn("undecodable heartbeat skipped", "err", err)
			return
		}
		a.peers[id] = peer{applied: hb.Applied, draining: hb.Draining}
	}
}

// barrier reports whether every other live worker has applied version v or
// holds nothing, so partitions of v may be acquired.
func (a *applier) barrier(v uint64) bool {
	if !a.peersSynced {
		return false
	}
	for _, p := range a.peers {
		if p.applied != 0 && p.applied < v {
			return false
		}
	}
	return true
}

func (a *applier) tryAcquire() {
	if len(a.pending) == 0 || a.leaving || !a.barrier(a.version) {
		return
	}
	w := a.n.w
	now := time.Now()
	gained := slices.Clone(a.pending)
	for _, k := range gained {
		a.held[k] = struct{}{}
		w.audit.write(AuditRecord{Time: now, Worker: a.me, Nonce: a.n.id.Nonce(), Event: "acquire",
			Partition: k, Version: a.version, Epoch: a.epoch})
	}
	a.pending = a.pending[:0]
	w.wm.AssignmentChanged(len(gained), 0)
	a.notify(gained, nil)
	a.publish()
}

// checkLeft signals the end of the handoff once a leaving worker holds
// nothing, or at once when no other worker is alive and staying to take
// over.
func (a *applier) checkLeft() {
	if !a.leaving || a.leftSet {
		return
	}
	// Nobody can take over when every other worker is leaving too.
	alone := a.peersSynced
	for _, p := range a.peers {
		if !p.draining {
			alone = false
			break
		}
	}
	if len(a.held) == 0 || alone {
		if alone {
			a.releaseAllNow("leave")
		}
		a.leftSet = true
		close(a.n.left)
	}
}

// releaseAllNow releases every held partition. Only call it from the
// applier's goroutine or after it has returned.
func (a *applier) releaseAllNow(reason string) {
	if len(a.held) == 0 {
		return
	}
	w := a.n.w
	now := time.Now()
	lost := make([]string, 0, len(a.held))
	for k := range a.held {
		lost = append(lost, k)
	}
	slices.Sort(lost)
	for _, k := range lost {
		delete(a.held, k)
		w.audit.write(AuditRecord{Time: now, Worker: a.me, Nonce: a.n.id.Nonce(), Event: "release",
			Partition: k, Version: a.version, Epoch: a.epoch})
	}
	w.o.Logger.Info("released all partitions", "reason", reason, "count", len(lost))
	w.wm.AssignmentChanged(0, len(lost))
	a.pending = a.pending[:0]
	a.notify(nil, lost)
	a.publish()
}

// notify calls the application's callback.
func (a *applier) notify(gained, lost []string) {
	w := a.n.w
	if w.o.OnChange == nil {
		return
	}
	w.o.OnChange(Change{Version: a.version, Epoch: a.epoch, Gained: gained, Lost: lost, Current: a.current()})
}

func (a *applier) current() []string {
	out := make([]string, 0, len(a.held))
	for k := range a.held {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// publish copies the applier's view into the worker's status.
func (a *applier) publish() {
	cur := a.current()
	pending := slices.Clone(a.pending)
	a.n.w.wm.SetOwned(len(cur))
	a.n.w.update(func(s *Status) {
		s.Partitions, s.Pending = cur, pending
		s.Version, s.Epoch = a.version, a.epoch
		st := StateStable
		switch {
		case s.State == StateLeaving || s.State == StateStopped:
			st = s.State
		case len(pending) > 0:
			st = StateRebalancing
		}
		if s.State != st {
			s.State, s.Since = st, time.Now()
		}
	})
}

// auditLog writes AuditRecords as JSON lines; safe for concurrent use and
// a no-op when nil.
type auditLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *auditLog) write(r AuditRecord) {
	if l == nil {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(b, '\n'))
}
