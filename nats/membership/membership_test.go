package membership_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/identity"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/membership"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	ctx context.Context
	n   *natstest.Node
	tr  *natsconn.Tracker
	b   *layout.Buckets
}

func setup(t *testing.T, workerTTL time.Duration) *env {
	t.Helper()
	n := natstest.RunServer(t)
	tr := natsconn.NewTracker()
	nc, err := natsconn.Connect(natsconn.Options{URLs: n.URL()}, tr)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	l, err := layout.New(layout.Options{Cluster: "mb", WorkerTTL: workerTTL})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	return &env{ctx: ctx, n: n, tr: tr, b: b}
}

// watchMembers starts the source; the returned stop cancels it and checks
// the channel closes.
func (e *env) watchMembers(t *testing.T) (<-chan calculator.MemberEvent, func()) {
	t.Helper()
	restart, stopRestart := e.tr.Reconnects()
	src := membership.New(e.b.Workers, membership.Options{Restart: restart})
	ctx, cancel := context.WithCancel(e.ctx)
	ch, err := src.Watch(ctx)
	require.NoError(t, err)
	stop := func() {
		cancel()
		stopRestart()
		for range ch {
		}
	}
	t.Cleanup(stop)
	return ch, stop
}

func expect(t *testing.T, ch <-chan calculator.MemberEvent, kind calculator.MemberEventKind, worker string, within time.Duration) calculator.MemberEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "channel closed")
		require.Equal(t, kind.String(), ev.Kind.String(), "event %+v", ev)
		require.Equal(t, worker, ev.Worker)
		return ev
	case <-time.After(within):
		t.Fatalf("no %s %s within %s", kind, worker, within)
		return calculator.MemberEvent{}
	}
}

func TestJoinDrainLeave(t *testing.T) {
	e := setup(t, 3*time.Second)
	pre, err := identity.Claim(e.ctx, identity.Config{Workers: e.b.Workers, ID: "worker-0"})
	require.NoError(t, err)
	ch, stop := e.watchMembers(t)
	expect(t, ch, calculator.MemberJoined, "worker-0", 5*time.Second)
	expect(t, ch, calculator.MembersSynced, "", 5*time.Second)

	it, err := identity.Claim(e.ctx, identity.Config{Workers: e.b.Workers, ID: "worker-1"})
	require.NoError(t, err)
	expect(t, ch, calculator.MemberJoined, "worker-1", 5*time.Second)
	// Steady heartbeats produce no events.
	require.NoError(t, it.Heartbeat(e.ctx))
	require.NoError(t, it.SetDraining(e.ctx, true))
	expect(t, ch, calculator.MemberLeft, "worker-1", 5*time.Second)
	require.NoError(t, it.Release(e.ctx))
	require.NoError(t, pre.Release(e.ctx))
	expect(t, ch, calculator.MemberLeft, "worker-0", 5*time.Second)
	stop()
	_, ok := <-ch
	require.False(t, ok)
}

// TestExpiryDetectedWithinTTL: a worker that stops heartbeating is
// reported MemberExpired within TTL + 1 s of its last heartbeat.
func TestExpiryDetectedWithinTTL(t *testing.T) {
	const workerTTL = 3 * time.Second
	e := setup(t, workerTTL)
	ch, _ := e.watchMembers(t)
	expect(t, ch, calculator.MembersSynced, "", 5*time.Second)
	it, err := identity.Claim(e.ctx, identity.Config{Workers: e.b.Workers, ID: "worker-3", Interval: time.Second})
	require.NoError(t, err)
	expect(t, ch, calculator.MemberJoined, "worker-3", 5*time.Second)
	rctx, stopHB := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = it.Run(rctx, nil)
	}()
	// Let it heartbeat a few times, then crash it.
	natstest.WaitFor(t, 10*time.Second, func() error {
		if it.Revision() < 4 {
			return context.DeadlineExceeded
		}
		return nil
	})
	stopHB()
	<-done
	last := it.LastHeartbeat()
	ev := expect(t, ch, calculator.MemberExpired, "worker-3", workerTTL+3*time.Second)
	took := ev.At.Sub(last)
	t.Logf("worker TTL %s: MemberExpired %s after the last heartbeat was acknowledged", workerTTL, took.Round(time.Millisecond))
	require.Less(t, took, workerTTL+time.Second)
}

// TestResyncAfterServerRestart: after a restart on the same data dir the
// source re-delivers current members and MembersSynced.
func TestResyncAfterServerRestart(t *testing.T) {
	e := setup(t, 30*time.Second)
	_, err := identity.Claim(e.ctx, identity.Config{Workers: e.b.Workers, ID: "worker-0"})
	require.NoError(t, err)
	ch, _ := e.watchMembers(t)
	expect(t, ch, calculator.MemberJoined, "worker-0", 5*time.Second)
	expect(t, ch, calculator.MembersSynced, "", 5*time.Second)

	natstest.RestartServer(t, e.n)
	expect(t, ch, calculator.MemberJoined, "worker-0", 15*time.Second)
	expect(t, ch, calculator.MembersSynced, "", 5*time.Second)
	it, err := identity.Claim(e.ctx, identity.Config{Workers: e.b.Workers, ID: "worker-1"})
	require.NoError(t, err)
	expect(t, ch, calculator.MemberJoined, "worker-1", 5*time.Second)
	require.NoError(t, it.Release(e.ctx))
	expect(t, ch, calculator.MemberLeft, "worker-1", 5*time.Second)
}
