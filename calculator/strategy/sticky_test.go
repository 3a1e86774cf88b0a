package strategy

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator/model"
)

const (
	balanceFactor  = 1.05 // MaxOverAvg ≤ balanceFactor × LowerBound
	movementFactor = 1.05 // Moved ≤ movementFactor × Required
	// evictionsPerOversized is the extra movement allowed per orphan that
	// no surviving worker can take without giving partitions up.
	evictionsPerOversized = 4
)

// stepCheck runs one sticky step through a reused and a fresh strategy and
// checks validity, determinism, idempotence, balance and movement.
type stepCheck struct {
	t      *testing.T
	reused *Sticky
	// anyEvictions lifts the movement bound on steps with oversized
	// orphans (edge cases where each such orphan evicts many partitions).
	anyEvictions bool
	dst          []string
	worstMov     float64
	worstBal     float64
	forced       int
}

func (c *stepCheck) run(name string, parts []model.Partition, prevWorkers, workers, prev, cur []string) []string {
	t := c.t
	t.Helper()
	c.dst = c.reused.Assign(c.dst, parts, workers, cur)
	out := slices.Clone(c.dst)
	requireValid(t, parts, workers, out)
	fresh := NewSticky(DefaultStickyOptions()).Assign(nil, parts, workers, cur)
	requireSame(t, out, fresh, "%s: reused and fresh strategy disagree", name)
	again := c.reused.Assign(nil, parts, workers, out)
	requireSame(t, out, again, "%s: not idempotent: feeding the result back moved partitions", name)

	st := Measure(parts, prevWorkers, workers, prev, out)
	require.LessOrEqual(t, st.MaxOverAvg, balanceFactor*st.LowerBound+1e-9,
		"%s: balance max/avg %.4f over %.2f × bound %.4f", name, st.MaxOverAvg, balanceFactor, st.LowerBound)
	c.worstBal = max(c.worstBal, st.BalanceRatio())
	allowed := movementFactor * float64(st.Required)
	if n := forcedExtra(parts, prevWorkers, workers, prev); n > 0 {
		c.forced++
		t.Logf("%s: %d oversized orphans fit nowhere without evictions: moved %d, required %d", name, n, st.Moved, st.Required)
		if c.anyEvictions {
			return out
		}
		allowed += float64(evictionsPerOversized * n)
	}
	require.LessOrEqual(t, float64(st.Moved), allowed+1e-9,
		"%s: moved %d, required %d", name, st.Moved, st.Required)
	if st.Required > 0 {
		c.worstMov = max(c.worstMov, st.MoveRatio())
	}
	return out
}

// TestStickyRandomFleets walks random join/leave/crash sequences over
// 2000 partitions and about 40 workers for every weight distribution.
func TestStickyRandomFleets(t *testing.T) {
	for _, dist := range dists {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", dist, seed), func(t *testing.T) {
				rng := newRand(seed)
				parts := makeParts(2000, dist, rng)
				f := newFleet(40, rng)
				c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions())}
				prev := c.run("initial", parts, nil, f.workers, nil, nil)
				for step := range 14 {
					kinds := []string{"join", "leave", "crash"}
					kind := kinds[rng.IntN(3)]
					k := 1 + rng.IntN(4)
					if kind != "join" && len(f.workers)-k < 20 {
						kind = "join"
					}
					prevWorkers := slices.Clone(f.workers)
					cur := applyStep(f, kind, k, prev)
					prev = c.run(fmt.Sprintf("step %d %s:%d", step, kind, k), parts, prevWorkers, f.workers, prev, cur)
				}
				t.Logf("worst moved/required %.4f, worst balance/bound %.4f, forced steps %d", c.worstMov, c.worstBal, c.forced)
			})
		}
	}
}

// TestStickyScenario is the reference scenario of the issue: 10 000
// partitions over 100 workers, seed 7, steps join:1, leave:1, crash:5,
// join:10, for every weight distribution.
func TestStickyScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("long scenario")
	}
	steps := []struct {
		kind string
		k    int
	}{{"join", 1}, {"leave", 1}, {"crash", 5}, {"join", 10}}
	for _, dist := range dists {
		t.Run(dist, func(t *testing.T) {
			rng := newRand(7)
			parts := makeParts(10000, dist, rng)
			f := newFleet(100, rng)
			c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions())}
			prev := c.run("initial", parts, nil, f.workers, nil, nil)
			st := Measure(parts, nil, f.workers, nil, prev)
			t.Logf("%-8s %-8s workers %3d moved %5d required %5d ratio %.4f max/avg %.4f bound %.4f",
				dist, "initial", len(f.workers), st.Moved, st.Required, st.MoveRatio(), st.MaxOverAvg, st.LowerBound)
			for _, s := range steps {
				prevWorkers := slices.Clone(f.workers)
				cur := applyStep(f, s.kind, s.k, prev)
				name := fmt.Sprintf("%s:%d", s.kind, s.k)
				next := c.run(name, parts, prevWorkers, f.workers, prev, cur)
				st := Measure(parts, prevWorkers, f.workers, prev, next)
				t.Logf("%-8s %-8s workers %3d moved %5d required %5d ratio %.4f max/avg %.4f bound %.4f",
					dist, name, len(f.workers), st.Moved, st.Required, st.MoveRatio(), st.MaxOverAvg, st.LowerBound)
				prev = next
			}
		})
	}
}

