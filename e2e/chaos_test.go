package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/worker"
)

// chaos runs a seeded schedule of faults against a fleet of real processes:
// SIGKILL, SIGTERM, restart with the same ID, and new workers joining. After
// every event it waits until every partition is owned exactly once again;
// at the end it checks every audit log for overlapping ownership.
func chaos(t *testing.T, seed uint64, events int) {
	const parts = 30
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	f := newFleet(t, parts, fastTiming)
	next := 0
	newID := func() string { next++; return fmt.Sprintf("c%d", next) }
	for range 4 {
		f.start(newID())
	}
	f.waitCovered(30 * time.Second)
	live := func() []string {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := make([]string, 0, len(f.procs))
		for id := range f.procs {
			out = append(out, id)
		}
		slices.Sort(out)
		return out
	}
	for i := range events {
		ids := live()
		victim := ids[rng.IntN(len(ids))]
		var what string
		switch r := rng.IntN(10); {
		case r < 4 && len(ids) > 2:
			what = "kill+restart " + victim
			f.kill(victim)
			f.start(victim)
		case r < 6 && len(ids) > 2:
			what = "kill " + victim
			f.kill(victim)
		case r < 8 && len(ids) > 2:
			what = "term " + victim
			f.term(victim)
		default:
			if len(ids) >= 6 {
				what = "term " + victim
				f.term(victim)
			} else {
				id := newID()
				what = "join " + id
				f.start(id)
			}
		}
		took, _ := f.waitCovered(60 * time.Second)
		t.Logf("event %d: %-20s → covered after %v (%d workers)", i+1, what, took, len(live()))
	}
	recs, ends := f.audit()
	overlaps := worker.CheckOverlaps(recs, ends)
	for _, o := range overlaps {
		t.Errorf("partition %s held twice: %+v and %+v", o.Partition, o.A, o.B)
	}
	require.NotEmpty(t, recs)
	t.Logf("seed %d: %d events, %d audit records, %d overlaps", seed, events, len(recs), len(overlaps))
}

// TestChaosShort is the fixed-seed version that runs in `make test`;
// `make chaos` runs a long schedule.
func TestChaosShort(t *testing.T) {
	chaos(t, 1, 8)
}
