package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

func TestMain(m *testing.M) {
	bin, cleanup, err := buildBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// TestFleetLifecycle runs five real processes through the faults the
// product must survive and checks, across all of it, that no partition was
// ever held by two processes at once. Bounds are generous so the test does
// not flake; the measured figures are logged (`make measure` runs the same
// schedule with the default timing and prints them).
func TestFleetLifecycle(t *testing.T) {
	lifecycle(t, fastTiming)
}

// figures are the timings a lifecycle run measured.
type figures struct {
	coldStart, crashOwned, leaderTakeover, leaderCrashOwned, termExit, joinAssigned time.Duration
	restartMoved                                                                    int
	auditRecords                                                                    int
}

func lifecycle(t *testing.T, timing []string) figures {
	const parts = 40
	var fig figures
	f := newFleet(t, parts, timing)
	for i := range 5 {
		f.start(fmt.Sprintf("w%d", i))
	}
	took, _ := f.waitCovered(30 * time.Second)
	fig.coldStart = took
	t.Logf("5 workers cover %d partitions after %v", parts, took)

	var leader string
	natstest.WaitFor(t, 10*time.Second, func() error {
		var err error
		leader, err = f.leader()
		return err
	})

	// inspect assignments agrees with what the workers applied.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, errOut, code := f.cli(ctx, "inspect", "assignments", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var insp struct {
		Cluster     string              `json:"cluster"`
		Version     uint64              `json:"version"`
		Epoch       uint64              `json:"epoch"`
		Leader      string              `json:"leader"`
		Assignments map[string][]string `json:"assignments"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &insp), out)
	assert.Equal(t, f.cluster, insp.Cluster)
	assert.Equal(t, leader, insp.Leader)
	assert.Positive(t, insp.Version)
	n := 0
	for _, ks := range insp.Assignments {
		n += len(ks)
	}
	assert.Equal(t, parts, n)
	assert.Len(t, insp.Assignments, 5)

	// SIGKILL a worker that is not the leader: its partitions are owned again.
	victim := "w1"
	if victim == leader {
		victim = "w2"
	}
	f.kill(victim)
	took, _ = f.waitCovered(30 * time.Second)
	fig.crashOwned = took
	t.Logf("crash of %s → partitions owned again after %v", victim, took)

	// SIGKILL the leader: a new leader takes over, assignments stay valid.
	killed := time.Now()
	f.kill(leader)
	natstest.WaitFor(t, 30*time.Second, func() error {
		l, err := f.leader()
		if err == nil && l == leader {
			return fmt.Errorf("still %s", l)
		}
		return err
	})
	newLeader, _ := f.leader()
	fig.leaderTakeover = time.Since(killed)
	t.Logf("leader %s killed → new leader %s after %v", leader, newLeader, fig.leaderTakeover)
	f.waitCovered(30 * time.Second)
	fig.leaderCrashOwned = time.Since(killed)
	t.Logf("leader crash → partitions owned again after %v", fig.leaderCrashOwned)

	// SIGTERM a worker: graceful handoff.
	var graceful string
	for _, id := range []string{"w0", "w1", "w2", "w3", "w4"} {
		f.mu.Lock()
		_, live := f.procs[id]
		f.mu.Unlock()
		if live && id != newLeader {
			graceful = id
			break
		}
	}
	_, exit := f.term(graceful)
	fig.termExit = exit
	t.Logf("SIGTERM of %s → handoff done and process exited after %v", graceful, exit)
	took, before := f.waitCovered(30 * time.Second)
	t.Logf("… and its partitions owned again %v after the exit", took)

	// Restart a worker with the same ID within the restart grace: after it
	// settles it owns exactly what it owned before.
	var restarted string
	for _, o := range before {
		if o != newLeader {
			restarted = o
			break
		}
	}
	var prevOwned []string
	for k, o := range before {
		if o == restarted {
			prevOwned = append(prevOwned, k)
		}
	}
	slices.Sort(prevOwned)
	f.kill(restarted)
	f.start(restarted)
	natstest.WaitFor(t, 30*time.Second, func() error {
		own, err := f.owners()
		if err != nil {
			return err
		}
		var now []string
		for k, o := range own {
			if o == restarted {
				now = append(now, k)
			}
		}
		slices.Sort(now)
		if !slices.Equal(now, prevOwned) {
			return fmt.Errorf("%s owns %v, had %v", restarted, now, prevOwned)
		}
		return nil
	})
	_, after := f.waitCovered(10 * time.Second)
	moved := 0
	for k, o := range before {
		if after[k] != o {
			moved++
		}
	}
	assert.Zero(t, moved, "restart within the grace: zero partitions moved")
	fig.restartMoved = moved
	t.Logf("restart of %s within grace → partitions moved: %d", restarted, moved)

	// A new worker joins: it is assigned a share after the scale window.
	joined := time.Now()
	f.start("w9")
	natstest.WaitFor(t, 30*time.Second, func() error {
		own, err := f.owners()
		if err != nil {
			return err
		}
		for _, o := range own {
			if o == "w9" {
				return nil
			}
		}
		return fmt.Errorf("w9 owns nothing yet")
	})
	fig.joinAssigned = time.Since(joined)
	t.Logf("join of w9 → owns partitions after %v (includes process start)", fig.joinAssigned)

	recs, ends := f.audit()
	require.NotEmpty(t, recs)
	overlaps := worker.CheckOverlaps(recs, ends)
	for _, o := range overlaps {
		t.Errorf("partition %s held twice: %+v and %+v", o.Partition, o.A, o.B)
	}
	t.Logf("audit: %d records, %d overlaps", len(recs), len(overlaps))
	fig.auditRecords = len(recs)
	return fig
}
