// Package watch supervises JetStream KV watchers. A nats.go watcher's
// channel can close for good (lost connection, server restart, consumer
// recreation failure); Watch re-creates it with backoff and marks every
// restart, so consumers can rebuild their state from the fresh snapshot.
//
// It is used by the membership source, the assignment reader and the
// status and leader watchers. It must not import the calculator.
package watch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Kind says what an Event carries.
type Kind int

// Event kinds, in the order a (re)started watch delivers them: one Reset,
// the current values as Entry events, one Synced, then live Entry events.
const (
	// Reset: a new watch generation starts; forget what the previous one
	// delivered. Current values follow.
	Reset Kind = iota + 1
	// Entry: a KV entry (put, delete or purge marker).
	Entry
	// Synced: every value that existed when this generation started has
	// been delivered.
	Synced
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Reset:
		return "reset"
	case Entry:
		return "entry"
	case Synced:
		return "synced"
	}
	return "unknown"
}

// Event is one item from a supervised watch.
type Event struct {
	Kind       Kind
	Entry      jetstream.KeyValueEntry // set for Entry
	Generation int                     // 1 for the first watch, +1 per restart
	Err        error                   // for Reset after the first: why the last watch ended
}

// Options tune Watch.
type Options struct {
	// Keys filters the watched keys (wildcards allowed); empty watches all.
	Keys []string
	// IncludeHistory delivers every retained revision of each key in the
	// initial values, not only the latest.
	IncludeHistory bool
	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// failed attempts; defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Buffer is the output channel's capacity; default 64.
	Buffer int
	// Restart, if set, re-creates the watcher (a new generation) whenever
	// it receives, e.g. after a reconnect: natsconn.Tracker.Reconnects.
	// A watcher that survived a reconnect may otherwise wait for its
	// consumer's missed heartbeats (seconds) before it resumes.
	Restart <-chan struct{}
	// OnError, if set, is called (from the watch goroutine) when creating
	// a watcher fails or a watcher ends; it must not block.
	OnError func(error)
}

// ErrWatcherClosed means the nats.go watcher's channel closed unexpectedly.
var ErrWatcherClosed = errors.New("watcher closed")

// ErrRestartRequested means the watcher was re-created on Options.Restart.
var ErrRestartRequested = errors.New("watch restart requested")

// stopDrainTimeout bounds how long a stopped watcher is drained.
const stopDrainTimeout = 5 * time.Second

// Watch starts a supervised watch of kv and returns its events. The
// goroutine it starts runs until ctx is done, then stops the current
// watcher and closes the channel. The consumer must drain the channel
// until it is closed.
func Watch(ctx context.Context, kv jetstream.KeyValue, o Options) <-chan Event {
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Buffer <= 0 {
		o.Buffer = 64
	}
	out := make(chan Event, o.Buffer)
	go func() {
		defer close(out)
		s := supervisor{kv: kv, o: o, out: out}
		s.run(ctx)
	}()
	return out
}

type supervisor struct {
	kv  jetstream.KeyValue
	o   Options
	out chan<- Event
}

func (s *supervisor) run(ctx context.Context) {
	backoff := s.o.MinBackoff
	var lastErr error
	for gen := 1; ctx.Err() == nil; {
		started, err := s.once(ctx, gen, lastErr)
		if ctx.Err() != nil {
			return
		}
		if s.o.OnError != nil && err != nil {
			s.o.OnError(err)
		}
		lastErr = err
		if errors.Is(err, ErrRestartRequested) {
			gen++
			continue
		}
		if started {
			// The watch worked for a while: retry soon, and count a
			// generation only for watches that delivered something.
			backoff = s.o.MinBackoff
			gen++
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.o.MaxBackoff)
	}
}

// once runs one watcher until it ends or ctx is done. started reports
// whether it was created (and so a generation was used).
func (s *supervisor) once(ctx context.Context, gen int, prevErr error) (started bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var w jetstream.KeyWatcher
	var opts []jetstream.WatchOpt
	if s.o.IncludeHistory {
		opts = append(opts, jetstream.IncludeHistory())
	}
	if len(s.o.Keys) == 0 {
		w, err = s.kv.WatchAll(wctx, opts...)
	} else {
		w, err = s.kv.WatchFiltered(wctx, append([]string(nil), s.o.Keys...), opts...)
	}
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", s.kv.Bucket(), err)
	}
	defer func() {
		cancel()
		Drain(w)
	}()
	if !s.send(ctx, Event{Kind: Reset, Generation: gen, Err: prevErr}) {
		return true, nil
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-s.o.Restart:
			return true, ErrRestartRequested
		case e, ok := <-w.Updates():
			if !ok {
				return true, fmt.Errorf("watch %s: %w", s.kv.Bucket(), ErrWatcherClosed)
			}
			ev := Event{Kind: Entry, Entry: e, Generation: gen}
			if e == nil {
				ev = Event{Kind: Synced, Generation: gen}
			}
			if !s.send(ctx, ev) {
				return true, nil
			}
		}
	}
}

func (s *supervisor) send(ctx context.Context, ev Event) bool {
	select {
	case s.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// Drain empties w's channel until nats.go closes it (at most 5 s), so its delivery
// callback (which blocks on a full channel while holding the watcher's
// lock) can finish. The watcher is stopped by cancelling its context
// rather than by Stop: nats.go's own context goroutine then unsubscribes
// (closing the channel at once) and deletes the consumer, which can take
// the JetStream request timeout while disconnected; Stop would block the
// caller for that long. Cancel the watcher's context, then call Drain.
func Drain(w jetstream.KeyWatcher) {
	t := time.NewTimer(stopDrainTimeout)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}
