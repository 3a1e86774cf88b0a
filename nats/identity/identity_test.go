package identity_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/identity"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setup(t *testing.T, ttl time.Duration) (context.Context, *layout.Buckets) {
	t.Helper()
	n := natstest.RunServer(t)
	js, err := jetstream.New(natstest.Connect(t, n.URL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	l, err := layout.New(layout.Options{Cluster: "idt", WorkerTTL: ttl})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	return ctx, b
}

func TestConcurrentClaimOneWinner(t *testing.T) {
	ctx, b := setup(t, 3*time.Second)
	for round := range 5 {
		id := "worker-x" + string(rune('a'+round))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []*identity.Identity
		var taken int
		for range 4 {
			wg.Go(func() {
				it, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: id})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won = append(won, it)
					return
				}
				require.ErrorIs(t, err, identity.ErrIDTaken)
				taken++
			})
		}
		wg.Wait()
		require.Len(t, won, 1)
		require.Equal(t, 3, taken)
		require.Equal(t, id, won[0].ID())
	}
}

func TestPoolClaimsLowestFree(t *testing.T) {
	ctx, b := setup(t, 3*time.Second)
	cfg := identity.Config{Workers: b.Workers, PoolSize: 3, Info: identity.Info{Version: "test"}}
	a, err := identity.Claim(ctx, cfg)
	require.NoError(t, err)
	c, err := identity.Claim(ctx, cfg)
	require.NoError(t, err)
	d, err := identity.Claim(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"worker-0", "worker-1", "worker-2"}, []string{a.ID(), c.ID(), d.ID()})
	_, err = identity.Claim(ctx, cfg)
	require.ErrorIs(t, err, identity.ErrPoolExhausted)

	// The heartbeat is a readable envelope.
	e, err := b.Workers.Get(ctx, "worker-1")
	require.NoError(t, err)
	hb, err := codec.DecodeHeartbeat(e.Key(), e.Value())
	require.NoError(t, err)
	require.Equal(t, "worker-1", hb.Worker)
	require.Equal(t, c.Nonce(), hb.Nonce)
	require.Equal(t, "test", hb.Version)

	// Release frees the lowest ID again.
	require.NoError(t, c.Release(ctx))
	require.ErrorIs(t, c.Heartbeat(ctx), identity.ErrReleased)
	again, err := identity.Claim(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, "worker-1", again.ID())
	// A stale holder's release does not delete the new holder's key.
	require.Error(t, c.Release(ctx))
	_, err = b.Workers.Get(ctx, "worker-1")
	require.NoError(t, err)
}

// TestLossAfterExpiryDetected: a holder that stops heartbeating past the
// TTL loses the ID to another claimer and finds out on its next
// heartbeat.
func TestLossAfterExpiryDetected(t *testing.T) {
	ctx, b := setup(t, time.Second)
	cfg := identity.Config{Workers: b.Workers, ID: "worker-7"}
	old, err := identity.Claim(ctx, cfg)
	require.NoError(t, err)
	_, err = identity.Claim(ctx, cfg)
	require.ErrorIs(t, err, identity.ErrIDTaken)

	// The old holder is paused; wait until the ID can be claimed again.
	var newer *identity.Identity
	natstest.WaitFor(t, 10*time.Second, func() (err error) {
		newer, err = identity.Claim(ctx, cfg)
		return err
	})
	require.NotEqual(t, old.Nonce(), newer.Nonce())

	err = old.Heartbeat(ctx)
	require.ErrorIs(t, err, identity.ErrLost)
	select {
	case <-old.Lost():
	default:
		t.Fatal("Lost() not closed")
	}
	require.ErrorIs(t, old.Err(), identity.ErrLost)
	// Run on a lost identity returns at once with the loss.
	require.ErrorIs(t, old.Run(ctx, nil), identity.ErrLost)
	// The new holder is unaffected.
	require.NoError(t, newer.Heartbeat(ctx))
}

// TestRunKeepsAlive: heartbeats every TTL/4 keep the key from expiring for
// several TTLs; stopping Run lets it expire.
func TestRunKeepsAlive(t *testing.T) {
	ctx, b := setup(t, time.Second)
	it, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "worker-1", Interval: 250 * time.Millisecond})
	require.NoError(t, err)
	w, err := b.Workers.Watch(ctx, "worker-1", jetstream.UpdatesOnly())
	require.NoError(t, err)
	defer func() { _ = w.Stop() }()

	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- it.Run(rctx, nil) }()
	window := time.NewTimer(3 * time.Second)
	puts := 0
loop:
	for {
		select {
		case e := <-w.Updates():
			require.NotNil(t, e)
			require.Equal(t, jetstream.KeyValuePut, e.Operation(), "key expired while heartbeating")
			puts++
		case <-window.C:
			break loop
		}
	}
	stop()
	require.NoError(t, <-done)
	require.GreaterOrEqual(t, puts, 8)
	require.NoError(t, it.Err())
	select {
	case e := <-w.Updates():
		for e != nil && e.Operation() == jetstream.KeyValuePut {
			e = <-w.Updates()
		}
		require.Equal(t, jetstream.KeyValuePurge, e.Operation())
	case <-time.After(5 * time.Second):
		t.Fatal("no expiry after heartbeats stopped")
	}
	require.False(t, errors.Is(it.Err(), identity.ErrLost), "loss is only detected by a heartbeat")
}

func TestResumeTakesOverOnlyThePreviousProcess(t *testing.T) {
	ctx, b := setup(t, 10*time.Second)
	old, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "w-r",
		Info: identity.Info{Host: "h1", PID: 41}})
	require.NoError(t, err)

	// A different process (wrong nonce, host or PID) must wait for expiry.
	for _, r := range []identity.Resume{
		{Nonce: "other", Host: "h1", PID: 41},
		{Nonce: old.Nonce(), Host: "h2", PID: 41},
		{Nonce: old.Nonce(), Host: "h1", PID: 42},
	} {
		_, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "w-r", Resume: &r})
		require.ErrorIs(t, err, identity.ErrIDTaken, "%+v", r)
	}

	// The restarted process of the same worker takes the key over at once.
	it, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "w-r",
		Resume: &identity.Resume{Nonce: old.Nonce(), Host: "h1", PID: 41}})
	require.NoError(t, err)
	require.True(t, it.Resumed())
	require.NotEqual(t, old.Nonce(), it.Nonce())
	require.NoError(t, it.Heartbeat(ctx))

	// Had the old process been alive after all, it learns it lost the ID.
	require.ErrorIs(t, old.Heartbeat(ctx), identity.ErrLost)

	// Without a key to take over, a resume claim is a plain claim.
	fresh, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "w-new",
		Resume: &identity.Resume{Nonce: "x", Host: "h", PID: 1}})
	require.NoError(t, err)
	require.False(t, fresh.Resumed())
}
