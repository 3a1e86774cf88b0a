package embedded_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseURL(t *testing.T) {
	cases := []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{"", "127.0.0.1", 4222, false},
		{"nats://127.0.0.1:-1", "127.0.0.1", -1, false},
		{"nats://0.0.0.0:4333", "0.0.0.0", 4333, false},
		{"localhost:5000", "localhost", 5000, false},
		{"nats://example.com", "example.com", 4222, false},
		{"http://127.0.0.1:4222", "", 0, true},
		{"nats://127.0.0.1:x", "", 0, true},
		{"nats://127.0.0.1:70000", "", 0, true},
	}
	for _, c := range cases {
		h, p, err := embedded.ParseURL(c.in)
		if c.bad {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.host, h, c.in)
		require.Equal(t, c.port, p, c.in)
	}
}

func TestStartRequiresDataDir(t *testing.T) {
	_, err := embedded.Start(embedded.Config{URL: "nats://127.0.0.1:-1"})
	require.ErrorIs(t, err, embedded.ErrNoDataDir)
}

func TestStartServeRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "js")
	srv, err := embedded.Start(embedded.Config{
		URL: "nats://127.0.0.1:-1", DataDir: dir, ServerName: "t",
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	port := srv.Port()
	require.Positive(t, port)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b"})
	require.NoError(t, err)
	_, err = kv.PutString(ctx, "k", "v1")
	require.NoError(t, err)
	nc.Close()
	srv.Shutdown()
	srv.Shutdown() // idempotent

	// Same data dir, same port: the value survived.
	srv, err = embedded.Start(embedded.Config{URL: srv.ClientURL(), DataDir: dir, ServerName: "t"})
	require.NoError(t, err)
	defer srv.Shutdown()
	require.Equal(t, port, srv.Port())
	nc, err = nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	js, err = jetstream.New(nc)
	require.NoError(t, err)
	kv, err = js.KeyValue(ctx, "b")
	require.NoError(t, err)
	e, err := kv.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v1", string(e.Value()))
}

func TestStartPortInUse(t *testing.T) {
	a, err := embedded.Start(embedded.Config{URL: "nats://127.0.0.1:-1", DataDir: t.TempDir()})
	require.NoError(t, err)
	defer a.Shutdown()
	_, err = embedded.Start(embedded.Config{URL: a.ClientURL(), DataDir: t.TempDir(), ReadyTimeout: 500 * time.Millisecond})
	require.Error(t, err)
	require.True(t, errors.Is(err, embedded.ErrNotReady), err)
}
