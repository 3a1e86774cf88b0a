package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/store"
)

// heartbeat is a worker's heartbeat as read from the workers bucket, with
// the server's timestamp of the write.
type heartbeat struct {
	codec.Heartbeat
	Stored time.Time
}

// readHeartbeats returns every live worker's heartbeat, sorted by worker
// ID. Values that do not decode are skipped and reported through skipped
// (which may be nil).
func readHeartbeats(ctx context.Context, b *layout.Buckets, skipped func(error)) ([]heartbeat, error) {
	hw, err := watchHeartbeats(ctx, b)
	if err != nil {
		return nil, err
	}
	defer hw.stop()
	for !hw.synced {
		if err := hw.next(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]heartbeat, 0, len(hw.live))
	for _, hb := range hw.live {
		out = append(out, hb)
	}
	if skipped != nil {
		for _, err := range hw.undecodable {
			skipped(err)
		}
	}
	slices.SortFunc(out, func(a, b heartbeat) int { return cmp.Compare(a.Worker, b.Worker) })
	return out, nil
}

// heartbeatWatch follows the workers bucket: live holds the latest
// heartbeat of every live worker once synced is true.
//
// A KV watch alone can miss a key in its initial values: when a worker
// heartbeats while the watch starts, the value the watch was to deliver is
// replaced (the bucket keeps one value per key) and the new one may come
// after the end-of-initial-values marker. So the keys are listed first
// (from the stream's subjects, atomically), and at the marker every listed
// key the watch has not delivered is read directly.
type heartbeatWatch struct {
	kv          jetstream.KeyValue
	w           jetstream.KeyWatcher
	keys        []string
	seen        map[string]bool
	live        map[string]heartbeat
	undecodable []error
	synced      bool
}

func watchHeartbeats(ctx context.Context, b *layout.Buckets) (*heartbeatWatch, error) {
	bucket := b.Layout.WorkersBucket()
	st, err := b.JS.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("read the workers: %w", err)
	}
	prefix := layout.KeySubject(bucket, "")
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("read the workers: %w", err)
	}
	hw := &heartbeatWatch{kv: b.Workers, seen: map[string]bool{}, live: map[string]heartbeat{}}
	for subject := range info.State.Subjects {
		hw.keys = append(hw.keys, strings.TrimPrefix(subject, prefix))
	}
	hw.w, err = b.Workers.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the workers: %w", err)
	}
	return hw, nil
}

func (hw *heartbeatWatch) stop() { _ = hw.w.Stop() }

// next applies the next change (or the end of the initial values).
func (hw *heartbeatWatch) next(ctx context.Context) error {
	select {
	case e, ok := <-hw.w.Updates():
		if !ok {
			return fmt.Errorf("read the workers: watch closed: %w", context.Cause(ctx))
		}
		if e != nil {
			hw.apply(e)
			return nil
		}
		hw.synced = true
		for _, k := range hw.keys {
			if hw.seen[k] {
				continue
			}
			e, err := hw.kv.Get(ctx, k)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue // deleted or expired
			}
			if err != nil {
				return fmt.Errorf("read worker %s: %w", k, err)
			}
			hw.apply(e)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("read the workers: %w", ctx.Err())
	}
}

func (hw *heartbeatWatch) apply(e jetstream.KeyValueEntry) {
	hw.seen[e.Key()] = true
	if e.Operation() != jetstream.KeyValuePut {
		delete(hw.live, e.Key())
		return
	}
	hb, err := codec.DecodeHeartbeat(e.Key(), e.Value())
	if err != nil {
		hw.undecodable = append(hw.undecodable, err)
		delete(hw.live, e.Key())
		return
	}
	hw.live[e.Key()] = heartbeat{Heartbeat: hb, Stored: e.Created()}
}

// readWorkerTTL returns the workers bucket's TTL: a worker without a
// heartbeat for this long is gone.
func readWorkerTTL(ctx context.Context, kv jetstream.KeyValue) (time.Duration, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the workers bucket: %w", err)
	}
	return st.TTL(), nil
}

// readHistory returns the leader's rebalance history, or found == false if
// no leader has published one.
func readHistory(ctx context.Context, b *layout.Buckets) (h codec.History, found bool, err error) {
	e, err := b.Status.Get(ctx, layout.KeyHistory)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("read the rebalance history: %w", err)
	}
	h, err = codec.DecodeHistory(e.Key(), e.Value())
	if err != nil {
		return h, false, fmt.Errorf("read the rebalance history: %w", err)
	}
	return h, true, nil
}

// readPartitionSet returns the stored partition set, or found == false if
// none is stored.
func readPartitionSet(ctx context.Context, b *layout.Buckets) (ps store.PartitionSet, found bool, err error) {
	ps, err = store.ReadPartitions(ctx, b.Partitions)
	if errors.Is(err, store.ErrNoPartitionSet) {
		return ps, false, nil
	}
	if err != nil {
		return ps, false, fmt.Errorf("read the partition set: %w", err)
	}
	return ps, true, nil
}

// ownerIndex maps every partition key of a to its owner.
func ownerIndex(a model.Assignment) map[string]string {
	owner := make(map[string]string, a.PartitionCount())
	for w, keys := range a.Owners {
		for _, k := range keys {
			owner[k] = w
		}
	}
	return owner
}

// waitApplied waits until every live worker that is not draining has
// applied version (its heartbeat says applied >= version) and returns how
// many workers that is. When ctx ends first, the error names the workers
// still behind.
func waitApplied(ctx context.Context, b *layout.Buckets, version uint64) (int, error) {
	hw, err := watchHeartbeats(ctx, b)
	if err != nil {
		return 0, err
	}
	defer hw.stop()
	behind := func() (late []string, n int) {
		for id, hb := range hw.live {
			switch {
			case hb.Draining:
			case hb.Applied < version:
				late = append(late, fmt.Sprintf("%s at %d", id, hb.Applied))
			default:
				n++
			}
		}
		slices.Sort(late)
		return late, n
	}
	for {
		if err := hw.next(ctx); err != nil {
			if late, _ := behind(); hw.synced && ctx.Err() != nil {
				return 0, fmt.Errorf("not every live worker applied version %d in time: %s: %w",
					version, strings.Join(late, ", "), ctx.Err())
			}
			return 0, err
		}
		if !hw.synced {
			continue
		}
		if late, n := behind(); len(late) == 0 {
			return n, nil
		}
	}
}
