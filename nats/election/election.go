// Package election elects one leader per cluster over the leader KV bucket
// and gives each leadership term a fencing epoch.
//
// Protocol (see docs/architecture.md):
//
//  1. Campaign: kv.Create("leader", {id, epoch: 0}) on the leader bucket,
//     whose TTL is the leader TTL. Only one node can create the key.
//  2. Take office: raise the "epoch" key of the assignments bucket from E
//     to E+1 with compare-and-swap (Create if absent). The revision of that
//     write is the term's fencing token: every leader write is published
//     with "expect last sequence of $KV.<assignments>.epoch = token", so
//     once a newer leader raises the epoch the server refuses the old
//     leader's writes.
//  3. Renew: kv.Update("leader", {id, epoch: E+1}, lastRevision) every
//     RenewInterval (TTL/3). A refused renewal (lost race) ends the term at
//     once; failing renewals end it when RenewDeadline (2/3 TTL) has passed
//     since the last successful renewal was sent, which is before the key
//     can expire on the server.
//  4. Resign: delete the key with a last-revision condition.
//
// It must not import the calculator's engine, cmd or tui.
package election

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/watch"
)

// Errors that end a term, checked with errors.Is on Term.Err.
var (
	// ErrLeadershipLost: a renewal was refused; another node holds the key.
	ErrLeadershipLost = errors.New("leadership lost: renewal refused")
	// ErrRenewDeadline: no renewal succeeded within RenewDeadline.
	ErrRenewDeadline = errors.New("leadership lost: renew deadline passed")
	// ErrResigned: the term ended by Resign.
	ErrResigned = errors.New("leadership resigned")
	// ErrStopped: the term ended because Campaign's context was done.
	ErrStopped = errors.New("campaign stopped")
)

// Config configures an Elector.
type Config struct {
	Leader      jetstream.KeyValue // leader bucket; its TTL must be TTL
	Assignments jetstream.KeyValue // bucket holding the epoch key
	ID          string             // this node's worker ID
	Nonce       string             // this process's nonce; default random
	// TTL is the leader bucket's TTL; default 3s.
	TTL time.Duration
	// RenewInterval defaults to TTL/3; RenewDeadline to 2*TTL/3.
	RenewInterval, RenewDeadline time.Duration
	// RetryInterval is how often a follower retries when no watch event
	// arrives; default TTL/3.
	RetryInterval time.Duration
	// OnError, if set, receives transient failures; it must not block.
	OnError func(error)
}

// Term is one leadership term of this node.
type Term struct {
	Epoch   uint64       // fencing epoch, ≥ 1
	Fence   layout.Fence // the write condition for this epoch
	Since   time.Time    // when the leader key was won
	done    chan struct{}
	endOnce sync.Once
	err     error
}

// Done is closed when the term ends; stop acting as leader then.
func (t *Term) Done() <-chan struct{} { return t.done }

// Err says why the term ended (nil while it lasts).
func (t *Term) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

func (t *Term) end(err error) {
	t.endOnce.Do(func() {
		t.err = err
		close(t.done)
	})
}

// Elector campaigns for leadership on behalf of one node.
type Elector struct {
	cfg Config

	mu       sync.Mutex // serialises leader-key writes; guards below
	term     *Term
	rev      uint64    // leader key revision while leading
	lastSent time.Time // when the last successful leader-key write was sent
	terms    chan *Term
	leader   codec.Leader // latest leader record seen by the watch
	hasLead  bool
	campaign bool
}

// New checks cfg and returns an Elector.
func New(cfg Config) (*Elector, error) {
	if cfg.Leader == nil || cfg.Assignments == nil || cfg.ID == "" {
		return nil, errors.New("election: leader bucket, assignments bucket and ID are required")
	}
	if cfg.Nonce == "" {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails on supported platforms
		cfg.Nonce = hex.EncodeToString(b[:])
	}
	if cfg.TTL <= 0 {
		cfg.TTL = layout.DefaultLeaderTTL
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = cfg.TTL / 3
	}
	if cfg.RenewDeadline <= 0 {
		cfg.RenewDeadline = 2 * cfg.TTL / 3
	}
	if cfg.RenewDeadline >= cfg.TTL || cfg.RenewInterval >= cfg.RenewDeadline {
		return nil, fmt.Errorf("election: need RenewInterval (%s) < RenewDeadline (%s) < TTL (%s)",
			cfg.RenewInterval, cfg.RenewDeadline, cfg.TTL)
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = cfg.TTL / 3
	}
	return &Elector{cfg: cfg, terms: make(chan *Term, 1)}, nil
}

