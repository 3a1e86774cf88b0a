package acceptance_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func percentiles(ds []time.Duration) string {
	slices.Sort(ds)
	p := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", len(ds), p(0.5), p(0.9), p(0.99), ds[len(ds)-1].Round(time.Microsecond))
}

// TestMeasureLatencies logs, for this machine and a loopback single-node
// file-storage server: put latency, CAS update latency, fenced put
// latency, put→watch delivery latency, and TTL expiry detection latency.
// It asserts only loose sanity bounds.
func TestMeasureLatencies(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	n := natstest.RunServer(t)
	js, err := jetstream.New(natstest.Connect(t, n.URL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "m", History: 5})
	require.NoError(t, err)
	const N = 300

	puts := make([]time.Duration, 0, N)
	for i := range N {
		start := time.Now()
		_, err := kv.Put(ctx, fmt.Sprintf("k%d", i%10), []byte("value"))
		require.NoError(t, err)
		puts = append(puts, time.Since(start))
	}
	t.Logf("kv.Put: %s", percentiles(puts))

	rev, err := kv.Create(ctx, "cas", []byte("0"))
	require.NoError(t, err)
	cas := make([]time.Duration, 0, N)
	for range N {
		start := time.Now()
		rev, err = kv.Update(ctx, "cas", []byte("x"), rev)
		require.NoError(t, err)
		cas = append(cas, time.Since(start))
	}
	t.Logf("kv.Update (CAS): %s", percentiles(cas))

	erev, err := kv.Create(ctx, layout.KeyEpoch, []byte("1"))
	require.NoError(t, err)
	f := layout.Fence{Bucket: "m", Key: layout.KeyEpoch, Epoch: 1, Revision: erev}
	fenced := make([]time.Duration, 0, N)
	for i := range N {
		start := time.Now()
		_, err := layout.PutFenced(ctx, js, f, fmt.Sprintf("w.%d", i%10), []byte("v"))
		require.NoError(t, err)
		fenced = append(fenced, time.Since(start))
	}
	t.Logf("fenced put: %s", percentiles(fenced))

	w, err := kv.Watch(ctx, "watched", jetstream.UpdatesOnly())
	require.NoError(t, err)
	defer func() { _ = w.Stop() }()
	lat := make([]time.Duration, 0, N)
	for range N {
		start := time.Now()
		_, err := kv.Put(ctx, "watched", []byte("v"))
		require.NoError(t, err)
		select {
		case e := <-w.Updates():
			require.NotNil(t, e)
			lat = append(lat, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatal("watch did not deliver")
		}
	}
	t.Logf("put → watch delivery: %s", percentiles(lat))
	require.Less(t, lat[len(lat)/2], 50*time.Millisecond)

	for _, ttl := range []time.Duration{time.Second, 3 * time.Second} {
		bucket := fmt.Sprintf("ttl%d", ttl/time.Second)
		tkv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: ttl, LimitMarkerTTL: ttl})
		require.NoError(t, err)
		tw, err := tkv.WatchAll(ctx, jetstream.UpdatesOnly())
		require.NoError(t, err)
		_, err = tkv.Create(ctx, "hb", []byte("x"))
		require.NoError(t, err)
		last := time.Now()
		for e := range tw.Updates() {
			if e != nil && e.Operation() == jetstream.KeyValuePurge {
				break
			}
		}
		d := time.Since(last)
		_ = tw.Stop()
		t.Logf("bucket TTL %s: expiry seen by a watcher %s after the last write (%s past the TTL)", ttl, d.Round(time.Millisecond), (d - ttl).Round(time.Millisecond))
		require.Less(t, d, ttl+time.Second)
	}
}

func benchKV(b *testing.B) (context.Context, jetstream.JetStream, jetstream.KeyValue) {
	n := natstest.RunServer(b)
	js, err := jetstream.New(natstest.Connect(b, n.URL()))
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bench", History: 5})
	require.NoError(b, err)
	return ctx, js, kv
}

// BenchmarkKVPut measures a synchronous kv.Put round trip.
func BenchmarkKVPut(b *testing.B) {
	ctx, _, kv := benchKV(b)
	val := []byte(`{"v":1,"kind":"heartbeat","worker":"worker-0","nonce":"0123456789abcdef"}`)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := kv.Put(ctx, "worker-0", val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKVUpdateCAS measures a heartbeat-style compare-and-swap.
func BenchmarkKVUpdateCAS(b *testing.B) {
	ctx, _, kv := benchKV(b)
	rev, err := kv.Create(ctx, "worker-0", []byte("x"))
	require.NoError(b, err)
	for b.Loop() {
		if rev, err = kv.Update(ctx, "worker-0", []byte("y"), rev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFencedPut measures a leader write fenced on the epoch key.
func BenchmarkFencedPut(b *testing.B) {
	ctx, js, kv := benchKV(b)
	rev, err := kv.Create(ctx, layout.KeyEpoch, []byte("1"))
	require.NoError(b, err)
	f := layout.Fence{Bucket: "bench", Key: layout.KeyEpoch, Epoch: 1, Revision: rev}
	for b.Loop() {
		if _, err := layout.PutFenced(ctx, js, f, "w.worker-0", []byte("v")); err != nil {
			b.Fatal(err)
		}
	}
}
