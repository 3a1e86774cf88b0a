package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunServerAndRestart(t *testing.T) {
	n := natstest.RunServer(t)
	url := n.URL()
	natstest.RestartServer(t, n)
	require.Equal(t, url, n.URL())
	require.True(t, n.Running())
	nc := natstest.Connect(t, n.URL())
	require.True(t, nc.IsConnected())
}

func TestRunCluster(t *testing.T) {
	c := natstest.RunCluster(t, 3)
	nc := natstest.Connect(t, c.URLs())
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "r3", Replicas: 3})
	require.NoError(t, err)
	// A new replicated stream may not have elected its leader yet.
	natstest.WaitFor(t, 20*time.Second, func() error {
		_, err := kv.PutString(ctx, "k", "v")
		return err
	})

	c.Stop(2)
	natstest.WaitFor(t, 20*time.Second, func() error {
		_, err := kv.PutString(ctx, "k", "v2")
		return err
	})
	c.Restart(t, 2)
	require.True(t, c.Nodes[2].Running())
}
