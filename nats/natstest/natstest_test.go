package natstest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
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
	natstest.WaitFor(t, 60*time.Second, func() error {
		_, err := kv.PutString(ctx, "k", "v")
		return err
	})

	c.Stop(2)
	natstest.WaitFor(t, 60*time.Second, func() error {
		_, err := kv.PutString(ctx, "k", "v2")
		return err
	})
	c.Restart(t, 2)
	require.True(t, c.Nodes[2].Running())
}

// traceLog keeps the server's trace lines.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) Noticef(string, ...any) {}
func (l *traceLog) Warnf(string, ...any)   {}
func (l *traceLog) Fatalf(string, ...any)  {}
func (l *traceLog) Errorf(string, ...any)  {}
func (l *traceLog) Debugf(string, ...any)  {}
func (l *traceLog) Tracef(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}

func (l *traceLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func TestRunServerWithOptions(t *testing.T) {
	tl := &traceLog{}
	n := natstest.RunServerWithOptions(t, natstest.ServerOptions{Logger: tl, Trace: true, Users: []*server.User{
		{Username: "all", Password: "a"},
		{Username: "some", Password: "s", Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{"ok.>"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
		}},
	}})
	_, err := nats.Connect(n.URL())
	require.ErrorIs(t, err, nats.ErrAuthorization, "no credentials")

	all := natstest.Connect(t, n.URL(), nats.UserInfo("all", "a"))
	js, err := jetstream.New(all)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b"})
	require.NoError(t, err, "JetStream works for users")

	denied := make(chan error, 1)
	some := natstest.Connect(t, n.URL(), nats.UserInfo("some", "s"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { denied <- err }))
	require.NoError(t, some.Publish("ok.1", nil))
	require.NoError(t, some.Publish("not.ok", nil))
	select {
	case err := <-denied:
		require.ErrorIs(t, err, nats.ErrPermissionViolation)
		require.ErrorContains(t, err, `"not.ok"`)
	case <-time.After(5 * time.Second):
		t.Fatal("no permission violation reported")
	}
	natstest.WaitFor(t, 5*time.Second, func() error {
		if !tl.contains("PUB ok.1") {
			return errors.New("publish not traced")
		}
		return nil
	})

	natstest.RestartServer(t, n)
	natstest.WaitFor(t, 10*time.Second, func() error {
		if !all.IsConnected() {
			return errors.New("not reconnected")
		}
		return nil
	})
	require.NotNil(t, n.Inner())
	require.Nil(t, n.Server(), "not an embedded.Server")
}
