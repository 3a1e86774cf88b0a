package source

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/fanout"
	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/history"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/store"
	"github.com/parti-dev/parti/nats/watch"
	"github.com/parti-dev/parti/tui"
	"github.com/parti-dev/parti/worker"
)

// Where the event log's calculator transitions come from.
const (
	eventsFromStatus  = "the leader's status bucket (coalesced: fast transitions may be missed)"
	eventsFromFanout  = "this node's calculator fan-out (lossless; gaps shown)"
	defaultHBInterval = time.Second
	readPartsTimeout  = 5 * time.Second
)

// hb is what the source knows of one worker's heartbeats.
type hb struct {
	w       tui.Worker
	nonce   string
	seq     uint64
	gen     int             // watch generation it was last seen in
	suspect bool            // a suspect event was logged
	gaps    []time.Duration // the latest gaps between heartbeats, oldest first
}

// Heartbeat interval estimation: a worker heartbeats on a ticker and also
// whenever it applies a version or starts draining, so single gaps can be
// short. Gaps under a quarter of the fallback (a third of the TTL, the most
// a node allows) are such extra beats and are not counted; the median of
// the latest counted gaps is its interval, and until there are
// minGapSamples of them the fallback is.
const (
	maxGapSamples = 9
	minGapSamples = 3
)

// interval estimates the worker's heartbeat interval from its gaps.
func (h *hb) interval(fallback time.Duration) time.Duration {
	if len(h.gaps) < minGapSamples {
		return fallback
	}
	g := slices.Clone(h.gaps)
	slices.Sort(g)
	return g[len(g)/2]
}

// histKey identifies a rebalance record across leaders and formats.
type histKey struct {
	at      int64
	version uint64
	result  string
}

// state is everything the source knows, owned by the run goroutine.
type state struct {
	o         Options
	cluster   string
	inProcess bool
	changed   bool // something a snapshot shows changed
	synced    bool // the first complete sync was announced
	ttl       time.Duration

	conn    tui.Conn
	freshAt time.Time

	hbs           map[string]*hb
	gen           int
	genSynced     bool
	workersSynced bool
	workersDirty  bool

	leader       *tui.Leader
	leaderSeen   bool // the leader key was seen in this generation
	leaderSynced bool

	parts       []model.Partition
	partIndex   map[string]int
	partsDigest string
	partsSeen   bool
	partsSynced bool

	assign       model.Assignment
	haveAssign   bool
	assignSynced bool
	partsDirty   bool

	remote       *tui.Calculator
	statusSynced bool

	history  []tui.Rebalance
	histKeys map[histKey]bool

	events []tui.Event

	node      *tui.Node
	live      *tui.Calculator
	following bool // subscribed to this node's calculator

	lastErr string

	// Outputs rebuilt when their inputs change; shared by snapshots.
	partitionsOut []tui.Partition
	totalWeight   float64
	ownedCount    map[string]int
	ownedWeight   map[string]float64
	workersOut    []tui.Worker
}

func newState(o Options, cluster string, inProcess bool) *state {
	st := &state{o: o, cluster: cluster, inProcess: inProcess, hbs: map[string]*hb{},
		histKeys: map[histKey]bool{}, partIndex: map[string]int{}, changed: true,
		conn: tui.Conn{State: tui.ConnConnected, Since: o.Now()}}
	if o.Tracker != nil {
		st.connection(o.Tracker.Current())
	}
	return st
}

func (st *state) now() time.Time { return st.o.Now() }

// event appends to the event log, keeping it bounded.
func (st *state) event(e tui.Event) {
	if e.At.IsZero() {
		e.At = st.now()
	}
	if len(st.events) >= st.o.MaxEvents {
		// Copy, never shift in place: snapshots share the old array.
		st.events = slices.Clone(st.events[len(st.events)-st.o.MaxEvents*3/4:])
	}
	st.events = append(st.events, e)
	st.changed = true
}

func (st *state) sourceError(err error) {
	msg := err.Error()
	if msg != st.lastErr {
		st.event(tui.Event{Kind: tui.EventError, Text: msg})
	}
	st.lastErr = msg
	st.changed = true
}

