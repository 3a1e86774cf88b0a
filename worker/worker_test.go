package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a goroutine-safe audit sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) records(t *testing.T) []AuditRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := ReadAudit(bytes.NewReader(s.b.Bytes()))
	require.NoError(t, err)
	return recs
}

type fleet struct {
	t     *testing.T
	url   string
	parts []model.Partition
	audit *syncBuffer
	nodes map[string]*running
}

type running struct {
	w      *Worker
	cancel context.CancelFunc
	done   chan error
}

func newFleet(t *testing.T, n int) *fleet {
	srv := natstest.RunServer(t)
	parts := make([]model.Partition, 30)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%02d", i), Weight: 1}
	}
	f := &fleet{t: t, url: srv.Server().ClientURL(), parts: parts, audit: &syncBuffer{}, nodes: map[string]*running{}}
	for i := range n {
		f.start(fmt.Sprintf("w%d", i))
	}
	return f
}

func (f *fleet) start(id string) *running {
	t := f.t
	nc := natstest.Connect(t, f.url)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	lay, err := layout.New(layout.Options{Cluster: "wt", WorkerTTL: 2 * time.Second, LeaderTTL: 2 * time.Second})
	require.NoError(t, err)
	b, err := lay.Ensure(t.Context(), js)
	require.NoError(t, err)
	w, err := New(Options{Conn: nc, Buckets: b, WorkerID: id, HeartbeatInterval: 500 * time.Millisecond,
		Partitions: f.parts, AuditLog: f.audit, LeaveTimeout: 3 * time.Second,
		Calculator: calculator.Config{ColdStartWindow: 500 * time.Millisecond, ScaleWindow: 200 * time.Millisecond,
			Cooldown: 200 * time.Millisecond}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	f.nodes[id] = r
	t.Cleanup(func() { f.stop(id) })
	return r
}

func (f *fleet) stop(id string) error {
	r, ok := f.nodes[id]
	if !ok {
		return nil
	}
	delete(f.nodes, id)
	r.cancel()
	return <-r.done
}

// covered waits until the live workers own every partition exactly once
// and nothing is pending.
func (f *fleet) covered(timeout time.Duration) {
	f.t.Helper()
	natstest.WaitFor(f.t, timeout, func() error {
		owner := map[string]string{}
		for id, r := range f.nodes {
			st := r.w.Status()
			if len(st.Pending) > 0 {
				return fmt.Errorf("%s has pending %v", id, st.Pending)
			}
			for _, p := range st.Partitions {
				if o, dup := owner[p]; dup {
					return fmt.Errorf("%s owned by %s and %s", p, o, id)
				}
				owner[p] = id
			}
		}
		if len(owner) != len(f.parts) {
			return fmt.Errorf("%d of %d partitions owned", len(owner), len(f.parts))
		}
		return nil
	})
}

func (f *fleet) leader() string {
	for id, r := range f.nodes {
		if r.w.Status().IsLeader {
			return id
		}
	}
	return ""
}

func TestFleetCoversEveryPartitionAndHandsOffOnLeave(t *testing.T) {
	f := newFleet(t, 3)
	f.covered(15 * time.Second)
	leader := f.leader()
	require.NotEmpty(t, leader)
	for _, r := range f.nodes {
		require.NoError(t, r.w.Ready())
		assert.Equal(t, leader, r.w.Status().Leader)
	}

	// A non-leader leaves gracefully: its partitions move, nothing overlaps.
	var leaving string
	for id := range f.nodes {
		if id != leader {
			leaving = id
			break
		}
	}
	start := time.Now()
	require.NoError(t, f.stop(leaving))
	took := time.Since(start)
	t.Logf("graceful leave of %s took %v", leaving, took)
	f.covered(10 * time.Second)

	// The leader leaves: a new leader takes over, everything stays covered.
	require.NoError(t, f.stop(leader))
	f.covered(15 * time.Second)
	natstest.WaitFor(t, 10*time.Second, func() error {
		if f.leader() == "" {
			return errors.New("no leader yet")
		}
		return nil
	})

	overlaps := CheckOverlaps(f.audit.records(t), nil)
	assert.Empty(t, overlaps, "no partition held by two workers at once")
}

func TestJoinGetsAShare(t *testing.T) {
	f := newFleet(t, 2)
	f.covered(15 * time.Second)
	f.start("w9")
	f.covered(15 * time.Second)
	natstest.WaitFor(t, 10*time.Second, func() error {
		if n := len(f.nodes["w9"].w.Owned()); n < 8 {
			return fmt.Errorf("joiner owns %d", n)
		}
		return nil
	})
	assert.Empty(t, CheckOverlaps(f.audit.records(t), nil))
}

func TestCallbacksReportGainsAndLosses(t *testing.T) {
	srv := natstest.RunServer(t)
	nc := natstest.Connect(t, srv.Server().ClientURL())
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	lay, err := layout.New(layout.Options{Cluster: "cb", WorkerTTL: 2 * time.Second, LeaderTTL: 2 * time.Second})
	require.NoError(t, err)
	b, err := lay.Ensure(t.Context(), js)
	require.NoError(t, err)
	var mu sync.Mutex
	var changes []Change
	w, err := New(Options{Conn: nc, Buckets: b, HeartbeatInterval: 500 * time.Millisecond,
		Partitions: []model.Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}},
		Calculator: calculator.Config{ColdStartWindow: 200 * time.Millisecond},
		OnChange:   func(c Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() }})
	require.NoError(t, err)
	assert.False(t, w.LeaseValid(), "no lease before the claim")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	natstest.WaitFor(t, 10*time.Second, func() error {
		if len(w.Owned()) != 2 {
			return errors.New("not yet")
		}
		return nil
	})
	assert.Equal(t, "worker-0", w.ID())
	assert.True(t, w.LeaseValid(), "a heartbeating worker holds its lease")
	deadline := w.LeaseDeadline()
	assert.True(t, deadline.After(time.Now()))
	assert.False(t, deadline.After(time.Now().Add(2*time.Second)), "at most one worker TTL ahead")
	cancel()
	require.NoError(t, <-done)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, changes, 2)
	assert.Equal(t, []string{"a", "b"}, changes[0].Gained)
	assert.Equal(t, []string{"a", "b"}, changes[0].Current)
	assert.Equal(t, []string{"a", "b"}, changes[1].Lost)
	assert.Empty(t, changes[1].Current)
	assert.Equal(t, StateStopped, w.Status().State)
	assert.False(t, w.LeaseValid(), "no lease after a graceful leave")
}

