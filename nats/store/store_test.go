package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/nats/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ttl = time.Second

func setup(t *testing.T, url string) (context.Context, *layout.Buckets) {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, url))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	l, err := layout.New(layout.Options{Cluster: "st", LeaderTTL: ttl, WorkerTTL: ttl})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	return ctx, b
}

// leader runs an elector until stopped and returns its first term.
type leader struct {
	term   *election.Term
	cancel context.CancelFunc
	done   chan struct{}
}

func campaign(ctx context.Context, t *testing.T, b *layout.Buckets, id string) *leader {
	t.Helper()
	el, err := election.New(election.Config{Leader: b.Leader, Assignments: b.Assignments, ID: id, TTL: ttl})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	l := &leader{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		_ = el.Campaign(cctx)
	}()
	t.Cleanup(l.stop)
	select {
	case l.term = <-el.Terms():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not become leader", id)
	}
	return l
}

func (l *leader) stop() {
	l.cancel()
	<-l.done
}

func sortedWorkers(owners map[string][]string) []string {
	a := model.Assignment{Owners: owners}
	return a.Workers()
}

func commit(ctx context.Context, s *store.Store, epoch, v uint64, leaderID string, owners map[string][]string) error {
	a := model.Assignment{Owners: owners}
	return s.Commit(ctx, calculator.Commit{Version: v, Epoch: epoch, Leader: leaderID, Workers: sortedWorkers(owners), Partitions: a.PartitionCount()})
}

func write(ctx context.Context, s *store.Store, epoch, v uint64, owners map[string][]string, workers ...string) error {
	for _, w := range workers {
		if err := s.WriteWorker(ctx, epoch, v, calculator.WorkerEntry{Worker: w, Keys: owners[w]}); err != nil {
			return err
		}
	}
	return nil
}

func nextAssignment(t *testing.T, ch <-chan model.Assignment) model.Assignment {
	t.Helper()
	select {
	case a, ok := <-ch:
		require.True(t, ok, "reader closed")
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no assignment delivered")
		return model.Assignment{}
	}
}

func noAssignment(t *testing.T, ch <-chan model.Assignment, within time.Duration) {
	t.Helper()
	select {
	case a := <-ch:
		t.Fatalf("unexpected assignment v%d epoch %d", a.Version, a.Epoch)
	case <-time.After(within):
	}
}

func TestPublishLoadRead(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setup(t, n.URL())
	ld := campaign(ctx, t, b, "worker-0")
	ep := ld.term.Epoch
	s := store.New(b)
	s.SetFence(ld.term.Fence)

	_, ok, err := s.Load(ctx)
	require.NoError(t, err)
	require.False(t, ok)

	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	reads := store.NewReader(b).Watch(rctx, store.ReaderOptions{})

	v1 := map[string][]string{"worker-0": {"a", "b"}, "worker-1": {"c"}, "worker-2": nil}
	require.NoError(t, write(ctx, s, ep, 1, v1, "worker-0", "worker-1", "worker-2"))
	require.NoError(t, commit(ctx, s, ep, 1, "worker-0", v1))
	a := nextAssignment(t, reads)
	require.Equal(t, uint64(1), a.Version)
	require.Equal(t, ep, a.Epoch)
	require.Equal(t, []string{"a", "b"}, a.Owners["worker-0"])
	require.Equal(t, 3, a.PartitionCount())

	// v2 changes only worker-1 and removes worker-2; worker-0 is pinned
	// from v1.
	v2 := map[string][]string{"worker-0": {"a", "b"}, "worker-1": {"c", "d"}}
	require.NoError(t, write(ctx, s, ep, 2, v2, "worker-1"))
	require.NoError(t, s.DeleteWorker(ctx, ep, 2, "worker-2"))
	require.NoError(t, commit(ctx, s, ep, 2, "worker-0", v2))
	a = nextAssignment(t, reads)
	require.Equal(t, uint64(2), a.Version)
	require.Equal(t, v2, a.Owners)

	// v3 half-written: never delivered; Load still returns v2, reading
	// worker-0's v2 entry from history.
	require.NoError(t, write(ctx, s, ep, 3, map[string][]string{"worker-0": {"a"}}, "worker-0"))
	noAssignment(t, reads, 300*time.Millisecond)
	fresh := store.New(b)
	got, ok, err := fresh.Load(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(2), got.Version)
	require.Equal(t, v2, got.Owners)
	// A new reader starting now also sees v2, not the half-written v3.
	r2 := store.NewReader(b).Watch(rctx, store.ReaderOptions{})
	require.Equal(t, v2, nextAssignment(t, r2).Owners)

	// Committing v3 without writing worker-1 pins its v2 entry.
	v3 := map[string][]string{"worker-0": {"a"}, "worker-1": {"b", "c", "d"}}
	require.NoError(t, write(ctx, s, ep, 3, v3, "worker-1"))
	require.NoError(t, commit(ctx, s, ep, 3, "worker-0", v3))
	require.Equal(t, v3, nextAssignment(t, reads).Owners)
	require.Equal(t, v3, nextAssignment(t, r2).Owners)

	// A commit naming a worker without an entry is refused locally.
	err = commit(ctx, s, ep, 4, "worker-0", map[string][]string{"worker-9": {"a", "b", "c", "d"}})
	require.ErrorIs(t, err, store.ErrIncomplete)
}

