package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/tui"
	"github.com/parti-dev/parti/tui/source"
	"github.com/parti-dev/parti/worker"
)

// DefaultTopTimeout bounds connecting for `parti top` and, when it prints
// one snapshot, reading the cluster's state.
const DefaultTopTimeout = 5 * time.Second

// TopOptions are the inputs of `parti top`.
type TopOptions struct {
	Timeout time.Duration
	Once    bool
}

func newCmdTop(f *Factory) *cobra.Command {
	o := &TopOptions{}
	c := &cobra.Command{
		Use:   "top",
		Short: "Live dashboard of a parti cluster",
		Long: `top is the live operations dashboard of a cluster, over NATS from any machine
that reaches it: every worker (status, heartbeat age, partitions, weight share
against the fair share, applied version), the leader, the calculator's state
and circuit breaker, the assignment, the rebalance history and an event log.

Keys: tab or 1-4 switch views (workers, assignments, history, events),
arrows or j/k move, enter opens a worker, / filters, r forces a rebalance
(after a y/n confirmation), d shows a dry run (what would move), p pauses,
? shows every key, q or ctrl+c quits. Quitting changes nothing in the
cluster. See docs/tui.md.

When NATS is unreachable the header says STALE and since when; the last
data stays on screen until the connection is back.

When stdout is not a terminal (or with --once), top prints one text
snapshot (cluster, leader, calculator state, breaker, workers, the last
rebalances) and exits 0.

Exit codes: 3 when NATS is not reachable within --timeout, 5 when it
refuses the credentials, 1 when the cluster has no buckets.`,
		Example: `  parti top
  parti top --nats-url nats://10.0.0.5:4222 --cluster orders
  parti top | less      # one text snapshot`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Timeout <= 0 {
				return usageErrorf("invalid --timeout %s: must be positive", o.Timeout)
			}
			return o.run(c.Context(), f)
		},
	}
	c.Flags().DurationVar(&o.Timeout, "timeout", DefaultTopTimeout, "give up connecting after this long (and, for one snapshot, reading)")
	c.Flags().BoolVar(&o.Once, "once", false, "print one text snapshot and exit, even on a terminal")
	return c
}

// run connects, follows the cluster and shows the dashboard or prints one
// snapshot.
func (o *TopOptions) run(ctx context.Context, f *Factory) error {
	opts, r, err := f.natsOptions(connectSpec{name: "parti-top", timeout: o.Timeout, retry: true})
	if err != nil {
		return err
	}
	tr := natsconn.NewTracker()
	nc, err := natsconn.Connect(opts, tr)
	if err != nil {
		return connectError(r.URLs, err)
	}
	defer closeConn(nc, tr, time.Second)
	if err := waitConnected(ctx, nc, tr, r.URLs, o.Timeout); err != nil {
		return interrupted(ctx, err)
	}
	urls := natsconn.RedactURLs(r.URLs)
	b, err := openClusterBuckets(ctx, nc, f.Global.Cluster, urls, o.Timeout)
	if err != nil {
		return interrupted(ctx, err)
	}
	srcCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	src, err := source.Remote(srcCtx, source.Options{Buckets: b, Tracker: tr, URL: urls})
	if err != nil {
		return err
	}
	defer src.Stop()
	if !f.IO.OutIsTTY || o.Once {
		return printSnapshot(ctx, f, src, o.Timeout)
	}
	_, err = runDashboard(ctx, f, tui.Deps{Source: src,
		Rebalance: controlRebalance(nc, b.Layout.ControlSubject(), "parti top")})
	return err
}

