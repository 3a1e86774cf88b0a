package layout_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestIsLostRaceCodes(t *testing.T) {
	for _, code := range []jetstream.ErrorCode{10071, 10164} {
		err := fmt.Errorf("wrapped: %w", &jetstream.APIError{Code: 400, ErrorCode: code, Description: "wrong last sequence"})
		require.True(t, layout.IsLostRace(err), code)
	}
	require.False(t, layout.IsLostRace(&jetstream.APIError{Code: 503, ErrorCode: 10008}))
	require.True(t, layout.IsLostRace(jetstream.ErrKeyExists))
	require.True(t, layout.IsLostRace(jetstream.ErrKeyRevisionMismatch))
}

// TestFenceRejectsDeposedWriter: a write conditioned on the epoch key's
// revision is refused by the server once another writer moved the epoch,
// and the refused write changes nothing.
func TestFenceRejectsDeposedWriter(t *testing.T) {
	n := natstest.RunServer(t)
	js := connectJS(t, n.URL())
	ctx := testCtx(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "fence", History: 5})
	require.NoError(t, err)
	r1, err := kv.Create(ctx, layout.KeyEpoch, []byte("1"))
	require.NoError(t, err)
	old := layout.Fence{Bucket: "fence", Key: layout.KeyEpoch, Epoch: 1, Revision: r1}

	rev, err := layout.PutFenced(ctx, js, old, "w.a", []byte("by-1"))
	require.NoError(t, err)
	e, err := kv.Get(ctx, "w.a")
	require.NoError(t, err)
	require.Equal(t, rev, e.Revision())
	require.Equal(t, jetstream.KeyValuePut, e.Operation())

	// A new leader raises the epoch.
	r2, err := kv.Update(ctx, layout.KeyEpoch, []byte("2"), r1)
	require.NoError(t, err)
	_, err = layout.PutFenced(ctx, js, old, "w.a", []byte("late"))
	require.ErrorIs(t, err, layout.ErrFenced)
	_, err = layout.DeleteFenced(ctx, js, old, "w.a")
	require.ErrorIs(t, err, layout.ErrFenced)
	e, err = kv.Get(ctx, "w.a")
	require.NoError(t, err)
	require.Equal(t, "by-1", string(e.Value()))

	// The current writer succeeds; its delete is a KV delete.
	cur := layout.Fence{Bucket: "fence", Key: layout.KeyEpoch, Epoch: 2, Revision: r2}
	_, err = layout.DeleteFenced(ctx, js, cur, "w.a")
	require.NoError(t, err)
	_, err = kv.Get(ctx, "w.a")
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound)
	_, err = layout.PutFenced(ctx, js, layout.Fence{Bucket: "fence", Key: layout.KeyEpoch}, "w.a", nil)
	require.ErrorIs(t, err, layout.ErrFenced)
}

// TestReplicatedConflicts runs on a 3-node cluster with replicas 3:
// concurrent Creates of one key produce exactly one winner and the losers'
// errors (10071 or the replicated 10164 form) are lost races; concurrent
// fenced writes on one fence all land (the 10164 in-flight refusal is
// retried); a moved fence is still refused.
func TestReplicatedConflicts(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	js := connectJS(t, c.URLs())
	ctx := testCtx(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "r3", Replicas: 3, History: 5})
	require.NoError(t, err)
	// A new replicated stream may not have elected its leader yet ("no
	// response from stream"): wait until it takes writes.
	natstest.WaitFor(t, 60*time.Second, func() error {
		_, err := kv.PutString(ctx, "warm-up", "x")
		return err
	})

	codes := map[jetstream.ErrorCode]int{}
	var mu sync.Mutex
	for round := range 10 {
		key := fmt.Sprintf("claim-%d", round)
		var wg sync.WaitGroup
		wins := 0
		for range 6 {
			wg.Go(func() {
				_, err := kv.Create(ctx, key, []byte("x"))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
					return
				}
				require.True(t, layout.IsLostRace(err), "unclassified: %v", err)
				var apiErr *jetstream.APIError
				if errors.As(err, &apiErr) {
					codes[apiErr.ErrorCode]++
				}
			})
		}
		wg.Wait()
		require.Equal(t, 1, wins, key)
	}
	t.Logf("lost-race error codes on R3: %v", codes)

	r1, err := kv.Create(ctx, layout.KeyEpoch, []byte("1"))
	require.NoError(t, err)
	f := layout.Fence{Bucket: "r3", Key: layout.KeyEpoch, Epoch: 1, Revision: r1}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			_, err := layout.PutFenced(ctx, js, f, fmt.Sprintf("w.%d", i), []byte("v"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, err = kv.Update(ctx, layout.KeyEpoch, []byte("2"), r1)
	require.NoError(t, err)
	_, err = layout.PutFenced(ctx, js, f, "w.0", []byte("late"))
	require.ErrorIs(t, err, layout.ErrFenced)
}