func TestStickyEdgeCases(t *testing.T) {
	t.Run("one worker", func(t *testing.T) {
		parts := makeParts(50, distLognormal, newRand(1))
		workers := []string{"solo"}
		cur := make([]string, len(parts))
		cur[3] = "gone"
		cur[4] = "solo"
		c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions())}
		out := c.run("solo", parts, []string{"gone", "solo"}, workers, cur, cur)
		for _, o := range out {
			require.Equal(t, "solo", o)
		}
	})
	t.Run("more workers than partitions", func(t *testing.T) {
		parts := makeParts(5, distLognormal, newRand(2))
		f := newFleet(12, newRand(2))
		c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions())}
		out := c.run("initial", parts, nil, f.workers, nil, nil)
		_, counts := loads(parts, f.workers, out)
		for _, n := range counts {
			require.LessOrEqual(t, n, 1, "a worker holds two partitions while others idle")
		}
		prevWorkers := slices.Clone(f.workers)
		cur := applyStep(f, "crash", 3, out)
		c.run("crash", parts, prevWorkers, f.workers, out, cur)
	})
	t.Run("single giant partition", func(t *testing.T) {
		parts := makeParts(400, distUniform, newRand(3))
		parts[17].Weight = 300 // LowerBound ≈ 300 / (699/10) ≈ 4.3
		f := newFleet(10, newRand(3))
		c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions()), anyEvictions: true}
		out := c.run("initial", parts, nil, f.workers, nil, nil)
		l, counts := loads(parts, f.workers, out)
		gi, _ := slices.BinarySearch(f.workers, out[17])
		assert.Equal(t, 1, counts[gi], "the giant shares its worker")
		rest := (model.TotalWeight(parts) - 300) / 9
		for i := range l {
			if i != gi {
				assert.InDelta(t, rest, l[i], 0.05*rest, "worker %d", i)
			}
		}
		// The giant's worker crashes: the giant lands without evicting more
		// than needed, and the balance bound still holds.
		prevWorkers := slices.Clone(f.workers)
		cur := slices.Clone(out)
		gone := out[17]
		f.workers = slices.DeleteFunc(f.workers, func(w string) bool { return w == gone })
		for i := range cur {
			if cur[i] == gone {
				cur[i] = ""
			}
		}
		c.run("giant crash", parts, prevWorkers, f.workers, out, cur)
	})
	t.Run("all on one worker then 9 join", func(t *testing.T) {
		for _, dist := range dists {
			parts := makeParts(2000, dist, newRand(4))
			f := newFleet(1, newRand(4))
			prev := make([]string, len(parts))
			for i := range prev {
				prev[i] = f.workers[0]
			}
			prevWorkers := slices.Clone(f.workers)
			f.join(9)
			c := &stepCheck{t: t, reused: NewSticky(DefaultStickyOptions())}
			c.run(dist, parts, prevWorkers, f.workers, prev, prev)
		}
	})
	t.Run("empty", func(t *testing.T) {
		s := NewSticky(DefaultStickyOptions())
		assert.Empty(t, s.Assign(nil, nil, []string{"a"}, nil))
		out := s.Assign([]string{"x", "y"}, makeParts(2, distUniform, newRand(1)), nil, nil)
		assert.Equal(t, []string{"", ""}, out)
	})
}

// TestStickyInitialIsHashSeeded checks that equal weights spread evenly and
// that the initial placement does not simply follow key order.
func TestStickyInitialIsHashSeeded(t *testing.T) {
	parts := makeParts(1000, distUniform, newRand(1))
	workers := newFleet(10, newRand(1)).workers
	out := NewSticky(DefaultStickyOptions()).Assign(nil, parts, workers, nil)
	_, counts := loads(parts, workers, out)
	for _, n := range counts {
		require.Equal(t, 100, n)
	}
	rr := NewRoundRobin().Assign(nil, parts, workers, nil)
	same := 0
	for i := range out {
		if out[i] == rr[i] {
			same++
		}
	}
	require.Less(t, same, 300, "initial placement looks like key order")
}

// TestStickyKeepsOwners checks stickiness when nothing forces a move, and
// that a weight change moves only a few partitions.
func TestStickyKeepsOwners(t *testing.T) {
	rng := newRand(9)
	parts := makeParts(3000, distLognormal, rng)
	workers := newFleet(30, rng).workers
	s := NewSticky(DefaultStickyOptions())
	out := slices.Clone(s.Assign(nil, parts, workers, nil))
	parts[5].Weight *= 20
	next := s.Assign(nil, parts, workers, out)
	st := Measure(parts, workers, workers, out, next)
	assert.LessOrEqual(t, st.Moved, 10)
	assert.LessOrEqual(t, st.MaxOverAvg, balanceFactor*st.LowerBound)
}

func TestStickyOptions(t *testing.T) {
	assert.Equal(t, DefaultStickyOptions(), NewSticky(StickyOptions{}).Options())
	o := NewSticky(StickyOptions{Slack: 0.05, Overload: 0.01}).Options()
	assert.InDelta(t, 0.05, o.Slack, 0)
	assert.InDelta(t, 0.05, o.Overload, 0, "overload is raised to slack")
	o = NewSticky(StickyOptions{Slack: math.NaN(), Overload: 2}).Options()
	assert.Equal(t, DefaultStickyOptions(), o)
	assert.Equal(t, "sticky", NewSticky(o).Name())
}