// connection follows the NATS connection state.
func (st *state) connection(c natsconn.Change) {
	var s tui.ConnState
	switch c.State {
	case natsconn.StateConnected:
		s = tui.ConnConnected
	case natsconn.StateReconnecting:
		s = tui.ConnReconnecting
	case natsconn.StateClosed:
		s = tui.ConnClosed
	default:
		s = tui.ConnConnecting
	}
	since := c.Since
	if since.IsZero() {
		since = st.now()
	}
	if s == st.conn.State && !since.After(st.conn.Since) {
		return
	}
	was := st.conn.State
	if was == tui.ConnConnected && s != tui.ConnConnected {
		st.freshAt = since
	}
	st.conn = tui.Conn{State: s, Since: since}
	if c.Err != nil {
		st.conn.Err = c.Err.Error()
	}
	switch {
	case s == tui.ConnConnected && was != tui.ConnConnected:
		st.event(tui.Event{At: since, Kind: tui.EventConn, Text: "connected to " + orURL(c.URL, st.o.URL)})
	case s != tui.ConnConnected && s != was:
		text := "NATS " + s.String()
		if st.conn.Err != "" {
			text += ": " + st.conn.Err
		}
		st.event(tui.Event{At: since, Kind: tui.EventConn, Text: text + "; the data shown is no longer live"})
	}
	st.changed = true
}

// count returns "1 worker", "3 workers".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func orURL(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// workerEvent folds one event of the workers bucket watch.
func (st *state) workerEvent(ev watch.Event) {
	switch ev.Kind {
	case watch.Reset:
		st.gen, st.genSynced = ev.Generation, false
		if ev.Generation > 1 {
			st.event(tui.Event{Kind: tui.EventInfo, Text: "re-reading heartbeats (watch restarted)"})
		}
	case watch.Synced:
		for id, h := range st.hbs {
			if h.gen != st.gen && !h.w.Gone && st.workersSynced {
				st.markGone(h, "vanished", st.now())
				st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: id + " gone: its key disappeared while the watch was down"})
			}
		}
		st.genSynced, st.workersSynced = true, true
		st.workersDirty, st.changed = true, true
		st.announceSync()
	case watch.Entry:
		e := ev.Entry
		id := e.Key()
		at := e.Created()
		if at.IsZero() || at.After(st.now()) {
			at = st.now()
		}
		switch e.Operation() {
		case jetstream.KeyValuePut:
			h, err := codec.DecodeHeartbeat(id, e.Value())
			if err != nil {
				st.sourceError(err)
				return
			}
			st.heartbeat(id, h, at)
		case jetstream.KeyValueDelete:
			st.workerGone(id, "left", at, id+" left: released its ID after a graceful leave")
		case jetstream.KeyValuePurge:
			st.workerGone(id, "expired", at, id+" expired: no heartbeat within the TTL (crash, pause or partition)")
		}
	}
}

func (st *state) defaultInterval() time.Duration {
	if st.ttl > 0 {
		return st.ttl / 3
	}
	return defaultHBInterval
}

func (st *state) heartbeat(id string, v codec.Heartbeat, at time.Time) {
	live := st.genSynced
	h := st.hbs[id]
	switch {
	case h == nil:
		h = &hb{}
		st.hbs[id] = h
		if live {
			st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: fmt.Sprintf("%s joined (host %s, pid %d)", id, v.Host, v.PID)})
		}
	case h.w.Gone && live:
		st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: fmt.Sprintf("%s is back (host %s, pid %d)", id, v.Host, v.PID)})
	case h.nonce != v.Nonce && live:
		st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: fmt.Sprintf("%s restarted: new process (host %s, pid %d)", id, v.Host, v.PID)})
	case h.suspect && live:
		st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: fmt.Sprintf("%s heartbeats again after %s", id, at.Sub(h.w.LastHeartbeat).Round(10*time.Millisecond))})
	}
	if live && v.Draining && !h.w.Draining {
		st.event(tui.Event{Kind: tui.EventWorker, Worker: id, Text: id + " is draining: leaving gracefully, handing its partitions off"})
	}
	switch {
	case h.nonce != v.Nonce:
		h.gaps = h.gaps[:0] // a new process: its interval may differ
	case v.Seq == h.seq+1 && !h.w.LastHeartbeat.IsZero():
		if d := at.Sub(h.w.LastHeartbeat); d >= st.defaultInterval()/4 && (st.ttl == 0 || d <= st.ttl) {
			if len(h.gaps) == maxGapSamples {
				h.gaps = append(h.gaps[:0], h.gaps[1:]...)
			}
			h.gaps = append(h.gaps, d)
		}
	}
	h.nonce, h.seq, h.gen, h.suspect = v.Nonce, v.Seq, st.gen, false
	h.w = tui.Worker{ID: id, Host: v.Host, PID: v.PID, Build: v.Version, Started: v.Started,
		LastHeartbeat: at, Interval: h.interval(st.defaultInterval()), Draining: v.Draining, Applied: v.Applied}
	st.workersDirty, st.changed = true, true
}

