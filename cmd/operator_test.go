package cmd

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/nats/store"
)

// decode unmarshals a command's JSON output.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	require.Equal(t, ExitOK, r.code, r.stderr)
	var v T
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
	return v
}

// jsonKeys returns the top-level keys of a JSON object, sorted.
func jsonKeys(t *testing.T, s string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestOperatorCommands drives every operator command against a real fleet:
// inspect in every format, a join rebalanced by hand (dry run, then
// --force --wait), the history, partitions apply, and completion.
func TestOperatorCommands(t *testing.T) {
	n := natstest.RunServer(t)
	f := startFleet(t, n.URL(), "ops", 3)
	leader := f.leader()
	cli := func(args ...string) result {
		return runCLI(t, nil, append([]string{"--nats-url", n.URL(), "--cluster", "ops"}, args...)...)
	}
	tty := func(args ...string) result {
		return runTTY(t, append([]string{"--nats-url", n.URL(), "--cluster", "ops"}, args...)...)
	}

	// inspect workers
	r := cli("inspect", "workers", "-o", "json")
	assert.Equal(t, []string{"workers"}, jsonKeys(t, r.stdout))
	assert.Contains(t, r.stdout, `"last_seen_ms"`)
	ws := decode[WorkersView](t, r)
	require.Len(t, ws.Workers, 3)
	total := 0
	for i, w := range ws.Workers {
		assert.Equal(t, fmt.Sprintf("w%d", i), w.ID)
		assert.Equal(t, w.ID == leader, w.Leader, w.ID)
		assert.Equal(t, WorkerAlive, w.Status)
		assert.Positive(t, w.PID)
		assert.NotEmpty(t, w.Host)
		assert.InDelta(t, float64(w.Partitions), w.Weight, 0)
		assert.Positive(t, w.AppliedVersion)
		assert.Less(t, w.LastSeenMS, int64(1000))
		total += w.Partitions
	}
	assert.Equal(t, 30, total)
	version := ws.Workers[0].AppliedVersion

	r = cli("inspect", "workers")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, "piped: no header")
	assert.Len(t, strings.Split(lines[0], "\t"), 9)
	assert.True(t, strings.HasPrefix(lines[0], "w0\t"))
	r = tty("inspect", "workers")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `^ID\s+HOST\s+PID\s+LEADER\s+LAST SEEN\s+PARTITIONS\s+WEIGHT\s+APPLIED\s+STATUS\n`, r.stdout)
	assert.Regexp(t, `w1\s+\S+\s+\d+\s+(yes|no)\s+\d+ms\s+\d+\s+\d+\s+\d+\s+alive`, r.stdout)
	r = cli("inspect", "workers", "-o", "yaml", "--worker", "w2")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "id: w2")
	assert.NotContains(t, r.stdout, "id: w1")

	// inspect leader
	r = cli("inspect", "leader", "-o", "json")
	assert.Equal(t, []string{"epoch", "leader", "since"}, jsonKeys(t, r.stdout))
	lv := decode[LeaderView](t, r)
	assert.Equal(t, leader, lv.Leader)
	assert.Positive(t, lv.Epoch)
	require.NotNil(t, lv.Since)
	assert.WithinDuration(t, time.Now(), *lv.Since, time.Minute)
	r = cli("inspect", "leader")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `^`+leader+`\t\d+\t\d{4}-\d\d-\d\dT`, r.stdout)
	r = tty("inspect", "leader", "-o", "yaml")
	assert.Contains(t, r.stdout, "leader: "+leader)
	r = tty("inspect", "leader")
	assert.Regexp(t, `LEADER\s+EPOCH\s+SINCE\n`+leader+`\s+\d+\s+\S+ \(\d+s ago\)`, r.stdout)

	// inspect partitions
	r = cli("inspect", "partitions", "-o", "json")
	assert.Equal(t, []string{"cluster", "count", "generation", "partitions", "total_weight", "version"}, jsonKeys(t, r.stdout))
	pv := decode[PartitionsView](t, r)
	assert.Equal(t, 30, pv.Count)
	assert.InDelta(t, 30, pv.TotalWeight, 0)
	assert.Equal(t, uint64(1), pv.Generation)
	assert.Equal(t, version, pv.Version)
	require.Len(t, pv.Partitions, 30)
	assert.Equal(t, "p-00", pv.Partitions[0].Key)
	for _, p := range pv.Partitions {
		assert.Contains(t, []string{"w0", "w1", "w2"}, p.Owner, p.Key)
	}
	r = cli("inspect", "partitions", "--worker", "w1", "-o", "json")
	mine := decode[PartitionsView](t, r)
	assert.Len(t, mine.Partitions, ws.Workers[1].Partitions)
	r = cli("inspect", "partitions")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `^p-00\t1\tw[012]\n`, r.stdout)
	r = tty("inspect", "partitions")
	assert.Contains(t, r.stdout, "generation 1: 30 partitions, total weight 30")
	assert.Regexp(t, `KEY\s+WEIGHT\s+OWNER\n`, r.stdout)
	r = cli("inspect", "partitions", "-o", "yaml")
	assert.Contains(t, r.stdout, "total_weight: 30")

	// completion of worker IDs and inspect targets
	complete := func(args ...string) result {
		return runCLI(t, nil, append([]string{"__complete", "--nats-url", n.URL(), "--cluster", "ops"}, args...)...)
	}
	r = complete("inspect", "workers", "--worker", "")
	require.Equal(t, ExitOK, r.code, r.stderr)
	for _, id := range []string{"w0", "w1", "w2"} {
		assert.Regexp(t, `(?m)^`+id+`\t\S+ pid \d+$`, r.stdout)
	}
	r = complete("inspect", "assignments", "--worker", "w1")
	assert.Contains(t, r.stdout, "w1\t")
	assert.NotContains(t, r.stdout, "w0")
	r = runCLI(t, map[string]string{"PARTI_NATS_URL": n.URL(), "PARTI_CLUSTER": "ops"},
		"__complete", "inspect", "partitions", "--worker", "w")
	assert.Contains(t, r.stdout, "w2\t", "the environment names the cluster")

	// A fourth worker joins; the long scale window keeps it idle until an
	// operator rebalances.
	f.start("w3")
	natstest.WaitFor(t, 10*time.Second, func() error {
		v := decode[WorkersView](t, cli("inspect", "workers", "-o", "json"))
		if len(v.Workers) != 4 || v.Workers[3].AppliedVersion != version {
			return fmt.Errorf("workers %+v", v.Workers)
		}
		return nil
	})

	// rebalance --dry-run
	r = cli("rebalance", "--dry-run", "-o", "json")
	assert.Equal(t, []string{"duration_ms", "max_over_avg", "moved", "moves", "previous_version", "result", "version"}, jsonKeys(t, r.stdout))
	dry := decode[RebalanceView](t, r)
	assert.Equal(t, "dry-run", dry.Result)
	assert.Equal(t, version, dry.Version)
	assert.Equal(t, version, dry.PreviousVersion)
	assert.Equal(t, 7, dry.Moved, "30 partitions over 4 workers: the newcomer takes 7")
	require.Len(t, dry.Moves, dry.Moved)
	for _, m := range dry.Moves {
		assert.Equal(t, "w3", m.To)
		assert.Contains(t, []string{"w0", "w1", "w2"}, m.From)
	}
	assert.Less(t, dry.MaxOverAvg, 1.1)
	r = cli("rebalance", "--dry-run")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 8, r.stdout)
	assert.Regexp(t, fmt.Sprintf(`^dry-run\t%d\t%d\t7\t[0-9.]+\t1\.0\d\d$`, version, version), lines[0])
	assert.Regexp(t, `^p-\d\d\tw[012]\tw3$`, lines[1])
	r = tty("rebalance", "--dry-run")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "result    dry-run\n")
	assert.Contains(t, r.stdout, fmt.Sprintf("version   %d (nothing published)\n", version))
	assert.Contains(t, r.stdout, "moved     7\n")
	assert.Regexp(t, `balance   1\.0\d\d max/avg load`, r.stdout)
	assert.Regexp(t, `PARTITION\s+FROM\s+TO\np-\d\d\s+w[012]\s+w3\n`, r.stdout)
	assert.Equal(t, version, decode[WorkersView](t, cli("inspect", "workers", "-o", "json")).Workers[0].AppliedVersion,
		"a dry run publishes nothing")

	// rebalance --force --wait publishes the plan and waits for the fleet.
	r = cli("rebalance", "--force", "--reason", "w3 joined", "--wait", "-o", "json")
	forced := decode[RebalanceView](t, r)
	assert.Equal(t, "published", forced.Result)
	assert.Equal(t, version+1, forced.Version)
	assert.Equal(t, version, forced.PreviousVersion)
	assert.Equal(t, 7, forced.Moved)
	assert.ElementsMatch(t, dry.Moves, forced.Moves)
	assert.Positive(t, forced.DurationMS)
	assert.Contains(t, r.stderr, fmt.Sprintf("4 live workers applied version %d", version+1))
	for _, w := range decode[WorkersView](t, cli("inspect", "workers", "-o", "json")).Workers {
		assert.GreaterOrEqual(t, w.AppliedVersion, version+1, w.ID)
	}
	f.covered(10*time.Second, 4)

	r = cli("rebalance", "--force", "-o", "yaml")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "result: published")
	assert.Contains(t, r.stdout, "moves: []")
	r = tty("rebalance", "--force")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "leader    "+leader+" (epoch ")
	assert.Contains(t, r.stdout, fmt.Sprintf("version   %d (previous %d)", version+3, version+2))
	assert.NotContains(t, r.stdout, "PARTITION", "no moves, no table")

	// inspect history shows the forced rebalance with its reason.
	var hv HistoryView
	natstest.WaitFor(t, 5*time.Second, func() error {
		hv = decode[HistoryView](t, cli("inspect", "history", "-o", "json"))
		for _, e := range hv.Entries {
			if strings.Contains(e.Reason, "w3 joined") {
				return nil
			}
		}
		return fmt.Errorf("no forced entry in %+v", hv.Entries)
	})
	assert.Equal(t, leader, hv.Leader)
	var forcedEntry HistoryEntryView
	for _, e := range hv.Entries {
		if strings.Contains(e.Reason, "w3 joined") {
			forcedEntry = e
		}
	}
	assert.Equal(t, "published", forcedEntry.Result)
	assert.Equal(t, version+1, forcedEntry.Version)
	assert.Equal(t, 7, forcedEntry.Moved)
	assert.Equal(t, "cold-start", strings.SplitN(hv.Entries[0].Reason, ":", 2)[0])
	r = cli("inspect", "history")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^\S+\tpublished\t\d+\t7\t[0-9.]+\tforce: w3 joined\t$`, r.stdout)
	r = tty("inspect", "history")
	assert.Regexp(t, `AT\s+RESULT\s+VERSION\s+MOVED\s+DURATION\s+REASON\s+ERROR\n`, r.stdout)
	r = cli("inspect", "history", "-o", "yaml")
	assert.Contains(t, r.stdout, "reason: 'force: w3 joined'")

	// partitions apply: drop p-00, add p-30 and p-31, re-weight p-01.
	file := writeFile(t, "parts.yaml", partsYAML(func(k string) (float64, bool) {
		switch k {
		case "p-00":
			return 0, false
		case "p-01":
			return 3, true
		}
		return 1, true
	}, "p-30", "p-31"))
	r = cli("partitions", "apply", "-f", file, "--dry-run", "-o", "json")
	assert.Equal(t, []string{"added", "changed", "cluster", "count", "generation", "previous_generation", "removed", "result", "total_weight"},
		jsonKeys(t, r.stdout))
	av := decode[ApplyView](t, r)
	assert.Equal(t, ApplyView{Cluster: "ops", Result: "dry-run", Generation: 1, PreviousGeneration: 1, Count: 31, TotalWeight: 33,
		Added: []PartitionWeight{{"p-30", 1}, {"p-31", 1}}, Removed: []PartitionWeight{{"p-00", 1}},
		Changed: []WeightChange{{"p-01", 1, 3}}}, av)
	assert.Equal(t, uint64(1), decode[PartitionsView](t, cli("inspect", "partitions", "-o", "json")).Generation, "dry run applies nothing")

	r = cli("partitions", "apply", "-f", file)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "added\tp-30\t\t1\nadded\tp-31\t\t1\nremoved\tp-00\t1\t\nchanged\tp-01\t1\t3\n", r.stdout)
	assert.Contains(t, r.stderr, "applied as generation 2 (was 1): 2 added, 1 removed, 1 re-weighted; 31 partitions, total weight 33")
	pv = decode[PartitionsView](t, cli("inspect", "partitions", "-o", "json"))
	assert.Equal(t, uint64(2), pv.Generation)
	assert.Equal(t, 31, pv.Count)
	owners := map[string]string{}
	for _, p := range pv.Partitions {
		owners[p.Key] = p.Owner
	}
	assert.Empty(t, owners["p-30"], "not assigned until the leader rebalances")
	assert.NotContains(t, owners, "p-00")

	r = tty("partitions", "apply", "-f", file)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "unchanged: the file matches generation 2 (31 partitions); nothing applied\n", r.stdout)

	// The leader picked up the new set: a forced rebalance assigns it.
	natstest.WaitFor(t, 10*time.Second, func() error {
		v := decode[RebalanceView](t, cli("rebalance", "--dry-run", "-o", "json"))
		for _, m := range v.Moves {
			if m.Partition == "p-30" {
				return nil
			}
		}
		return fmt.Errorf("the leader has not seen the new set: %+v", v.Moves)
	})
	forced = decode[RebalanceView](t, cli("rebalance", "--force", "--wait", "-o", "json"))
	i := slices.IndexFunc(forced.Moves, func(m MoveView) bool { return m.Partition == "p-30" })
	require.GreaterOrEqual(t, i, 0, "p-30 is assigned: %+v", forced.Moves)
	assert.Empty(t, forced.Moves[i].From, "a new partition had no owner")
	pv = decode[PartitionsView](t, cli("inspect", "partitions", "-o", "json"))
	for _, p := range pv.Partitions {
		assert.NotEmpty(t, p.Owner, p.Key)
	}

	// From stdin, as YAML and JSON.
	r = runStdin(t, `{"partitions":[{"key":"x","weight":2}]}`, "--nats-url", n.URL(), "--cluster", "ops",
		"partitions", "apply", "-f", "-", "--dry-run", "-o", "yaml")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "result: dry-run")
	assert.Contains(t, r.stdout, "- key: x")
	r = runTTY(t, "--nats-url", n.URL(), "--cluster", "ops", "partitions", "apply", "-f", writeFile(t, "big.yaml", partsYAML(
		func(string) (float64, bool) { return 0, false }, manyKeys(60)...)), "--dry-run")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `^dry run against generation 2: 60 added, 31 removed, 0 re-weighted`, r.stdout)
	assert.Regexp(t, `CHANGE\s+KEY\s+OLD\s+NEW\n`, r.stdout)
	assert.Contains(t, r.stdout, "41 more (-o json lists them all)")
}

// partsYAML lists the fleet's 30 partitions p-00..p-29 with the weight
// keep gives each (dropping those it refuses), then extra keys of weight 1.
func partsYAML(keep func(string) (float64, bool), extra ...string) string {
	var b strings.Builder
	for i := range 30 {
		k := fmt.Sprintf("p-%02d", i)
		if w, ok := keep(k); ok {
			fmt.Fprintf(&b, "- key: %s\n  weight: %g\n", k, w)
		}
	}
	for _, k := range extra {
		fmt.Fprintf(&b, "- key: %s\n", k)
	}
	return b.String()
}

func manyKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("k-%03d", i)
	}
	return out
}

// TestNoLeader: a cluster whose buckets exist but where no node runs.
func TestNoLeader(t *testing.T) {
	n := natstest.RunServer(t)
	setupCluster(t, n.URL(), "idle")
	base := []string{"--nats-url", n.URL(), "--cluster", "idle"}

	start := time.Now()
	r := runCLI(t, nil, append(base, "rebalance", "--force", "--timeout", "1s")...)
	assert.Equal(t, ExitNoLeader, r.code, r.stderr)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Contains(t, r.stderr, `no leader of cluster "idle" answered on parti.idle.control.rebalance within 1`)
	assert.Contains(t, r.stderr, "parti run --cluster idle")
	assert.Empty(t, r.stdout)

	r = runCLI(t, nil, append(base, "rebalance", "--dry-run", "--timeout", "500ms", "-o", "json")...)
	assert.Equal(t, ExitNoLeader, r.code, r.stderr)

	r = runCLI(t, nil, append(base, "inspect", "leader", "-o", "json")...)
	assert.Equal(t, ExitNoLeader, r.code, r.stderr)
	assert.JSONEq(t, `{"leader":"","epoch":0,"since":null}`, r.stdout)
	assert.Contains(t, r.stderr, `no leader in cluster "idle"`)
	r = runCLI(t, nil, append(base, "inspect", "leader")...)
	assert.Equal(t, ExitNoLeader, r.code, r.stderr)
	assert.Empty(t, r.stdout)

	r = runCLI(t, nil, append(base, "inspect", "workers", "-o", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"workers":[]}`, r.stdout)
	r = runCLI(t, nil, append(base, "inspect", "history", "-o", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"leader":"","epoch":0,"entries":[]}`, r.stdout)
	assert.Contains(t, r.stderr, "no rebalance history")
	r = runCLI(t, nil, append(base, "inspect", "partitions", "-o", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"cluster":"idle","generation":0,"count":0,"total_weight":0,"version":0,"partitions":[]}`, r.stdout)
	assert.Contains(t, r.stderr, "no partition set")

	// Applying a set to a cluster without one writes the first generation.
	r = runCLI(t, nil, append(base, "partitions", "apply", "-f", writeFile(t, "p.yaml", "- key: a\n- key: b\n  weight: 2\n"), "-o", "json")...)
	av := decode[ApplyView](t, r)
	assert.Equal(t, "applied", av.Result)
	assert.Equal(t, uint64(1), av.Generation)
	assert.Len(t, av.Added, 2)

	// A cluster whose buckets do not exist: inspect names it; rebalance
	// finds no leader.
	r = runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "ghost", "inspect", "workers")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, `no parti cluster "ghost"`)
	r = runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "ghost", "rebalance", "--force", "--timeout", "300ms")
	assert.Equal(t, ExitNoLeader, r.code, r.stderr)
}

func TestOperatorUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rebalance"}, "pass --force"},
		{[]string{"rebalance", "--reason", "x"}, "--dry-run"},
		{[]string{"rebalance", "--dry-run", "--wait"}, "--wait"},
		{[]string{"rebalance", "--force", "--timeout", "-1s"}, "--timeout"},
		{[]string{"rebalance", "--force", "--timeout", "0"}, "--timeout"},
		{[]string{"rebalance", "--force", "--timeout", "soon"}, "--timeout"},
		{[]string{"rebalance", "--force", "now"}, "unknown command"},
		{[]string{"rebalance", "--force", "-o", "xml"}, "--output"},
		{[]string{"inspect", "workers", "--timeout", "-5s"}, "--timeout"},
		{[]string{"inspect", "leader", "--timeout", "0s"}, "--timeout"},
		{[]string{"inspect", "history", "--timeout", "-1ms"}, "--timeout"},
		{[]string{"inspect", "partitions", "--timeout", "-1ms"}, "--timeout"},
		{[]string{"inspect", "nodes"}, `unknown inspect target "nodes"`},
		{[]string{"inspect", "leader", "extra"}, "unknown command"},
		{[]string{"inspect", "history", "-o", "csv"}, "--output"},
		{[]string{"partitions"}, ""},
		{[]string{"partitions", "delete"}, `unknown partitions command "delete"`},
		{[]string{"partitions", "apply"}, "--file is required"},
		{[]string{"partitions", "apply", "-f", "/nonexistent/parts.yaml"}, "/nonexistent/parts.yaml"},
		{[]string{"partitions", "apply", "-f", "x.yaml", "--timeout", "-1s"}, "--timeout"},
		{[]string{"rebalanse", "--force"}, "unknown command"},
		{[]string{"--context", "no-such-context", "inspect", "leader"}, "no-such-context"},
	} {
		r := runCLI(t, nil, tc.args...)
		if tc.want == "" {
			assert.Equal(t, ExitOK, r.code, "%v: %s", tc.args, r.stderr)
			continue
		}
		assert.Equal(t, ExitUsage, r.code, "%v: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, tc.args)
	}
	// The environment is checked too, naming the variable.
	r := runCLI(t, map[string]string{"PARTI_TIMEOUT": "-2s"}, "inspect", "workers")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--timeout")
}

