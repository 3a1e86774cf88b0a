package acceptance_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/identity"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/nats/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// retry runs op until it succeeds or timeout passes (a replicated stream
// re-elects its leader for a few seconds after a node loss).
func retry(t *testing.T, timeout time.Duration, what string, op func() error) {
	t.Helper()
	start := time.Now()
	natstest.WaitFor(t, timeout, op)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Logf("%s recovered after %s", what, d.Round(time.Millisecond))
	}
}

// TestReplicatedClusterSurvivesNodeLoss: with replicas 3, claim, heartbeat,
// election and commit keep working after one of three nodes shuts down,
// and CAS conflicts there are lost races.
func TestReplicatedClusterSurvivesNodeLoss(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	nc := natstest.Connect(t, c.URLs())
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l, err := layout.New(layout.Options{Cluster: "r3", Replicas: 3})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	st, err := b.Assignments.Status(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, st.Config().Replicas)

	it, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "worker-0"})
	require.NoError(t, err)
	el, err := election.New(election.Config{Leader: b.Leader, Assignments: b.Assignments, ID: "worker-0"})
	require.NoError(t, err)
	ectx, stopElection := context.WithCancel(ctx)
	edone := make(chan struct{})
	go func() {
		defer close(edone)
		_ = el.Campaign(ectx)
	}()
	defer func() {
		stopElection()
		<-edone
	}()
	var term *election.Term
	select {
	case term = <-el.Terms():
	case <-time.After(20 * time.Second):
		t.Fatal("no leader")
	}
	s := store.New(b)
	s.SetFence(term.Fence)
	write := func(v uint64, keys ...string) error {
		if err := s.WriteWorker(ctx, term.Epoch, v, calculator.WorkerEntry{Worker: "worker-0", Keys: keys}); err != nil {
			return err
		}
		return s.Commit(ctx, calculator.Commit{Version: v, Epoch: term.Epoch, Leader: "worker-0", Workers: []string{"worker-0"}, Partitions: len(keys)})
	}
	require.NoError(t, write(1, "a"))

	// Concurrent claims of one ID on R3: one winner, the rest lost races
	// (mostly reported as 10164).
	codes := claimRace(ctx, t, b, "worker-race")
	t.Logf("lost-race codes on R3: %v", codes)

	c.Stop(0)
	t.Log("node n0 stopped")
	retry(t, 30*time.Second, "heartbeat", func() error {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		defer hcancel()
		return it.Heartbeat(hctx)
	})
	retry(t, 30*time.Second, "claim", func() error {
		_, err := identity.Claim(ctx, identity.Config{Workers: b.Workers, ID: "worker-1"})
		return err
	})
	retry(t, 30*time.Second, "commit", func() error { return write(2, "a", "b") })
	select {
	case <-term.Done():
		// The leader key's stream may have been led by n0; a term lost
		// to the re-election is acceptable, a new one must follow.
		t.Logf("term ended during the node loss: %v", term.Err())
		select {
		case <-el.Terms():
		case <-time.After(30 * time.Second):
			t.Fatal("no new term after node loss")
		}
	default:
	}
	got, ok, err := store.New(b).Load(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(2), got.Version)
	require.Equal(t, []string{"a", "b"}, got.Owners["worker-0"])
	claimRace(ctx, t, b, "worker-race2")
	require.NoError(t, it.Release(ctx))
}

func claimRace(ctx context.Context, t *testing.T, b *layout.Buckets, id string) map[jetstream.ErrorCode]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	wins := 0
	codes := map[jetstream.ErrorCode]int{}
	for range 8 {
		wg.Go(func() {
			_, err := b.Workers.Create(ctx, id, []byte(`{}`))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
				return
			}
			require.True(t, layout.IsLostRace(err), "not classified as a lost race: %v", err)
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) {
				codes[apiErr.ErrorCode]++
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, wins, fmt.Sprintf("claims of %s", id))
	return codes
}