// TestDeposedLeaderFenced: a leader whose renewals stop past the TTL is
// replaced; its later writes with the old epoch are refused by the server
// (ErrFenced) and readers keep seeing the new leader's version.
func TestDeposedLeaderFenced(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setup(t, n.URL())
	old := campaign(ctx, t, b, "worker-0")
	sOld := store.New(b)
	sOld.SetFence(old.term.Fence)
	v1 := map[string][]string{"worker-0": {"a"}, "worker-1": {"b"}}
	require.NoError(t, write(ctx, sOld, old.term.Epoch, 1, v1, "worker-0", "worker-1"))
	require.NoError(t, commit(ctx, sOld, old.term.Epoch, 1, "worker-0", v1))

	// The old leader pauses: it stops renewing without resigning.
	old.stop()
	nw := campaign(ctx, t, b, "worker-1")
	require.Greater(t, nw.term.Epoch, old.term.Epoch)
	sNew := store.New(b) // no SetFence: the fence is looked up
	got, ok, err := sNew.Load(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(1), got.Version)
	v2 := map[string][]string{"worker-0": {"b"}, "worker-1": {"a"}}
	require.NoError(t, write(ctx, sNew, nw.term.Epoch, 2, v2, "worker-0", "worker-1"))
	require.NoError(t, commit(ctx, sNew, nw.term.Epoch, 2, "worker-1", v2))

	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	reads := store.NewReader(b).Watch(rctx, store.ReaderOptions{})
	require.Equal(t, uint64(2), nextAssignment(t, reads).Version)

	// The paused leader wakes up and publishes with its old epoch.
	late := map[string][]string{"worker-0": {"a", "b"}, "worker-1": nil}
	err = write(ctx, sOld, old.term.Epoch, 2, late, "worker-0")
	require.ErrorIs(t, err, calculator.ErrFenced)
	err = sOld.DeleteWorker(ctx, old.term.Epoch, 3, "worker-1")
	require.ErrorIs(t, err, calculator.ErrFenced)
	err = commit(ctx, sOld, old.term.Epoch, 3, "worker-0", v1)
	require.ErrorIs(t, err, calculator.ErrFenced)
	// A store that never knew the old fence is refused too.
	err = write(ctx, store.New(b), old.term.Epoch, 3, late, "worker-0")
	require.ErrorIs(t, err, calculator.ErrFenced)

	noAssignment(t, reads, 300*time.Millisecond)
	got, ok, err = store.New(b).Load(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(2), got.Version)
	require.Equal(t, nw.term.Epoch, got.Epoch)
	require.Equal(t, v2, got.Owners)
}

func TestPartitionSetChunked(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setup(t, n.URL())
	_, err := store.ReadPartitions(ctx, b.Partitions)
	require.ErrorIs(t, err, store.ErrNoPartitionSet)

	big := make([]model.Partition, 20000)
	for i := range big {
		big[i] = model.Partition{Key: fmt.Sprintf("tenant-%06d-%s", i, strings.Repeat("x", 40)), Weight: float64(i%7 + 1)}
	}
	ps, err := store.WritePartitions(ctx, b.Partitions, big)
	require.NoError(t, err)
	require.Greater(t, ps.Manifest.Chunks, 1, "a large set spans several chunks")
	got, err := store.ReadPartitions(ctx, b.Partitions)
	require.NoError(t, err)
	require.Equal(t, ps.Partitions, got.Partitions)
	require.Equal(t, uint64(1), got.Manifest.Generation)

	small := []model.Partition{{Key: "b", Weight: 1}, {Key: "a", Weight: 2}}
	ps2, err := store.WritePartitions(ctx, b.Partitions, small)
	require.NoError(t, err)
	require.Equal(t, uint64(2), ps2.Manifest.Generation)
	got, err = store.ReadPartitions(ctx, b.Partitions)
	require.NoError(t, err)
	require.Equal(t, []model.Partition{{Key: "a", Weight: 2}, {Key: "b", Weight: 1}}, got.Partitions)
	// The old generation's chunks are gone.
	_, err = b.Partitions.Get(ctx, layout.ChunkKey(1, 0))
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound)

	_, err = store.WritePartitions(ctx, b.Partitions, []model.Partition{{Key: "", Weight: 1}})
	require.ErrorIs(t, err, model.ErrInvalidPartition)
}
