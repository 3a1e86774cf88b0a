package worker

import (
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// streamLeaderElected is the JetStream advisory published when a stream
// gets a new leader; the stream name follows.
const streamLeaderElected = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."

// restarts fans "re-create your watch" signals out to every watch of a
// node. A watch whose consumer lived on a NATS server that was lost may stay
// silent without any reconnect of this client, so besides reconnects the
// node listens for stream-leader changes of its cluster's buckets.
type restarts struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newRestarts() *restarts { return &restarts{subs: make(map[chan struct{}]struct{})} }

// subscribe returns a channel that receives a signal after every restart
// cause (coalesced), and a function that ends the subscription.
func (r *restarts) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
	}
}

// notify signals every subscriber without blocking.
func (r *restarts) notify() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// watchLeaderChanges subscribes to stream-leader advisories of the streams
// whose names start with prefix and notifies r on each.
func (r *restarts) watchLeaderChanges(nc *nats.Conn, prefix string) (*nats.Subscription, error) {
	return nc.Subscribe(streamLeaderElected+">", func(m *nats.Msg) {
		if strings.HasPrefix(strings.TrimPrefix(m.Subject, streamLeaderElected), prefix) {
			r.notify()
		}
	})
}