// workerGone records a deleted (left) or purged (expired) key. A marker
// older than the retention, read when the watch starts, is ignored.
func (st *state) workerGone(id, reason string, at time.Time, text string) {
	h := st.hbs[id]
	if h == nil {
		if st.now().Sub(at) > st.o.GoneRetention {
			return
		}
		h = &hb{w: tui.Worker{ID: id}}
		st.hbs[id] = h
	}
	h.gen = st.gen
	if h.w.Gone {
		return
	}
	st.markGone(h, reason, at)
	if st.genSynced || st.now().Sub(at) < st.o.GoneRetention {
		st.event(tui.Event{At: at, Kind: tui.EventWorker, Worker: id, Text: text})
	}
}

func (st *state) markGone(h *hb, reason string, at time.Time) {
	h.w.Gone, h.w.GoneAt, h.w.GoneReason = true, at, reason
	st.workersDirty, st.changed = true, true
}

// tick does the time-based work: suspect workers, gone-worker retention.
func (st *state) tick() {
	now := st.now()
	for id, h := range st.hbs {
		switch {
		case h.w.Gone && now.Sub(h.w.GoneAt) > st.o.GoneRetention:
			delete(st.hbs, id)
			st.workersDirty, st.changed = true, true
		case !h.w.Gone && !h.suspect && st.genSynced && h.w.StatusAt(now) == tui.StatusSuspect:
			h.suspect = true
			st.event(tui.Event{Kind: tui.EventWorker, Worker: id,
				Text: fmt.Sprintf("%s is suspect: no heartbeat for %s (interval %s; its key expires after %s)", id,
					now.Sub(h.w.LastHeartbeat).Round(100*time.Millisecond), h.w.Interval.Round(time.Millisecond), st.ttl)})
		}
	}
}

// leaderEvent folds one event of the leader bucket watch.
func (st *state) leaderEvent(ev watch.Event) {
	switch ev.Kind {
	case watch.Reset:
		st.leaderSeen = false
	case watch.Synced:
		if !st.leaderSeen && st.leader != nil {
			st.event(tui.Event{Kind: tui.EventLeader, Text: "no leader (the key disappeared while the watch was down)"})
			st.leader = nil
		}
		st.leaderSynced, st.changed = true, true
		st.announceSync()
	case watch.Entry:
		e := ev.Entry
		st.leaderSeen = true
		if e.Operation() != jetstream.KeyValuePut {
			if st.leader != nil {
				how := "expired (not renewed within the leader TTL)"
				if e.Operation() == jetstream.KeyValueDelete {
					how = "was released (resigned)"
				}
				st.event(tui.Event{Kind: tui.EventLeader, Worker: st.leader.ID,
					Text: fmt.Sprintf("no leader: %s's key %s; an election follows", st.leader.ID, how)})
			}
			st.leader = nil
			st.changed = true
			return
		}
		l, err := codec.DecodeLeader(e.Key(), e.Value())
		if err != nil {
			st.sourceError(err)
			return
		}
		old := st.leader
		st.leader = &tui.Leader{ID: l.ID, Epoch: l.Epoch, Since: l.Since, Renewed: l.At}
		if st.leaderSynced && (old == nil || old.ID != l.ID || old.Epoch != l.Epoch) {
			text := fmt.Sprintf("leader %s (epoch %d)", l.ID, l.Epoch)
			if l.Epoch == 0 {
				text = l.ID + " won the leader key; taking office"
			}
			st.event(tui.Event{Kind: tui.EventLeader, Worker: l.ID, Text: text})
		}
		st.changed = true
	}
}

