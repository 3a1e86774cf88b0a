package calculator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/history"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
)

// Result names recorded in history.
const (
	ResultPublished = "published"
	ResultUnchanged = "unchanged"
	ResultFailed    = "failed"
	ResultSkipped   = "skipped"
	ResultDryRun    = "dry-run"
)

// outcome is what one rebalance produced.
type outcome struct {
	res RebalanceResult
	err error
}

// rebalance computes and, if anything changed (or force), publishes a new
// version. It drives the state machine through Rebalancing to Idle or
// BackingOff and records the attempt in history.
func (l *loop) rebalance(ctx context.Context, trigger string, force bool) outcome {
	start := l.cfg.Clock.Now()
	if trigger == "" {
		trigger = "retry"
	}
	reason := l.reason
	if l.reasons > 1 {
		reason = fmt.Sprintf("%s (+%d more)", reason, l.reasons-1)
	}
	rec := history.Record{Start: start, Trigger: trigger, Reason: reason, Workers: len(l.live), Partitions: len(l.parts)}
	if l.m.State() == fsm.Emergency {
		rec.Trigger = "emergency"
		if trigger != "" && trigger != "emergency" {
			rec.Reason = fmt.Sprintf("%s: %s", trigger, reason)
		}
	}
	l.to(fsm.Rebalancing, rec.Trigger, start)
	finish := func(o outcome, next fsm.State) outcome {
		end := l.cfg.Clock.Now()
		rec.Duration = end.Sub(start)
		rec.Moved, rec.Version, rec.Result = o.res.Moved, o.res.Version, o.res.Result
		rec.Error = errorText(o.err)
		l.c.hist.Add(rec)
		o.res.Duration = rec.Duration
		l.to(next, rec.Trigger, end)
		return o
	}

	workers := l.liveWorkers()
	if len(workers) == 0 {
		l.fail("no-workers", ErrNoWorkers)
		l.clearPending()
		return finish(outcome{res: RebalanceResult{Result: ResultSkipped, Version: l.pub.version, PreviousVersion: l.pub.version}, err: ErrNoWorkers}, fsm.Idle)
	}
	prev := l.alignedPrev()
	next, moved := l.planner.Plan(l.parts, workers, prev, l.reclaim)
	res := RebalanceResult{PreviousVersion: l.pub.version, Version: l.pub.version, Moved: moved}
	if force {
		// Only an operator's request reports the balance; automatic
		// rebalances skip the extra pass over every partition.
		res.MaxOverAvg = strategy.Measure(l.parts, nil, workers, nil, next).MaxOverAvg
	}

	writes, deletes := l.diff(workers, prev, next)
	if !force && l.pub.ok && len(writes) == 0 && len(deletes) == 0 && l.pub.epoch == l.cfg.Epoch {
		res.Result = ResultUnchanged
		l.clearPending()
		l.reclaim = clearMap(l.reclaim)
		return finish(outcome{res: res}, fsm.Idle)
	}
	if !l.c.brk.Allow(start) {
		err := fmt.Errorf("%w: next retry at %s", ErrBreakerOpen, l.c.brk.Snapshot(start).NextRetry.Format(time.RFC3339Nano))
		res.Result = ResultFailed
		l.due = l.retryAt(start)
		return finish(outcome{res: res, err: err}, fsm.BackingOff)
	}

	l.cfg.Metrics.RebalanceAttempt()
	version := l.pub.version + 1
	err := l.publish(ctx, version, workers, writes, deletes)
	end := l.cfg.Clock.Now()
	l.cfg.Metrics.RebalanceDone(end.Sub(start), moved, err)
	if err != nil {
		res.Result = ResultFailed
		if errors.Is(err, ErrFenced) {
			l.fail("fenced", err)
			l.fenced = err
			return finish(outcome{res: res, err: err}, fsm.Idle)
		}
		l.fail("publish", err)
		l.c.brk.Failure(end)
		l.attempt++
		l.due = l.retryAt(end)
		return finish(outcome{res: res, err: err}, fsm.BackingOff)
	}
	l.c.brk.Success(end)
	if force {
		res.Moves = listMoves(l.parts, prev, next)
	}
	l.attempt = 0
	l.lastErr = nil
	l.commit(version, workers, next)
	l.clearPending()
	l.coldWait = false
	l.lastEnd = end
	res.Version, res.Result = version, ResultPublished
	return finish(outcome{res: res}, fsm.Idle)
}

