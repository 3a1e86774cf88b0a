package cmd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestBuildWorkersView(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	hb := func(id string, age time.Duration, applied uint64, draining bool) heartbeat {
		return heartbeat{Heartbeat: codec.Heartbeat{Worker: id, Host: "h-" + id, PID: 7, Applied: applied, Draining: draining},
			Stored: now.Add(-age)}
	}
	a := model.Assignment{Version: 4, Owners: map[string][]string{"a": {"x", "y"}, "b": {"z"}, "gone": {"q"}}}
	parts := []model.Partition{{Key: "x", Weight: 2}, {Key: "y", Weight: 0.5}, {Key: "z", Weight: 1}, {Key: "q", Weight: 1}}
	v := buildWorkersView([]heartbeat{
		hb("a", 100*time.Millisecond, 4, false),
		hb("b", 1600*time.Millisecond, 3, false),
		hb("c", -time.Second, 4, true), // clock skew: never negative
	}, "a", a, parts, 3*time.Second, now)
	assert.Equal(t, WorkersView{Workers: []WorkerView{
		{ID: "a", Host: "h-a", PID: 7, Leader: true, LastSeenMS: 100, Partitions: 2, Weight: 2.5, AppliedVersion: 4, Status: WorkerAlive},
		{ID: "b", Host: "h-b", PID: 7, LastSeenMS: 1600, Partitions: 1, Weight: 1, AppliedVersion: 3, Status: WorkerSuspect},
		{ID: "c", Host: "h-c", PID: 7, LastSeenMS: 0, Partitions: 0, Weight: 0, AppliedVersion: 4, Status: WorkerDraining},
	}}, v)

	tb := &table{}
	workersTable(tb, v)
	assert.Equal(t, []string{"a", "h-a", "7", "yes", "100", "2", "2.5", "4", "alive"}, tb.rows[0])
	tb = &table{tty: true}
	workersTable(tb, v)
	assert.Equal(t, "1.6s", tb.rows[1][4])
}

func TestDiffPartitions(t *testing.T) {
	cur := []model.Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 2}, {Key: "c", Weight: 1}}
	next := []model.Partition{{Key: "d", Weight: 4}, {Key: "b", Weight: 3}, {Key: "a", Weight: 1}}
	v := diffPartitions(cur, next)
	assert.Equal(t, []PartitionWeight{{"d", 4}}, v.Added)
	assert.Equal(t, []PartitionWeight{{"c", 1}}, v.Removed)
	assert.Equal(t, []WeightChange{{"b", 2, 3}}, v.Changed)
	assert.Equal(t, 3, v.Count)
	assert.InDelta(t, 8, v.TotalWeight, 0)

	v = diffPartitions(nil, next)
	assert.Len(t, v.Added, 3)
	v = diffPartitions(cur, cur)
	assert.Empty(t, v.Added)
	assert.Empty(t, v.Removed)
	assert.Empty(t, v.Changed)
}

func TestRebalanceViewAndTable(t *testing.T) {
	// A leader that predates previous_version, result and moves.
	v := rebalanceView(codec.ControlReply{Leader: "w0", Epoch: 2, Result: &codec.RebalanceResult{DryRun: true, Version: 3, Moved: 2}})
	assert.Equal(t, "dry-run", v.Result)
	assert.Nil(t, v.Moves)
	v = rebalanceView(codec.ControlReply{Leader: "w0", Epoch: 2, Result: &codec.RebalanceResult{Version: 4, Moved: 2}})
	assert.Equal(t, "published", v.Result)
	assert.Contains(t, rebalanceSummary(v), "moved     2 (the leader could not list them)")

	v = rebalanceView(codec.ControlReply{Leader: "w0", Epoch: 2, Result: &codec.RebalanceResult{Version: 5, PreviousVersion: 4,
		Moved: 1, DurationMS: 1.25, Result: "published", MaxOverAvg: 1.0625,
		Moves: []codec.Move{{Partition: "p", From: "", To: "w1"}}}})
	tb := &table{}
	rebalanceTable(tb, v)
	assert.Equal(t, [][]string{{"published", "5", "4", "1", "1.25", "1.062"}, {"p", "", "w1"}}, tb.rows)
	tb = &table{tty: true}
	rebalanceTable(tb, v)
	assert.Equal(t, [][]string{{"p", "-", "w1"}}, tb.rows)
	assert.Equal(t, "leader    w0 (epoch 2)\nresult    published\nversion   5 (previous 4)\nmoved     1\nbalance   1.062 max/avg load\nduration  1.25ms\n\n",
		rebalanceSummary(v))
}

func TestFormatMS(t *testing.T) {
	for ms, want := range map[float64]string{0: "0ms", 0.123: "0.12ms", 7: "7ms", 9.999: "10ms", 12.4: "12ms", 999: "999ms", 1540: "1.5s", 65000: "1m5s"} {
		assert.Equal(t, want, formatMS(ms), ms)
	}
}

// fakeLeader answers the control subject of cluster with h, as a leader
// would.
func fakeLeader(t *testing.T, url, cluster string, h control.Handler) {
	t.Helper()
	l, err := layout.New(layout.Options{Cluster: cluster})
	require.NoError(t, err)
	srv, err := control.Serve(context.Background(), natstest.Connect(t, url), l.ControlSubject(), "fake", 9, h)
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
}

func TestRebalanceLeaderAnswers(t *testing.T) {
	n := natstest.RunServer(t)
	fakeLeader(t, n.URL(), "refuse", func(context.Context, codec.ControlRequest) (*codec.RebalanceResult, error) {
		return nil, errors.New("circuit breaker open: next retry at 12:00")
	})
	r := runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "refuse", "rebalance", "--force")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the leader refused the rebalance")
	assert.Contains(t, r.stderr, "fake (epoch 9): circuit breaker open")

	// An older leader: no previous_version, result or moves.
	var got codec.ControlRequest
	fakeLeader(t, n.URL(), "old", func(_ context.Context, req codec.ControlRequest) (*codec.RebalanceResult, error) {
		got = req
		return &codec.RebalanceResult{Version: 6, Moved: 3, DurationMS: 2}, nil
	})
	r = runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "old", "rebalance", "--force", "--reason", "why not", "-o", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"version":6,"previous_version":0,"moved":3,"duration_ms":2,"result":"published","moves":null,"max_over_avg":0}`, r.stdout)
	assert.Equal(t, codec.ControlRequest{Op: codec.OpRebalance, Reason: "why not"}, got)
}

func TestWaitApplied(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setupCluster(t, n.URL(), "wait")
	put := func(id string, applied uint64, draining bool) {
		v, err := codec.Encode(&codec.Heartbeat{Worker: id, Nonce: "n", Applied: applied, Draining: draining, At: time.Now()})
		require.NoError(t, err)
		_, err = b.Workers.Put(ctx, id, v)
		require.NoError(t, err)
	}
	put("a", 5, false)
	put("b", 4, false)
	put("c", 1, true) // draining: not waited for

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err := waitApplied(short, b, 5)
	require.ErrorContains(t, err, "not every live worker applied version 5 in time: b at 4")

	done := make(chan error, 1)
	var count int
	go func() {
		var err error
		count, err = waitApplied(ctx, b, 5)
		done <- err
	}()
	put("b", 5, false)
	require.NoError(t, <-done)
	assert.Equal(t, 2, count)
}
