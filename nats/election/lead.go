package election

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

// tryWin creates the leader key and takes office. It reports won == true
// with e.term set and announced.
func (e *Elector) tryWin(ctx context.Context) (won bool, err error) {
	since := time.Now()
	rec := codec.Leader{ID: e.cfg.ID, Nonce: e.cfg.Nonce, Since: since, At: since}
	val, err := codec.Encode(&rec)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.RenewDeadline)
	defer cancel()
	e.mu.Lock()
	rev, err := e.cfg.Leader.Create(cctx, layout.KeyLeader, val)
	e.mu.Unlock()
	if err != nil {
		if layout.IsLostRace(err) {
			return false, nil
		}
		return false, fmt.Errorf("campaign: %w", err)
	}
	// From here the deadline runs from the moment the Create was sent.
	deadline := since.Add(e.cfg.RenewDeadline)
	octx, ocancel := context.WithDeadline(ctx, deadline)
	defer ocancel()
	epoch, fenceRev, err := e.raiseEpoch(octx)
	if err == nil {
		rec.Epoch, rec.At = epoch, time.Now()
		val, err = codec.Encode(&rec)
	}
	sent := time.Now()
	if err == nil {
		e.mu.Lock()
		rev, err = e.cfg.Leader.Update(octx, layout.KeyLeader, val, rev)
		e.mu.Unlock()
	}
	if err != nil {
		// Give the key up so another node need not wait for the TTL.
		e.mu.Lock()
		_ = e.cfg.Leader.Delete(ctx, layout.KeyLeader, jetstream.LastRevision(rev))
		e.mu.Unlock()
		return false, fmt.Errorf("take office: %w", err)
	}
	t := &Term{
		Epoch: epoch,
		Fence: layout.Fence{Bucket: e.cfg.Assignments.Bucket(), Key: layout.KeyEpoch, Epoch: epoch, Revision: fenceRev},
		Since: since,
		done:  make(chan struct{}),
	}
	e.mu.Lock()
	e.term, e.rev = t, rev
	e.lastSent = sent
	e.mu.Unlock()
	select {
	case <-e.terms: // replace an unread (ended) term
	default:
	}
	e.terms <- t
	return true, nil
}

// raiseEpoch moves the epoch key from E to E+1 by compare-and-swap and
// returns E+1 and the revision of that write. Reads may be stale (direct
// gets from replicas); a stale read only makes the CAS fail and retry.
func (e *Elector) raiseEpoch(ctx context.Context) (epoch, rev uint64, err error) {
	kv := e.cfg.Assignments
	wait := 5 * time.Millisecond
	for {
		var cur uint64
		var curRev uint64
		ent, gerr := kv.Get(ctx, layout.KeyEpoch)
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
		case gerr != nil:
			err = gerr
		default:
			ep, derr := codec.DecodeEpoch(ent.Key(), ent.Value())
			if derr != nil {
				return 0, 0, fmt.Errorf("raise epoch: %w", derr)
			}
			cur, curRev = ep.Epoch, ent.Revision()
		}
		if gerr == nil || errors.Is(gerr, jetstream.ErrKeyNotFound) {
			var val []byte
			val, err = codec.Encode(&codec.Epoch{Epoch: cur + 1, Leader: e.cfg.ID, At: time.Now()})
			if err != nil {
				return 0, 0, err
			}
			if curRev == 0 {
				rev, err = kv.Create(ctx, layout.KeyEpoch, val)
			} else {
				rev, err = kv.Update(ctx, layout.KeyEpoch, val, curRev)
			}
			if err == nil {
				return cur + 1, rev, nil
			}
		}
		if !layout.IsLostRace(err) {
			e.onError(fmt.Errorf("raise epoch: %w", err))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, 0, fmt.Errorf("raise epoch: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// lead renews the leader key until the term ends. It reports whether the
// term ended by Resign (the caller then holds off).
func (e *Elector) lead(ctx context.Context, events <-chan watch.Event) (resigned bool) {
	e.mu.Lock()
	t := e.term
	e.mu.Unlock()
	renew := time.NewTicker(e.cfg.RenewInterval)
	defer renew.Stop()
	deadline := time.NewTimer(e.cfg.RenewDeadline)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			t.end(ErrStopped)
			return false
		case <-t.Done():
			return errors.Is(t.Err(), ErrResigned)
		case ev := <-events:
			e.observe(ev)
		case <-deadline.C:
			e.mu.Lock()
			last := e.lastSent
			e.mu.Unlock()
			if left := e.cfg.RenewDeadline - time.Since(last); left > 0 {
				deadline.Reset(left)
				continue
			}
			t.end(fmt.Errorf("%w (%s since the last renewal was sent)", ErrRenewDeadline, time.Since(last).Round(time.Millisecond)))
			return false
		case <-renew.C:
			if err := e.renew(ctx, t); err != nil {
				if layout.IsLostRace(err) {
					t.end(fmt.Errorf("%w: %w", ErrLeadershipLost, err))
					return false
				}
				e.onError(err)
			}
		}
	}
}

// renew writes the leader record once, bounded by the time left before
// the renew deadline.
func (e *Elector) renew(ctx context.Context, t *Term) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.Err() != nil {
		return nil
	}
	left := e.cfg.RenewDeadline - time.Since(e.lastSent)
	if left <= 0 {
		return ErrRenewDeadline
	}
	rctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	now := time.Now()
	val, err := codec.Encode(&codec.Leader{ID: e.cfg.ID, Nonce: e.cfg.Nonce, Epoch: t.Epoch, Since: t.Since, At: now})
	if err != nil {
		return err
	}
	rev, err := e.cfg.Leader.Update(rctx, layout.KeyLeader, val, e.rev)
	if layout.IsLostRace(err) && e.adoptOwnWriteLocked(rctx, t) {
		// An earlier renewal that timed out had landed after all.
		rev, err = e.cfg.Leader.Update(rctx, layout.KeyLeader, val, e.rev)
	}
	if err != nil {
		return fmt.Errorf("renew leadership: %w", err)
	}
	e.rev, e.lastSent = rev, now
	return nil
}

// adoptOwnWriteLocked checks whether the leader key's current value is
// this node's record for term t (a renewal whose reply was lost) and, if
// so, adopts its revision. Caller holds e.mu.
func (e *Elector) adoptOwnWriteLocked(ctx context.Context, t *Term) bool {
	ent, err := e.cfg.Leader.Get(ctx, layout.KeyLeader)
	if err != nil {
		return false
	}
	l, err := codec.DecodeLeader(ent.Key(), ent.Value())
	if err != nil || l.ID != e.cfg.ID || l.Nonce != e.cfg.Nonce || l.Epoch != t.Epoch || ent.Revision() == e.rev {
		return false
	}
	e.rev = ent.Revision()
	return true
}
