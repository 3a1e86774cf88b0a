package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// InspectPartitionsOptions are the inputs of `parti inspect partitions`.
type InspectPartitionsOptions struct {
	Worker  string
	Timeout time.Duration
	out     outputFlag
}

// PartitionsView is the JSON and YAML form of `parti inspect partitions`:
// the stored partition set (generation, count, total weight) and each
// partition with its owner in the latest committed assignment (Version;
// "" for a partition no committed version assigns yet). With --worker,
// Partitions lists only that worker's partitions; Count and TotalWeight
// still describe the whole set.
type PartitionsView struct {
	Cluster     string          `json:"cluster"`
	Generation  uint64          `json:"generation"`
	Count       int             `json:"count"`
	TotalWeight float64         `json:"total_weight"`
	Version     uint64          `json:"version"`
	Partitions  []PartitionView `json:"partitions"`
}

// PartitionView is one partition.
type PartitionView struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
	Owner  string  `json:"owner"`
}

func newCmdInspectPartitions(f *Factory) *cobra.Command {
	o := &InspectPartitionsOptions{}
	c := &cobra.Command{
		Use:   "partitions",
		Short: "Print the partition set: keys, weights and owners",
		Long: `partitions prints the stored partition set, sorted by key, with each
partition's weight and its owner in the latest committed assignment. Replace
the set with 'parti partitions apply'.

JSON (stable; fields are only ever added):

  {"cluster":"parti","generation":2,"count":3,"total_weight":5,"version":4,
   "partitions":[{"key":"tenant-a","weight":3,"owner":"worker-1"}, ...]}

"generation" counts the writes of the set; "version" is the assignment
version the owners come from (0 before the first one); "owner" is "" for a
partition that no committed version assigns yet.`,
		Example: `  parti inspect partitions
  parti inspect partitions --worker worker-1 -o json | jq '[.partitions[].weight] | add'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := validateTimeout(o.Timeout); err != nil {
				return err
			}
			v, found, err := o.read(c.Context(), f)
			if err != nil {
				return err
			}
			if !found {
				fmt.Fprintf(f.IO.Err, "no partition set is stored in cluster %q\n", f.Global.Cluster)
			}
			if o.Worker != "" {
				mine := []PartitionView{}
				for _, p := range v.Partitions {
					if p.Owner == o.Worker {
						mine = append(mine, p)
					}
				}
				v.Partitions = mine
			}
			if o.out.format == "table" && f.IO.OutIsTTY {
				fmt.Fprintf(f.IO.Out, "generation %d: %d partitions, total weight %s; owners from assignment version %d\n",
					v.Generation, v.Count, formatWeight(v.TotalWeight), v.Version)
			}
			return o.out.print(f.IO, v, func(t *table) { partitionsTable(t, v) }, nil)
		},
	}
	c.Flags().StringVar(&o.Worker, "worker", "", "show only the partitions this worker owns")
	addTimeoutFlag(c, &o.Timeout, DefaultInspectTimeout, "give up connecting and reading after this long")
	o.out.register(c, "table")
	f.registerWorkerCompletion(c)
	return c
}

func (o *InspectPartitionsOptions) read(ctx context.Context, f *Factory) (PartitionsView, bool, error) {
	v := PartitionsView{Cluster: f.Global.Cluster, Partitions: []PartitionView{}}
	s, b, ctx, err := f.openClusterSession(ctx, "parti-inspect", o.Timeout)
	if err != nil {
		return v, false, err
	}
	defer s.close()
	ps, found, err := readPartitionSet(ctx, b)
	if err != nil || !found {
		return v, false, s.check(err)
	}
	a, _, err := readAssignment(ctx, b)
	if err != nil {
		return v, false, s.check(err)
	}
	owner := ownerIndex(a)
	v.Generation, v.Count, v.TotalWeight, v.Version = ps.Manifest.Generation, len(ps.Partitions), ps.Manifest.TotalWeight, a.Version
	for _, p := range ps.Partitions {
		v.Partitions = append(v.Partitions, PartitionView{Key: p.Key, Weight: p.Weight, Owner: owner[p.Key]})
	}
	return v, true, nil
}

// partitionsTable fills KEY WEIGHT OWNER rows; an unassigned partition's
// owner is "-" on a terminal and empty when piped.
func partitionsTable(t *table, v PartitionsView) {
	t.header("KEY", "WEIGHT", "OWNER")
	for _, p := range v.Partitions {
		owner := p.Owner
		if owner == "" && t.tty {
			owner = "-"
		}
		t.row(p.Key, formatWeight(p.Weight), owner)
	}
}