func TestOptionsValidation(t *testing.T) {
	_, err := New(Options{})
	require.ErrorIs(t, err, ErrInvalidOptions)
	assert.ErrorContains(t, err, "Conn is required")
	assert.ErrorContains(t, err, "Buckets is required")
	_, err = New(Options{Strategy: "nope", HeartbeatInterval: -1, Partitions: []model.Partition{{Key: "", Weight: 1}}})
	assert.ErrorContains(t, err, `unknown strategy "nope"`)
	assert.ErrorContains(t, err, "HeartbeatInterval")
	assert.ErrorContains(t, err, "empty key")
}

func TestCheckOverlaps(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	recs := []AuditRecord{
		{Time: at(0), Nonce: "a", Worker: "w1", Event: "acquire", Partition: "p"},
		{Time: at(5), Nonce: "a", Worker: "w1", Event: "release", Partition: "p"},
		{Time: at(5), Nonce: "b", Worker: "w2", Event: "acquire", Partition: "p"},
		{Time: at(1), Nonce: "c", Worker: "w3", Event: "acquire", Partition: "q"},
		{Time: at(2), Nonce: "d", Worker: "w4", Event: "acquire", Partition: "q"},
	}
	ov := CheckOverlaps(recs, nil)
	require.Len(t, ov, 1)
	assert.Equal(t, "q", ov[0].Partition)
	// w3 died at 2: no overlap.
	assert.Empty(t, CheckOverlaps(recs, map[string]time.Time{"c": at(2)}))
	ws := []string{ov[0].A.Worker, ov[0].B.Worker}
	slices.Sort(ws)
	assert.Equal(t, []string{"w3", "w4"}, ws)
}

