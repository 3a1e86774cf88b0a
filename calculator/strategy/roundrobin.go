package strategy

import "github.com/parti-dev/parti/calculator/model"

// RoundRobin deals partitions out in key order: parts[i] goes to
// workers[i mod len(workers)]. It ignores weights and the current owners, so
// almost every partition moves when the fleet changes; it exists as a simple
// baseline and for uniform, stateless workloads.
type RoundRobin struct{}

// NewRoundRobin returns the round-robin strategy.
func NewRoundRobin() *RoundRobin { return &RoundRobin{} }

// Name returns "round-robin".
func (*RoundRobin) Name() string { return "round-robin" }

// Assign implements Strategy.
func (*RoundRobin) Assign(dst []string, parts []model.Partition, workers []string, _ []string) []string {
	dst = resize(dst, len(parts))
	if len(workers) == 0 {
		clear(dst)
		return dst
	}
	w := 0
	for i := range parts {
		dst[i] = workers[w]
		w++
		if w == len(workers) {
			w = 0
		}
	}
	return dst
}