// retryAt is when a failed publish is retried: after the backoff, and not
// before an open breaker lets a trial through.
func (l *loop) retryAt(now time.Time) time.Time {
	at := now.Add(l.cfg.Backoff.Delay(max(l.attempt, 1), l.cfg.Rand))
	if next := l.c.brk.Snapshot(now).NextRetry; next.After(at) {
		at = next
	}
	return at
}

// commit makes a successful publish the new published state.
func (l *loop) commit(version uint64, workers, next []string) {
	l.pub.ok = true
	l.pub.stale = false
	l.pub.version = version
	l.pub.epoch = l.cfg.Epoch
	l.pub.parts = l.parts
	l.pub.owners = append(l.pub.owners[:0], next...)
	l.pub.workers = append(l.pub.workers[:0], workers...)
	l.reclaim = clearMap(l.reclaim)
	l.cfg.Metrics.AssignmentVersion(version)
}

func clearMap(m map[string]string) map[string]string {
	clear(m)
	return m
}

// alignedPrev returns the published owners aligned with the current
// partition set ("" for partitions the published version did not have).
func (l *loop) alignedPrev() []string {
	if !l.pub.ok {
		return nil
	}
	if sameKeys(l.parts, l.pub.parts) {
		return l.pub.owners
	}
	owner := make(map[string]string, len(l.pub.parts))
	for i, p := range l.pub.parts {
		owner[p.Key] = l.pub.owners[i]
	}
	l.prevBuf = grow(l.prevBuf, len(l.parts))
	for i, p := range l.parts {
		l.prevBuf[i] = owner[p.Key]
	}
	return l.prevBuf
}

func sameKeys(a, b []model.Partition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return false
		}
	}
	return true
}

// diff lists the worker entries a publish must write (workers whose key set
// changed, and new workers) and delete (workers no longer present).
func (l *loop) diff(workers, prev, next []string) ([]WorkerEntry, []string) {
	clear(l.changed)
	pubWorkers := make(map[string]struct{}, len(l.pub.workers))
	for _, w := range l.pub.workers {
		pubWorkers[w] = struct{}{}
	}
	if !l.pub.ok || l.pub.stale || !sameKeys(l.parts, l.pub.parts) || prev == nil {
		for _, w := range workers {
			l.changed[w] = struct{}{}
		}
	} else {
		for i := range next {
			if next[i] != prev[i] {
				l.changed[next[i]] = struct{}{}
				if prev[i] != "" {
					l.changed[prev[i]] = struct{}{}
				}
			}
		}
		for _, w := range workers {
			if _, ok := pubWorkers[w]; !ok {
				l.changed[w] = struct{}{}
			}
		}
	}
	var deletes []string
	live := make(map[string]struct{}, len(workers))
	for _, w := range workers {
		live[w] = struct{}{}
	}
	for _, w := range l.pub.workers {
		if _, ok := live[w]; !ok {
			deletes = append(deletes, w)
			delete(l.changed, w)
		}
	}
	if len(l.changed) == 0 {
		return nil, deletes
	}
	idx := make(map[string]int, len(l.changed))
	writes := make([]WorkerEntry, 0, len(l.changed))
	for _, w := range workers {
		if _, ok := l.changed[w]; ok {
			idx[w] = len(writes)
			writes = append(writes, WorkerEntry{Worker: w})
		}
	}
	counts := make([]int, len(writes))
	for _, o := range next {
		if j, ok := idx[o]; ok {
			counts[j]++
		}
	}
	for j := range writes {
		writes[j].Keys = make([]string, 0, counts[j])
	}
	for i, o := range next {
		if j, ok := idx[o]; ok {
			writes[j].Keys = append(writes[j].Keys, l.parts[i].Key)
		}
	}
	return writes, deletes
}

