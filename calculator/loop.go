package calculator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/model"
)

// published is the last assignment known to be committed in the store.
type published struct {
	ok      bool
	version uint64
	epoch   uint64
	parts   []model.Partition
	owners  []string // aligned with parts
	workers []string // sorted IDs present in the version
	// stale: the stored entries hold keys outside the partition set, so
	// every entry must be rewritten.
	stale bool
}

// departure remembers what a departed worker held, for the restart grace.
type departure struct {
	at   time.Time
	keys []string
}

// loop is the calculator's engine state, owned by the event-loop goroutine.
type loop struct {
	c       *Calculator
	cfg     Config
	m       *fsm.Machine
	planner *Planner
	emerg   *emergencyDetector

	parts    []model.Partition
	live     map[string]time.Time // live worker → when it joined
	seen     map[string]struct{}  // workers announced since the last (re)watch
	synced   bool
	pub      published
	departed map[string]departure
	reclaim  map[string]string // partition key → returning worker

	trigger   string    // pending rebalance trigger, "" if none
	reason    string    // first event that caused it
	reasons   int       // events merged into the pending rebalance
	due       time.Time // when the pending action fires; zero if none
	coldWait  bool      // cold-start window ended with nobody to assign to
	lastEnd   time.Time // end of the last successful rebalance
	attempt   int       // consecutive failed publishes
	watchDue  time.Time // when to retry a failed Watch; zero if none
	lastErr   error
	lastErrAt time.Time
	errs      map[string]uint64
	fenced    error

	// reused buffers
	workers []string
	changed map[string]struct{}
	prevBuf []string
	timer   *time.Timer
}

func newLoop(c *Calculator) *loop {
	cfg := c.cfg
	now := cfg.Clock.Now()
	return &loop{
		c:        c,
		cfg:      cfg,
		m:        fsm.New(now),
		planner:  NewPlanner(cfg.Strategy),
		emerg:    newEmergencyDetector(cfg.EmergencyBurst, cfg.EmergencyInterval),
		parts:    cfg.Partitions,
		live:     make(map[string]time.Time),
		seen:     make(map[string]struct{}),
		departed: make(map[string]departure),
		reclaim:  make(map[string]string),
		errs:     make(map[string]uint64),
		changed:  make(map[string]struct{}),
	}
}

// run is the event loop. It returns nil when ctx is done, or an error
// wrapping ErrFenced when a newer leader fenced this one.
func (l *loop) run(ctx context.Context) error {
	l.timer = l.cfg.Clock.NewTimer(time.Hour)
	l.timer.Stop()
	defer l.timer.Stop()
	defer l.stop()

	if !l.load(ctx) {
		return nil
	}
	// The watch has its own context so a fenced loop can end it and drain
	// the channel before returning.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	events := l.watch(wctx)
	for {
		l.publishStatus()
		if l.fenced != nil {
			wcancel()
			drain(events)
			return l.fenced
		}
		l.armTimer()
		select {
		case <-ctx.Done():
			drain(events)
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				l.fail("watch", errors.New("membership watch ended unexpectedly"))
				l.watchDue = l.cfg.Clock.Now().Add(l.cfg.Backoff.Delay(1, l.cfg.Rand))
				continue
			}
			l.onMember(ev)
		case r := <-l.c.reqs:
			l.onRequest(ctx, r)
		case <-l.timer.C:
			now := l.cfg.Clock.Now()
			if !l.watchDue.IsZero() && !now.Before(l.watchDue) {
				l.watchDue = time.Time{}
				events = l.watch(wctx)
			}
			if !l.due.IsZero() && !now.Before(l.due) {
				l.due = time.Time{}
				l.fire(ctx)
			}
		}
	}
}

// drain consumes events until the source closes the channel, so the
// source's goroutine can finish.
func drain(events <-chan MemberEvent) {
	if events == nil {
		return
	}
	for range events { //nolint:revive // draining
	}
}

// load reads the last committed assignment, retrying with backoff. It
// returns false if ctx ended first.
func (l *loop) load(ctx context.Context) bool {
	for attempt := 1; ; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, l.cfg.StoreTimeout)
		start := l.cfg.Clock.Now()
		a, ok, err := l.c.store.Load(lctx)
		cancel()
		l.cfg.Metrics.StoreOperation("load", l.cfg.Clock.Now().Sub(start), err)
		if err == nil {
			now := l.cfg.Clock.Now()
			if ok {
				l.adopt(a)
				l.to(fsm.Idle, "takeover", now)
			} else {
				l.to(fsm.ColdStart, "cold-start", now)
				l.trigger, l.reason = "cold-start", "no assignment in the store"
				l.due = now.Add(l.cfg.ColdStartWindow)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		l.fail("load", fmt.Errorf("load assignment: %w", err))
		l.publishStatus()
		if !l.sleep(ctx, l.cfg.Backoff.Delay(attempt, l.cfg.Rand)) {
			return false
		}
	}
}