// openClusterBuckets opens the cluster's existing buckets, read-only.
func openClusterBuckets(ctx context.Context, nc *nats.Conn, cluster, urls string, timeout time.Duration) (*layout.Buckets, error) {
	l, err := layout.New(layout.Options{Cluster: cluster})
	if err != nil {
		return nil, usageErrorf("invalid --cluster: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := l.Open(ctx, js)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, fmt.Errorf("no parti cluster %q on %s: its buckets do not exist (has a node run with --cluster %s?)", cluster, urls, cluster)
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return nil, fmt.Errorf("JetStream is not enabled on %s: %w", urls, err)
	case err != nil:
		return nil, fmt.Errorf("open the buckets of cluster %q on %s: %w", cluster, urls, err)
	}
	return b, nil
}

// printSnapshot waits for a complete snapshot (every watcher has read the
// current state) and prints it as text. After timeout it prints what it
// has, with a note on stderr.
func printSnapshot(ctx context.Context, f *Factory, src *source.Source, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var snap tui.Snapshot
	have := false
	for done := false; !done; {
		select {
		case s, ok := <-src.Snapshots():
			if !ok {
				return errors.New("the cluster watch stopped")
			}
			snap, have = s, true
			done = s.Synced
		case <-timer.C:
			if !have {
				return fmt.Errorf("no state of cluster %q could be read within %s", f.Global.Cluster, timeout)
			}
			fmt.Fprintf(f.IO.Err, "the state of cluster %q was not completely read within %s; printing what was read\n",
				f.Global.Cluster, timeout)
			done = true
		case <-ctx.Done():
			return nil
		}
	}
	return tui.RenderText(f.IO.Out, &snap, time.Now(), time.Local)
}

// controlRebalance sends (dry-run) rebalance requests to the leader over nc.
func controlRebalance(nc *nats.Conn, subject, reason string) tui.RebalanceFunc {
	return func(ctx context.Context, dryRun bool) (tui.RebalanceOutcome, error) {
		reply, err := control.Request(ctx, nc, subject, codec.ControlRequest{Op: codec.OpRebalance, DryRun: dryRun, Reason: reason})
		if err != nil {
			return tui.RebalanceOutcome{}, err
		}
		out := tui.RebalanceOutcome{Leader: reply.Leader, Epoch: reply.Epoch, DryRun: dryRun}
		if res := reply.Result; res != nil {
			out.Version, out.Moved, out.Plan, out.Result = res.Version, res.Moved, res.Plan, res.Result
			out.Duration = time.Duration(res.DurationMS * float64(time.Millisecond))
		}
		return out, nil
	}
}

// runDashboard runs the dashboard on the terminal until the user quits or
// ctx ends, and returns how it ended. The terminal is restored either way.
func runDashboard(ctx context.Context, f *Factory, d tui.Deps) (tui.Outcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the model's pending commands
	st := tui.NewStyles(dashboardRenderer(f.IO.Out))
	d.Styles, d.Context = &st, ctx
	m := tui.New(d)
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithOutput(f.IO.Out), tea.WithAltScreen(),
		tea.WithoutSignalHandler()} // SIGINT and SIGTERM cancel ctx (see Execute)
	if f.IO.In != os.Stdin {
		opts = append(opts, tea.WithInput(f.IO.In))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	killed := errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil // a signal, or the node stopped
	if err != nil && !killed {
		return m.Outcome(), fmt.Errorf("dashboard: %w", err)
	}
	return m.Outcome(), nil
}

// dashboardRenderer returns the style renderer for out, with the terminal
// already asked for its colour support and background: asked later, while
// Bubble Tea reads the keyboard, the answer would be lost and the query
// would wait for its timeout.
func dashboardRenderer(out io.Writer) *lipgloss.Renderer {
	r := lipgloss.DefaultRenderer() // queried when Bubble Tea was loaded
	if out != io.Writer(os.Stdout) {
		r = lipgloss.NewRenderer(out)
	}
	_ = r.ColorProfile()
	_ = r.HasDarkBackground()
	return r
}

// dashboardLog holds the node's log lines while the dashboard owns the
// terminal (they would tear the screen) and writes them to stderr once it
// detaches, then passes later lines straight through.
type dashboardLog struct {
	mu       sync.Mutex
	w        io.Writer
	attached bool
	lines    [][]byte
	dropped  int
}

// dashboardLogLines bounds the log lines kept while attached.
const dashboardLogLines = 500

func newDashboardLog(w io.Writer) *dashboardLog { return &dashboardLog{w: w, attached: true} }

func (l *dashboardLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.attached {
		return l.w.Write(p)
	}
	if len(l.lines) == dashboardLogLines {
		l.lines = l.lines[1:]
		l.dropped++
	}
	l.lines = append(l.lines, append([]byte(nil), p...))
	return len(p), nil
}

// detach writes the held lines and lets later ones through.
func (l *dashboardLog) detach() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.attached {
		return
	}
	l.attached = false
	if l.dropped > 0 {
		fmt.Fprintf(l.w, "(%d earlier log lines from while the dashboard was attached were dropped)\n", l.dropped)
	}
	for _, line := range l.lines {
		_, _ = l.w.Write(line)
	}
	l.lines = nil
}

// attachDashboard shows the dashboard for node w (parti run --tui) in the
// background. Quitting it with q detaches: the node keeps running
// headless and its logs go to stderr again. Quitting with ctrl+c stops the
// node as a first SIGINT would (stopRun: a graceful leave). stop closes
// the dashboard if it is still open and waits until the terminal is
// restored.
func attachDashboard(ctx context.Context, f *Factory, w *worker.Worker, b *layout.Buckets, nc *nats.Conn,
	tr *natsconn.Tracker, url string, logs *dashboardLog, stopRun func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer logs.detach()
		src, err := source.InProcess(ctx, w, source.Options{Buckets: b, Tracker: tr, URL: url})
		if err != nil {
			logs.detach()
			fmt.Fprintf(f.IO.Err, "the dashboard cannot start (%v); running headless\n", err)
			return
		}
		defer src.Stop()
		outcome, err := runDashboard(ctx, f, tui.Deps{Source: src, Attached: true,
			Rebalance: controlRebalance(nc, b.Layout.ControlSubject(), "parti run --tui")})
		logs.detach()
		id := "worker " + w.ID()
		if w.ID() == "" {
			id = "the node"
		}
		switch {
		case err != nil:
			fmt.Fprintf(f.IO.Err, "%v; %s keeps running headless (Ctrl-C leaves gracefully)\n", err, id)
		case outcome == tui.OutcomeStop:
			fmt.Fprintf(f.IO.Err, "dashboard closed with ctrl+c: %s is leaving gracefully (press Ctrl-C twice to force exit)\n", id)
			stopRun()
		case outcome == tui.OutcomeDetach:
			fmt.Fprintf(f.IO.Err, "dashboard detached: %s keeps running headless; Ctrl-C leaves gracefully\n", id)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// tuiFlagHelp is the help text of `parti run --tui`.
var tuiFlagHelp = strings.Join([]string{
	"attach the live dashboard to this node (needs a terminal):",
	"q detaches and leaves the node running headless, ctrl+c stops the node",
}, " ")
