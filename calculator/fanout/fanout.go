// Package fanout delivers a stream of state changes to many subscribers
// without ever blocking the publisher and without ever losing an event
// silently.
//
// The calculator publishes every state change into a Hub; the status reader,
// the dashboard and the metrics collectors subscribe. A subscriber that keeps
// up receives every event, in order. A subscriber that falls more than
// Options.Buffer events behind loses the events that do not fit, and is then
// told so explicitly by a gap event that also carries the latest state, so
// it can never act on a stale view without knowing it.
//
// The package is pure in-memory plumbing: it must not import NATS or any I/O
// package.
//
// # Delivery rule
//
// Sequence numbers start at 1 and grow by one per Publish. For a subscriber,
// let prev be the Seq of the event it received before e (for the first event
// after Subscribe: the sequence number of the last event published before
// Subscribe, 0 if none). Then for every event e it receives:
//
//   - a normal event (e.Missed == 0) has e.Seq == prev+1;
//   - a gap event (e.Missed > 0) has e.Seq == prev+e.Missed: the gap stands
//     in for the e.Missed events prev+1 … e.Seq that were not delivered one
//     by one, and its Value is the value of event e.Seq, the latest one
//     published when the gap was queued.
//
// So received sequence numbers are strictly increasing, every hole is
// explained by exactly one gap event, and the event after a gap with Seq s
// is either a normal event with Seq s+1 or another gap. Two gaps in a row
// only happen when the subscriber falls behind again right after the first
// gap was queued. Events counted in Missed are the ones reported by
// Hub.Dropped and Options.OnDrop.
package fanout

import (
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBuffer is the per-subscriber bound used when Options.Buffer is 0.
const DefaultBuffer = 256

// Event is one published value as a subscriber receives it.
//
// For a normal event Seq is the event's sequence number and Missed is 0. A
// gap event (Missed > 0) replaces the Missed events up to and including
// Seq, and carries the value of event Seq; see the package documentation
// for the exact rule.
type Event[T any] struct {
	Seq    uint64
	Value  T
	Missed uint64
}

// IsGap reports whether e is a gap event, that is whether the subscriber
// missed events before it.
func (e Event[T]) IsGap() bool { return e.Missed > 0 }

// Options configures a Hub.
type Options struct {
	// Buffer is the number of events a subscriber may lag behind before
	// events are dropped for it (and replaced by a gap event). Zero or a
	// negative value means DefaultBuffer. Each subscriber preallocates a
	// ring of this many events.
	Buffer int
	// OnDrop, if not nil, is called after a Publish that had to drop the
	// event for n slow subscribers. It is meant for a metrics counter: the
	// sum of all n equals Dropped. It is called from the publishing
	// goroutine, outside any lock, possibly concurrently when Publish is
	// called concurrently; it must be cheap and must not block.
	OnDrop func(n uint64)
	// CloseTimeout bounds how long Close keeps delivering events that are
	// already buffered to subscribers that are still reading. Zero means
	// DefaultCloseTimeout; a negative value means Close discards them.
	CloseTimeout time.Duration
}

// DefaultCloseTimeout is the default Options.CloseTimeout.
const DefaultCloseTimeout = 100 * time.Millisecond

// Hub fans published values out to subscribers. The zero value is not
// usable; create one with NewHub. All methods are safe for concurrent use.
//
// Every subscriber owns one delivery goroutine, started by Subscribe and
// stopped by its unsubscribe func or by Close. The owner of a Hub must call
// Close (or unsubscribe every subscriber) to release those goroutines.
type Hub[T any] struct {
	buffer       int
	onDrop       func(n uint64)
	closeTimeout time.Duration

	mu     sync.Mutex // guards seq, subs, closed; held for a whole Publish
	seq    uint64
	subs   []*subscriber[T]
	closed bool

	dropped atomic.Uint64
}

// NewHub returns an open Hub configured by opts.
func NewHub[T any](opts Options) *Hub[T] {
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	ct := opts.CloseTimeout
	if ct == 0 {
		ct = DefaultCloseTimeout
	}
	return &Hub[T]{buffer: buffer, onDrop: opts.OnDrop, closeTimeout: ct}
}

// Publish assigns v the next sequence number (the first is 1), offers it to
// every current subscriber and returns the sequence number.
//
// Publish never blocks on a subscriber and, once subscribers exist, does not
// allocate: it copies the event into each subscriber's preallocated ring, or
// counts it as dropped for a subscriber whose ring is full. Concurrent
// Publish calls are serialised, so every subscriber sees the same order.
//
// After Close, Publish does nothing and returns 0.
func (h *Hub[T]) Publish(v T) uint64 {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return 0
	}
	h.seq++
	seq := h.seq
	var drops uint64
	for _, s := range h.subs {
		if !s.offer(seq, v) {
			drops++
		}
	}
	h.mu.Unlock()

	if drops > 0 {
		h.dropped.Add(drops)
		if h.onDrop != nil {
			h.onDrop(drops)
		}
	}
	return seq
}

