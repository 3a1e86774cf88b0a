package cmd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

// testFleet runs real workers in this process against one NATS server,
// tuned to converge fast. Joins and partition-set changes wait for a long
// scale window, so the tests decide when the fleet rebalances (with
// `parti rebalance --force`); the first assignment comes after a short
// cold start.
type testFleet struct {
	t       *testing.T
	url     string
	cluster string
	parts   []model.Partition
	conn    []nats.Option // e.g. the workers' credentials
	nodes   map[string]*fleetNode
}

type fleetNode struct {
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
}

// startFleet starts workers w0..w(n-1) owning 30 partitions p-00..p-29 and
// waits until they cover them.
func startFleet(t *testing.T, url, cluster string, n int, conn ...nats.Option) *testFleet {
	t.Helper()
	parts := make([]model.Partition, 30)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%02d", i), Weight: 1}
	}
	f := &testFleet{t: t, url: url, cluster: cluster, parts: parts, conn: conn, nodes: map[string]*fleetNode{}}
	for i := range n {
		f.start(fmt.Sprintf("w%d", i))
	}
	f.covered(30*time.Second, n)
	return f
}

func (f *testFleet) start(id string) {
	t := f.t
	t.Helper()
	nc := natstest.Connect(t, f.url, append([]nats.Option{nats.Name("worker " + id)}, f.conn...)...)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	lay, err := layout.New(layout.Options{Cluster: f.cluster, WorkerTTL: time.Second, LeaderTTL: time.Second})
	require.NoError(t, err)
	b, err := lay.Ensure(t.Context(), js)
	require.NoError(t, err)
	w, err := worker.New(worker.Options{Conn: nc, Buckets: b, WorkerID: id, HeartbeatInterval: 200 * time.Millisecond,
		Partitions: f.parts, LeaveTimeout: 3 * time.Second,
		Calculator: calculator.Config{ColdStartWindow: 500 * time.Millisecond, ScaleWindow: time.Minute,
			Cooldown: 100 * time.Millisecond}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	n := &fleetNode{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- w.Run(ctx) }()
	f.nodes[id] = n
	t.Cleanup(func() { _ = f.stop(id) })
}

// stop makes worker id leave gracefully and returns what its Run returned.
func (f *testFleet) stop(id string) error {
	n, ok := f.nodes[id]
	if !ok {
		return nil
	}
	delete(f.nodes, id)
	n.cancel()
	return <-n.done
}

// covered waits until want workers own every partition of the set exactly
// once, nothing is pending and all of them applied the same version.
func (f *testFleet) covered(timeout time.Duration, want int) {
	f.t.Helper()
	natstest.WaitFor(f.t, timeout, func() error {
		owner := map[string]string{}
		versions := map[uint64]bool{}
		busy := 0
		for id, n := range f.nodes {
			st := n.w.Status()
			if len(st.Pending) > 0 {
				return fmt.Errorf("%s has pending %v", id, st.Pending)
			}
			versions[st.Version] = true
			if len(st.Partitions) > 0 {
				busy++
			}
			for _, p := range st.Partitions {
				if o, dup := owner[p]; dup {
					return fmt.Errorf("%s owned by %s and %s", p, o, id)
				}
				owner[p] = id
			}
		}
		switch {
		case len(owner) != len(f.parts):
			return fmt.Errorf("%d of %d partitions owned", len(owner), len(f.parts))
		case busy != want:
			return fmt.Errorf("%d workers own partitions, want %d", busy, want)
		case len(versions) != 1:
			return fmt.Errorf("workers on versions %v", versions)
		}
		return nil
	})
}

// leader returns the ID of the worker that leads, waiting for one.
func (f *testFleet) leader() string {
	f.t.Helper()
	var id string
	natstest.WaitFor(f.t, 10*time.Second, func() error {
		for wid, n := range f.nodes {
			if n.w.Status().IsLeader {
				id = wid
				return nil
			}
		}
		return fmt.Errorf("no leader")
	})
	return id
}

// runTTY runs the CLI with stdout as a terminal (aligned tables, headers).
func runTTY(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	io := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb, OutIsTTY: true}
	code := run(context.Background(), args, io, func(k string) (string, bool) {
		if k == "COLUMNS" {
			return "120", true
		}
		return "", false
	})
	return result{code, out.String(), errb.String()}
}

// runStdin runs the CLI with stdin.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	io := &IOStreams{In: strings.NewReader(stdin), Out: &out, Err: &errb}
	code := run(context.Background(), args, io, func(string) (string, bool) { return "", false })
	return result{code, out.String(), errb.String()}
}
