// Package natstest starts real embedded NATS JetStream servers for tests:
// a single node (RunServer), one with users and permissions
// (RunServerWithOptions) or a 3-node cluster (RunCluster), each cleaned up
// with t.Cleanup, plus a polling helper (WaitFor) so tests wait on
// conditions instead of sleeping.
//
// It is imported only from _test.go files. Servers listen on 127.0.0.1
// only.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/parti-dev/parti/nats/embedded"
)

// Node is one embedded server started by this package.
type Node struct {
	t      testing.TB
	mu     sync.Mutex
	srv    *embedded.Server
	cfg    embedded.Config
	port   int
	closed bool
	// Set for servers started by RunServerWithOptions, which run a
	// nats-server directly: embedded.Config has no users.
	custom *ServerOptions
	store  string // JetStream store of a custom server
	inner  *server.Server
}

// RunServer starts one JetStream server on 127.0.0.1 with a random client
// port and a t.TempDir() store. It is shut down by t.Cleanup.
func RunServer(t testing.TB) *Node {
	t.Helper()
	cfg := embedded.Config{
		URL:        "nats://127.0.0.1:-1",
		DataDir:    filepath.Join(t.TempDir(), "js"),
		ServerName: "single",
	}
	srv, err := embedded.Start(cfg)
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	n := &Node{t: t, srv: srv, cfg: cfg, port: srv.Port()}
	t.Cleanup(n.Shutdown)
	return n
}

// ServerOptions are the settings of RunServerWithOptions.
type ServerOptions struct {
	// Users may connect, each with its permissions (nil: everything).
	// Clients without valid credentials are refused. Empty: no
	// authentication.
	Users []*server.User
	// Logger, if set, receives the server's log lines; with Trace it also
	// receives every protocol message the server sends and receives (to
	// see which subjects a client uses).
	Logger server.Logger
	Trace  bool
}

// RunServerWithOptions starts one JetStream server like RunServer, with
// users and permissions. Its users share the server's default account,
// which has JetStream. It is shut down by t.Cleanup.
func RunServerWithOptions(t testing.TB, so ServerOptions) *Node {
	t.Helper()
	store := filepath.Join(t.TempDir(), "js")
	srv, err := startServer(so, store, server.RANDOM_PORT)
	if err != nil {
		t.Fatalf("start server with options: %v", err)
	}
	n := &Node{t: t, custom: &so, store: store, inner: srv, port: srv.Addr().(*net.TCPAddr).Port}
	t.Cleanup(n.Shutdown)
	return n
}

// startServer starts a nats-server for so on port and waits until it
// accepts connections with JetStream enabled.
func startServer(so ServerOptions, store string, port int) (*server.Server, error) {
	o := &server.Options{
		ServerName: "single",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   store,
		NoSigs:     true,
		NoLog:      so.Logger == nil,
		Trace:      so.Trace,
		Users:      so.Users,
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, err
	}
	if so.Logger != nil {
		srv.SetLoggerV2(so.Logger, false, so.Trace, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("server on port %d not ready", port)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("JetStream did not start")
	}
	return srv, nil
}

// URL is the node's client URL. It stays the same across RestartServer.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// DataDir is the node's JetStream store directory.
func (n *Node) DataDir() string { return n.cfg.DataDir }

// Server returns the running embedded server, or nil after Shutdown and
// for a server started by RunServerWithOptions (see Inner).
func (n *Node) Server() *embedded.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	return n.srv
}

// Inner returns the running nats-server, or nil after Shutdown.
func (n *Node) Inner() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.closed:
		return nil
	case n.inner != nil:
		return n.inner
	}
	return n.srv.Inner()
}

// Running reports whether the node is up.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.closed
}

// Shutdown stops the node and waits for it. Safe to call repeatedly.
func (n *Node) Shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	if n.inner != nil {
		n.inner.Shutdown()
		n.inner.WaitForShutdown()
		return
	}
	n.srv.Shutdown()
}

// RestartServer stops n (if running) and starts it again on the same data
// dir and client port, so connected clients reconnect to it.
func RestartServer(t testing.TB, n *Node) {
	t.Helper()
	n.Shutdown()
	if n.custom != nil {
		var srv *server.Server
		err := Poll(10*time.Second, func() (err error) {
			srv, err = startServer(*n.custom, n.store, n.port)
			return err
		})
		if err != nil {
			t.Fatalf("restart server on %s: %v", n.URL(), err)
		}
		n.mu.Lock()
		n.inner, n.closed = srv, false
		n.mu.Unlock()
		return
	}
	cfg := n.cfg
	cfg.URL = n.URL()
	var srv *embedded.Server
	// The port was ours a moment ago; retry briefly in case the OS has
	// not released it yet.
	err := Poll(10*time.Second, func() (err error) {
		srv, err = embedded.Start(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("restart embedded server on %s: %v", cfg.URL, err)
	}
	n.mu.Lock()
	n.srv, n.closed = srv, false
	n.mu.Unlock()
}

// Connect opens a client connection to url with fast reconnects, closed
// by t.Cleanup (before the servers, which were registered earlier).
func Connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	base := []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(10*time.Millisecond, 10*time.Millisecond),
		nats.Timeout(2 * time.Second),
		nats.PingInterval(time.Second),
		nats.MaxPingsOutstanding(2),
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// WaitFor polls cond every few milliseconds until it returns nil or the
// timeout passes, then fails the test with the last error.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("condition not met within %s: %v", timeout, err)
	}
}

// Poll polls cond until it returns nil or timeout passes, returning the
// last error. The wait between tries grows from 5 ms to 50 ms.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	wait := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		timer := time.NewTimer(wait)
		<-timer.C
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}