// A bad partitions file exits 2 naming the entry, and nothing is applied.
func TestPartitionsApplyBadFile(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setupCluster(t, n.URL(), "bad")
	_, err := store.WritePartitions(ctx, b.Partitions, demoPartitions(4))
	require.NoError(t, err)
	before, err := store.ReadPartitions(ctx, b.Partitions)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		content string
		want    []string
	}{
		"duplicate key":   {"- key: p-000\n- key: new\n- key: p-000\n", []string{`partition #3 "p-000"`, "duplicate", "line 3"}},
		"negative weight": {`[{"key":"a"},{"key":"b","weight":-1}]`, []string{`partition #2 "b"`, "weight"}},
		"weight not num":  {"- key: a\n  weight: heavy\n", []string{"partition #1", `"heavy" is not a number`}},
		"malformed":       {"- key: [a\n", []string{"malformed"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, "parts.yaml", tc.content)
			for _, dry := range []bool{false, true} {
				args := []string{"--nats-url", n.URL(), "--cluster", "bad", "partitions", "apply", "-f", p}
				if dry {
					args = append(args, "--dry-run")
				}
				r := runCLI(t, nil, args...)
				require.Equal(t, ExitUsage, r.code, r.stderr)
				assert.Contains(t, r.stderr, p)
				assert.Contains(t, r.stderr, "nothing applied")
				for _, w := range tc.want {
					assert.Contains(t, r.stderr, w)
				}
				assert.Empty(t, r.stdout)
			}
			r := runStdin(t, tc.content, "--nats-url", n.URL(), "--cluster", "bad", "partitions", "apply", "-f", "-")
			assert.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, "(stdin)")
		})
	}
	after, err := store.ReadPartitions(ctx, b.Partitions)
	require.NoError(t, err)
	assert.Equal(t, before.Manifest, after.Manifest, "nothing applied")
}

