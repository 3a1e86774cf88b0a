package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
)

// Store is the leader's calculator.Store over the assignments bucket.
//
// WriteWorker and DeleteWorker write w.<worker> and Commit writes the
// commit marker, each published with the fence of its epoch (see
// SetFence); a write refused because the epoch moved returns an error
// wrapping calculator.ErrFenced. The commit pins the revision of every
// worker entry of its version: entries written for this version, and for
// unchanged workers the revisions pinned by the previous commit (learned
// from Load or the previous Commit).
type Store struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	limit int
	now   func() time.Time

	mu     sync.Mutex
	fences map[uint64]layout.Fence
	base   map[string]uint64 // worker → entry revision pinned by the last commit
	known  bool              // base reflects the bucket's latest commit
	pver   uint64            // version of pending
	pend   map[string]uint64 // worker → revision written for pver
	pdel   map[string]bool   // workers deleted for pver
}

var _ calculator.Store = (*Store)(nil)

// New returns a Store for the buckets' assignments bucket.
func New(b *layout.Buckets) *Store {
	return &Store{
		js:     b.JS,
		kv:     b.Assignments,
		limit:  b.Layout.Options().History,
		now:    time.Now,
		fences: map[uint64]layout.Fence{},
	}
}

// SetFence registers the fence of a leadership term (election.Term.Fence),
// so writes at its epoch need no lookup.
func (s *Store) SetFence(f layout.Fence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fences[f.Epoch] = f
}

// fence returns the write condition for epoch: registered, or looked up
// from the epoch key. A newer epoch in the key means the caller is fenced.
func (s *Store) fence(ctx context.Context, epoch uint64) (layout.Fence, error) {
	s.mu.Lock()
	f, ok := s.fences[epoch]
	s.mu.Unlock()
	if ok {
		return f, nil
	}
	// A direct get may be stale; an epoch value is written exactly once,
	// so a matching value gives the right revision whatever replica answers.
	wait := 5 * time.Millisecond
	for range 8 {
		e, err := s.kv.Get(ctx, layout.KeyEpoch)
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return layout.Fence{}, fmt.Errorf("read epoch: %w", err)
		}
		if err == nil {
			ep, err := codec.DecodeEpoch(e.Key(), e.Value())
			if err != nil {
				return layout.Fence{}, err
			}
			switch {
			case ep.Epoch == epoch:
				f = layout.Fence{Bucket: s.kv.Bucket(), Key: layout.KeyEpoch, Epoch: epoch, Revision: e.Revision()}
				s.SetFence(f)
				return f, nil
			case ep.Epoch > epoch:
				return layout.Fence{}, fmt.Errorf("%w: epoch %d is current, writer has %d", calculator.ErrFenced, ep.Epoch, epoch)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return layout.Fence{}, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
	return layout.Fence{}, fmt.Errorf("epoch %d is not (yet) the current epoch", epoch)
}

func fenced(err error) error {
	if errors.Is(err, layout.ErrFenced) {
		return fmt.Errorf("%w: %w", calculator.ErrFenced, err)
	}
	return err
}

// startVersion resets the pending writes when a new version begins.
// Caller holds s.mu.
func (s *Store) startVersionLocked(version uint64) {
	if s.pver != version {
		s.pver, s.pend, s.pdel = version, map[string]uint64{}, map[string]bool{}
	}
}

// WriteWorker writes one worker's entry for version at epoch, fenced.
func (s *Store) WriteWorker(ctx context.Context, epoch, version uint64, e calculator.WorkerEntry) error {
	f, err := s.fence(ctx, epoch)
	if err != nil {
		return fmt.Errorf("write worker %s v%d: %w", e.Worker, version, err)
	}
	val, err := codec.Encode(&codec.WorkerAssignment{Worker: e.Worker, Version: version, Epoch: epoch, Keys: e.Keys})
	if err != nil {
		return err
	}
	rev, err := layout.PutFenced(ctx, s.js, f, layout.WorkerKey(e.Worker), val)
	if err != nil {
		return fenced(fmt.Errorf("write worker %s v%d: %w", e.Worker, version, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startVersionLocked(version)
	s.pend[e.Worker] = rev
	delete(s.pdel, e.Worker)
	return nil
}

// DeleteWorker removes a worker's entry for version at epoch, fenced.
func (s *Store) DeleteWorker(ctx context.Context, epoch, version uint64, worker string) error {
	f, err := s.fence(ctx, epoch)
	if err != nil {
		return fmt.Errorf("delete worker %s v%d: %w", worker, version, err)
	}
	if _, err := layout.DeleteFenced(ctx, s.js, f, layout.WorkerKey(worker)); err != nil {
		return fenced(fmt.Errorf("delete worker %s v%d: %w", worker, version, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startVersionLocked(version)
	delete(s.pend, worker)
	s.pdel[worker] = true
	return nil
}

// Commit publishes the commit marker of c.Version, fenced on c.Epoch,
// pinning every worker's entry revision.
func (s *Store) Commit(ctx context.Context, c calculator.Commit) error {
	f, err := s.fence(ctx, c.Epoch)
	if err != nil {
		return fmt.Errorf("commit v%d: %w", c.Version, err)
	}
	s.mu.Lock()
	known := s.known
	s.mu.Unlock()
	if !known {
		if _, _, err := s.Load(ctx); err != nil {
			return fmt.Errorf("commit v%d: %w", c.Version, err)
		}
	}
	s.mu.Lock()
	pins := make(map[string]uint64, len(c.Workers))
	for _, w := range c.Workers {
		var rev uint64
		var ok bool
		switch {
		case s.pver == c.Version && s.pdel[w]:
			// Deleted in this version but listed: nothing to pin.
		case s.pver == c.Version:
			if rev, ok = s.pend[w]; !ok {
				rev, ok = s.base[w]
			}
		default:
			rev, ok = s.base[w]
		}
		if !ok {
			s.mu.Unlock()
			return fmt.Errorf("commit v%d: worker %s has no entry written: %w", c.Version, w, ErrIncomplete)
		}
		pins[w] = rev
	}
	s.mu.Unlock()
	at := c.At
	if at.IsZero() {
		at = s.now()
	}
	val, err := codec.Encode(&codec.Commit{Version: c.Version, Epoch: c.Epoch, Leader: c.Leader, Workers: pins, Partitions: c.Partitions, At: at})
	if err != nil {
		return err
	}
	if _, err := layout.PutFenced(ctx, s.js, f, layout.KeyCommit, val); err != nil {
		return fenced(fmt.Errorf("commit v%d: %w", c.Version, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base, s.known = pins, true
	s.pver, s.pend, s.pdel = 0, nil, nil
	return nil
}

// Load returns the latest committed assignment, read through an ordered
// consumer (not a possibly stale direct get), and remembers its pinned
// revisions for the next Commit.
func (s *Store) Load(ctx context.Context) (model.Assignment, bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, snapshotTimeout)
		defer cancel()
	}
	h, err := snapshot(ctx, s.kv, s.limit)
	if err != nil {
		return model.Assignment{}, false, err
	}
	c, ok, err := latestCommit(h)
	if err != nil || !ok {
		if err == nil {
			s.mu.Lock()
			s.base, s.known = map[string]uint64{}, true
			s.mu.Unlock()
		}
		return model.Assignment{}, false, err
	}
	a, err := assemble(c, h)
	if err != nil {
		return model.Assignment{}, false, fmt.Errorf("load v%d: %w", c.Version, err)
	}
	s.mu.Lock()
	s.base, s.known = maps.Clone(c.Workers), true
	s.mu.Unlock()
	return a, true, nil
}
