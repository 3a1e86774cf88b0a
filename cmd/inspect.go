package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/store"
)

// DefaultInspectTimeout bounds connecting and reading for `parti inspect`.
const DefaultInspectTimeout = 5 * time.Second

// inspectTargets are the subcommands of `parti inspect`, for help and
// completion.
var inspectTargets = []string{"assignments", "workers", "leader", "history", "partitions"}

func newCmdInspect(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "inspect",
		Short: "Read the cluster's state: assignments, workers, leader, history, partitions",
		Long: `inspect reads the cluster's state from NATS and prints it as a table, JSON or
YAML. It only reads: it creates nothing and needs no running node.

  assignments  the latest committed assignment: each worker's partitions
  workers      live workers: host, pid, heartbeat age, load, applied version
  leader       the current leader, its epoch and since when it leads
  history      the leader's recent rebalances
  partitions   the partition set: keys, weights and owners`,
		Args: cobra.ArbitraryArgs,
		// Cobra completes the targets (subcommands); no file names.
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown inspect target %q: want one of %s (see '%s --help')",
					args[0], strings.Join(inspectTargets, ", "), c.CommandPath())
			}
			return c.Help()
		},
	}
	c.AddCommand(newCmdInspectAssignments(f), newCmdInspectWorkers(f), newCmdInspectLeader(f),
		newCmdInspectHistory(f), newCmdInspectPartitions(f))
	return c
}

// addTimeoutFlag adds --timeout to c: the bound on the whole command
// (connecting, reading, waiting). validateTimeout rejects values <= 0.
func addTimeoutFlag(c *cobra.Command, v *time.Duration, def time.Duration, what string) {
	c.Flags().DurationVar(v, "timeout", def, what)
}

// validateTimeout is the usage check of --timeout.
func validateTimeout(d time.Duration) error {
	if d <= 0 {
		return usageErrorf("invalid --timeout %s: must be positive", d)
	}
	return nil
}

// InspectAssignmentsOptions are the inputs of `parti inspect assignments`.
type InspectAssignmentsOptions struct {
	Worker  string
	Timeout time.Duration
	out     outputFlag
}

// AssignmentsView is the JSON and YAML form of `parti inspect assignments`:
// the latest committed assignment, and the current leader from the leader
// bucket ("" when there is none). Every worker of the version appears in
// Assignments, with [] when it owns nothing; keys are sorted.
type AssignmentsView struct {
	Cluster     string              `json:"cluster"`
	Version     uint64              `json:"version"`
	Epoch       uint64              `json:"epoch"`
	Leader      string              `json:"leader"`
	Assignments map[string][]string `json:"assignments"`
}

