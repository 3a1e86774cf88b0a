package natsconn

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// State is the connection's health as parti sees it.
type State int

// Connection states.
const (
	// StateConnecting: not connected yet (initial connect in progress).
	StateConnecting State = iota
	// StateConnected: connected to a server.
	StateConnected
	// StateReconnecting: the connection was lost and is being re-established;
	// the node is degraded.
	StateReconnecting
	// StateClosed: the connection is closed for good.
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// Change is one state transition.
type Change struct {
	State State
	Since time.Time
	Err   error  // why the connection dropped, if known
	URL   string // server connected to, when State is StateConnected
}

// Tracker follows a connection's state through nats.go's connect,
// disconnect, reconnect and closed handlers. Subscribers never block the
// connection: each gets a channel holding only the latest change.
type Tracker struct {
	mu         sync.Mutex
	cur        Change
	subs       map[chan Change]struct{}
	reconnects map[chan struct{}]struct{}
}

// NewTracker returns a tracker in StateConnecting.
func NewTracker() *Tracker {
	return &Tracker{
		cur:        Change{State: StateConnecting, Since: time.Now()},
		subs:       map[chan Change]struct{}{},
		reconnects: map[chan struct{}]struct{}{},
	}
}

// Current returns the latest state change.
func (t *Tracker) Current() Change {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// Subscribe returns a channel that receives the current state at once and
// then every later change; when the reader is slow, older undelivered
// changes are replaced by newer ones. cancel stops delivery and closes the
// channel; the channel is also closed after StateClosed.
func (t *Tracker) Subscribe() (changes <-chan Change, cancel func()) {
	ch := make(chan Change, 1)
	t.mu.Lock()
	ch <- t.cur
	if t.cur.State == StateClosed {
		close(ch)
		t.mu.Unlock()
		return ch, func() {}
	}
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if _, ok := t.subs[ch]; ok {
			delete(t.subs, ch)
			close(ch)
		}
	}
}

// Reconnects returns a channel that receives (without ever blocking the
// connection; at most one pending signal) each time the connection is
// re-established after a loss. cancel stops delivery. It fits
// watch.Options.Restart.
func (t *Tracker) Reconnects() (signals <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	t.mu.Lock()
	t.reconnects[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.reconnects, ch)
	}
}

func (t *Tracker) set(s State, err error, url string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur.State == StateClosed || t.cur.State == s {
		return
	}
	if s == StateConnected && t.cur.State == StateReconnecting {
		for ch := range t.reconnects {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	t.cur = Change{State: s, Since: time.Now(), Err: err, URL: url}
	for ch := range t.subs {
		select {
		case <-ch: // drop the stale change the reader has not taken
		default:
		}
		ch <- t.cur
		if s == StateClosed {
			close(ch)
		}
	}
	if s == StateClosed {
		clear(t.subs)
	}
}

// connected records the state of a freshly returned connection.
func (t *Tracker) connected(nc *nats.Conn) {
	if nc.IsConnected() {
		t.set(StateConnected, nil, nc.ConnectedUrlRedacted())
	}
}

func (t *Tracker) options() []nats.Option {
	return []nats.Option{
		nats.ConnectHandler(func(nc *nats.Conn) { t.set(StateConnected, nil, nc.ConnectedUrlRedacted()) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { t.set(StateConnected, nil, nc.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() {
				t.set(StateReconnecting, err, "")
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { t.set(StateClosed, nil, "") }),
	}
}

// Options returns the nats.go handler options that feed t, for callers
// that build their own connection.
func (t *Tracker) Options() []nats.Option { return t.options() }
