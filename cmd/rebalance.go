package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/control"
)

// DefaultRebalanceTimeout bounds `parti rebalance`: connecting, the
// leader's answer and, with --wait, the fleet applying the new version.
const DefaultRebalanceTimeout = 10 * time.Second

// noResponderRetry is how soon a request nobody was subscribed to is sent
// again: a new leader subscribes moments after it wins.
const noResponderRetry = 200 * time.Millisecond

// RebalanceOptions are the inputs of `parti rebalance`.
type RebalanceOptions struct {
	Force   bool
	DryRun  bool
	Reason  string
	Wait    bool
	Timeout time.Duration
	out     outputFlag
}

// RebalanceView is the JSON and YAML form of `parti rebalance`. Version is
// the version published (for a dry run or an unchanged result, the current
// one); Moves lists every partition that changes owner ([] when none, null
// when the leader could not list them); MaxOverAvg is the resulting
// balance, the heaviest worker's weighted load over the average.
type RebalanceView struct {
	Version         uint64     `json:"version"`
	PreviousVersion uint64     `json:"previous_version"`
	Moved           int        `json:"moved"`
	DurationMS      float64    `json:"duration_ms"`
	Result          string     `json:"result"`
	Moves           []MoveView `json:"moves"`
	MaxOverAvg      float64    `json:"max_over_avg"`

	leader string // who answered, for the table
	epoch  uint64
}

// MoveView is one partition changing owner; From is "" for a partition no
// previous version assigned.
type MoveView struct {
	Partition string `json:"partition"`
	From      string `json:"from"`
	To        string `json:"to"`
}

func newCmdRebalance(f *Factory) *cobra.Command {
	o := &RebalanceOptions{}
	c := &cobra.Command{
		Use:   "rebalance (--force | --dry-run)",
		Short: "Ask the leader to recompute the assignment now, or show what it would do",
		Long: `rebalance asks the current leader (request/reply on parti.<cluster>.control.rebalance)
to recompute the assignment now, bypassing the scale window and the cooldown,
and to publish it as a new version. It prints the new and the previous
version, the partitions moved (each with its old and new owner), the
resulting balance and how long the leader took.

Moving partitions interrupts the work on them, so the command does nothing
without one of:

  --force    recompute and publish now
  --dry-run  compute the plan and print it without publishing

--reason is recorded in the leader's history ('parti inspect history').
--wait then waits until every live worker has applied the new version.
--timeout bounds the whole command.

JSON (stable; fields are only ever added):

  {"version":8,"previous_version":7,"moved":2,"duration_ms":1.42,
   "result":"published","moves":[{"partition":"p-003","from":"worker-1",
   "to":"worker-2"}, ...],"max_over_avg":1.02}

"result" is published, unchanged or dry-run. "moves" is null (not []) when
the leader could not list them: the fleet changed while it published, or it
runs an older parti.

Exit codes: 4 when no leader answers within --timeout, 5 when NATS denies
the control subject, 1 when the leader refuses (for instance while its
circuit breaker is open) or --wait runs out of time.`,
		Example: `  parti rebalance --dry-run
  parti rebalance --force --reason "rack 3 back" --wait
  parti rebalance --force -o json | jq .moved`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(c.Context(), f)
		},
	}
	fl := c.Flags()
	fl.BoolVar(&o.Force, "force", false, "recompute and publish a new assignment now")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan (every move and the resulting balance) without publishing")
	fl.StringVar(&o.Reason, "reason", "", "why, recorded in the leader's history")
	fl.BoolVar(&o.Wait, "wait", false, "after publishing, wait until every live worker has applied the new version")
	addTimeoutFlag(c, &o.Timeout, DefaultRebalanceTimeout, "bound on the whole command: connecting, the leader's answer and --wait")
	o.out.register(c, "table")
	return c
}

func (o *RebalanceOptions) validate() error {
	if !o.Force && !o.DryRun {
		return usageErrorf("rebalance moves partitions, interrupting the work on them: pass --force to publish a new assignment now, or --dry-run to print the plan without publishing")
	}
	if o.Wait && o.DryRun {
		return usageErrorf("--wait waits for a published version; a --dry-run publishes none")
	}
	return validateTimeout(o.Timeout)
}

func (o *RebalanceOptions) run(ctx context.Context, f *Factory) error {
	start := time.Now()
	s, ctx, err := f.openSession(ctx, "parti-rebalance", o.Timeout)
	if err != nil {
		return err
	}
	defer s.close()
	subject := s.layout.ControlSubject()
	req := codec.ControlRequest{Op: codec.OpRebalance, DryRun: o.DryRun, Reason: o.Reason}
	reply, err := request(ctx, s, subject, req)
	if err != nil {
		return o.requestError(s, subject, time.Since(start), err)
	}
	v := rebalanceView(reply)
	if o.out.format == "table" && f.IO.OutIsTTY {
		fmt.Fprint(f.IO.Out, rebalanceSummary(v))
	}
	if err := o.out.print(f.IO, v, func(t *table) { rebalanceTable(t, v) }, nil); err != nil {
		return err
	}
	if !o.Wait || v.Result != codec.ResultPublished {
		return nil
	}
	b, err := s.buckets(ctx)
	if err != nil {
		return err
	}
	n, err := waitApplied(ctx, b, v.Version)
	if err != nil {
		return s.check(err)
	}
	fmt.Fprintf(f.IO.Err, "%d live workers applied version %d (%s after the request)\n", n, v.Version,
		time.Since(start).Round(time.Millisecond))
	return nil
}

