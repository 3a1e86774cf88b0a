package strategy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parti-dev/parti/calculator/model"
)

// benchSizes are the fleets every strategy is measured on, partitions ×
// workers.
var benchSizes = [][2]int{{1000, 10}, {10000, 100}, {100000, 100}, {100000, 1000}}

// benchFleet builds lognormal partitions and workers, the previous
// assignment computed by the strategy itself, and the worker list after one
// join.
func benchFleet(name string, n, w int) (parts []model.Partition, workers, joined, prev []string) {
	rng := newRand(42)
	parts = makeParts(n, distLognormal, rng)
	f := newFleet(w, rng)
	workers = slices.Clone(f.workers)
	s, err := New(name)
	if err != nil {
		panic(err)
	}
	prev = slices.Clone(s.Assign(nil, parts, workers, nil))
	f.join(1)
	return parts, workers, f.workers, prev
}

// BenchmarkAssign measures each strategy from scratch ("full": no current
// assignment) and incrementally ("join": the previous assignment given, one
// worker added). The Strategy value and dst are reused across iterations,
// as the calculator does; every iteration computes the same placement.
func BenchmarkAssign(b *testing.B) {
	for _, name := range Names() {
		for _, size := range benchSizes {
			parts, workers, joined, prev := benchFleet(name, size[0], size[1])
			label := fmt.Sprintf("%s/%dx%d", name, size[0], size[1])
			b.Run(label+"/full", func(b *testing.B) {
				s, _ := New(name)
				dst := s.Assign(nil, parts, workers, nil)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					dst = s.Assign(dst, parts, workers, nil)
				}
			})
			b.Run(label+"/join", func(b *testing.B) {
				s, _ := New(name)
				dst := s.Assign(nil, parts, joined, prev)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					dst = s.Assign(dst, parts, joined, prev)
				}
			})
		}
	}
}

// BenchmarkMeasure is the cost of the figures `parti simulate` prints.
func BenchmarkMeasure(b *testing.B) {
	parts, workers, joined, prev := benchFleet("sticky", 100000, 1000)
	next := NewSticky(DefaultStickyOptions()).Assign(nil, parts, joined, prev)
	b.ReportAllocs()
	for b.Loop() {
		Measure(parts, workers, joined, prev, next)
	}
}
