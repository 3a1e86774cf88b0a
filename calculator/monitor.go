package calculator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/parti-dev/parti/calculator/fsm"
)

// The membership monitor: turns join, leave and expiry events into pending
// rebalances, with the cold-start window, the scale window, the cooldown,
// the restart grace and the emergency path.

// severity orders triggers when several changes merge into one rebalance.
var severity = map[string]int{"partitions": 1, "join": 2, "leave": 3, "crash": 4}

// onMember applies one membership event.
func (l *loop) onMember(ev MemberEvent) {
	now := l.cfg.Clock.Now()
	switch ev.Kind {
	case MemberJoined:
		l.seen[ev.Worker] = struct{}{}
		if _, ok := l.live[ev.Worker]; ok {
			return
		}
		l.live[ev.Worker] = now
		if d, ok := l.departed[ev.Worker]; ok {
			delete(l.departed, ev.Worker)
			if now.Sub(d.at) <= l.cfg.RestartGrace {
				for _, k := range d.keys {
					l.reclaim[k] = ev.Worker
				}
			}
		}
		l.noteChange("join", fmt.Sprintf("worker %s joined", ev.Worker), false)
	case MemberLeft, MemberExpired:
		delete(l.seen, ev.Worker)
		if _, ok := l.live[ev.Worker]; !ok {
			return
		}
		l.depart(ev.Worker, ev.Kind, now)
	case MembersSynced:
		first := !l.synced
		l.synced = true
		// Workers not re-announced since the watch (re)started are gone.
		for w := range l.live {
			if _, ok := l.seen[w]; !ok {
				l.depart(w, MemberExpired, now)
			}
		}
		if first && l.pub.ok {
			// Takeover: workers in the published assignment that are not
			// live are gone (the previous leader among them, usually).
			for _, w := range l.pub.workers {
				if _, ok := l.live[w]; !ok {
					l.remember(w, now)
				}
			}
			if l.needsRebalance() {
				l.noteChange(l.takeoverTrigger(), "membership differs from the published assignment at takeover", l.holdsOrphans())
			}
		}
		if l.m.State() == fsm.ColdStart && l.coldWait && len(l.live) > 0 {
			l.due = now
		}
	}
}

// depart removes a live worker.
func (l *loop) depart(w string, kind MemberEventKind, now time.Time) {
	delete(l.live, w)
	for k, r := range l.reclaim {
		if r == w {
			delete(l.reclaim, k)
		}
	}
	held := l.remember(w, now)
	trigger := "leave"
	if kind == MemberExpired {
		trigger = "crash"
	}
	l.noteChange(trigger, fmt.Sprintf("worker %s %s", w, kind), held > 0)
}

// remember records what w held in the published assignment, for the
// restart grace, and returns how many partitions that is.
func (l *loop) remember(w string, now time.Time) int {
	var keys []string
	for i, o := range l.pub.owners {
		if o == w {
			keys = append(keys, l.pub.parts[i].Key)
		}
	}
	if len(keys) > 0 {
		l.departed[w] = departure{at: now, keys: keys}
	}
	// Forget departures older than the grace.
	for id, d := range l.departed {
		if now.Sub(d.at) > l.cfg.RestartGrace {
			delete(l.departed, id)
		}
	}
	return len(keys)
}

// holdsOrphans reports whether some published partition's owner is not live.
func (l *loop) holdsOrphans() bool {
	for _, o := range l.pub.owners {
		if _, ok := l.live[o]; !ok {
			return true
		}
	}
	return false
}

func (l *loop) takeoverTrigger() string {
	if l.holdsOrphans() {
		return "crash"
	}
	return "join"
}

// noteChange schedules a rebalance for a change. urgent marks a departure
// that orphaned partitions: it takes the emergency path unless the
// detector's hysteresis holds it back.
func (l *loop) noteChange(trigger, reason string, urgent bool) {
	now := l.cfg.Clock.Now()
	st := l.m.State()
	if st == fsm.ColdStart {
		// Everything before the first publish is part of the cold start.
		if l.coldWait && l.synced && len(l.live) > 0 {
			l.due = now
		}
		return
	}
	if l.trigger == "" || severity[trigger] > severity[l.trigger] {
		l.trigger = trigger
	}
	if l.reasons == 0 {
		l.reason = reason
	}
	l.reasons++
	switch st {
	case fsm.BackingOff, fsm.Init, fsm.Stopped, fsm.Rebalancing:
		// A retry (or the takeover sync) will pick the change up.
		return
	}
	if !l.synced {
		return
	}
	if !l.needsRebalance() {
		switch st {
		case fsm.ScalingWindow:
			l.clearPending()
			l.to(fsm.Idle, "cancelled", now)
		case fsm.Idle:
			l.clearPending()
		}
		return
	}
	if urgent && st != fsm.Emergency && l.emerg.allow(now) {
		l.emerg.record(now)
		l.to(fsm.Emergency, trigger, now)
		l.due = now.Add(l.cfg.DepartureDebounce)
		return
	}
	if st == fsm.Idle {
		l.to(fsm.ScalingWindow, trigger, now)
		l.due = l.plannedDue(now)
	}
}

// plannedDue is when a planned change that starts now may rebalance: after
// the scale window, and not before the cooldown since the last rebalance.
func (l *loop) plannedDue(now time.Time) time.Time {
	due := now.Add(l.cfg.ScaleWindow)
	if !l.lastEnd.IsZero() {
		if c := l.lastEnd.Add(l.cfg.Cooldown); c.After(due) {
			due = c
		}
	}
	return due
}

func (l *loop) clearPending() {
	l.trigger, l.reason, l.reasons, l.due = "", "", 0, time.Time{}
}

// needsRebalance reports whether the desired state (live workers, current
// partitions, pending reclaims) differs from the published assignment.
func (l *loop) needsRebalance() bool {
	if !l.pub.ok || l.pub.stale || len(l.reclaim) > 0 {
		return true
	}
	if len(l.live) != len(l.pub.workers) {
		return true
	}
	for _, w := range l.pub.workers {
		if _, ok := l.live[w]; !ok {
			return true
		}
	}
	return !slices.Equal(l.parts, l.pub.parts)
}

// fire runs the action whose deadline has come.
func (l *loop) fire(ctx context.Context) {
	switch l.m.State() {
	case fsm.ColdStart:
		if !l.synced || len(l.live) == 0 {
			l.coldWait = true
			return
		}
		l.rebalance(ctx, l.trigger, false)
	case fsm.ScalingWindow, fsm.Emergency, fsm.BackingOff:
		l.rebalance(ctx, l.trigger, false)
	}
}
