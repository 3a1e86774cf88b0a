package store

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/watch"
)

// Reader follows the assignments bucket for workers and consoles.
type Reader struct {
	kv    jetstream.KeyValue
	limit int
}

// ReaderOptions tune Reader.Watch.
type ReaderOptions struct {
	// Restart re-creates the underlying watch, e.g. after a reconnect
	// (natsconn.Tracker.Reconnects).
	Restart <-chan struct{}
	// OnError receives undecodable values, incomplete commits and stale
	// commits (wrapping ErrIncomplete or ErrStale); it must not block.
	OnError func(error)
	// After, if set, is the (epoch, version) already applied: nothing at
	// or below it is delivered (a worker restarting with state).
	AfterEpoch, AfterVersion uint64
}

// NewReader returns a Reader of the buckets' assignments bucket.
func NewReader(b *layout.Buckets) *Reader {
	return &Reader{kv: b.Assignments, limit: b.Layout.Options().History}
}

// Watch delivers the latest complete committed assignment whenever a newer
// one is committed. An assignment is delivered only if its (epoch,
// version) is newer than every one delivered before: epoch not lower and
// version higher. The channel holds one assignment; an unread one is
// replaced by a newer one. The goroutine stops and the channel closes when
// ctx is done.
func (r *Reader) Watch(ctx context.Context, o ReaderOptions) <-chan model.Assignment {
	out := make(chan model.Assignment, 1)
	events := watch.Watch(ctx, r.kv, watch.Options{IncludeHistory: true, Restart: o.Restart, OnError: o.OnError})
	go func() {
		defer close(out)
		st := readerState{limit: r.limit, o: o, epoch: o.AfterEpoch, version: o.AfterVersion, h: history{}}
		for ev := range events {
			a, ok := st.apply(ev)
			if !ok {
				continue
			}
			select {
			case <-out: // replace an unread older assignment
			default:
			}
			out <- a
		}
	}()
	return out
}

// readerState is the reader's view of the bucket and what it delivered.
type readerState struct {
	limit          int
	o              ReaderOptions
	h              history
	synced         bool
	epoch, version uint64 // last delivered
	checked        uint64 // revision of the last commit evaluated
}

func (st *readerState) report(err error) {
	if st.o.OnError != nil {
		st.o.OnError(err)
	}
}

// apply folds one watch event in and returns an assignment to deliver.
func (st *readerState) apply(ev watch.Event) (model.Assignment, bool) {
	switch ev.Kind {
	case watch.Reset:
		st.h, st.synced, st.checked = history{}, false, 0
		return model.Assignment{}, false
	case watch.Synced:
		st.synced = true
	case watch.Entry:
		e := ev.Entry
		st.h.add(e.Key(), entry{rev: e.Revision(), op: e.Operation(), value: e.Value()}, st.limit)
		if !st.synced {
			return model.Assignment{}, false
		}
	}
	return st.try()
}

func (st *readerState) try() (model.Assignment, bool) {
	e, ok := st.h.latest(layout.KeyCommit)
	if !ok || e.op != jetstream.KeyValuePut {
		return model.Assignment{}, false
	}
	first := e.rev != st.checked
	c, err := codec.DecodeCommit(layout.KeyCommit, e.value)
	if err != nil {
		if first {
			st.checked = e.rev
			st.report(err)
		}
		return model.Assignment{}, false
	}
	if c.Epoch < st.epoch || c.Version <= st.version {
		if first && (c.Epoch != st.epoch || c.Version != st.version) {
			st.report(fmt.Errorf("%w: commit v%d epoch %d after v%d epoch %d", ErrStale, c.Version, c.Epoch, st.version, st.epoch))
		}
		st.checked = e.rev
		return model.Assignment{}, false
	}
	a, err := assemble(c, st.h)
	if err != nil {
		// Entries may still be on their way; report once per commit.
		if first {
			st.report(err)
		}
		st.checked = e.rev
		return model.Assignment{}, false
	}
	st.checked = e.rev
	st.epoch, st.version = c.Epoch, c.Version
	return a, true
}
