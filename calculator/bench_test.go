package calculator

import (
	"context"
	"fmt"
	"testing"

	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/model"
)

// nopStore accepts every write.
type nopStore struct{}

func (nopStore) Load(context.Context) (model.Assignment, bool, error) {
	return model.Assignment{}, false, nil
}
func (nopStore) WriteWorker(context.Context, uint64, uint64, WorkerEntry) error { return nil }
func (nopStore) DeleteWorker(context.Context, uint64, uint64, string) error     { return nil }
func (nopStore) Commit(context.Context, Commit) error                           { return nil }

// BenchmarkRebalance measures one engine rebalance (plan, diff, publish to a
// store that accepts everything) when one worker joins or leaves a fleet
// that already has a published assignment.
func BenchmarkRebalance(b *testing.B) {
	for _, size := range []struct{ parts, workers int }{{1000, 10}, {10000, 100}, {100000, 1000}} {
		b.Run(fmt.Sprintf("%dx%d/join-leave", size.parts, size.workers), func(b *testing.B) {
			parts := make([]model.Partition, size.parts)
			for i := range parts {
				parts[i] = model.Partition{Key: fmt.Sprintf("p-%06d", i), Weight: 1}
			}
			c, err := New(Config{Leader: "w", Epoch: 1, Partitions: parts}, newFakeMembership(), nopStore{})
			if err != nil {
				b.Fatal(err)
			}
			l := c.loop
			l.synced = true
			for i := range size.workers {
				l.live[fmt.Sprintf("w-%05d", i)] = l.cfg.Clock.Now()
			}
			ctx := context.Background()
			l.to(fsm.Idle, "bench", l.cfg.Clock.Now())
			if o := l.rebalance(ctx, "bench", true); o.err != nil {
				b.Fatal(o.err)
			}
			extra := "w-99999"
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					l.live[extra] = l.cfg.Clock.Now()
				} else {
					delete(l.live, extra)
				}
				l.to(fsm.ScalingWindow, "bench", l.cfg.Clock.Now())
				if o := l.rebalance(ctx, "bench", false); o.err != nil || o.res.Result != ResultPublished {
					b.Fatal(o.err, o.res.Result)
				}
			}
		})
	}
}