func newCmdInspectAssignments(f *Factory) *cobra.Command {
	o := &InspectAssignmentsOptions{}
	c := &cobra.Command{
		Use:   "assignments",
		Short: "Print the latest committed assignment: each worker's partitions",
		Long: `assignments prints the latest complete, committed assignment version: each
worker and the partitions it owns, with the version, its leader epoch and the
current leader. Before any assignment is published it prints version 0 with no
workers (and a note on stderr).

JSON (stable; fields are only ever added):

  {"cluster":"parti","version":3,"epoch":1,"leader":"worker-0",
   "assignments":{"worker-0":["p-000","p-002"],"worker-1":["p-001"]}}

Exit codes: 3 when NATS is not reachable within --timeout, 5 when it refuses
the credentials, 1 when the cluster has no buckets (no node ever ran with this
--cluster) or the assignment cannot be read in time.`,
		Example: `  parti inspect assignments
  parti inspect assignments -o json | jq '.assignments | map_values(length)'
  parti inspect assignments --worker worker-1 -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := validateTimeout(o.Timeout); err != nil {
				return err
			}
			v, err := o.read(c.Context(), f)
			if err != nil {
				return err
			}
			if v.Version == 0 {
				fmt.Fprintf(f.IO.Err, "no assignment has been published yet in cluster %q\n", v.Cluster)
			} else if _, ok := v.Assignments[o.Worker]; o.Worker != "" && !ok {
				fmt.Fprintf(f.IO.Err, "worker %q has no entry in assignment version %d\n", o.Worker, v.Version)
			}
			if o.Worker != "" {
				v.Assignments = narrow(v.Assignments, o.Worker)
			}
			if o.out.format == "table" {
				return printAssignmentsTable(f.IO, v, terminalWidth(f))
			}
			return o.out.print(f.IO, v, nil, nil)
		},
	}
	c.Flags().StringVar(&o.Worker, "worker", "", "show only this worker's partitions")
	addTimeoutFlag(c, &o.Timeout, DefaultInspectTimeout, "give up connecting and reading after this long")
	o.out.register(c, "table")
	f.registerWorkerCompletion(c)
	return c
}

// narrow keeps only worker's entry, if present.
func narrow(all map[string][]string, worker string) map[string][]string {
	out := map[string][]string{}
	if keys, ok := all[worker]; ok {
		out[worker] = keys
	}
	return out
}

// read connects (failing fast), opens the buckets and reads the latest
// committed assignment and the leader.
func (o *InspectAssignmentsOptions) read(ctx context.Context, f *Factory) (AssignmentsView, error) {
	v := AssignmentsView{Cluster: f.Global.Cluster, Assignments: map[string][]string{}}
	s, b, ctx, err := f.openClusterSession(ctx, "parti-inspect", o.Timeout)
	if err != nil {
		return v, err
	}
	defer s.close()
	l, _, err := readLeader(ctx, b)
	if err != nil {
		return v, s.check(err)
	}
	v.Leader = l.ID
	a, found, err := readAssignment(ctx, b)
	if err != nil || !found {
		return v, s.check(err)
	}
	v.Version, v.Epoch = a.Version, a.Epoch
	for w, keys := range a.Owners {
		keys = slices.Clone(keys)
		slices.Sort(keys)
		if keys == nil {
			keys = []string{}
		}
		v.Assignments[w] = keys
	}
	return v, nil
}

// connectOnce connects without background retries: a server that does not
// answer within timeout is ExitUnreachable.
func (f *Factory) connectOnce(name string, timeout time.Duration) (*nats.Conn, string, error) {
	opts, r, err := f.natsOptions(connectSpec{name: name, timeout: timeout})
	if err != nil {
		return nil, "", err
	}
	nc, err := natsconn.Connect(opts, nil)
	if err != nil {
		return nil, "", connectError(r.URLs, err)
	}
	return nc, natsconn.RedactURLs(r.URLs), nil
}

// openBuckets opens the cluster's existing buckets.
func openBuckets(ctx context.Context, nc *nats.Conn, l *layout.Layout, urls string) (*layout.Buckets, error) {
	cluster := l.Cluster()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	b, err := l.Open(ctx, js)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, fmt.Errorf("no parti cluster %q on %s: its buckets do not exist (has a node run with --cluster %s?)", cluster, urls, cluster)
	case errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return nil, fmt.Errorf("JetStream is not enabled for this user's account on %s: %w", urls, err)
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return nil, fmt.Errorf("JetStream is not enabled on %s: %w", urls, err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("open the buckets of cluster %q on %s: no answer in time: %w", cluster, urls, err)
	case err != nil:
		return nil, fmt.Errorf("open the buckets of cluster %q on %s: %w", cluster, urls, err)
	}
	return b, nil
}

// readLeader returns the current leader record, or found == false if none
// holds the leader key.
func readLeader(ctx context.Context, b *layout.Buckets) (l codec.Leader, found bool, err error) {
	e, err := b.Leader.Get(ctx, layout.KeyLeader)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read the leader: %w", err)
	}
	l, err = codec.DecodeLeader(layout.KeyLeader, e.Value())
	if err != nil {
		return l, false, fmt.Errorf("read the leader: %w", err)
	}
	return l, true, nil
}

// readAssignment returns the latest complete committed assignment, or
// found == false if nothing was ever committed.
func readAssignment(ctx context.Context, b *layout.Buckets) (a model.Assignment, found bool, err error) {
	_, err = b.Assignments.Get(ctx, layout.KeyCommit)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read the assignment commit: %w", err)
	}
	var mu sync.Mutex
	var lastErr error
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := store.NewReader(b).Watch(wctx, store.ReaderOptions{OnError: func(err error) {
		mu.Lock()
		lastErr = err
		mu.Unlock()
	}})
	defer func() {
		cancel()
		for range ch {
			// Drain until the reader's goroutine has stopped.
		}
	}()
	select {
	case a, ok := <-ch:
		if ok {
			return a, true, nil
		}
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	if lastErr != nil {
		return a, false, fmt.Errorf("no complete assignment could be read: %w", lastErr)
	}
	return a, false, fmt.Errorf("no complete assignment could be read in time: %w", ctx.Err())
}

// printAssignmentsTable prints WORKER PARTITIONS COUNT rows. On a terminal
// a "version N epoch N leader X" line comes first and the partition lists
// are cut to fit width; piped, every row is complete and tab-separated.
func printAssignmentsTable(io *IOStreams, v AssignmentsView, width int) error {
	workers := make([]string, 0, len(v.Assignments))
	for w := range v.Assignments {
		workers = append(workers, w)
	}
	slices.Sort(workers)
	t := &table{tty: io.OutIsTTY}
	t.header("WORKER", "PARTITIONS", "COUNT")
	if io.OutIsTTY {
		leader := v.Leader
		if leader == "" {
			leader = "none"
		}
		fmt.Fprintf(io.Out, "version %d epoch %d leader %s\n", v.Version, v.Epoch, leader)
	}
	idW, countW := len("WORKER"), len("COUNT")
	for _, w := range workers {
		idW = max(idW, len(w))
		countW = max(countW, len(strconv.Itoa(len(v.Assignments[w]))))
	}
	room := width - idW - countW - 4 // two gaps of two spaces
	for _, w := range workers {
		keys := v.Assignments[w]
		list := strings.Join(keys, ",")
		if io.OutIsTTY {
			list = fitList(keys, room)
		}
		t.row(w, list, strconv.Itoa(len(keys)))
	}
	return t.render(io.Out)
}

// fitList joins keys with commas, cut to at most room characters with a
// "…(+N)" suffix counting the keys left out; "-" for none.
func fitList(keys []string, room int) string {
	if len(keys) == 0 {
		return "-"
	}
	room = max(room, 16)
	if full := strings.Join(keys, ","); utf8.RuneCountInString(full) <= room {
		return full
	}
	suffix := func(n int) string { return fmt.Sprintf("…(+%d)", n) }
	var b strings.Builder
	used := 0 // characters written
	for i, k := range keys {
		add := utf8.RuneCountInString(k)
		if i > 0 {
			add++ // the comma
		}
		last := i == len(keys)-1
		fits := used+add <= room
		if !last {
			// Leave room for the suffix counting the keys after this one.
			fits = used+add+1+utf8.RuneCountInString(suffix(len(keys)-i-1)) <= room
		}
		if !fits {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(suffix(len(keys) - i))
			return b.String()
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		used += add
	}
	return b.String()
}
