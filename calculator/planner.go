package calculator

import (
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
)

// Planner turns the partition set, the live workers and the previous owners
// into new owners with a strategy. It is the part of the calculator that
// decides placement, shared by the engine and by `parti simulate`.
//
// A Planner reuses its buffers between calls and is not safe for concurrent
// use.
type Planner struct {
	place strategy.Strategy
	live  map[string]struct{}
	cur   []string
	next  []string
}

// NewPlanner returns a planner that places partitions with s.
func NewPlanner(s strategy.Strategy) *Planner {
	return &Planner{place: s, live: make(map[string]struct{})}
}

// Strategy returns the planner's strategy.
func (p *Planner) Strategy() strategy.Strategy { return p.place }

// Plan computes new owners for parts (sorted by key) over workers (sorted,
// unique, non-empty). prev is aligned with parts and holds the previous
// owner of each partition ("" for none); reclaim optionally maps a partition
// key to a worker that should get it back (a worker that returned within the
// restart grace). Owners no longer in workers are treated as gone.
//
// The returned slice is aligned with parts and belongs to the planner until
// the next call to Plan; moved counts partitions whose owner differs from
// prev, including previously unowned ones.
func (p *Planner) Plan(parts []model.Partition, workers []string, prev []string, reclaim map[string]string) (next []string, moved int) {
	clear(p.live)
	for _, w := range workers {
		p.live[w] = struct{}{}
	}
	p.cur = grow(p.cur, len(parts))
	for i := range parts {
		o := ""
		if prev != nil {
			o = prev[i]
		}
		if _, ok := p.live[o]; !ok {
			o = ""
		}
		if len(reclaim) > 0 {
			if r, ok := reclaim[parts[i].Key]; ok {
				if _, live := p.live[r]; live {
					o = r
				}
			}
		}
		p.cur[i] = o
	}
	p.next = p.place.Assign(p.next, parts, workers, p.cur)
	for i := range parts {
		if prev == nil || p.next[i] != prev[i] {
			moved++
		}
	}
	return p.next, moved
}

// grow returns s resized to n, reusing its backing array when large enough.
func grow(s []string, n int) []string {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]string, n)
}
