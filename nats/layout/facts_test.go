package layout_test

// Facts about JetStream KV that parti relies on, checked against the pinned
// server.

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
)

func nextEntry(t *testing.T, w jetstream.KeyWatcher, timeout time.Duration) jetstream.KeyValueEntry {
	t.Helper()
	select {
	case e, ok := <-w.Updates():
		require.True(t, ok, "watcher closed")
		return e
	case <-time.After(timeout):
		t.Fatalf("no watch event within %s", timeout)
		return nil
	}
}

// TestFactCASConflicts: Create on an existing key and Update on a stale
// revision are lost races; so is a conditional Delete.
func TestFactCASConflicts(t *testing.T) {
	n := natstest.RunServer(t)
	js := connectJS(t, n.URL())
	ctx := testCtx(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "cas"})
	require.NoError(t, err)
	rev, err := kv.Create(ctx, "k", []byte("a"))
	require.NoError(t, err)
	_, err = kv.Create(ctx, "k", []byte("b"))
	require.True(t, layout.IsLostRace(err), err)
	_, err = kv.Update(ctx, "k", []byte("b"), rev+10)
	require.True(t, layout.IsLostRace(err), err)
	err = kv.Delete(ctx, "k", jetstream.LastRevision(rev+10))
	require.True(t, layout.IsLostRace(err), err)
	require.False(t, layout.IsLostRace(context.DeadlineExceeded))
	require.False(t, layout.IsLostRace(nil))
	// Create succeeds on a deleted key.
	require.NoError(t, kv.Delete(ctx, "k", jetstream.LastRevision(rev)))
	_, err = kv.Create(ctx, "k", []byte("c"))
	require.NoError(t, err)
}

// TestFactTTLExpiryMarker: with LimitMarkerTTL, a key that stops being
// written yields a purge entry to watchers about TTL after its last write;
// a key kept alive by Update does not expire; Create works after expiry.
// A delete marker aging out also yields a purge entry (membership ignores
// it for workers already seen leaving).
func TestFactTTLExpiryMarker(t *testing.T) {
	n := natstest.RunServer(t)
	js := connectJS(t, n.URL())
	ctx := testCtx(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ttl", TTL: time.Second, LimitMarkerTTL: time.Second})
	require.NoError(t, err)
	w, err := kv.WatchAll(ctx)
	require.NoError(t, err)
	defer func() { _ = w.Stop() }()
	require.Nil(t, nextEntry(t, w, 5*time.Second)) // initial values done

	rev, err := kv.Create(ctx, "dies", []byte("x"))
	require.NoError(t, err)
	written := time.Now()
	require.Equal(t, jetstream.KeyValuePut, nextEntry(t, w, 5*time.Second).Operation())
	e := nextEntry(t, w, 5*time.Second)
	require.Equal(t, "dies", e.Key())
	require.Equal(t, jetstream.KeyValuePurge, e.Operation())
	t.Logf("TTL 1s: purge marker seen %s after the last write", time.Since(written).Round(time.Millisecond))
	_, err = kv.Update(ctx, "dies", []byte("y"), rev)
	require.True(t, layout.IsLostRace(err), "update after expiry is a lost race: %v", err)
	_, err = kv.Create(ctx, "dies", []byte("again"))
	require.NoError(t, err)
	require.Equal(t, jetstream.KeyValuePut, nextEntry(t, w, 5*time.Second).Operation())

	// Delete, then the delete marker ages out into a purge marker.
	e2, err := kv.Get(ctx, "dies")
	require.NoError(t, err)
	require.NoError(t, kv.Delete(ctx, "dies", jetstream.LastRevision(e2.Revision())))
	require.Equal(t, jetstream.KeyValueDelete, nextEntry(t, w, 5*time.Second).Operation())
	require.Equal(t, jetstream.KeyValuePurge, nextEntry(t, w, 5*time.Second).Operation())
}
