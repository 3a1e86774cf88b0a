package control_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRequestReply(t *testing.T) {
	n := natstest.RunServer(t)
	nc := natstest.Connect(t, n.URL())
	l, err := layout.New(layout.Options{Cluster: "ctl"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subj := l.ControlSubject()

	// Nobody serving: fails fast with ErrNoLeader.
	start := time.Now()
	_, err = control.Request(ctx, nc, subj, codec.ControlRequest{Op: codec.OpRebalance})
	require.ErrorIs(t, err, control.ErrNoLeader)
	require.Less(t, time.Since(start), time.Second)

	var got []codec.ControlRequest
	srv, err := control.Serve(ctx, nc, subj, "worker-0", 3, func(_ context.Context, req codec.ControlRequest) (*codec.RebalanceResult, error) {
		got = append(got, req)
		if req.Reason == "fail" {
			return nil, errors.New("breaker open")
		}
		return &codec.RebalanceResult{DryRun: req.DryRun, Version: 8, Moved: 2, Plan: map[string][]string{"worker-0": {"a"}}}, nil
	})
	require.NoError(t, err)
	defer srv.Stop()

	rep, err := control.Request(ctx, nc, subj, codec.ControlRequest{Op: codec.OpRebalance, DryRun: true, Reason: "ops"})
	require.NoError(t, err)
	require.Equal(t, "worker-0", rep.Leader)
	require.Equal(t, uint64(3), rep.Epoch)
	require.True(t, rep.Result.DryRun)
	require.Equal(t, 2, rep.Result.Moved)

	rep, err = control.Request(ctx, nc, subj, codec.ControlRequest{Op: codec.OpRebalance, Reason: "fail"})
	require.ErrorIs(t, err, control.ErrRejected)
	require.ErrorContains(t, err, "breaker open")
	require.Equal(t, "breaker open", rep.Error)

	_, err = control.Request(ctx, nc, subj, codec.ControlRequest{Op: "explode"})
	require.ErrorIs(t, err, control.ErrRejected)
	require.ErrorContains(t, err, "unknown op")

	// Raw malformed request gets a clear error reply.
	m, err := nc.RequestWithContext(ctx, subj, []byte(`{"dry_run":true}`))
	require.NoError(t, err)
	r, err := codec.DecodeControlReply(subj, m.Data)
	require.NoError(t, err)
	require.Contains(t, r.Error, "bad request")
	require.Len(t, got, 2)

	srv.Stop()
	_, err = control.Request(ctx, nc, subj, codec.ControlRequest{Op: codec.OpRebalance})
	require.ErrorIs(t, err, control.ErrNoLeader)
}

func TestRequestTimeoutIsNoLeader(t *testing.T) {
	n := natstest.RunServer(t)
	nc := natstest.Connect(t, n.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	release := make(chan struct{})
	srv, err := control.Serve(ctx, nc, "parti.t.control.rebalance", "w", 1, func(hctx context.Context, _ codec.ControlRequest) (*codec.RebalanceResult, error) {
		select {
		case <-release:
		case <-hctx.Done():
		}
		return nil, nil
	})
	require.NoError(t, err)
	rctx, rcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer rcancel()
	_, err = control.Request(rctx, nc, "parti.t.control.rebalance", codec.ControlRequest{Op: codec.OpRebalance})
	require.ErrorIs(t, err, control.ErrNoLeader)
	close(release)
	srv.Stop()
}

func TestStatusPublisherFenced(t *testing.T) {
	n := natstest.RunServer(t)
	js, err := jetstream.New(natstest.Connect(t, n.URL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := layout.New(layout.Options{Cluster: "ctl"})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)

	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	snaps := control.WatchStatus(wctx, b, control.WatchOptions{})
	next := func() control.Snapshot {
		t.Helper()
		select {
		case s := <-snaps:
			return s
		case <-time.After(10 * time.Second):
			t.Fatal("no snapshot")
			return control.Snapshot{}
		}
	}
	require.Nil(t, next().Status)

	p1, err := control.NewPublisher(ctx, b, "worker-0", 1)
	require.NoError(t, err)
	require.NoError(t, p1.PublishStatus(ctx, codec.Status{Leader: "worker-0", Epoch: 1, State: "stable"}))
	natstest.WaitFor(t, 10*time.Second, func() error {
		if s := next(); s.Status == nil || s.Status.Epoch != 1 {
			return errors.New("status of epoch 1 not seen")
		}
		return nil
	})

	p2, err := control.NewPublisher(ctx, b, "worker-1", 2)
	require.NoError(t, err)
	require.NoError(t, p2.PublishHistory(ctx, codec.History{Leader: "worker-1", Epoch: 2, Entries: []codec.HistoryEntry{{Reason: "join", Result: "ok"}}}))
	require.NoError(t, p2.PublishStatus(ctx, codec.Status{Leader: "worker-1", Epoch: 2, State: "scaling"}))
	// The deposed publisher is refused, and cannot take the fence back.
	err = p1.PublishStatus(ctx, codec.Status{Leader: "worker-0", Epoch: 1, State: "stale"})
	require.ErrorIs(t, err, layout.ErrFenced)
	_, err = control.NewPublisher(ctx, b, "worker-0", 1)
	require.ErrorIs(t, err, layout.ErrFenced)
	// Same epoch again (restarted publisher in the same term) is fine.
	p2b, err := control.NewPublisher(ctx, b, "worker-1", 2)
	require.NoError(t, err)
	require.Equal(t, uint64(2), p2b.Epoch())

	natstest.WaitFor(t, 10*time.Second, func() error {
		s := next()
		if s.Status == nil || s.Status.State != "scaling" || s.History == nil {
			return errors.New("epoch 2 status and history not seen")
		}
		return nil
	})
	wcancel()
	for range snaps {
	}
}
