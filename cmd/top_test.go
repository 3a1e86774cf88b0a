package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

// topFleet is n workers of cluster "top" on an embedded server, in this
// process.
type topFleet struct {
	url     string
	workers []*worker.Worker
}

func startTopFleet(t *testing.T, n int) *topFleet {
	t.Helper()
	srv := natstest.RunServer(t)
	f := &topFleet{url: srv.URL()}
	parts := demoPartitions(12)
	for i := range n {
		nc := natstest.Connect(t, f.url)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		l, err := layout.New(layout.Options{Cluster: "top", WorkerTTL: 1500 * time.Millisecond, LeaderTTL: 1500 * time.Millisecond})
		require.NoError(t, err)
		b, err := l.Ensure(t.Context(), js)
		require.NoError(t, err)
		w, err := worker.New(worker.Options{Conn: nc, Buckets: b, WorkerID: fmt.Sprintf("top-w%d", i),
			HeartbeatInterval: 300 * time.Millisecond, Partitions: parts, LeaveTimeout: 2 * time.Second,
			Calculator: calculator.Config{ColdStartWindow: 300 * time.Millisecond, ScaleWindow: 100 * time.Millisecond,
				Cooldown: 100 * time.Millisecond}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		f.workers = append(f.workers, w)
	}
	return f
}

// leader waits until one worker leads, its calculator is idle with a
// history, and every worker applied its version; it returns the leader.
func (f *topFleet) settled(t *testing.T) *worker.Worker {
	t.Helper()
	var leader *worker.Worker
	natstest.WaitFor(t, 20*time.Second, func() error {
		leader = nil
		for _, w := range f.workers {
			if s := w.Status(); s.IsLeader && s.Calculator != nil {
				leader = w
			}
		}
		if leader == nil {
			return errors.New("no leader")
		}
		c := leader.Status().Calculator
		if c.State.String() != "idle" || len(c.History) == 0 || c.Version == 0 {
			return fmt.Errorf("calculator %s, %d records", c.State, len(c.History))
		}
		for _, w := range f.workers {
			if w.Status().Version != c.Version {
				return fmt.Errorf("%s has not applied v%d", w.ID(), c.Version)
			}
		}
		return nil
	})
	return leader
}

func TestTopPrintsOneSnapshotWhenPiped(t *testing.T) {
	f := startTopFleet(t, 2)
	leader := f.settled(t)
	// The leader publishes its status every second; wait for it to say idle.
	var r result
	natstest.WaitFor(t, 10*time.Second, func() error {
		r = runCLI(t, nil, "top", "--nats-url", f.url, "--cluster", "top")
		if r.code != ExitOK {
			return fmt.Errorf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "idle since") {
			return fmt.Errorf("not idle yet:\n%s", r.stdout)
		}
		return nil
	})
	out := r.stdout
	t.Logf("parti top | cat:\n%s", out)
	assert.NotContains(t, out, "\x1b", "no escape sequences when piped")
	assert.Regexp(t, `(?m)^cluster +top$`, out)
	assert.Regexp(t, `(?m)^leader +`+leader.ID()+` \(epoch [1-9]`, out)
	assert.Regexp(t, `(?m)^state +idle since `, out)
	assert.Regexp(t, `(?m)^breaker +closed \(failures 0`, out)
	assert.Regexp(t, `(?m)^last error +none$`, out)
	lines := strings.Split(out, "\n")
	for _, w := range f.workers {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w.ID()+" ") {
				found = true
				assert.Contains(t, l, " alive ", l)
				if w == leader {
					assert.True(t, strings.HasSuffix(strings.TrimSpace(l), "*"), "leader marker: %q", l)
				}
			}
		}
		assert.True(t, found, "a row for %s", w.ID())
	}
	assert.Contains(t, out, "TIME")
	assert.Contains(t, out, "cold-start")
	assert.Contains(t, out, "published")
}

func TestTopErrors(t *testing.T) {
	r := runCLI(t, nil, "top", "--nats-url", "nats://127.0.0.1:1", "--timeout", "300ms")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)

	srv := natstest.RunServer(t)
	r = runCLI(t, nil, "top", "--nats-url", srv.URL(), "--cluster", "nothing-here")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, `no parti cluster "nothing-here"`)

	r = runCLI(t, nil, "top", "--timeout", "0s")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
}

// keyboard is a terminal's keyboard for the dashboard: each press is
// read on its own.
type keyboard struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newKeyboard(t *testing.T) *keyboard {
	r, w := io.Pipe()
	k := &keyboard{r: r, w: w}
	t.Cleanup(func() { _ = w.Close() })
	return k
}

// press writes one key; it returns once the dashboard has read it.
func (k *keyboard) press(t *testing.T, key string) {
	t.Helper()
	_, err := k.w.Write([]byte(key))
	require.NoError(t, err)
}