// Terms delivers each term this node wins, as it starts. The channel holds
// one pending term; an unread older term is replaced (it has ended by
// then anyway, or will be, since terms do not overlap). Watch Term.Done
// for the end.
func (e *Elector) Terms() <-chan *Term { return e.terms }

// Current returns this node's running term, or nil.
func (e *Elector) Current() *Term {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term != nil && e.term.Err() == nil {
		return e.term
	}
	return nil
}

// Leader returns the latest leader record seen while campaigning (any
// node's), or ok == false if none is known.
func (e *Elector) Leader() (l codec.Leader, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader, e.hasLead
}

// Resign ends the current term (if any) and deletes the leader key if this
// node still holds it, so another node can take over at once. The elector
// then waits one TTL before campaigning again.
func (e *Elector) Resign(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.term
	if t == nil || t.Err() != nil {
		return nil
	}
	err := e.cfg.Leader.Delete(ctx, layout.KeyLeader, jetstream.LastRevision(e.rev))
	t.end(ErrResigned)
	if err != nil && !layout.IsLostRace(err) {
		return fmt.Errorf("resign leadership: %w", err)
	}
	return nil
}

func (e *Elector) onError(err error) {
	if e.cfg.OnError != nil && err != nil {
		e.cfg.OnError(err)
	}
}

// Campaign runs the election until ctx is done: it campaigns while
// following and renews while leading. When ctx ends during a term, the
// term ends with ErrStopped and the leader key is left to expire (use
// Resign first for a graceful hand-over). Campaign may run once at a time.
func (e *Elector) Campaign(ctx context.Context) error {
	e.mu.Lock()
	if e.campaign {
		e.mu.Unlock()
		return errors.New("election: Campaign is already running")
	}
	e.campaign = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.campaign = false
		e.mu.Unlock()
	}()

	wctx, stopWatch := context.WithCancel(ctx)
	events := watch.Watch(wctx, e.cfg.Leader, watch.Options{Keys: []string{layout.KeyLeader}, OnError: e.onError})
	defer func() {
		stopWatch()
		for range events {
		}
	}()

	holdOff := time.Duration(0)
	for ctx.Err() == nil {
		if holdOff > 0 {
			if !e.waitFollower(ctx, events, holdOff, false) {
				return nil
			}
			holdOff = 0
		}
		won, err := e.tryWin(ctx)
		if err != nil {
			e.onError(err)
		}
		if !won {
			if !e.waitFollower(ctx, events, e.cfg.RetryInterval, true) {
				return nil
			}
			continue
		}
		if e.lead(ctx, events) {
			holdOff = e.cfg.TTL
		}
	}
	return nil
}

// waitFollower waits d, or (if wake) until the watch shows the key gone.
// It reports false when ctx is done.
func (e *Elector) waitFollower(ctx context.Context, events <-chan watch.Event, d time.Duration, wake bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case ev := <-events:
			if gone := e.observe(ev); gone && wake {
				return true
			}
		}
	}
}

// observe records a watch event; it reports whether the key is now absent.
func (e *Elector) observe(ev watch.Event) (gone bool) {
	var decodeErr error
	defer func() { e.onError(decodeErr) }()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev.Kind {
	case watch.Reset:
		e.hasLead = false
	case watch.Synced:
		return !e.hasLead
	case watch.Entry:
		if ev.Entry.Operation() != jetstream.KeyValuePut {
			e.hasLead = false
			return true
		}
		if l, err := codec.DecodeLeader(ev.Entry.Key(), ev.Entry.Value()); err == nil {
			e.leader, e.hasLead = l, true
		} else {
			decodeErr = err
		}
	}
	return false
}
