package strategy

import (
	"math"

	"github.com/parti-dev/parti/calculator/model"
)

// Stats are the quality figures of one placement step: how much moved, how
// much had to move, and how even the load is. `parti simulate` reports them
// per step, and the strategy tests hold the sticky strategy to
// Moved ≤ 1.05 × Required and MaxOverAvg ≤ 1.05 × LowerBound.
type Stats struct {
	// Moved counts the partitions whose owner in next differs from prev,
	// including partitions that had no owner or whose owner is gone. On the
	// initial step (prev nil) every partition counts.
	Moved int `json:"moved"`
	// Required is the ideal minimum of Moved for this step: the partitions
	// that had to move (orphans: no owner in prev, or an owner not in
	// workers), plus the partitions that new workers (in workers but not in
	// prevWorkers) received in next, each partition counted once. New
	// workers cannot be given anything without moving it, so any placement
	// that gives them as much moves at least this many; everything above it
	// is movement between surviving workers. On the initial step (prev nil)
	// it is len(parts).
	Required int `json:"required"`
	// MaxOverAvg is the heaviest worker load in next divided by the average
	// load (total weight / len(workers)); 1 is perfect balance.
	MaxOverAvg float64 `json:"max_over_avg"`
	// LowerBound is the best MaxOverAvg any placement can reach by the
	// simple bound max(1, heaviest partition / average load).
	LowerBound float64 `json:"lower_bound"`
}

// MoveRatio is Moved / Required: 1 when nothing moved beyond what had to,
// 1 as well when neither moved anything, +Inf when partitions moved though
// none had to.
func (s Stats) MoveRatio() float64 {
	switch {
	case s.Required > 0:
		return float64(s.Moved) / float64(s.Required)
	case s.Moved == 0:
		return 1
	}
	return math.Inf(1)
}

// BalanceRatio is MaxOverAvg / LowerBound: how far the balance is from the
// bound, 1 at best.
func (s Stats) BalanceRatio() float64 {
	if s.LowerBound == 0 {
		return 0
	}
	return s.MaxOverAvg / s.LowerBound
}

// Measure computes the Stats of a step from prev to next.
//
// parts are the partitions (any order; prev and next are aligned with them),
// prevWorkers the live workers of the previous step and workers those of
// this step. prev holds the previous owner of each partition ("" for none)
// or is nil on the initial step; next holds the new owners. Owners in next
// that are not in workers still count towards the balance.
func Measure(parts []model.Partition, prevWorkers, workers []string, prev, next []string) Stats {
	var st Stats
	live := make(map[string]bool, len(workers)) // ID → is new
	for _, w := range workers {
		live[w] = true
	}
	for _, w := range prevWorkers {
		if _, ok := live[w]; ok {
			live[w] = false
		}
	}
	loads := make(map[string]float64, len(workers))
	total, heaviest := 0.0, 0.0
	for i, p := range parts {
		total += p.Weight
		heaviest = max(heaviest, p.Weight)
		owner := ""
		if i < len(next) {
			owner = next[i]
		}
		loads[owner] += p.Weight
		if prev == nil {
			st.Moved++
			st.Required++
			continue
		}
		if prev[i] != owner {
			st.Moved++
		}
		_, prevLive := live[prev[i]]
		if prev[i] == "" || !prevLive || live[owner] {
			st.Required++
		}
	}
	if len(workers) == 0 || total == 0 {
		return st
	}
	avg := total / float64(len(workers))
	peak := 0.0
	for _, l := range loads {
		peak = max(peak, l)
	}
	st.MaxOverAvg = peak / avg
	st.LowerBound = max(1, heaviest/avg)
	return st
}
