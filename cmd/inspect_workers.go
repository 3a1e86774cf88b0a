package cmd

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/calculator/model"
)

// Worker statuses shown by `parti inspect workers`.
const (
	WorkerAlive    = "alive"    // heartbeating
	WorkerDraining = "draining" // leaving gracefully, handing its partitions off
	WorkerSuspect  = "suspect"  // missed heartbeats; gone once the worker TTL passes
)

// InspectWorkersOptions are the inputs of `parti inspect workers`.
type InspectWorkersOptions struct {
	Worker  string
	Timeout time.Duration
	out     outputFlag
}

// WorkersView is the JSON and YAML form of `parti inspect workers`: every
// worker with a live heartbeat, sorted by ID.
type WorkersView struct {
	Workers []WorkerView `json:"workers"`
}

// WorkerView is one worker. Partitions and Weight are what it owns in the
// latest committed assignment; LastSeenMS is the age of its last
// heartbeat; AppliedVersion is the assignment version its heartbeat says
// it has applied.
type WorkerView struct {
	ID             string  `json:"id"`
	Host           string  `json:"host"`
	PID            int     `json:"pid"`
	Leader         bool    `json:"leader"`
	LastSeenMS     int64   `json:"last_seen_ms"`
	Partitions     int     `json:"partitions"`
	Weight         float64 `json:"weight"`
	AppliedVersion uint64  `json:"applied_version"`
	Status         string  `json:"status"`
}

func newCmdInspectWorkers(f *Factory) *cobra.Command {
	o := &InspectWorkersOptions{}
	c := &cobra.Command{
		Use:   "workers",
		Short: "Print the live workers: host, pid, heartbeat age, load and applied version",
		Long: `workers prints every worker with a live heartbeat: its host and process, whether
it leads, how long ago its last heartbeat was stored, the partitions and
weight it owns in the latest committed assignment, the assignment version it
has applied, and its status:

  alive     heartbeating
  draining  leaving gracefully (SIGTERM): its partitions are being handed off
  suspect   no heartbeat for more than half the worker TTL; it is declared
            gone (and its partitions reassigned) when the TTL passes

JSON (stable; fields are only ever added):

  {"workers":[{"id":"worker-0","host":"node-a","pid":4242,"leader":true,
    "last_seen_ms":312,"partitions":22,"weight":22,"applied_version":3,
    "status":"alive"}]}`,
		Example: `  parti inspect workers
  parti inspect workers -o json | jq -r '.workers[] | select(.status != "alive") | .id'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := validateTimeout(o.Timeout); err != nil {
				return err
			}
			v, err := o.read(c.Context(), f)
			if err != nil {
				return err
			}
			if o.Worker != "" {
				v.Workers = narrowWorkers(v.Workers, o.Worker)
				if len(v.Workers) == 0 {
					fmt.Fprintf(f.IO.Err, "worker %q has no live heartbeat\n", o.Worker)
				}
			}
			return o.out.print(f.IO, v, func(t *table) { workersTable(t, v) }, nil)
		},
	}
	c.Flags().StringVar(&o.Worker, "worker", "", "show only this worker")
	addTimeoutFlag(c, &o.Timeout, DefaultInspectTimeout, "give up connecting and reading after this long")
	o.out.register(c, "table")
	f.registerWorkerCompletion(c)
	return c
}

func narrowWorkers(all []WorkerView, id string) []WorkerView {
	out := []WorkerView{}
	for _, w := range all {
		if w.ID == id {
			out = append(out, w)
		}
	}
	return out
}

// read reads heartbeats, the leader, the latest assignment and the
// partition set.
func (o *InspectWorkersOptions) read(ctx context.Context, f *Factory) (WorkersView, error) {
	s, b, ctx, err := f.openClusterSession(ctx, "parti-inspect", o.Timeout)
	if err != nil {
		return WorkersView{}, err
	}
	defer s.close()
	hbs, err := readHeartbeats(ctx, b, func(err error) {
		fmt.Fprintf(f.IO.Err, "skipping a heartbeat: %v\n", err)
	})
	if err != nil {
		return WorkersView{}, s.check(err)
	}
	ttl, err := readWorkerTTL(ctx, b.Workers)
	if err != nil {
		return WorkersView{}, s.check(err)
	}
	l, _, err := readLeader(ctx, b)
	if err != nil {
		return WorkersView{}, s.check(err)
	}
	a, _, err := readAssignment(ctx, b)
	if err != nil {
		return WorkersView{}, s.check(err)
	}
	ps, _, err := readPartitionSet(ctx, b)
	if err != nil {
		return WorkersView{}, s.check(err)
	}
	return buildWorkersView(hbs, l.ID, a, ps.Partitions, ttl, time.Now()), nil
}

// buildWorkersView combines heartbeats with the leader, the assignment and
// the partition weights as of now.
func buildWorkersView(hbs []heartbeat, leader string, a model.Assignment, parts []model.Partition, ttl time.Duration, now time.Time) WorkersView {
	weight := make(map[string]float64, len(parts))
	for _, p := range parts {
		weight[p.Key] = p.Weight
	}
	v := WorkersView{Workers: make([]WorkerView, 0, len(hbs))}
	for _, hb := range hbs {
		owned := a.Owners[hb.Worker]
		var w float64
		for _, k := range owned {
			w += weight[k]
		}
		age := max(now.Sub(hb.Stored), 0)
		status := WorkerAlive
		switch {
		case hb.Draining:
			status = WorkerDraining
		case ttl > 0 && age > ttl/2:
			status = WorkerSuspect
		}
		v.Workers = append(v.Workers, WorkerView{ID: hb.Worker, Host: hb.Host, PID: hb.PID,
			Leader: leader != "" && hb.Worker == leader, LastSeenMS: age.Milliseconds(),
			Partitions: len(owned), Weight: w, AppliedVersion: hb.Applied, Status: status})
	}
	return v
}

// workersTable fills ID HOST PID LEADER LAST-SEEN PARTITIONS WEIGHT APPLIED
// STATUS rows. On a terminal the heartbeat age reads "312ms" or "1.5s";
// piped it is a number of milliseconds.
func workersTable(t *table, v WorkersView) {
	t.header("ID", "HOST", "PID", "LEADER", "LAST SEEN", "PARTITIONS", "WEIGHT", "APPLIED", "STATUS")
	for _, w := range v.Workers {
		leader := "no"
		if w.Leader {
			leader = "yes"
		}
		seen := strconv.FormatInt(w.LastSeenMS, 10)
		if t.tty {
			seen = formatMS(float64(w.LastSeenMS))
		}
		t.row(w.ID, w.Host, strconv.Itoa(w.PID), leader, seen, strconv.Itoa(w.Partitions),
			formatWeight(w.Weight), strconv.FormatUint(w.AppliedVersion, 10), w.Status)
	}
}

// formatMS renders milliseconds for people: "0.42ms", "312ms", "1.5s".
func formatMS(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(math.Round(ms*100)/100, 'f', -1, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return (time.Duration(ms * float64(time.Millisecond))).Round(100 * time.Millisecond).String()
}

// formatWeight renders a weight without trailing zeros.
func formatWeight(w float64) string { return strconv.FormatFloat(w, 'g', -1, 64) }
