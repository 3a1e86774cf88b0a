// Package membership implements the calculator's Membership port over a
// supervised watch of the workers bucket:
//
//	put (heartbeat)             → MemberJoined, or MemberLeft if draining
//	delete (graceful release)   → MemberLeft
//	purge marker (TTL expiry)   → MemberExpired
//	end of initial values       → MembersSynced
//
// Events are emitted on state changes only (a worker's steady heartbeats
// produce one MemberJoined). When the watch is re-created (reconnect,
// server restart), the current members are delivered again followed by
// MembersSynced. It must not import the calculator's engine, cmd or tui.
package membership

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/watch"
)

// Options tune a Source.
type Options struct {
	// Restart re-creates the watch, e.g. after a reconnect
	// (natsconn.Tracker.Reconnects).
	Restart <-chan struct{}
	// OnError receives undecodable heartbeats and watch failures; it must
	// not block.
	OnError func(error)
	// Buffer is the event channel's capacity; default 256.
	Buffer int
	// Now stamps events; default time.Now.
	Now func() time.Time
}

// Source is a calculator.Membership over the workers bucket.
type Source struct {
	kv jetstream.KeyValue
	o  Options
}

var _ calculator.Membership = (*Source)(nil)

// New returns a Source watching the workers bucket kv.
func New(kv jetstream.KeyValue, o Options) *Source {
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Source{kv: kv, o: o}
}

// Watch starts the watch. The goroutine it starts stops when ctx is done
// and closes the channel after its last event.
func (s *Source) Watch(ctx context.Context) (<-chan calculator.MemberEvent, error) {
	if s.kv == nil {
		return nil, errors.New("membership: workers bucket is nil")
	}
	out := make(chan calculator.MemberEvent, s.o.Buffer)
	events := watch.Watch(ctx, s.kv, watch.Options{Restart: s.o.Restart, OnError: s.o.OnError})
	go func() {
		defer close(out)
		st := tracker{workers: map[string]state{}}
		for ev := range events {
			for _, me := range st.apply(ev, s.o.OnError) {
				if me.At.IsZero() {
					me.At = s.o.Now()
				}
				select {
				case out <- me:
				case <-ctx.Done():
					// Keep draining events so the watch goroutine can end.
				}
			}
		}
	}()
	return out, nil
}

// state is what the source knows about one worker key.
type state int

const (
	absent   state = iota // not seen in this watch generation
	alive                 // heartbeating
	draining              // heartbeating with draining=true
	deleted               // released gracefully; a later purge marker is the delete aging out
)

// tracker turns watch events into membership events.
type tracker struct {
	workers map[string]state
	synced  bool
	// before holds the workers known when the current watch generation
	// started; at its Synced, those no longer present are reported gone
	// (their expiry or delete happened while no watch was delivering).
	before map[string]state
}

func (t *tracker) apply(ev watch.Event, onError func(error)) []calculator.MemberEvent {
	switch ev.Kind {
	case watch.Reset:
		if t.before == nil {
			t.before = make(map[string]state, len(t.workers))
		}
		for id, st := range t.workers {
			t.before[id] = st
		}
		clear(t.workers)
		t.synced = false
		return nil
	case watch.Synced:
		t.synced = true
		var out []calculator.MemberEvent
		for id, st := range t.before {
			if _, still := t.workers[id]; !still && st == alive {
				out = append(out, calculator.MemberEvent{Kind: calculator.MemberExpired, Worker: id})
			}
		}
		clear(t.before)
		slices.SortFunc(out, func(a, b calculator.MemberEvent) int { return strings.Compare(a.Worker, b.Worker) })
		return append(out, calculator.MemberEvent{Kind: calculator.MembersSynced})
	}
	e := ev.Entry
	id := e.Key()
	prev := t.workers[id]
	switch e.Operation() {
	case jetstream.KeyValuePut:
		next := alive
		hb, err := codec.DecodeHeartbeat(id, e.Value())
		if err != nil {
			// The key exists, so something is alive under this ID; its
			// draining flag is unknown.
			if onError != nil {
				onError(err)
			}
		} else if hb.Draining {
			next = draining
		}
		t.workers[id] = next
		switch {
		case next == alive && prev != alive:
			return one(calculator.MemberJoined, id)
		case next == draining && prev != draining:
			return one(calculator.MemberLeft, id)
		}
	case jetstream.KeyValueDelete:
		t.workers[id] = deleted
		if prev == alive {
			return one(calculator.MemberLeft, id)
		}
		// A draining worker was reported as left already.
	case jetstream.KeyValuePurge:
		delete(t.workers, id)
		// After a delete, the purge marker is the delete marker aging out.
		if prev == alive || prev == draining {
			return one(calculator.MemberExpired, id)
		}
	}
	return nil
}

func one(k calculator.MemberEventKind, id string) []calculator.MemberEvent {
	return []calculator.MemberEvent{{Kind: k, Worker: id}}
}