// request sends req to the leader. A request nobody was subscribed to is
// sent again until ctx ends (a leader may be taking office); a request
// that reached a leader is never repeated.
func request(ctx context.Context, s *session, subject string, req codec.ControlRequest) (codec.ControlReply, error) {
	for {
		reply, err := control.Request(ctx, s.nc, subject, req)
		// No responders: the server found no subscriber, so the request
		// reached nobody and may safely be sent again.
		if err == nil || !errors.Is(err, control.ErrNoLeader) || !errors.Is(err, nats.ErrNoResponders) {
			return reply, err
		}
		t := time.NewTimer(noResponderRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return reply, err
		case <-t.C:
		}
	}
}

// requestError maps a failed request to its exit code and message.
func (o *RebalanceOptions) requestError(s *session, subject string, waited time.Duration, err error) error {
	if err := s.deniedFor("the rebalance request", subject); err != nil {
		return err
	}
	switch {
	case errors.Is(err, control.ErrNoLeader):
		return &ExitError{Code: ExitNoLeader, Err: fmt.Errorf("no leader of cluster %q answered on %s within %s: is a 'parti run --cluster %s' node running and reaching %s? (%w)",
			s.cluster, subject, waited.Round(time.Millisecond), s.cluster, s.urls, err)}
	case errors.Is(err, control.ErrRejected):
		return fmt.Errorf("the leader refused the rebalance: %w", err)
	}
	return fmt.Errorf("rebalance request on %s: %w", subject, err)
}

// rebalanceView turns the leader's reply into the command's output.
func rebalanceView(reply codec.ControlReply) RebalanceView {
	r := reply.Result
	v := RebalanceView{Version: r.Version, PreviousVersion: r.PreviousVersion, Moved: r.Moved,
		DurationMS: r.DurationMS, Result: r.Result, MaxOverAvg: r.MaxOverAvg, leader: reply.Leader, epoch: reply.Epoch}
	if v.Result == "" { // a leader that predates the field
		v.Result = codec.ResultPublished
		if r.DryRun {
			v.Result = codec.ResultDryRun
		}
	}
	if r.Moves != nil {
		v.Moves = make([]MoveView, 0, len(r.Moves))
		for _, m := range r.Moves {
			v.Moves = append(v.Moves, MoveView{Partition: m.Partition, From: m.From, To: m.To})
		}
	}
	return v
}

// rebalanceSummary is the block a terminal shows before the moves.
func rebalanceSummary(v RebalanceView) string {
	version := fmt.Sprintf("%d (previous %d)", v.Version, v.PreviousVersion)
	if v.Result != codec.ResultPublished {
		version = fmt.Sprintf("%d (nothing published)", v.Version)
	}
	moves := ""
	if v.Moves == nil && v.Moved > 0 {
		moves = " (the leader could not list them)"
	}
	s := fmt.Sprintf("leader    %s (epoch %d)\nresult    %s\nversion   %s\nmoved     %d%s\nbalance   %.3f max/avg load\nduration  %s\n",
		v.leader, v.epoch, v.Result, version, v.Moved, moves, v.MaxOverAvg, formatMS(v.DurationMS))
	if len(v.Moves) > 0 {
		s += "\n"
	}
	return s
}

// rebalanceTable fills the rows. On a terminal (after rebalanceSummary):
// PARTITION FROM TO rows for the moves. Piped: one tab-separated summary
// line (result, version, previous version, moved, duration in ms,
// max/avg), then one line per move (partition, from, to).
func rebalanceTable(t *table, v RebalanceView) {
	if !t.tty {
		t.row(v.Result, strconv.FormatUint(v.Version, 10), strconv.FormatUint(v.PreviousVersion, 10),
			strconv.Itoa(v.Moved), strconv.FormatFloat(v.DurationMS, 'f', -1, 64), strconv.FormatFloat(v.MaxOverAvg, 'f', 3, 64))
		for _, m := range v.Moves {
			t.row(m.Partition, m.From, m.To)
		}
		return
	}
	if len(v.Moves) == 0 {
		return
	}
	t.header("PARTITION", "FROM", "TO")
	for _, m := range v.Moves {
		from := m.From
		if from == "" {
			from = "-"
		}
		t.row(m.Partition, from, m.To)
	}
}
