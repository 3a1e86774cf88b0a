package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/tui"
	"github.com/parti-dev/parti/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fleet is an embedded server with n workers running in this process.
type fleet struct {
	url     string
	buckets *layout.Buckets
	workers []*worker.Worker
	stops   []func()
}

const (
	testTTL       = 1500 * time.Millisecond
	testHeartbeat = 300 * time.Millisecond
)

func newFleet(t *testing.T, n int) *fleet {
	t.Helper()
	srv := natstest.RunServer(t)
	f := &fleet{url: srv.Server().ClientURL()}
	parts := make([]model.Partition, 24)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%02d", i), Weight: float64(1 + i%2)}
	}
	for i := range n {
		nc := natstest.Connect(t, f.url)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		lay, err := layout.New(layout.Options{Cluster: "src", WorkerTTL: testTTL, LeaderTTL: testTTL})
		require.NoError(t, err)
		b, err := lay.Ensure(t.Context(), js)
		require.NoError(t, err)
		if f.buckets == nil {
			f.buckets = b
		}
		w, err := worker.New(worker.Options{Conn: nc, Buckets: b, WorkerID: fmt.Sprintf("w%d", i),
			HeartbeatInterval: testHeartbeat, Partitions: parts, LeaveTimeout: 2 * time.Second,
			Calculator: calculator.Config{ColdStartWindow: 300 * time.Millisecond, ScaleWindow: 100 * time.Millisecond,
				Cooldown: 100 * time.Millisecond, RestartGrace: time.Nanosecond}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				cancel()
				<-done
			}
		}
		t.Cleanup(stop)
		f.workers = append(f.workers, w)
		f.stops = append(f.stops, stop)
	}
	return f
}

// waitSnapshot reads snapshots until cond holds or the timeout passes.
func waitSnapshot(t *testing.T, s *Source, timeout time.Duration, what string, cond func(tui.Snapshot) error) tui.Snapshot {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var last tui.Snapshot
	lastErr := errors.New("no snapshot")
	for {
		select {
		case snap, ok := <-s.Snapshots():
			require.True(t, ok, "source closed while waiting for %s", what)
			last = snap
			if lastErr = cond(snap); lastErr == nil {
				return snap
			}
		case <-deadline.C:
			t.Fatalf("%s: not within %s: %v (last snapshot: %d workers, version %d, synced %v)", what, timeout, lastErr,
				len(last.Workers), last.Version, last.Synced)
			return last
		}
	}
}

func healthyFleet(n int) func(tui.Snapshot) error {
	return func(s tui.Snapshot) error {
		now := time.Now()
		if !s.Synced {
			return errors.New("not synced")
		}
		if s.Leader == nil || s.Leader.Epoch == 0 {
			return errors.New("no leader")
		}
		if alive, _ := s.AliveCount(now); alive != n {
			return fmt.Errorf("%d alive", alive)
		}
		if s.Calculator == nil || s.Calculator.State != "idle" {
			return errors.New("calculator not idle")
		}
		if len(s.History) == 0 {
			return errors.New("no history")
		}
		owned := 0
		for _, w := range s.Workers {
			owned += w.Partitions
		}
		if owned != 24 || len(s.Partitions) != 24 {
			return fmt.Errorf("%d of %d partitions owned", owned, len(s.Partitions))
		}
		return nil
	}
}

func TestRemoteSourceFollowsTheFleet(t *testing.T) {
	f := newFleet(t, 2)
	src, err := Remote(t.Context(), Options{Buckets: f.buckets, URL: f.url})
	require.NoError(t, err)
	defer src.Stop()

	snap := waitSnapshot(t, src, 15*time.Second, "healthy fleet", healthyFleet(2))
	assert.Equal(t, "src", snap.Cluster)
	assert.Equal(t, testTTL, snap.WorkerTTL)
	assert.Positive(t, snap.Version)
	assert.InDelta(t, 36.0, snap.TotalWeight, 0.001)
	for _, w := range snap.Workers {
		assert.NotEmpty(t, w.Host)
		assert.Positive(t, w.PID)
		assert.Equal(t, snap.Version, w.Applied, w.ID)
	}

	// A worker that heartbeats once and dies: suspect, then gone, and the
	// leader rebalances (a crash row in the history).
	kv := f.buckets.Workers
	hb, err := codec.Encode(&codec.Heartbeat{Worker: "ghost", Nonce: "n1", Host: "nowhere", PID: 1, Started: time.Now(), Seq: 1, At: time.Now()})
	require.NoError(t, err)
	_, err = kv.Create(t.Context(), "ghost", hb)
	require.NoError(t, err)
	waitSnapshot(t, src, 5*time.Second, "ghost joins and gets partitions", func(s tui.Snapshot) error {
		if w := s.Worker("ghost"); w == nil || w.Partitions == 0 {
			return errors.New("ghost has nothing")
		}
		return nil
	})
	snap = waitSnapshot(t, src, testTTL+3*time.Second, "ghost gone and rebalanced", func(s tui.Snapshot) error {
		w := s.Worker("ghost")
		if w == nil || !w.Gone || w.GoneReason != "expired" {
			return errors.New("ghost not gone")
		}
		if w.Partitions != 0 {
			return errors.New("ghost still owns partitions")
		}
		if last := s.History[len(s.History)-1]; last.Trigger != "crash" && last.Trigger != "emergency" {
			return fmt.Errorf("last rebalance is %s", last.Trigger)
		}
		return nil
	})
	var texts []string
	for _, e := range snap.Events {
		texts = append(texts, e.Text)
	}
	all := strings.Join(texts, "\n")
	assert.Contains(t, all, "ghost joined")
	assert.Contains(t, all, "ghost is suspect")
	assert.Contains(t, all, "ghost expired")
	assert.Contains(t, all, "assignment v")

	// A graceful leave shows as left.
	f.stops[1]()
	waitSnapshot(t, src, 10*time.Second, "w1 left", func(s tui.Snapshot) error {
		if w := s.Worker("w1"); w == nil || !w.Gone || w.GoneReason != "left" {
			return errors.New("w1 not gone (left)")
		}
		return nil
	})
}

