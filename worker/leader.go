package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/strategy"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/membership"
	"github.com/parti-dev/parti/nats/store"
	"github.com/parti-dev/parti/nats/watch"
)

// statusInterval is how often the leader refreshes its published status
// even without state changes (heartbeat ages, breaker countdowns).
const statusInterval = time.Second

// leadLoop runs a calculator for every leadership term this node wins.
func (n *node) leadLoop(ctx context.Context) {
	w := n.w
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-n.el.Terms():
			if t == nil {
				continue
			}
			if err := n.lead(ctx, t); err != nil && ctx.Err() == nil {
				w.o.Logger.Error("leadership ended", "epoch", t.Epoch, "err", err)
			}
		}
	}
}

// lead runs one term: calculator, control server, status publisher and
// partition-set watcher. When the term ends (lost, resigned, fenced, ctx
// done) the calculator is stopped before anything else.
func (n *node) lead(ctx context.Context, t *election.Term) error {
	w := n.w
	b := w.o.Buckets
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.o.Logger.Info("became leader", "epoch", t.Epoch)
	w.wm.SetLeader(true)
	w.update(func(s *Status) {
		s.IsLeader, s.LeaderSince, s.Leader, s.LeaderEpoch = true, t.Since, n.id.ID(), t.Epoch
	})
	defer func() {
		w.wm.SetLeader(false)
		w.update(func(s *Status) { s.IsLeader, s.LeaderSince = false, time.Time{} })
	}()

	parts, err := store.ReadPartitions(ctx, b.Partitions)
	if err != nil && !errors.Is(err, store.ErrNoPartitionSet) {
		return err
	}
	st := store.New(b)
	st.SetFence(t.Fence)
	place, err := strategy.New(w.o.Strategy)
	if err != nil {
		return err
	}
	cfg := w.o.Calculator
	cfg.Leader, cfg.Epoch, cfg.Partitions, cfg.Strategy = n.id.ID(), t.Epoch, parts.Partitions, place
	cfg.Metrics, cfg.Logger = w.cm, w.o.Logger.With("component", "calculator")
	memberRestart, stopMemberRestart := n.rs.subscribe()
	defer stopMemberRestart()
	partsRestart, stopPartsRestart := n.rs.subscribe()
	defer stopPartsRestart()
	src := membership.New(b.Workers, membership.Options{Restart: memberRestart,
		OnError: func(err error) { w.wm.DecodeError(b.Layout.WorkersBucket()) }})
	calc, err := calculator.New(cfg, src, st)
	if err != nil {
		return err
	}
	if err := calc.Start(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	w.calc = calc
	w.mu.Unlock()
	var wg sync.WaitGroup
	defer func() {
		// The calculator stops first; then its helpers.
		calc.Stop()
		w.mu.Lock()
		w.calc = nil
		w.mu.Unlock()
		cancel()
		wg.Wait()
	}()

	srv, err := control.Serve(ctx, w.o.Conn, b.Layout.ControlSubject(), n.id.ID(), t.Epoch, n.controlHandler(calc))
	if err != nil {
		return err
	}
	defer srv.Stop()
	wg.Add(2)
	go func() { defer wg.Done(); n.publishStatus(ctx, calc, t.Epoch) }()
	go func() { defer wg.Done(); n.followPartitions(ctx, calc, partsRestart) }()

	select {
	case <-t.Done():
		return t.Err()
	case <-calc.Done():
		err := calc.Err()
		if errors.Is(err, calculator.ErrFenced) {
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = n.el.Resign(rctx)
			rcancel()
		}
		return err
	case <-ctx.Done():
		return nil
	}
}

// controlHandler serves rebalance requests from operators. The reason of a
// forced rebalance goes to the calculator, which records it in the
// history. The calculator lists the moves of a dry run only, so a forced
// rebalance is planned as a dry run first: its moves are reported when the
// publish moved as many partitions from the same previous version (the
// fleet did not change in between); otherwise Moves is left nil.
func (n *node) controlHandler(calc *calculator.Calculator) control.Handler {
	return func(ctx context.Context, req codec.ControlRequest) (*codec.RebalanceResult, error) {
		if req.Op != codec.OpRebalance {
			return nil, errors.New("unsupported operation " + req.Op)
		}
		start := time.Now()
		res, err := calc.Rebalance(ctx, calculator.RebalanceRequest{DryRun: req.DryRun, Reason: req.Reason})
		if err != nil {
			return nil, err
		}
		if res.Duration == 0 { // a dry run is not timed by the calculator
			res.Duration = time.Since(start)
		}
		out := &codec.RebalanceResult{DryRun: req.DryRun, Version: res.Version, PreviousVersion: res.PreviousVersion,
			Moved: res.Moved, DurationMS: float64(res.Duration.Microseconds()) / 1000, Result: res.Result,
			MaxOverAvg: res.MaxOverAvg}
		if res.Moves != nil {
			out.Moves = make([]codec.Move, 0, len(res.Moves))
			for _, m := range res.Moves {
				out.Moves = append(out.Moves, codec.Move{Partition: m.Partition, From: m.From, To: m.To})
			}
		}
		if req.DryRun {
			out.Result = codec.ResultDryRun
			out.Plan = map[string][]string{}
			for _, m := range res.Moves {
				out.Plan[m.To] = append(out.Plan[m.To], m.Partition)
			}
		}
		return out, nil
	}
}

// publishStatus writes the calculator's status and history to the status
// bucket on every state change (coalesced) and every statusInterval.
func (n *node) publishStatus(ctx context.Context, calc *calculator.Calculator, epoch uint64) {
	w := n.w
	pub, err := control.NewPublisher(ctx, w.o.Buckets, n.id.ID(), epoch)
	if err != nil {
		w.o.Logger.Warn("status publisher", "err", err)
		return
	}
	events, unsubscribe := calc.Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(statusInterval)
	defer tick.Stop()
	var lastHistory time.Time
	lastLen := -1
	for {
		s := calc.Status()
		cs := codec.Status{Leader: s.Leader, Epoch: s.Epoch, State: s.State.String(), StateSince: s.Since,
			Version: s.Version, Workers: s.Workers, Partitions: s.Partitions,
			Breaker: codec.Breaker{State: s.Breaker.State.String(), Failures: s.Breaker.ConsecutiveFailures,
				Opens: s.Breaker.Opens, NextRetry: s.Breaker.NextRetry},
			LastError: s.LastError, At: time.Now()}
		if err := pub.PublishStatus(ctx, cs); err != nil && ctx.Err() == nil {
			w.o.Logger.Debug("publish status", "err", err)
		}
		var newest time.Time
		if len(s.History) > 0 {
			newest = s.History[len(s.History)-1].Start
		}
		if len(s.History) != lastLen || !newest.Equal(lastHistory) {
			h := codec.History{Leader: s.Leader, Epoch: s.Epoch, Entries: make([]codec.HistoryEntry, 0, len(s.History))}
			for _, r := range s.History {
				reason := r.Trigger
				if r.Reason != "" {
					reason += ": " + r.Reason
				}
				h.Entries = append(h.Entries, codec.HistoryEntry{At: r.Start, Reason: reason,
					DurationMS: float64(r.Duration.Microseconds()) / 1000, Moved: r.Moved, Version: r.Version,
					Result: r.Result, Error: r.Error})
			}
			if err := pub.PublishHistory(ctx, h); err != nil && ctx.Err() == nil {
				w.o.Logger.Debug("publish history", "err", err)
			}
			lastLen, lastHistory = len(s.History), newest
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-tick.C:
		}
	}
}

// followPartitions feeds partition-set changes to the calculator.
func (n *node) followPartitions(ctx context.Context, calc *calculator.Calculator, restart <-chan struct{}) {
	w := n.w
	events := watch.Watch(ctx, w.o.Buckets.Partitions, watch.Options{Restart: restart})
	var last string
	for {
		select {
		case <-ctx.Done():
			for range events { //nolint:revive // drain until closed
			}
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Kind != watch.Entry || store.IsChunkKey(ev.Entry.Key()) {
				continue
			}
			ps, err := store.ReadPartitions(ctx, w.o.Buckets.Partitions)
			if err != nil {
				if ctx.Err() == nil {
					w.o.Logger.Warn("read partition set", "err", err)
				}
				continue
			}
			if ps.Manifest.SHA256 == last {
				continue
			}
			last = ps.Manifest.SHA256
			if err := calc.SetPartitions(ctx, ps.Partitions); err != nil && ctx.Err() == nil {
				w.o.Logger.Warn("apply partition set", "err", err)
			}
		}
	}
}
