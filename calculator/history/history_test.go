package history

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func rec(v uint64) Record {
	return Record{Version: v, Trigger: TriggerJoin, Result: ResultPublished, Moved: int(v)}
}

func versions(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out
}

func TestNewRingCapacity(t *testing.T) {
	assert.Equal(t, DefaultCapacity, NewRing(0).Cap())
	assert.Equal(t, DefaultCapacity, NewRing(-5).Cap())
	assert.Equal(t, 3, NewRing(3).Cap())
}

func TestEmptyRing(t *testing.T) {
	g := NewRing(4)
	assert.Zero(t, g.Len())
	s := g.Snapshot()
	assert.NotNil(t, s)
	assert.Empty(t, s)
	_, ok := g.Last()
	assert.False(t, ok)
}

func TestWraparoundOrder(t *testing.T) {
	for _, capacity := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint("cap=", capacity), func(t *testing.T) {
			g := NewRing(capacity)
			for v := uint64(1); v <= uint64(3*capacity+1); v++ {
				g.Add(rec(v))
				n := min(int(v), capacity)
				require.Equal(t, n, g.Len())
				want := make([]uint64, 0, n)
				for w := v - uint64(n) + 1; w <= v; w++ {
					want = append(want, w)
				}
				require.Equal(t, want, versions(g.Snapshot()), "after adding %d", v)
				last, ok := g.Last()
				require.True(t, ok)
				require.Equal(t, v, last.Version)
			}
			assert.Equal(t, capacity, g.Cap())
		})
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	g := NewRing(3)
	g.Add(rec(1))
	g.Add(rec(2))
	s := g.Snapshot()
	s[0].Reason = "changed by the caller"
	g.Add(rec(3))
	g.Add(rec(4)) // overwrites record 1 in the ring
	assert.Equal(t, []uint64{1, 2}, versions(s), "later adds do not show through")
	assert.Equal(t, []uint64{2, 3, 4}, versions(g.Snapshot()))
	for _, r := range g.Snapshot() {
		assert.Empty(t, r.Reason)
	}
}

func TestJSONForm(t *testing.T) {
	r := Record{
		Start:      time.Date(2025, 1, 2, 4, 4, 5, 123456789, time.FixedZone("CET", 3600)),
		Duration:   12*time.Millisecond + 500*time.Microsecond,
		Trigger:    TriggerJoin,
		Reason:     "worker-3 joined",
		Moved:      42,
		Version:    7,
		Workers:    4,
		Partitions: 1000,
		Result:     ResultPublished,
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"start":"2025-01-02T03:04:05.123456789Z","duration_ms":12.5,
		"trigger":"join","reason":"worker-3 joined","moved":42,"version":7,
		"workers":4,"partitions":1000,"result":"published"}`, string(b))

	r.Result, r.Error = ResultFailed, "store: fenced"
	b, err = json.Marshal(r)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"error":"store: fenced"`)
}

func TestJSONRoundTrip(t *testing.T) {
	records := []Record{
		{},
		{
			Start: time.Date(2025, 6, 7, 8, 9, 10, 987654321, time.UTC), Duration: 1234567891,
			Trigger: TriggerCrash, Reason: "worker-1 expired", Moved: 17, Version: math.MaxUint64,
			Workers: 9, Partitions: 64, Result: ResultFailed, Error: "boom",
		},
		{Start: time.Unix(0, 1).UTC(), Duration: time.Nanosecond, Trigger: TriggerColdStart, Result: ResultDryRun},
		{Start: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), Duration: 90 * 24 * time.Hour,
			Trigger: TriggerRetry, Result: ResultUnchanged},
	}
	b, err := json.Marshal(records)
	require.NoError(t, err)
	var back []Record
	require.NoError(t, json.Unmarshal(b, &back))
	require.Len(t, back, len(records))
	for i := range records {
		assert.True(t, records[i].Start.Equal(back[i].Start), "record %d start", i)
		back[i].Start = records[i].Start
		assert.Equal(t, records[i], back[i], "record %d", i)
	}
}

func TestUnmarshalJSONEdges(t *testing.T) {
	var r Record
	require.Error(t, json.Unmarshal([]byte(`{"start":"not a time"}`), &r))
	require.Error(t, json.Unmarshal([]byte(`[1]`), &r))

	require.NoError(t, json.Unmarshal([]byte(`{"duration_ms":1e300}`), &r))
	assert.Equal(t, time.Duration(math.MaxInt64), r.Duration)
	require.NoError(t, json.Unmarshal([]byte(`{"duration_ms":-1e300}`), &r))
	assert.Equal(t, time.Duration(math.MinInt64), r.Duration)
	require.NoError(t, json.Unmarshal([]byte(`{"duration_ms":0.0000014}`), &r))
	assert.Equal(t, time.Duration(1), r.Duration, "rounded to the nearest nanosecond")
}

func TestAddDoesNotAllocate(t *testing.T) {
	g := NewRing(8)
	r := rec(1)
	r.Reason = "steady state"
	allocs := testing.AllocsPerRun(1000, func() { g.Add(r) })
	assert.Zero(t, allocs)
}

// TestConcurrentUse is for the race detector: writers add while readers
// take snapshots, and every snapshot must be in order.
func TestConcurrentUse(t *testing.T) {
	g := NewRing(16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := uint64(0)
	for range 4 {
		wg.Go(func() {
			for range 500 {
				// Versions are handed out and added under one lock so the
				// ring's order is the version order.
				mu.Lock()
				next++
				g.Add(rec(next))
				mu.Unlock()
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 500 {
				s := g.Snapshot()
				for i := 1; i < len(s); i++ {
					if s[i].Version != s[i-1].Version+1 {
						t.Errorf("snapshot out of order: %v", versions(s))
						return
					}
				}
				_, _ = g.Last()
				_ = g.Len()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 16, g.Len())
	last, ok := g.Last()
	require.True(t, ok)
	assert.Equal(t, uint64(2000), last.Version)
}

func BenchmarkAdd(b *testing.B) {
	g := NewRing(DefaultCapacity)
	r := rec(1)
	b.ReportAllocs()
	for b.Loop() {
		g.Add(r)
	}
}

func BenchmarkSnapshot(b *testing.B) {
	g := NewRing(DefaultCapacity)
	for v := range uint64(DefaultCapacity) {
		g.Add(rec(v))
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Snapshot()
	}
}