// partitionsEvent follows the partition set's manifest and reads the set
// when it changes.
func (st *state) partitionsEvent(ctx context.Context, kv jetstream.KeyValue, ev watch.Event) {
	switch ev.Kind {
	case watch.Reset:
		st.partsSeen = false
	case watch.Synced:
		if !st.partsSeen && st.parts != nil {
			st.setParts(nil, "")
		}
		st.partsSynced, st.changed = true, true
		st.announceSync()
	case watch.Entry:
		st.partsSeen = true
		if ev.Entry.Operation() != jetstream.KeyValuePut {
			st.setParts(nil, "")
			return
		}
		rctx, cancel := context.WithTimeout(ctx, readPartsTimeout)
		ps, err := store.ReadPartitions(rctx, kv)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				st.sourceError(fmt.Errorf("read the partition set: %w", err))
			}
			return
		}
		if ps.Manifest.SHA256 == st.partsDigest {
			return
		}
		if st.partsSynced {
			st.event(tui.Event{Kind: tui.EventInfo, Text: fmt.Sprintf("partition set changed: %s, total weight %g",
				count(len(ps.Partitions), "partition"), ps.Manifest.TotalWeight)})
		}
		st.setParts(ps.Partitions, ps.Manifest.SHA256)
	}
}

func (st *state) setParts(parts []model.Partition, digest string) {
	st.parts, st.partsDigest = parts, digest
	st.partIndex = make(map[string]int, len(parts))
	for i, p := range parts {
		st.partIndex[p.Key] = i
	}
	st.partsDirty, st.changed = true, true
}

// assignment takes a newly committed assignment.
func (st *state) assignment(a model.Assignment) {
	if st.haveAssign && st.assignSynced && (a.Version != st.assign.Version || a.Epoch != st.assign.Epoch) {
		st.event(tui.Event{Kind: tui.EventAssignment, Text: fmt.Sprintf("assignment v%d (epoch %d, leader %s): %s, %s",
			a.Version, a.Epoch, a.Leader, count(len(a.Owners), "worker"), count(a.PartitionCount(), "partition"))})
	}
	st.assign, st.haveAssign = a, true
	st.assignSynced = true
	st.partsDirty, st.changed = true, true
	st.announceSync()
}

// status takes the leader's published status and history.
func (st *state) status(s control.Snapshot) {
	first := !st.statusSynced
	st.statusSynced = true
	if s.Status != nil {
		c := fromCodecStatus(s.Status)
		old := st.remote
		st.remote = c
		// This node's own calculator is followed losslessly: skip it here.
		own := st.following && st.live != nil && st.live.Epoch == c.Epoch
		if !first && !own {
			st.observeState(old, c)
		}
	}
	if s.History != nil {
		recs := make([]tui.Rebalance, 0, len(s.History.Entries))
		for _, e := range s.History.Entries {
			trigger, reason, _ := strings.Cut(e.Reason, ": ")
			recs = append(recs, tui.Rebalance{At: e.At, Leader: s.History.Leader, Trigger: trigger, Reason: reason,
				Duration: time.Duration(e.DurationMS * float64(time.Millisecond)), Moved: e.Moved, Version: e.Version,
				Result: e.Result, Error: e.Error})
		}
		st.mergeHistory(recs, !first)
	}
	st.changed = true
	st.announceSync()
}

// observeState logs a calculator state change seen in the status bucket.
// Two writes may be several transitions apart: a change the transition
// table does not allow in one step is logged as a gap.
func (st *state) observeState(old, c *tui.Calculator) {
	switch {
	case old == nil || old.Epoch != c.Epoch || old.Leader != c.Leader:
		st.event(tui.Event{At: c.Since, Kind: tui.EventState, Worker: c.Leader,
			Text: fmt.Sprintf("calculator of %s (epoch %d) is %s", c.Leader, c.Epoch, c.State)})
	case old.State != c.State || !old.Since.Equal(c.Since):
		from, ferr := fsm.Parse(old.State)
		to, terr := fsm.Parse(c.State)
		if ferr == nil && terr == nil && fsm.Valid(from, to) {
			st.event(tui.Event{At: c.Since, Kind: tui.EventState, Text: fmt.Sprintf("%s → %s", old.State, c.State)})
			return
		}
		st.event(tui.Event{At: c.Since, Kind: tui.EventGap,
			Text: fmt.Sprintf("%s → … → %s: the transitions in between were not observed (status writes are coalesced)", old.State, c.State)})
	}
}

func fromCodecStatus(s *codec.Status) *tui.Calculator {
	return &tui.Calculator{Leader: s.Leader, Epoch: s.Epoch, State: s.State, Since: s.StateSince, Version: s.Version,
		Workers: s.Workers, Partitions: s.Partitions, LastError: s.LastError, Updated: s.At,
		Breaker: tui.Breaker{State: s.Breaker.State, Failures: s.Breaker.Failures, Opens: s.Breaker.Opens, NextRetry: s.Breaker.NextRetry}}
}

