// Package store publishes and reads versioned assignments in the
// assignments bucket. Store implements calculator.Store for the leader:
// every write is fenced on the leader's epoch, and a commit marker pins
// the exact revision of every worker entry of its version. Reader gives
// workers and consoles the latest complete, committed assignment, never a
// half-written one and never an older (epoch, version) than one it
// delivered. The partition set functions read and write the partitions
// bucket.
//
// It must not import the calculator's engine (only its ports and model),
// cmd or tui.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/watch"
)

// Errors, checked with errors.Is.
var (
	// ErrIncomplete: a commit names an entry revision that is not (or no
	// longer) available.
	ErrIncomplete = errors.New("assignment incomplete")
	// ErrStale: a commit's (epoch, version) is not newer than one already
	// accepted.
	ErrStale = errors.New("stale assignment")
)

// entry is one revision of a key, as delivered by a watcher.
type entry struct {
	rev   uint64
	op    jetstream.KeyValueOp
	value []byte
}

// history keeps the revisions seen per key, oldest first, bounded.
type history map[string][]entry

func (h history) add(key string, e entry, limit int) {
	es := h[key]
	if n := len(es); n > 0 && es[n-1].rev >= e.rev {
		return // duplicate or out of order: keep the newest view
	}
	es = append(es, e)
	if len(es) > limit {
		es = es[len(es)-limit:]
	}
	h[key] = es
}

func (h history) at(key string, rev uint64) (entry, bool) {
	for _, e := range h[key] {
		if e.rev == rev {
			return e, true
		}
	}
	return entry{}, false
}

func (h history) latest(key string) (entry, bool) {
	es := h[key]
	if len(es) == 0 {
		return entry{}, false
	}
	return es[len(es)-1], true
}

// assemble builds the assignment a commit describes from the entries it
// pins, checking each one belongs to the commit's worker, epoch and
// version range and that the partition count matches.
func assemble(c codec.Commit, h history) (model.Assignment, error) {
	a := model.Assignment{Version: c.Version, Epoch: c.Epoch, Leader: c.Leader, Owners: make(map[string][]string, len(c.Workers))}
	n := 0
	for w, rev := range c.Workers {
		key := layout.WorkerKey(w)
		e, ok := h.at(key, rev)
		if !ok || e.op != jetstream.KeyValuePut {
			return model.Assignment{}, fmt.Errorf("%w: version %d needs %s at revision %d", ErrIncomplete, c.Version, key, rev)
		}
		wa, err := codec.DecodeWorkerAssignment(key, e.value)
		if err != nil {
			return model.Assignment{}, err
		}
		if wa.Worker != w || wa.Version > c.Version || wa.Epoch > c.Epoch {
			return model.Assignment{}, fmt.Errorf("%w: %s revision %d is worker %s v%d epoch %d, not part of version %d epoch %d",
				ErrIncomplete, key, rev, wa.Worker, wa.Version, wa.Epoch, c.Version, c.Epoch)
		}
		a.Owners[w] = wa.Keys
		n += len(wa.Keys)
	}
	if n != c.Partitions {
		return model.Assignment{}, fmt.Errorf("%w: version %d covers %d partitions, commit says %d", ErrIncomplete, c.Version, n, c.Partitions)
	}
	return a, nil
}

// snapshot reads every retained revision of the assignments bucket through
// an ordered consumer (served by the stream leader, unlike direct gets,
// which a replica may answer stale).
func snapshot(ctx context.Context, kv jetstream.KeyValue, limit int) (history, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(wctx, jetstream.IncludeHistory())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kv.Bucket(), err)
	}
	defer func() {
		cancel()
		watch.Drain(w)
	}()
	h := history{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read %s: %w", kv.Bucket(), ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("read %s: watcher closed", kv.Bucket())
			}
			if e == nil {
				return h, nil
			}
			h.add(e.Key(), entry{rev: e.Revision(), op: e.Operation(), value: e.Value()}, limit)
		}
	}
}

// latestCommit decodes the newest commit in h, if any.
func latestCommit(h history) (codec.Commit, bool, error) {
	e, ok := h.latest(layout.KeyCommit)
	if !ok || e.op != jetstream.KeyValuePut {
		return codec.Commit{}, false, nil
	}
	c, err := codec.DecodeCommit(layout.KeyCommit, e.value)
	if err != nil {
		return codec.Commit{}, false, err
	}
	return c, true, nil
}

// snapshotTimeout bounds Load's read when ctx has no deadline.
const snapshotTimeout = 30 * time.Second
