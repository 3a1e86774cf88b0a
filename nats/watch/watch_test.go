package watch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/nats/watch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func expect(t *testing.T, ch <-chan watch.Event, kind watch.Kind) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "channel closed")
		require.Equal(t, kind, ev.Kind, "event %+v", ev)
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event", kind)
		return watch.Event{}
	}
}

func TestWatchSnapshotThenUpdates(t *testing.T) {
	n := natstest.RunServer(t)
	js, err := jetstream.New(natstest.Connect(t, n.URL()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "w"})
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "a", "1")
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "other", "x")
	require.NoError(t, err)

	wctx, wcancel := context.WithCancel(ctx)
	ch := watch.Watch(wctx, kv, watch.Options{Keys: []string{"a", "b"}})
	require.Equal(t, 1, expect(t, ch, watch.Reset).Generation)
	require.Equal(t, "a", expect(t, ch, watch.Entry).Entry.Key())
	expect(t, ch, watch.Synced)
	_, err = kv.PutString(ctx, "b", "2")
	require.NoError(t, err)
	require.Equal(t, "b", expect(t, ch, watch.Entry).Entry.Key())
	wcancel()
	for range ch {
	}
}

// TestWatchSurvivesServerRestart: after a restart on the same data dir the
// watch converges to the latest value.
func TestWatchSurvivesServerRestart(t *testing.T) {
	n := natstest.RunServer(t)
	tr := natsconn.NewTracker()
	nc, err := natsconn.Connect(natsconn.Options{URLs: n.URL()}, tr)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "w"})
	require.NoError(t, err)
	restart, stopRestart := tr.Reconnects()
	defer stopRestart()
	ch := watch.Watch(ctx, kv, watch.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Restart: restart})
	defer func() {
		cancel()
		for range ch {
		}
	}()
	expect(t, ch, watch.Reset)
	expect(t, ch, watch.Synced)

	start := time.Now()
	natstest.RestartServer(t, n)
	defer func() {
		t.Logf("watch converged %s after the restart began", time.Since(start).Round(time.Millisecond))
	}()
	var last string
	i := 0
	natstest.WaitFor(t, 30*time.Second, func() error {
		i++
		want := fmt.Sprint(i)
		if _, err := kv.PutString(ctx, "k", want); err != nil {
			return err
		}
		deadline := time.After(2 * time.Second)
		for {
			select {
			case ev := <-ch:
				if ev.Kind == watch.Entry {
					last = string(ev.Entry.Value())
					if last == want {
						return nil
					}
				}
			case <-deadline:
				return fmt.Errorf("watch did not deliver %s (last %q)", want, last)
			}
		}
	})
}