func TestWholeFleetLeavingAtOnceExitsPromptly(t *testing.T) {
	f := newFleet(t, 3)
	f.covered(15 * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for id, r := range f.nodes {
		delete(f.nodes, id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.cancel()
			errs <- <-r.done
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	took := time.Since(start)
	t.Logf("whole fleet left in %v", took)
	assert.Less(t, took, 3*time.Second, "nobody waits for the leave timeout (3s) when nobody stays")
	assert.Empty(t, CheckOverlaps(f.audit.records(t), nil))
}

func TestNATSOutageKeepsPartitionsAndConverges(t *testing.T) {
	srv := natstest.RunServer(t)
	url := srv.Server().ClientURL()
	parts := make([]model.Partition, 12)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%02d", i), Weight: 1}
	}
	audit := &syncBuffer{}
	type node struct {
		w      *Worker
		cancel context.CancelFunc
		done   chan error
	}
	var nodes []*node
	for i := range 2 {
		tr := natsconn.NewTracker()
		nc, err := natsconn.Connect(natsconn.Options{URLs: url, Name: fmt.Sprint("n", i), RetryOnFailedConnect: true}, tr)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		lay, err := layout.New(layout.Options{Cluster: "outage", WorkerTTL: 2 * time.Second, LeaderTTL: 2 * time.Second})
		require.NoError(t, err)
		b, err := lay.Ensure(t.Context(), js)
		require.NoError(t, err)
		w, err := New(Options{Conn: nc, Buckets: b, Tracker: tr, WorkerID: fmt.Sprint("o", i),
			HeartbeatInterval: 500 * time.Millisecond, Partitions: parts, AuditLog: audit,
			Calculator: calculator.Config{ColdStartWindow: 300 * time.Millisecond, ScaleWindow: 200 * time.Millisecond}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		n := &node{w: w, cancel: cancel, done: make(chan error, 1)}
		go func() { n.done <- w.Run(ctx) }()
		nodes = append(nodes, n)
	}
	defer func() {
		for _, n := range nodes {
			n.cancel()
			<-n.done
		}
	}()
	owned := func() (map[string]string, error) {
		own := map[string]string{}
		for _, n := range nodes {
			for _, p := range n.w.Owned() {
				if o, dup := own[p]; dup {
					return nil, fmt.Errorf("%s owned by %s and %s", p, o, n.w.ID())
				}
				own[p] = n.w.ID()
			}
		}
		if len(own) != len(parts) {
			return own, fmt.Errorf("%d of %d owned", len(own), len(parts))
		}
		return own, nil
	}
	natstest.WaitFor(t, 15*time.Second, func() error {
		_, err := owned()
		if err == nil && nodes[1].w.Ready() != nil {
			return nodes[1].w.Ready()
		}
		return err
	})
	before, _ := owned()

	// NATS goes away: everyone keeps its partitions and reports degraded.
	srv.Shutdown()
	natstest.WaitFor(t, 10*time.Second, func() error {
		for _, n := range nodes {
			if !n.w.Status().Degraded {
				return fmt.Errorf("%s not degraded", n.w.ID())
			}
			if n.w.Ready() == nil {
				return fmt.Errorf("%s still ready", n.w.ID())
			}
		}
		return nil
	})
	during, err := owned()
	require.NoError(t, err)
	assert.Equal(t, before, during, "partitions kept while NATS is unreachable")

	// NATS comes back on the same store: everything converges, nobody was
	// declared dead for the leader's own outage.
	natstest.RestartServer(t, srv)
	natstest.WaitFor(t, 20*time.Second, func() error {
		for _, n := range nodes {
			if err := n.w.Ready(); err != nil {
				return fmt.Errorf("%s: %w", n.w.ID(), err)
			}
		}
		_, err := owned()
		return err
	})
	after, _ := owned()
	assert.Equal(t, before, after, "no partition moved across the outage")
	assert.Empty(t, CheckOverlaps(audit.records(t), nil))
}
