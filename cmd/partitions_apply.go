package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/store"
)

// DefaultApplyTimeout bounds `parti partitions apply`.
const DefaultApplyTimeout = 10 * time.Second

// maxChangeRows caps the change rows shown on a terminal; JSON, YAML and
// piped tables list every change.
const maxChangeRows = 50

// Results of `parti partitions apply`.
const (
	ApplyApplied   = "applied"   // the set was replaced
	ApplyUnchanged = "unchanged" // the file matches the stored set; nothing written
	ApplyDryRun    = "dry-run"   // validated and compared only
)

// PartitionsApplyOptions are the inputs of `parti partitions apply`.
type PartitionsApplyOptions struct {
	File    string
	DryRun  bool
	Timeout time.Duration
	out     outputFlag
}

// ApplyView is the JSON and YAML form of `parti partitions apply`: what
// the file changes against the stored set, sorted by key. Generation is
// the stored set's generation afterwards (unchanged unless Result is
// "applied"); Count and TotalWeight describe the file's set.
type ApplyView struct {
	Cluster            string            `json:"cluster"`
	Result             string            `json:"result"`
	Generation         uint64            `json:"generation"`
	PreviousGeneration uint64            `json:"previous_generation"`
	Count              int               `json:"count"`
	TotalWeight        float64           `json:"total_weight"`
	Added              []PartitionWeight `json:"added"`
	Removed            []PartitionWeight `json:"removed"`
	Changed            []WeightChange    `json:"changed"`
}

// PartitionWeight is a partition added or removed.
type PartitionWeight struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
}

// WeightChange is a partition whose weight changes.
type WeightChange struct {
	Key  string  `json:"key"`
	From float64 `json:"from"`
	To   float64 `json:"to"`
}

func newCmdPartitions(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:               "partitions",
		Short:             "Manage the cluster's partition set",
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown partitions command %q (see '%s --help')", args[0], c.CommandPath())
			}
			return c.Help()
		},
	}
	c.AddCommand(newCmdPartitionsApply(f))
	return c
}