// runAttached runs the CLI with stdout treated as a terminal and k as the
// keyboard, until it returns or ctx ends.
func runAttached(ctx context.Context, k *keyboard, args ...string) (done <-chan int, stdout, stderr *syncBuffer) {
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ios := &IOStreams{In: k.r, Out: stdout, Err: stderr, OutIsTTY: true}
	ch := make(chan int, 1)
	go func() { ch <- run(ctx, args, ios, func(string) (string, bool) { return "", false }) }()
	return ch, stdout, stderr
}

func waitExit(t *testing.T, done <-chan int, stderr *syncBuffer) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit; stderr:\n%s", stderr.String())
		return -1
	}
}

func TestTopDashboardForcesRebalanceAfterConfirmation(t *testing.T) {
	f := startTopFleet(t, 2)
	leader := f.settled(t)
	before := leader.Status().Calculator.Version
	k := newKeyboard(t)
	done, stdout, stderr := runAttached(t.Context(), k, "top", "--nats-url", f.url, "--cluster", "top")

	k.press(t, "r")
	k.press(t, "n") // declined: nothing is sent
	k.press(t, "r")
	k.press(t, "y")
	natstest.WaitFor(t, 10*time.Second, func() error {
		c := leader.Status().Calculator
		if c == nil {
			return errors.New("leader changed")
		}
		for _, rec := range c.History {
			if rec.Trigger == "force" && rec.Reason == "parti top" {
				return nil
			}
		}
		return fmt.Errorf("no forced rebalance yet (version %d → %d)", before, c.Version)
	})
	forced := 0
	for _, rec := range leader.Status().Calculator.History {
		if rec.Trigger == "force" {
			forced++
		}
	}
	assert.Equal(t, 1, forced, "declining sends nothing; confirming sends one request")
	k.press(t, "q")
	assert.Equal(t, ExitOK, waitExit(t, done, stderr), stderr.String())
	assert.Contains(t, stdout.String(), "\x1b[?1049h", "the dashboard used the alternate screen")
	assert.Contains(t, stdout.String(), "\x1b[?1049l", "and restored the terminal")
}

func TestRunTUIDetachKeepsTheNodeRunning(t *testing.T) {
	k := newKeyboard(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, _, stderr := runAttached(ctx, k, "run", "--tui", "--embedded", "always", "--nats-url", "nats://127.0.0.1:-1",
		"--data-dir", t.TempDir(), "--http-addr", "", "--partitions", "8", "--cold-start-window", "100ms")
	k.press(t, "q")
	natstest.WaitFor(t, 20*time.Second, func() error {
		s := stderr.String()
		if !strings.Contains(s, "dashboard detached") || !strings.Contains(s, "is running in cluster") {
			return fmt.Errorf("stderr:\n%s", s)
		}
		return nil
	})
	select {
	case code := <-done:
		t.Fatalf("the node stopped (exit %d) after q; stderr:\n%s", code, stderr.String())
	default:
	}
	cancel() // SIGINT: graceful leave
	assert.Equal(t, ExitOK, waitExit(t, done, stderr), stderr.String())
}

func TestRunTUICtrlCStopsTheNode(t *testing.T) {
	k := newKeyboard(t)
	done, _, stderr := runAttached(t.Context(), k, "run", "--tui", "--embedded", "always", "--nats-url", "nats://127.0.0.1:-1",
		"--data-dir", t.TempDir(), "--http-addr", "", "--partitions", "8", "--cold-start-window", "100ms")
	k.press(t, "\x03") // ctrl+c, as the terminal sends it in raw mode
	assert.Equal(t, ExitOK, waitExit(t, done, stderr), stderr.String())
	assert.Contains(t, stderr.String(), "is leaving gracefully")
}

func TestRunTUIWithoutTerminalRunsHeadless(t *testing.T) {
	stderr, stop := startRun(t, "run", "--tui", "--embedded", "always", "--nats-url", "nats://127.0.0.1:-1",
		"--data-dir", t.TempDir(), "--http-addr", "", "--partitions", "4")
	natstest.WaitFor(t, 20*time.Second, func() error {
		if !strings.Contains(stderr.String(), "is running in cluster") {
			return errors.New("no banner")
		}
		return nil
	})
	assert.Contains(t, stderr.String(), "--tui needs a terminal")
	assert.Equal(t, ExitOK, stop())
}

func TestDashboardLogHoldsLinesUntilDetach(t *testing.T) {
	var out syncBuffer
	l := newDashboardLog(&out)
	for i := range dashboardLogLines + 3 {
		fmt.Fprintf(l, "line %d\n", i)
	}
	assert.Empty(t, out.String())
	l.detach()
	assert.Contains(t, out.String(), "3 earlier log lines")
	assert.Contains(t, out.String(), fmt.Sprintf("line %d\n", dashboardLogLines+2))
	assert.NotContains(t, out.String(), "line 2\n")
	fmt.Fprintln(l, "after")
	assert.True(t, strings.HasSuffix(out.String(), "after\n"))
	l.detach() // idempotent
}