// mergeHistory adds the records not seen yet (from any leader, in either
// form), oldest first, logging them when live is set.
func (st *state) mergeHistory(recs []tui.Rebalance, live bool) {
	var added []tui.Rebalance
	for _, r := range recs {
		k := histKey{at: r.At.UnixNano(), version: r.Version, result: r.Result}
		if st.histKeys[k] {
			continue
		}
		st.histKeys[k] = true
		added = append(added, r)
		if live {
			text := fmt.Sprintf("%s: %s; moved %d in %s → v%d (%s)", r.Trigger, r.Reason, r.Moved,
				r.Duration.Round(10*time.Microsecond), r.Version, r.Result)
			if r.Error != "" {
				text += ": " + r.Error
			}
			st.event(tui.Event{At: r.At.Add(r.Duration), Kind: tui.EventRebalance, Text: text})
		}
	}
	if len(added) == 0 {
		return
	}
	// A new slice every time: snapshots share the old one.
	h := make([]tui.Rebalance, 0, len(st.history)+len(added))
	h = append(append(h, st.history...), added...)
	slices.SortStableFunc(h, func(a, b tui.Rebalance) int { return a.At.Compare(b.At) })
	if len(h) > st.o.MaxHistory {
		for _, r := range h[:len(h)-st.o.MaxHistory] {
			delete(st.histKeys, histKey{at: r.At.UnixNano(), version: r.Version, result: r.Result})
		}
		h = h[len(h)-st.o.MaxHistory:]
	}
	st.history = h
	st.changed = true
}

// nodeStatus takes the in-process node's status.
func (st *state) nodeStatus(s worker.Status) {
	n := &tui.Node{ID: s.ID, State: string(s.State), Since: s.Since, Degraded: s.Degraded, IsLeader: s.IsLeader,
		Owned: len(s.Partitions), Pending: len(s.Pending), Version: s.Version}
	if st.node == nil || *st.node != *n {
		st.node, st.changed = n, true
	}
	if s.Calculator == nil {
		if st.live != nil {
			st.live, st.changed = nil, true
		}
		return
	}
	cs := s.Calculator
	c := &tui.Calculator{Leader: cs.Leader, Epoch: cs.Epoch, State: cs.State.String(), Since: cs.Since, Version: cs.Version,
		Workers: cs.Workers, Partitions: cs.Partitions, Pending: cs.Pending, PendingDue: cs.PendingDue,
		Breaker: tui.Breaker{State: cs.Breaker.State.String(), Failures: cs.Breaker.ConsecutiveFailures,
			Opens: cs.Breaker.Opens, NextRetry: cs.Breaker.NextRetry},
		LastError: cs.LastError, Updated: st.now(), Live: true}
	if st.live == nil || !sameCalc(st.live, c) {
		st.live, st.changed = c, true
	}
	recs := make([]tui.Rebalance, 0, len(cs.History))
	for _, r := range cs.History {
		recs = append(recs, fromRecord(r, cs.Leader))
	}
	st.mergeHistory(recs, st.synced)
}

// sameCalc compares two calculator states, ignoring when they were read.
func sameCalc(a, b *tui.Calculator) bool {
	x, y := *a, *b
	x.Updated, y.Updated = time.Time{}, time.Time{}
	return x == y
}

func fromRecord(r history.Record, leader string) tui.Rebalance {
	return tui.Rebalance{At: r.Start, Leader: leader, Trigger: r.Trigger, Reason: r.Reason, Duration: r.Duration,
		Moved: r.Moved, Version: r.Version, Result: r.Result, Error: r.Error}
}

// calcAttached notes that this node started (c != nil) or stopped leading.
func (st *state) calcAttached(c *calculator.Calculator) {
	st.following = c != nil
	if c != nil {
		s := c.Status()
		st.event(tui.Event{Kind: tui.EventInfo, Text: fmt.Sprintf("this node leads (epoch %d): following its calculator, now %s; "+
			"transitions before this point are not shown", s.Epoch, s.State)})
	}
	st.changed = true
}

// calcEvent logs one state change from this node's calculator.
func (st *state) calcEvent(ev fanout.Event[calculator.StateChange]) {
	v := ev.Value
	if ev.IsGap() {
		st.event(tui.Event{At: v.At, Kind: tui.EventGap, Missed: ev.Missed,
			Text: fmt.Sprintf("%d state changes missed (the dashboard fell behind); latest %s → %s", ev.Missed, v.From, v.To)})
		return
	}
	text := fmt.Sprintf("%s → %s", v.From, v.To)
	if v.Trigger != "" {
		text += " (" + v.Trigger + ")"
	}
	if v.Version > 0 {
		text += fmt.Sprintf(" v%d", v.Version)
	}
	st.event(tui.Event{At: v.At, Kind: tui.EventState, Text: text})
}

