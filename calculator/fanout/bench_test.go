package fanout

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPublishDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := NewHub[uint64](Options{Buffer: 16})
	defer h.Close()
	var wg sync.WaitGroup
	for i := range 10 {
		ch, _ := h.Subscribe()
		if i%2 == 0 {
			wg.Go(func() {
				for range ch { // drain until closed
				}
			})
		}
	}
	for i := range 100 {
		h.Publish(uint64(i))
	}
	allocs := testing.AllocsPerRun(1000, func() { h.Publish(1) })
	assert.Zero(t, allocs)
	h.Close()
	wg.Wait()
}

func BenchmarkPublish(b *testing.B) {
	h := NewHub[uint64](Options{})
	var wg sync.WaitGroup
	for range 10 {
		ch, _ := h.Subscribe()
		wg.Go(func() {
			for range ch { // drain until closed
			}
		})
	}
	b.ReportAllocs()
	var v uint64
	for b.Loop() {
		v++
		h.Publish(v)
	}
	b.StopTimer()
	b.ReportMetric(float64(h.Dropped())/float64(b.N), "drops/op")
	h.Close()
	wg.Wait()
}

// BenchmarkPublishStalled measures the drop path: ten subscribers that never
// read, so every event is folded into their pending gaps.
func BenchmarkPublishStalled(b *testing.B) {
	h := NewHub[uint64](Options{})
	defer h.Close()
	for range 10 {
		h.Subscribe()
	}
	b.ReportAllocs()
	var v uint64
	for b.Loop() {
		v++
		h.Publish(v)
	}
}