// publish writes the changed entries with bounded concurrency, then the
// commit marker. The first failure cancels the remaining writes.
func (l *loop) publish(ctx context.Context, version uint64, workers []string, writes []WorkerEntry, deletes []string) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StoreTimeout)
	defer cancel()
	epoch := l.cfg.Epoch
	n := len(writes) + len(deletes)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	op := func(i int) error {
		start := l.cfg.Clock.Now()
		var err, opErr error
		var name string
		if i < len(writes) {
			name = "write"
			err = l.c.store.WriteWorker(ctx, epoch, version, writes[i])
			opErr = err
			if err != nil {
				err = fmt.Errorf("write entry for %s: %w", writes[i].Worker, err)
			}
		} else {
			name = "delete"
			w := deletes[i-len(writes)]
			err = l.c.store.DeleteWorker(ctx, epoch, version, w)
			opErr = err
			if err != nil {
				err = fmt.Errorf("delete entry for %s: %w", w, err)
			}
		}
		l.cfg.Metrics.StoreOperation(name, l.cfg.Clock.Now().Sub(start), opErr)
		return err
	}
	workersN := min(l.cfg.PublishConcurrency, n)
	for range workersN {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := op(i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish version %d: %w", version, err)
	}
	c := Commit{Version: version, Epoch: epoch, Leader: l.cfg.Leader, Workers: workers,
		Partitions: len(l.parts), At: l.cfg.Clock.Now()}
	start := l.cfg.Clock.Now()
	err := l.c.store.Commit(ctx, c)
	l.cfg.Metrics.StoreOperation("commit", l.cfg.Clock.Now().Sub(start), err)
	if err != nil {
		return fmt.Errorf("commit version %d: %w", version, err)
	}
	return nil
}

// force serves a forced rebalance: it runs now, bypassing window and
// cooldown, and always publishes a new version.
func (l *loop) force(ctx context.Context, reason string) (RebalanceResult, error) {
	switch l.m.State() {
	case fsm.Init, fsm.Stopped, fsm.Rebalancing:
		return RebalanceResult{}, fmt.Errorf("cannot rebalance in state %s", l.m.State())
	}
	if !l.synced {
		return RebalanceResult{}, errors.New("cannot rebalance yet: membership not synced")
	}
	if reason == "" {
		reason = "forced by operator"
	}
	l.reason, l.reasons = reason, 1
	l.due = time.Time{}
	if l.m.State() == fsm.ColdStart {
		l.coldWait = false
	}
	o := l.rebalance(ctx, "force", true)
	return o.res, o.err
}

// dryRun computes what a rebalance would do now, without publishing.
func (l *loop) dryRun() (RebalanceResult, error) {
	workers := l.liveWorkers()
	if len(workers) == 0 {
		return RebalanceResult{}, ErrNoWorkers
	}
	prev := l.alignedPrev()
	next, moved := l.planner.Plan(l.parts, workers, prev, l.reclaim)
	res := RebalanceResult{Version: l.pub.version, PreviousVersion: l.pub.version, Moved: moved,
		Result: ResultDryRun, Moves: listMoves(l.parts, prev, next),
		MaxOverAvg: strategy.Measure(l.parts, nil, workers, nil, next).MaxOverAvg}
	return res, nil
}

// listMoves lists the partitions whose owner differs between prev (nil: no
// previous owner) and next.
func listMoves(parts []model.Partition, prev, next []string) []Move {
	moves := []Move{}
	for i, o := range next {
		from := ""
		if prev != nil {
			from = prev[i]
		}
		if o != from {
			moves = append(moves, Move{Partition: parts[i].Key, From: from, To: o})
		}
	}
	return moves
}