func TestStaleWhileDisconnected(t *testing.T) {
	srv := natstest.RunServer(t)
	tr := natsconn.NewTracker()
	nc, err := natsconn.Connect(natsconn.Options{URLs: srv.URL(), RetryOnFailedConnect: true, Name: "top-test"}, tr)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	lay, err := layout.New(layout.Options{Cluster: "stale"})
	require.NoError(t, err)
	b, err := lay.Ensure(t.Context(), js)
	require.NoError(t, err)
	src, err := Remote(t.Context(), Options{Buckets: b, Tracker: tr, URL: srv.URL()})
	require.NoError(t, err)
	defer src.Stop()
	waitSnapshot(t, src, 10*time.Second, "synced", func(s tui.Snapshot) error {
		if !s.Synced || s.Stale() {
			return errors.New("not synced")
		}
		return nil
	})

	srv.Shutdown()
	down := waitSnapshot(t, src, 10*time.Second, "stale", func(s tui.Snapshot) error {
		if !s.Stale() {
			return errors.New("not stale")
		}
		return nil
	})
	assert.False(t, down.FreshAt.IsZero())
	assert.WithinDuration(t, time.Now(), down.FreshAt, 5*time.Second)

	natstest.RestartServer(t, srv)
	waitSnapshot(t, src, 15*time.Second, "live again", func(s tui.Snapshot) error {
		if s.Stale() {
			return errors.New("still stale")
		}
		for _, e := range s.Events {
			if e.Kind == tui.EventConn && strings.HasPrefix(e.Text, "connected") && e.At.After(down.FreshAt) {
				return nil
			}
		}
		return errors.New("no reconnect event")
	})
}

func TestSnapshotsAreCoalesced(t *testing.T) {
	f := newFleet(t, 1)
	src, err := Remote(t.Context(), Options{Buckets: f.buckets, URL: f.url})
	require.NoError(t, err)
	defer src.Stop()
	waitSnapshot(t, src, 15*time.Second, "healthy fleet", healthyFleet(1))

	// A storm of heartbeats from 50 fake workers.
	ctx, cancel := context.WithCancel(t.Context())
	stormDone := make(chan struct{})
	go func() {
		defer close(stormDone)
		for i := 0; ctx.Err() == nil; i++ {
			v, _ := codec.Encode(&codec.Heartbeat{Worker: fmt.Sprintf("storm-%02d", i%50), Nonce: "s", Host: "h", PID: 1,
				Seq: uint64(i/50 + 1), At: time.Now(), Started: time.Now()})
			_, _ = f.buckets.Workers.Put(ctx, fmt.Sprintf("storm-%02d", i%50), v)
		}
	}()
	start := time.Now()
	n := 0
	for time.Since(start) < 2*time.Second {
		<-src.Snapshots()
		n++
	}
	cancel()
	<-stormDone
	assert.LessOrEqual(t, n, 22, "at most ~10 snapshots a second")
	assert.GreaterOrEqual(t, n, 5, "snapshots keep coming during the storm")
}

func TestInProcessSourceFollowsTheCalculator(t *testing.T) {
	f := newFleet(t, 1)
	src, err := InProcess(t.Context(), f.workers[0], Options{Buckets: f.buckets, URL: f.url})
	require.NoError(t, err)
	defer src.Stop()
	snap := waitSnapshot(t, src, 15*time.Second, "leading node", func(s tui.Snapshot) error {
		if err := healthyFleet(1)(s); err != nil {
			return err
		}
		if s.Node == nil || s.Node.ID != "w0" || !s.Node.IsLeader {
			return errors.New("node not leading yet")
		}
		if s.Calculator == nil || !s.Calculator.Live {
			return errors.New("calculator not live")
		}
		return nil
	})
	assert.Equal(t, eventsFromFanout, snap.EventSource)

	// A forced rebalance shows up as lossless transitions.
	_, err = f.workers[0].Calculator().Rebalance(t.Context(), calculator.RebalanceRequest{Reason: "test"})
	require.NoError(t, err)
	waitSnapshot(t, src, 5*time.Second, "transitions logged", func(s tui.Snapshot) error {
		for _, e := range s.Events {
			if e.Kind == tui.EventState && strings.Contains(e.Text, "rebalancing") {
				return nil
			}
		}
		return errors.New("no rebalancing transition")
	})
}

func TestOptionsValidation(t *testing.T) {
	_, err := Remote(t.Context(), Options{})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = InProcess(t.Context(), nil, Options{})
	require.ErrorIs(t, err, ErrInvalidOptions)
}
