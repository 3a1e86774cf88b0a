package layout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connectJS(t *testing.T, url string) jetstream.JetStream {
	js, err := jetstream.New(natstest.Connect(t, url))
	require.NoError(t, err)
	return js
}

func TestValidateCluster(t *testing.T) {
	for _, ok := range []string{"parti", "a", "A_b-9", strings.Repeat("x", 32)} {
		require.NoError(t, layout.ValidateCluster(ok), ok)
	}
	for _, bad := range []string{"", "a.b", "a b", "a*", "a>", strings.Repeat("x", 33), "é"} {
		err := layout.ValidateCluster(bad)
		require.ErrorIs(t, err, layout.ErrInvalidCluster, bad)
	}
	_, err := layout.New(layout.Options{Cluster: "bad.name"})
	require.ErrorIs(t, err, layout.ErrInvalidCluster)
	_, err = layout.New(layout.Options{Replicas: 7})
	require.Error(t, err)
}

func TestNames(t *testing.T) {
	l, err := layout.New(layout.Options{Cluster: "blue"})
	require.NoError(t, err)
	require.Equal(t, "parti_blue_workers", l.WorkersBucket())
	require.Equal(t, "parti_blue_leader", l.LeaderBucket())
	require.Equal(t, "parti_blue_assignments", l.AssignmentsBucket())
	require.Equal(t, "parti_blue_partitions", l.PartitionsBucket())
	require.Equal(t, "parti_blue_status", l.StatusBucket())
	require.Equal(t, "parti.blue.control.rebalance", l.ControlSubject())
	require.Equal(t, "$KV.parti_blue_assignments.epoch", layout.KeySubject(l.AssignmentsBucket(), layout.KeyEpoch))
	w, ok := layout.WorkerFromKey(layout.WorkerKey("worker-3"))
	require.True(t, ok)
	require.Equal(t, "worker-3", w)
	_, ok = layout.WorkerFromKey("commit")
	require.False(t, ok)
	require.Equal(t, "chunk.4.2", layout.ChunkKey(4, 2))
	cfgs := l.Configs()
	require.Len(t, cfgs, 5)
	require.Equal(t, 3*time.Second, cfgs[0].TTL)
	require.Equal(t, 3*time.Second, cfgs[0].LimitMarkerTTL)
	require.EqualValues(t, 5, cfgs[2].History)
	require.Zero(t, cfgs[2].TTL)
}

func TestEnsureIdempotentAndMismatch(t *testing.T) {
	n := natstest.RunServer(t)
	js := connectJS(t, n.URL())
	ctx := testCtx(t)
	l, err := layout.New(layout.Options{Cluster: "c1", WorkerTTL: 2 * time.Second})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	_, err = b.Workers.PutString(ctx, "k", "v")
	require.NoError(t, err)
	st, err := b.Workers.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, st.TTL())
	require.Equal(t, 2*time.Second, st.LimitMarkerTTL())

	// Same options: opens what exists, data intact.
	b2, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	e, err := b2.Workers.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(e.Value()))

	// Different TTL: refused, naming the difference.
	l3, err := layout.New(layout.Options{Cluster: "c1", WorkerTTL: 4 * time.Second})
	require.NoError(t, err)
	_, err = l3.Ensure(ctx, js)
	require.ErrorIs(t, err, layout.ErrBucketMismatch)
	require.ErrorContains(t, err, "parti_c1_workers")
	require.ErrorContains(t, err, "ttl: have 2s, want 4s")

	// Reconcile updates it.
	l4, err := layout.New(layout.Options{Cluster: "c1", WorkerTTL: 4 * time.Second, Reconcile: true})
	require.NoError(t, err)
	b4, err := l4.Ensure(ctx, js)
	require.NoError(t, err)
	st, err = b4.Workers.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 4*time.Second, st.TTL())

	// Storage cannot be reconciled.
	l5, err := layout.New(layout.Options{Cluster: "c1", WorkerTTL: 4 * time.Second, Storage: jetstream.MemoryStorage, Reconcile: true})
	require.NoError(t, err)
	_, err = l5.Ensure(ctx, js)
	require.ErrorIs(t, err, layout.ErrBucketMismatch)

	// Open works on existing buckets.
	_, err = l4.Open(ctx, js)
	require.NoError(t, err)
	lx, _ := layout.New(layout.Options{Cluster: "nothere"})
	_, err = lx.Open(ctx, js)
	require.ErrorIs(t, err, jetstream.ErrBucketNotFound)
}