// Subscribe registers a subscriber and returns the channel that delivers
// every event published after Subscribe returns, following the delivery
// rule in the package documentation, and the func that unsubscribes.
//
// The unsubscribe func removes the subscriber, closes its channel, stops its
// delivery goroutine and waits for it to exit; events still buffered for it
// are discarded. It is idempotent and may be called from any goroutine,
// concurrently with Publish, Subscribe and Close. A subscriber that never
// reads does not block Publish, Close or its unsubscribe func.
//
// After Close, Subscribe returns an already closed channel and a no-op
// func.
func (h *Hub[T]) Subscribe() (<-chan Event[T], func()) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ch := make(chan Event[T])
		close(ch)
		return ch, func() {}
	}
	s := newSubscriber[T](h.buffer)
	h.subs = append(h.subs, s)
	go s.run()
	h.mu.Unlock()

	return s.out, func() {
		h.remove(s)
		s.shutdown()
	}
}

// remove drops s from the subscriber list if it is still there.
func (h *Hub[T]) remove(s *subscriber[T]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.subs {
		if x == s {
			last := len(h.subs) - 1
			h.subs[i] = h.subs[last]
			h.subs[last] = nil
			h.subs = h.subs[:last]
			return
		}
	}
}

// Close ends every subscription and waits for every delivery goroutine to
// exit. Events already buffered (and a pending gap) are still delivered to
// subscribers that keep reading, for up to Options.CloseTimeout; then the
// channels are closed and whatever is left is discarded. Later Publish and
// Subscribe calls are no-ops as documented on them. Close is idempotent and
// safe to call concurrently with every other method.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	subs := h.subs
	h.subs = nil
	h.closed = true
	h.mu.Unlock()

	if len(subs) == 0 {
		return
	}
	if h.closeTimeout > 0 {
		for _, s := range subs {
			s.drainOnce.Do(func() { close(s.drain) })
		}
		deadline := time.NewTimer(h.closeTimeout)
		defer deadline.Stop()
	wait:
		for _, s := range subs {
			select {
			case <-s.done:
			case <-deadline.C:
				break wait
			}
		}
	}
	for _, s := range subs {
		s.shutdown()
	}
}

// Subscribers returns the number of current subscribers.
func (h *Hub[T]) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Dropped returns the total number of events dropped so far across all
// subscribers: the sum of the Missed counts of every gap event, whether
// already delivered, still queued, or discarded by unsubscribe or Close.
func (h *Hub[T]) Dropped() uint64 { return h.dropped.Load() }

// Seq returns the sequence number of the last published event, 0 if none.
func (h *Hub[T]) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// subscriber is one subscriber's queue and delivery goroutine.
//
// The queue is a fixed ring of events followed, when the ring is full, by a
// pending gap that absorbs every event that does not fit. The delivery
// goroutine sends the head of the ring and removes it only once sent, so
// the subscriber never holds more than the ring's capacity in flight. As
// soon as a slot frees up, the pending gap moves into the ring as a gap
// event, behind the events already queued and ahead of every later one.
type subscriber[T any] struct {
	out    chan Event[T]
	notify chan struct{} // capacity 1: "the ring became non-empty"
	stop   chan struct{} // closed once to stop the delivery goroutine
	drain  chan struct{} // closed once: exit when the ring is empty
	done   chan struct{} // closed by the delivery goroutine on exit
	once   sync.Once

	drainOnce sync.Once

	mu      sync.Mutex // guards everything below
	ring    []Event[T]
	head    int // index of the oldest queued event
	count   int // number of queued events
	pending Event[T]
}

func newSubscriber[T any](buffer int) *subscriber[T] {
	return &subscriber[T]{
		out:    make(chan Event[T]),
		notify: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		drain:  make(chan struct{}),
		done:   make(chan struct{}),
		ring:   make([]Event[T], buffer),
	}
}

// offer queues event seq, or folds it into the pending gap when the ring is
// full. It reports whether the event was queued (false means dropped).
func (s *subscriber[T]) offer(seq uint64, v T) bool {
	s.mu.Lock()
	if s.count == len(s.ring) {
		s.pending.Seq = seq
		s.pending.Value = v
		s.pending.Missed++
		s.mu.Unlock()
		return false
	}
	s.push(Event[T]{Seq: seq, Value: v})
	wasEmpty := s.count == 1
	s.mu.Unlock()

	if wasEmpty {
		// The delivery goroutine may be waiting for work. If a token is
		// already there it will look at the ring anyway.
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
	return true
}

// push appends e to the ring. The caller holds mu and has checked for room.
func (s *subscriber[T]) push(e Event[T]) {
	i := s.head + s.count
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	s.ring[i] = e
	s.count++
}

// peek returns the oldest queued event without removing it.
func (s *subscriber[T]) peek() (Event[T], bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		return Event[T]{}, false
	}
	return s.ring[s.head], true
}

// pop removes the oldest queued event (the one just delivered) and, if a
// gap is pending, queues it in the freed slot.
func (s *subscriber[T]) pop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero Event[T]
	s.ring[s.head] = zero // release any reference held by the value
	s.head++
	if s.head == len(s.ring) {
		s.head = 0
	}
	s.count--
	if s.pending.Missed > 0 {
		s.push(s.pending)
		s.pending = zero
	}
}

// run is the delivery goroutine: it moves events from the ring to out until
// stop is closed, then closes out.
func (s *subscriber[T]) run() {
	defer close(s.done)
	defer close(s.out)
	for {
		e, ok := s.peek()
		if !ok {
			select {
			case <-s.notify:
				continue
			case <-s.drain:
				return
			case <-s.stop:
				return
			}
		}
		select {
		case s.out <- e:
			s.pop()
		case <-s.stop:
			return
		}
	}
}

// shutdown stops the delivery goroutine (once) and waits for it to exit.
func (s *subscriber[T]) shutdown() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}
