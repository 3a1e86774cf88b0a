// Package strategy holds the placement strategies: deterministic functions
// from (partitions, live workers, current owners) to new owners.
//
// Strategies are pure: the same input always yields the same output, so two
// leaders computing from the same state agree. They must not import NATS or
// any I/O package.
package strategy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/parti-dev/parti/calculator/model"
)

// Strategy places partitions on workers.
//
// Assign writes the owner of parts[i] into dst[i] and returns dst, grown to
// len(parts) if needed (pass the previous result back in to avoid
// allocation). parts must be sorted by key (model.SortPartitions) and valid;
// workers must be sorted, unique and non-empty. current is nil (no previous
// assignment) or aligned with parts: current[i] is the previous owner of
// parts[i], or "" when it had none or its owner is no longer live. dst and
// current must not share a backing array.
//
// A Strategy value may keep scratch buffers between calls: it is not safe
// for concurrent use. The output never depends on that scratch state.
type Strategy interface {
	Name() string
	Assign(dst []string, parts []model.Partition, workers []string, current []string) []string
}

// Names lists the built-in strategies, the default first.
func Names() []string {
	return []string{"sticky", "consistent-hash", "bounded-load", "round-robin"}
}

// Default is the name of the default strategy.
const Default = "sticky"

// New returns a fresh instance of the named built-in strategy with default
// parameters.
func New(name string) (Strategy, error) {
	switch name {
	case "sticky":
		return NewSticky(DefaultStickyOptions()), nil
	case "consistent-hash":
		return NewConsistentHash(DefaultVirtualNodes), nil
	case "bounded-load":
		return NewBoundedLoad(DefaultVirtualNodes, DefaultLoadFactor), nil
	case "round-robin":
		return NewRoundRobin(), nil
	}
	return nil, fmt.Errorf("unknown strategy %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// ValidWorkers reports whether workers is sorted, unique and non-empty.
func ValidWorkers(workers []string) bool {
	if len(workers) == 0 {
		return false
	}
	for i := 1; i < len(workers); i++ {
		if workers[i-1] >= workers[i] {
			return false
		}
	}
	return !slices.Contains(workers, "")
}