// Unreachable NATS fails within the timeout with exit 3, naming the URL.
func TestOperatorUnreachable(t *testing.T) {
	for _, args := range [][]string{
		{"rebalance", "--force"},
		{"rebalance", "--dry-run", "-o", "json"},
		{"inspect", "workers"},
		{"inspect", "leader"},
		{"inspect", "history"},
		{"inspect", "partitions"},
		{"partitions", "apply", "-f", writeFile(t, "p.yaml", "- key: a\n")},
	} {
		start := time.Now()
		full := append(append([]string{"--nats-url", "nats://127.0.0.1:1"}, args...), "--timeout", "1s")
		r := runCLI(t, nil, full...)
		assert.Equal(t, ExitUnreachable, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "nats://127.0.0.1:1", args)
		assert.Less(t, time.Since(start), 3*time.Second, args)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI(t, nil, "completion", shell)
		require.Equal(t, ExitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, "parti", shell)
	}
	r := runCLI(t, nil, "completion", "tcsh")
	assert.Equal(t, ExitUsage, r.code, r.stderr)

	// Static completions need no server.
	r = runCLI(t, nil, "__complete", "inspect", "")
	require.Equal(t, ExitOK, r.code, r.stderr)
	for _, target := range inspectTargets {
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+target+`\t`), r.stdout)
	}
	r = runCLI(t, nil, "__complete", "rebalance", "--")
	assert.Contains(t, r.stdout, "--force")
	assert.Contains(t, r.stdout, "--dry-run")
	// Worker IDs without a reachable server: nothing, quickly, no error.
	start := time.Now()
	r = runCLI(t, nil, "__complete", "--nats-url", "nats://127.0.0.1:1", "inspect", "workers", "--worker", "")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, ":4\n", r.stdout)
	assert.Less(t, time.Since(start), 4*time.Second)
}