func newCmdPartitionsApply(f *Factory) *cobra.Command {
	o := &PartitionsApplyOptions{}
	c := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Replace the partition set from a file; the leader rebalances",
		Long: `apply validates a partitions file, compares it with the stored partition set,
prints the keys it adds, removes and re-weights, and replaces the set. The
leader picks the new set up and rebalances after its scale window. With
--dry-run it only validates and compares. A file that matches the stored set
writes nothing.

An invalid file is a usage error (exit 2) naming the entry at fault, and
nothing is applied.

` + partitionsFileHelp + `

JSON (stable; fields are only ever added):

  {"cluster":"parti","result":"applied","generation":3,"previous_generation":2,
   "count":3,"total_weight":6,"added":[{"key":"tenant-c","weight":2}],
   "removed":[{"key":"tenant-z","weight":1}],
   "changed":[{"key":"tenant-a","from":1,"to":3}]}

"result" is applied, unchanged or dry-run.`,
		Example: `  parti partitions apply -f tenants.yaml --dry-run
  parti partitions apply -f tenants.yaml
  generate-tenants | parti partitions apply -f - -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.File == "" {
				return usageErrorf("-f/--file is required: a YAML or JSON partitions file, or - for stdin")
			}
			if err := validateTimeout(o.Timeout); err != nil {
				return err
			}
			parts, err := readPartitionsInput(o.File, f.IO.In)
			if err != nil {
				return err
			}
			v, err := o.apply(c.Context(), f, parts)
			if err != nil {
				return err
			}
			summary := applySummary(v)
			switch {
			case o.out.format == "table" && f.IO.OutIsTTY:
				fmt.Fprintln(f.IO.Out, summary)
			case o.out.format == "table":
				fmt.Fprintln(f.IO.Err, summary)
			}
			return o.out.print(f.IO, v, func(t *table) { applyTable(t, v) }, nil)
		},
	}
	c.Flags().StringVarP(&o.File, "file", "f", "", "YAML or JSON partitions file; - reads stdin")
	c.Flags().BoolVar(&o.DryRun, "dry-run", false, "validate and show the changes without applying them")
	addTimeoutFlag(c, &o.Timeout, DefaultApplyTimeout, "give up connecting, reading and writing after this long")
	o.out.register(c, "table")
	_ = c.MarkFlagFilename("file", "yaml", "yml", "json")
	return c
}

// readPartitionsInput reads and validates the partitions file at path, or
// stdin for "-". Every problem is a usage error naming the file.
func readPartitionsInput(path string, stdin io.Reader) ([]model.Partition, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "(stdin)"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usageErrorf("--file: %v", err)
	}
	parts, err := parsePartitions(data)
	if err != nil {
		return nil, usageErrorf("partitions file %s: %v (nothing applied)", name, err)
	}
	return parts, nil
}

// apply compares parts with the stored set and, unless a dry run or
// nothing changes, replaces it.
func (o *PartitionsApplyOptions) apply(ctx context.Context, f *Factory, parts []model.Partition) (ApplyView, error) {
	s, b, ctx, err := f.openClusterSession(ctx, "parti-partitions-apply", o.Timeout)
	if err != nil {
		return ApplyView{}, err
	}
	defer s.close()
	cur, _, err := readPartitionSet(ctx, b)
	if err != nil {
		return ApplyView{}, s.check(err)
	}
	v := diffPartitions(cur.Partitions, parts)
	v.Cluster = f.Global.Cluster
	v.Generation, v.PreviousGeneration = cur.Manifest.Generation, cur.Manifest.Generation
	switch {
	case o.DryRun:
		v.Result = ApplyDryRun
	case len(v.Added)+len(v.Removed)+len(v.Changed) == 0:
		v.Result = ApplyUnchanged
	default:
		ps, err := store.WritePartitions(ctx, b.Partitions, parts)
		if errors.Is(err, store.ErrConcurrentUpdate) {
			return v, fmt.Errorf("another writer replaced the partition set meanwhile; nothing applied, run the command again: %w", err)
		}
		if derr := s.deniedFor("replacing the partition set", layout.KeySubject(s.layout.PartitionsBucket(), ">")); derr != nil {
			return v, derr
		}
		if err != nil {
			return v, s.check(fmt.Errorf("replace the partition set: %w", err))
		}
		v.Result, v.Generation = ApplyApplied, ps.Manifest.Generation
	}
	return v, nil
}

// diffPartitions lists what next adds to, removes from and re-weights in
// cur, each sorted by key.
func diffPartitions(cur, next []model.Partition) ApplyView {
	v := ApplyView{Added: []PartitionWeight{}, Removed: []PartitionWeight{}, Changed: []WeightChange{}}
	old := make(map[string]float64, len(cur))
	for _, p := range cur {
		old[p.Key] = p.Weight
	}
	seen := make(map[string]bool, len(next))
	for _, p := range next {
		seen[p.Key] = true
		v.Count++
		v.TotalWeight += p.Weight
		w, ok := old[p.Key]
		switch {
		case !ok:
			v.Added = append(v.Added, PartitionWeight{Key: p.Key, Weight: p.Weight})
		case w != p.Weight:
			v.Changed = append(v.Changed, WeightChange{Key: p.Key, From: w, To: p.Weight})
		}
	}
	for _, p := range cur {
		if !seen[p.Key] {
			v.Removed = append(v.Removed, PartitionWeight{Key: p.Key, Weight: p.Weight})
		}
	}
	slices.SortFunc(v.Added, func(a, b PartitionWeight) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(v.Removed, func(a, b PartitionWeight) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(v.Changed, func(a, b WeightChange) int { return strings.Compare(a.Key, b.Key) })
	return v
}

// applySummary is the one-line account of an apply.
func applySummary(v ApplyView) string {
	counts := fmt.Sprintf("%d added, %d removed, %d re-weighted; %d partitions, total weight %s",
		len(v.Added), len(v.Removed), len(v.Changed), v.Count, formatWeight(v.TotalWeight))
	switch v.Result {
	case ApplyApplied:
		return fmt.Sprintf("applied as generation %d (was %d): %s; the leader rebalances after its scale window",
			v.Generation, v.PreviousGeneration, counts)
	case ApplyUnchanged:
		return fmt.Sprintf("unchanged: the file matches generation %d (%d partitions); nothing applied", v.Generation, v.Count)
	}
	return fmt.Sprintf("dry run against generation %d: %s; nothing applied", v.Generation, counts)
}

// applyTable fills CHANGE KEY OLD NEW rows: added (no OLD), removed (no
// NEW), changed. A terminal shows at most maxChangeRows of them.
func applyTable(t *table, v ApplyView) {
	t.header("CHANGE", "KEY", "OLD", "NEW")
	none := ""
	if t.tty {
		none = "-"
	}
	var rows [][]string
	for _, p := range v.Added {
		rows = append(rows, []string{"added", p.Key, none, formatWeight(p.Weight)})
	}
	for _, p := range v.Removed {
		rows = append(rows, []string{"removed", p.Key, formatWeight(p.Weight), none})
	}
	for _, c := range v.Changed {
		rows = append(rows, []string{"changed", c.Key, formatWeight(c.From), formatWeight(c.To)})
	}
	if len(rows) == 0 && t.tty {
		t.header()
		return
	}
	for i, r := range rows {
		if t.tty && i == maxChangeRows {
			t.row("…", strconv.Itoa(len(rows)-i)+" more (-o json lists them all)", "", "")
			return
		}
		t.row(r...)
	}
}
