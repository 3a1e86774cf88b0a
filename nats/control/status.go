package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/watch"
)

// Publisher writes the leader's status and history to the status bucket,
// fenced on the leader's epoch. The status bucket is a separate stream, so
// it carries its own epoch key: NewPublisher raises it to the leader's
// epoch by compare-and-swap (never lowers it), and every write is
// conditioned on that key's revision.
type Publisher struct {
	js    jetstream.JetStream
	fence layout.Fence
}

// NewPublisher takes the status bucket's fence for leader at epoch. It
// fails with an error wrapping layout.ErrFenced if a newer epoch already
// holds it.
func NewPublisher(ctx context.Context, b *layout.Buckets, leader string, epoch uint64) (*Publisher, error) {
	kv := b.Status
	wait := 5 * time.Millisecond
	for {
		e, err := kv.Get(ctx, layout.KeyEpoch)
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			err = nil
		case err != nil:
		default:
			cur, derr := codec.DecodeEpoch(e.Key(), e.Value())
			if derr != nil {
				return nil, derr
			}
			switch {
			case cur.Epoch > epoch:
				return nil, fmt.Errorf("status publisher at epoch %d: %w: epoch %d holds it", epoch, layout.ErrFenced, cur.Epoch)
			case cur.Epoch == epoch:
				// Epochs are unique per term: this term took it already.
				return &Publisher{js: b.JS, fence: statusFence(kv, epoch, e.Revision())}, nil
			}
			rev = e.Revision()
		}
		if err == nil {
			val, eerr := codec.Encode(&codec.Epoch{Epoch: epoch, Leader: leader, At: time.Now()})
			if eerr != nil {
				return nil, eerr
			}
			var nrev uint64
			if rev == 0 {
				nrev, err = kv.Create(ctx, layout.KeyEpoch, val)
			} else {
				nrev, err = kv.Update(ctx, layout.KeyEpoch, val, rev)
			}
			if err == nil {
				return &Publisher{js: b.JS, fence: statusFence(kv, epoch, nrev)}, nil
			}
		}
		// Lost race or stale read: look again.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("status publisher: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func statusFence(kv jetstream.KeyValue, epoch, rev uint64) layout.Fence {
	return layout.Fence{Bucket: kv.Bucket(), Key: layout.KeyEpoch, Epoch: epoch, Revision: rev}
}

// Epoch is the epoch the publisher writes for.
func (p *Publisher) Epoch() uint64 { return p.fence.Epoch }

// PublishStatus writes s under the status key.
func (p *Publisher) PublishStatus(ctx context.Context, s codec.Status) error {
	return p.put(ctx, layout.KeyStatus, &s)
}

// PublishHistory writes h under the history key.
func (p *Publisher) PublishHistory(ctx context.Context, h codec.History) error {
	return p.put(ctx, layout.KeyHistory, &h)
}

func (p *Publisher) put(ctx context.Context, key string, v codec.Value) error {
	val, err := codec.Encode(v)
	if err != nil {
		return err
	}
	if _, err := layout.PutFenced(ctx, p.js, p.fence, key, val); err != nil {
		return fmt.Errorf("publish %s: %w", key, err)
	}
	return nil
}

// Snapshot is what a console knows of the leader's status.
type Snapshot struct {
	Status  *codec.Status  // nil until one is stored
	History *codec.History // nil until one is stored
}

// WatchOptions tune WatchStatus.
type WatchOptions struct {
	Restart <-chan struct{} // re-create the watch, e.g. on reconnect
	OnError func(error)     // undecodable values, watch failures; must not block
}

// WatchStatus follows the status bucket. It delivers a snapshot once the
// stored values are read and after every change; an unread snapshot is
// replaced by a newer one. The channel closes when ctx is done.
func WatchStatus(ctx context.Context, b *layout.Buckets, o WatchOptions) <-chan Snapshot {
	out := make(chan Snapshot, 1)
	events := watch.Watch(ctx, b.Status, watch.Options{
		Keys: []string{layout.KeyStatus, layout.KeyHistory}, Restart: o.Restart, OnError: o.OnError,
	})
	go func() {
		defer close(out)
		var snap Snapshot
		synced := false
		for ev := range events {
			switch ev.Kind {
			case watch.Reset:
				snap, synced = Snapshot{}, false
				continue
			case watch.Synced:
				synced = true
			case watch.Entry:
				if err := snap.apply(ev.Entry); err != nil && o.OnError != nil {
					o.OnError(err)
				}
				if !synced {
					continue
				}
			}
			select {
			case <-out:
			default:
			}
			out <- snap
		}
	}()
	return out
}

// apply folds one entry into a copy-on-write snapshot.
func (s *Snapshot) apply(e jetstream.KeyValueEntry) error {
	gone := e.Operation() != jetstream.KeyValuePut
	switch e.Key() {
	case layout.KeyStatus:
		if gone {
			s.Status = nil
			return nil
		}
		st, err := codec.DecodeStatus(e.Key(), e.Value())
		if err != nil {
			return err
		}
		s.Status = &st
	case layout.KeyHistory:
		if gone {
			s.History = nil
			return nil
		}
		h, err := codec.DecodeHistory(e.Key(), e.Value())
		if err != nil {
			return err
		}
		s.History = &h
	}
	return nil
}
