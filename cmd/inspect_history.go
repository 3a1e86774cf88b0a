package cmd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// InspectHistoryOptions are the inputs of `parti inspect history`.
type InspectHistoryOptions struct {
	Timeout time.Duration
	out     outputFlag
}

// HistoryView is the JSON and YAML form of `parti inspect history`: the
// recent rebalances published by the leader (Leader at Epoch), oldest
// first.
type HistoryView struct {
	Leader  string             `json:"leader"`
	Epoch   uint64             `json:"epoch"`
	Entries []HistoryEntryView `json:"entries"`
}

// HistoryEntryView is one rebalance attempt. Reason is its trigger with
// detail ("force: drain rack 3", "join: worker-3 joined"); Result is
// published, unchanged, failed or skipped; Error is left out when empty.
type HistoryEntryView struct {
	At         time.Time `json:"at"`
	Reason     string    `json:"reason"`
	DurationMS float64   `json:"duration_ms"`
	Moved      int       `json:"moved"`
	Version    uint64    `json:"version"`
	Result     string    `json:"result"`
	Error      string    `json:"error,omitempty"`
}

func newCmdInspectHistory(f *Factory) *cobra.Command {
	o := &InspectHistoryOptions{}
	c := &cobra.Command{
		Use:   "history",
		Short: "Print the leader's recent rebalances",
		Long: `history prints the recent rebalances the leader recorded, oldest first: when,
why (trigger and detail, including the --reason of a forced rebalance), the
result, the version, the partitions moved and how long it took. The leader
publishes it to the status bucket; a new leader starts a new history.

JSON (stable; fields are only ever added):

  {"leader":"worker-0","epoch":1,"entries":[{"at":"2025-01-02T03:04:05.1Z",
    "reason":"force: drain rack 3","duration_ms":1.8,"moved":4,"version":7,
    "result":"published"}]}`,
		Example: `  parti inspect history
  parti inspect history -o json | jq '.entries[] | select(.result == "failed")'`,
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
				fmt.Fprintf(f.IO.Err, "no rebalance history has been published yet in cluster %q\n", f.Global.Cluster)
			}
			return o.out.print(f.IO, v, func(t *table) { historyTable(t, v) }, nil)
		},
	}
	addTimeoutFlag(c, &o.Timeout, DefaultInspectTimeout, "give up connecting and reading after this long")
	o.out.register(c, "table")
	return c
}

func (o *InspectHistoryOptions) read(ctx context.Context, f *Factory) (HistoryView, bool, error) {
	v := HistoryView{Entries: []HistoryEntryView{}}
	s, b, ctx, err := f.openClusterSession(ctx, "parti-inspect", o.Timeout)
	if err != nil {
		return v, false, err
	}
	defer s.close()
	h, found, err := readHistory(ctx, b)
	if err != nil || !found {
		return v, false, s.check(err)
	}
	v.Leader, v.Epoch = h.Leader, h.Epoch
	for _, e := range h.Entries {
		v.Entries = append(v.Entries, HistoryEntryView{At: e.At.UTC(), Reason: e.Reason, DurationMS: e.DurationMS,
			Moved: e.Moved, Version: e.Version, Result: e.Result, Error: e.Error})
	}
	return v, true, nil
}

// historyTable fills AT RESULT VERSION MOVED DURATION REASON ERROR rows.
func historyTable(t *table, v HistoryView) {
	t.header("AT", "RESULT", "VERSION", "MOVED", "DURATION", "REASON", "ERROR")
	for _, e := range v.Entries {
		dur := strconv.FormatFloat(e.DurationMS, 'f', -1, 64)
		at := e.At.Format(time.RFC3339Nano)
		errText := e.Error
		if t.tty {
			dur = formatMS(e.DurationMS)
			at = e.At.Format("2006-01-02T15:04:05.000Z07:00")
			if errText == "" {
				errText = "-"
			}
		}
		t.row(at, e.Result, strconv.FormatUint(e.Version, 10), strconv.Itoa(e.Moved), dur, e.Reason, errText)
	}
}