func (st *state) calcStopped() {
	st.following = false
	st.event(tui.Event{Kind: tui.EventInfo, Text: "this node's calculator stopped: it no longer leads"})
}

// announceSync logs a summary once every watcher has delivered its
// initial values.
func (st *state) announceSync() {
	if st.synced || !st.allSynced() {
		return
	}
	st.synced = true
	leader := "none"
	if st.leader != nil {
		leader = fmt.Sprintf("%s (epoch %d)", st.leader.ID, st.leader.Epoch)
	}
	st.event(tui.Event{Kind: tui.EventInfo, Text: fmt.Sprintf("synced: %s, leader %s, assignment v%d, %s",
		count(len(st.hbs), "worker"), leader, st.assign.Version, count(len(st.parts), "partition"))})
}

func (st *state) allSynced() bool {
	return st.workersSynced && st.leaderSynced && st.partsSynced && st.assignSynced && st.statusSynced
}

// rebuild recomputes the partitions and workers outputs when their inputs
// changed.
func (st *state) rebuild() {
	if st.partsDirty {
		st.partsDirty, st.workersDirty = false, true
		out := make([]tui.Partition, len(st.parts), len(st.parts)+8)
		total := 0.0
		for i, p := range st.parts {
			out[i] = tui.Partition{Key: p.Key, Weight: p.Weight}
			total += p.Weight
		}
		count, wsum := map[string]int{}, map[string]float64{}
		var extra []tui.Partition
		for w, keys := range st.assign.Owners {
			count[w] = len(keys)
			for _, k := range keys {
				if i, ok := st.partIndex[k]; ok {
					out[i].Owner = w
					wsum[w] += out[i].Weight
				} else {
					extra = append(extra, tui.Partition{Key: k, Owner: w})
				}
			}
		}
		if len(extra) > 0 {
			out = append(out, extra...)
			slices.SortFunc(out, func(a, b tui.Partition) int { return cmp.Compare(a.Key, b.Key) })
		}
		st.partitionsOut, st.totalWeight, st.ownedCount, st.ownedWeight = out, total, count, wsum
	}
	if st.workersDirty {
		st.workersDirty = false
		out := make([]tui.Worker, 0, len(st.hbs)+len(st.assign.Owners))
		for id, h := range st.hbs {
			w := h.w
			w.ID = id
			w.Partitions, w.Weight = st.ownedCount[id], st.ownedWeight[id]
			out = append(out, w)
		}
		for id := range st.assign.Owners {
			if _, ok := st.hbs[id]; !ok {
				// In the assignment but never heartbeating since we watch.
				out = append(out, tui.Worker{ID: id, Gone: st.workersSynced, GoneReason: "no heartbeat",
					Partitions: st.ownedCount[id], Weight: st.ownedWeight[id]})
			}
		}
		slices.SortFunc(out, func(a, b tui.Worker) int { return cmp.Compare(a.ID, b.ID) })
		st.workersOut = out
	}
}

// snapshot builds the snapshot to send.
func (st *state) snapshot() tui.Snapshot {
	st.rebuild()
	now := st.now()
	s := tui.Snapshot{Taken: now, Cluster: st.cluster, URL: st.o.URL, Conn: st.conn, FreshAt: st.freshAt,
		Synced: st.allSynced(), WorkerTTL: st.ttl, Version: st.assign.Version, Epoch: st.assign.Epoch,
		Partitions: st.partitionsOut, TotalWeight: st.totalWeight, Workers: st.workersOut,
		History: st.history, Events: st.events, EventSource: eventsFromStatus, SourceError: st.lastErr}
	if st.conn.State == tui.ConnConnected {
		s.FreshAt = now
	}
	if st.leader != nil {
		l := *st.leader
		s.Leader = &l
	}
	if st.node != nil {
		n := *st.node
		s.Node = &n
	}
	switch {
	case st.following && st.live != nil:
		c := *st.live
		s.Calculator = &c
		s.EventSource = eventsFromFanout
	case st.remote != nil:
		c := *st.remote
		s.Calculator = &c
	}
	return s
}
