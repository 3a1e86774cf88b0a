package election_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ttl = time.Second

func setup(t *testing.T) (context.Context, *natstest.Node, *layout.Buckets) {
	t.Helper()
	n := natstest.RunServer(t)
	js, err := jetstream.New(natstest.Connect(t, n.URL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	l, err := layout.New(layout.Options{Cluster: "el", LeaderTTL: ttl})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	return ctx, n, b
}

// node runs one elector's Campaign in a goroutine owned by the test.
type node struct {
	el     *election.Elector
	cancel context.CancelFunc
	done   chan struct{}
}

func start(ctx context.Context, t *testing.T, b *layout.Buckets, id string) *node {
	t.Helper()
	el, err := election.New(election.Config{Leader: b.Leader, Assignments: b.Assignments, ID: id, TTL: ttl})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	n := &node{el: el, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		_ = el.Campaign(cctx)
	}()
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	n.cancel()
	<-n.done
}

func nextTerm(t *testing.T, n *node, within time.Duration) *election.Term {
	t.Helper()
	select {
	case term := <-n.el.Terms():
		return term
	case <-time.After(within):
		t.Fatalf("no term within %s", within)
		return nil
	}
}

func TestSingleLeaderEpochs(t *testing.T) {
	ctx, _, b := setup(t)
	a := start(ctx, t, b, "worker-0")
	term := nextTerm(t, a, 5*time.Second)
	require.Equal(t, uint64(1), term.Epoch)
	require.Equal(t, b.Layout.AssignmentsBucket(), term.Fence.Bucket)
	require.Equal(t, layout.KeyEpoch, term.Fence.Key)
	require.Same(t, term, a.el.Current())

	e, err := b.Leader.Get(ctx, layout.KeyLeader)
	require.NoError(t, err)
	rec, err := codec.DecodeLeader(e.Key(), e.Value())
	require.NoError(t, err)
	require.Equal(t, "worker-0", rec.ID)
	require.Equal(t, uint64(1), rec.Epoch)
	ep, err := b.Assignments.Get(ctx, layout.KeyEpoch)
	require.NoError(t, err)
	require.Equal(t, term.Fence.Revision, ep.Revision())

	// Still leading after several TTLs.
	select {
	case <-term.Done():
		t.Fatalf("term ended: %v", term.Err())
	case <-time.After(3 * ttl):
	}
	natstest.WaitFor(t, 5*time.Second, func() error {
		if l, ok := a.el.Leader(); !ok || l.ID != "worker-0" {
			return context.DeadlineExceeded
		}
		return nil
	})
}

// TestStoppedLeaderReplaced: a leader that stops renewing (paused or
// crashed: its campaign stops without resigning) is replaced within about
// the TTL, with a higher epoch.
func TestStoppedLeaderReplaced(t *testing.T) {
	ctx, _, b := setup(t)
	a := start(ctx, t, b, "worker-0")
	ta := nextTerm(t, a, 5*time.Second)
	c := start(ctx, t, b, "worker-1")

	stopped := time.Now()
	a.stop()
	require.ErrorIs(t, ta.Err(), election.ErrStopped)
	tc := nextTerm(t, c, 5*time.Second)
	took := time.Since(stopped)
	t.Logf("leader TTL %s: takeover %s after the old leader stopped renewing", ttl, took.Round(time.Millisecond))
	require.Less(t, took, ttl+time.Second)
	require.Equal(t, ta.Epoch+1, tc.Epoch)
}

func TestResignHandsOver(t *testing.T) {
	ctx, _, b := setup(t)
	a := start(ctx, t, b, "worker-0")
	ta := nextTerm(t, a, 5*time.Second)
	c := start(ctx, t, b, "worker-1")
	resigned := time.Now()
	require.NoError(t, a.el.Resign(ctx))
	require.ErrorIs(t, ta.Err(), election.ErrResigned)
	require.Nil(t, a.el.Current())
	tc := nextTerm(t, c, 5*time.Second)
	t.Logf("takeover %s after resign", time.Since(resigned).Round(time.Millisecond))
	require.Less(t, time.Since(resigned), ttl)
	require.Equal(t, uint64(2), tc.Epoch)
}

// TestRenewDeadline: when renewals fail (server gone), the leader ends its
// term by the renew deadline, before the key could expire.
func TestRenewDeadline(t *testing.T) {
	ctx, n, b := setup(t)
	a := start(ctx, t, b, "worker-0")
	term := nextTerm(t, a, 5*time.Second)
	n.Shutdown()
	down := time.Now()
	select {
	case <-term.Done():
	case <-time.After(2 * ttl):
		t.Fatal("term did not end")
	}
	t.Logf("term ended %s after the server went down: %v", time.Since(down).Round(time.Millisecond), term.Err())
	require.ErrorIs(t, term.Err(), election.ErrRenewDeadline)
	require.Less(t, time.Since(down), ttl)
}

func TestConfigChecks(t *testing.T) {
	_, err := election.New(election.Config{})
	require.Error(t, err)
}
