package cmd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// InspectLeaderOptions are the inputs of `parti inspect leader`.
type InspectLeaderOptions struct {
	Timeout time.Duration
	out     outputFlag
}

// LeaderView is the JSON and YAML form of `parti inspect leader`. With no
// leader, Leader is "", Epoch 0 and Since null (and the command exits
// ExitNoLeader). Epoch 0 with a leader means it is still taking office.
type LeaderView struct {
	Leader string     `json:"leader"`
	Epoch  uint64     `json:"epoch"`
	Since  *time.Time `json:"since"`
}

func newCmdInspectLeader(f *Factory) *cobra.Command {
	o := &InspectLeaderOptions{}
	c := &cobra.Command{
		Use:   "leader",
		Short: "Print the current leader, its epoch and since when it leads",
		Long: `leader prints the worker that holds the leader key, its fencing epoch and when
it won the key. Epoch 0 means it has won the key and is still taking office.

JSON (stable; fields are only ever added):

  {"leader":"worker-0","epoch":3,"since":"2025-01-02T03:04:05.123Z"}

With no leader it prints {"leader":"","epoch":0,"since":null} (nothing in
table form) and exits 4: no node leads, because none runs, none reaches
this NATS server, or one is being elected (within the leader TTL).`,
		Example: `  parti inspect leader
  parti inspect leader -o json | jq -r .leader`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := validateTimeout(o.Timeout); err != nil {
				return err
			}
			v, err := o.read(c.Context(), f)
			if err != nil {
				return err
			}
			if err := o.out.print(f.IO, v, func(t *table) { leaderTable(t, v, time.Now()) }, nil); err != nil {
				return err
			}
			if v.Leader == "" {
				return &ExitError{Code: ExitNoLeader, Err: fmt.Errorf("no leader in cluster %q: no node holds the leader key (is a 'parti run --cluster %s' node running and reaching this NATS server?)",
					f.Global.Cluster, f.Global.Cluster)}
			}
			return nil
		},
	}
	addTimeoutFlag(c, &o.Timeout, DefaultInspectTimeout, "give up connecting and reading after this long")
	o.out.register(c, "table")
	return c
}

func (o *InspectLeaderOptions) read(ctx context.Context, f *Factory) (LeaderView, error) {
	s, b, ctx, err := f.openClusterSession(ctx, "parti-inspect", o.Timeout)
	if err != nil {
		return LeaderView{}, err
	}
	defer s.close()
	l, found, err := readLeader(ctx, b)
	if err != nil || !found {
		return LeaderView{}, s.check(err)
	}
	since := l.Since.UTC()
	return LeaderView{Leader: l.ID, Epoch: l.Epoch, Since: &since}, nil
}

// leaderTable fills one LEADER EPOCH SINCE row (none without a leader). On
// a terminal SINCE also says how long ago.
func leaderTable(t *table, v LeaderView, now time.Time) {
	t.header("LEADER", "EPOCH", "SINCE")
	if v.Leader == "" || v.Since == nil {
		return
	}
	since := v.Since.Format(time.RFC3339Nano)
	if t.tty {
		since = v.Since.Format(time.RFC3339) + " (" + now.Sub(*v.Since).Round(time.Second).String() + " ago)"
	}
	t.row(v.Leader, strconv.FormatUint(v.Epoch, 10), since)
}