// watch starts the membership watch; on failure it schedules a retry and
// returns nil.
func (l *loop) watch(ctx context.Context) <-chan MemberEvent {
	ch, err := l.c.members.Watch(ctx)
	if err != nil {
		l.fail("watch", fmt.Errorf("watch membership: %w", err))
		l.watchDue = l.cfg.Clock.Now().Add(l.cfg.Backoff.Delay(int(min(l.errs["watch"], 30)), l.cfg.Rand))
		return nil
	}
	clear(l.seen)
	return ch
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func (l *loop) sleep(ctx context.Context, d time.Duration) bool {
	l.timer.Reset(d)
	select {
	case <-ctx.Done():
		l.timer.Stop()
		return false
	case <-l.timer.C:
		return true
	}
}

// adopt takes over a committed assignment loaded from the store.
func (l *loop) adopt(a model.Assignment) {
	keys := make(map[string]string, a.PartitionCount())
	for w, ks := range a.Owners {
		for _, k := range ks {
			keys[k] = w
		}
	}
	l.pub = published{ok: true, version: a.Version, epoch: a.Epoch, workers: a.Workers()}
	// The published partition set is the current set restricted to the
	// keys the assignment covers; weights come from the current set.
	for _, p := range l.parts {
		if w, ok := keys[p.Key]; ok {
			l.pub.parts = append(l.pub.parts, p)
			l.pub.owners = append(l.pub.owners, w)
		}
	}
	// Keys the current set does not know must be dropped: every entry is
	// rewritten by the next rebalance.
	l.pub.stale = len(l.pub.parts) != len(keys)
	l.cfg.Metrics.AssignmentVersion(a.Version)
}

// armTimer points the single timer at the earliest pending deadline.
func (l *loop) armTimer() {
	next := l.due
	if !l.watchDue.IsZero() && (next.IsZero() || l.watchDue.Before(next)) {
		next = l.watchDue
	}
	if next.IsZero() {
		l.timer.Stop()
		return
	}
	l.timer.Reset(max(0, next.Sub(l.cfg.Clock.Now())))
}

// to moves the state machine, fans the change out and records metrics. An
// invalid transition is a bug: it is rejected, counted and surfaced.
func (l *loop) to(s fsm.State, trigger string, now time.Time) {
	tr, err := l.m.To(s, now)
	if err != nil {
		l.cfg.Metrics.InvalidTransition(l.m.State().String(), s.String())
		l.fail("invalid-transition", err)
		return
	}
	l.cfg.Metrics.StateTransition(tr.From.String(), tr.To.String())
	l.cfg.Metrics.StateDuration(tr.From.String(), tr.InFrom)
	l.c.hub.Publish(StateChange{From: tr.From, To: tr.To, At: now, Trigger: trigger, Version: l.pub.version})
}

// stop moves the machine to Stopped when the loop exits.
func (l *loop) stop() {
	l.to(fsm.Stopped, "stop", l.cfg.Clock.Now())
	l.publishStatus()
}

// fail records an error for the status.
func (l *loop) fail(kind string, err error) {
	l.errs[kind]++
	l.lastErr, l.lastErrAt = err, l.cfg.Clock.Now()
	l.cfg.Logger.Warn("calculator error", "kind", kind, "err", err)
}

// onRequest serves Rebalance and SetPartitions.
func (l *loop) onRequest(ctx context.Context, r request) {
	if r.setParts {
		l.parts = r.partitions
		l.noteChange("partitions", fmt.Sprintf("partition set replaced (%d partitions)", len(r.partitions)), false)
		r.reply <- reply{}
		return
	}
	if r.rebalance.DryRun {
		res, err := l.dryRun()
		r.reply <- reply{result: res, err: err}
		return
	}
	res, err := l.force(ctx, r.rebalance.Reason)
	r.reply <- reply{result: res, err: err}
}

// publishStatus stores an immutable status snapshot for readers.
func (l *loop) publishStatus() {
	l.c.status.Store(l.snapshot())
}

func (l *loop) snapshot() *Status {
	s := &Status{
		State: l.m.State(), Since: l.m.Since(),
		Leader: l.cfg.Leader, Epoch: l.cfg.Epoch, Version: l.pub.version,
		Workers: len(l.live), Partitions: len(l.parts),
		Pending: l.trigger, PendingDue: l.due, Synced: l.synced,
		Errors:             maps.Clone(l.errs),
		InvalidTransitions: l.m.Invalid(),
	}
	if l.lastErr != nil {
		s.LastError, s.LastErrorAt = l.lastErr.Error(), l.lastErrAt
	}
	l.cfg.Metrics.ActiveWorkers(len(l.live))
	l.cfg.Metrics.Partitions(len(l.parts))
	return s
}

// liveWorkers returns the sorted live worker IDs in a reused slice.
func (l *loop) liveWorkers() []string {
	l.workers = l.workers[:0]
	for w := range l.live {
		l.workers = append(l.workers, w)
	}
	slices.Sort(l.workers)
	return l.workers
}
