package cmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parti-dev/parti/nats/embedded"
	"github.com/parti-dev/parti/nats/natsconn"
)

// probeTimeout bounds the check for a server on the default URL in
// --embedded auto mode.
const probeTimeout = 500 * time.Millisecond

// drainTimeout bounds the connection drain on shutdown.
const drainTimeout = 5 * time.Second

// nodeConn is a node's NATS connection and, if it started one, its
// embedded server.
type nodeConn struct {
	nc       *nats.Conn
	tr       *natsconn.Tracker
	srv      *embedded.Server
	url      string // redacted URLs, for messages
	storeDir string // embedded server's JetStream store
	tempDir  string // removed on close (embedded server on a random port)
}

// close drains and closes the connection, then stops the embedded server.
func (c *nodeConn) close() {
	closeConn(c.nc, c.tr, drainTimeout)
	if c.srv != nil {
		c.srv.Shutdown()
	}
	if c.tempDir != "" {
		_ = os.RemoveAll(c.tempDir)
	}
}

// connect decides whether to start an embedded server (see --embedded),
// then connects and waits for the connection to be up.
func (o *RunOptions) connect(ctx context.Context, f *Factory, logger *slog.Logger, name string) (*nodeConn, error) {
	switch o.Embedded {
	case EmbeddedNever:
		return o.connectExternal(ctx, f, name)
	case EmbeddedAlways:
		return o.startEmbedded(ctx, f, logger, name, false)
	}
	if o.explicitURL {
		return o.connectExternal(ctx, f, name)
	}
	host, port, err := embedded.ParseURL(f.Global.NATSURL)
	if err != nil || port <= 0 {
		return o.connectExternal(ctx, f, name)
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	cancel()
	if err == nil {
		_ = conn.Close()
		logger.Debug("a server answers on the default URL; joining it", "url", f.Global.NATSURL)
		return o.connectExternal(ctx, f, name)
	}
	return o.startEmbedded(ctx, f, logger, name, true)
}

// connectExternal connects to --nats-url (or --context) with retries in
// the background, and fails with ExitUnreachable if the first connection is
// not up within --connect-timeout.
func (o *RunOptions) connectExternal(ctx context.Context, f *Factory, name string) (*nodeConn, error) {
	opts, r, err := f.natsOptions(connectSpec{name: name, timeout: o.ConnectTimeout, retry: true})
	if err != nil {
		return nil, err
	}
	tr := natsconn.NewTracker()
	nc, err := natsconn.Connect(opts, tr)
	if err != nil {
		return nil, connectError(r.URLs, err)
	}
	if err := waitConnected(ctx, nc, tr, r.URLs, o.ConnectTimeout); err != nil {
		nc.Close()
		return nil, err
	}
	return &nodeConn{nc: nc, tr: tr, url: natsconn.RedactURLs(r.URLs)}, nil
}

// startEmbedded starts an embedded server on --nats-url's host and port and
// connects to it in-process. In auto mode (fallback) a port that was taken
// meanwhile means another node just started a server: join it instead.
func (o *RunOptions) startEmbedded(ctx context.Context, f *Factory, logger *slog.Logger, name string, fallback bool) (*nodeConn, error) {
	url := f.Global.NATSURL
	if strings.Contains(url, ",") {
		return nil, usageErrorf("--embedded always needs a single --nats-url to listen on, got %q", url)
	}
	host, port, err := embedded.ParseURL(url)
	if err != nil {
		return nil, usageErrorf("--embedded always: invalid --nats-url: %v", err)
	}
	if o.Replicas > 1 {
		return nil, usageErrorf("--replicas %d needs a NATS cluster; the embedded server is a single node (use --embedded never with --nats-url)", o.Replicas)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	if port > 0 {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			if fallback {
				return o.connectExternal(ctx, f, name)
			}
			return nil, fmt.Errorf("cannot start the embedded NATS server on %s: %w (is another parti run or nats-server using it? join it with --embedded never)", addr, err)
		}
		_ = ln.Close()
	}
	dataDir, err := o.dataDir(f)
	if err != nil {
		return nil, err
	}
	c := &nodeConn{}
	if port > 0 {
		c.storeDir = filepath.Join(dataDir, "nats-"+strconv.Itoa(port))
		err = os.MkdirAll(c.storeDir, 0o700)
	} else {
		if err = os.MkdirAll(dataDir, 0o700); err == nil {
			c.storeDir, err = os.MkdirTemp(dataDir, "nats-random-")
			c.tempDir = c.storeDir
		}
	}
	if err != nil {
		return nil, fmt.Errorf("embedded NATS data dir: %w", err)
	}
	cfg := embedded.Config{URL: "nats://" + addr, DataDir: c.storeDir, ServerName: serverName(port)}
	if logger.Enabled(ctx, slog.LevelDebug) {
		cfg.Logger = logger.With("component", "nats-server")
	}
	c.srv, err = embedded.Start(cfg)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("start the embedded NATS server on %s: %w", addr, err)
	}
	c.url = c.srv.ClientURL()
	c.tr = natsconn.NewTracker()
	opts := natsconn.Options{URLs: c.url, Name: name, Timeout: o.ConnectTimeout, InProcess: c.srv.Inner(), RetryOnFailedConnect: true}
	if c.nc, err = natsconn.Connect(opts, c.tr); err == nil {
		err = waitConnected(ctx, c.nc, c.tr, []string{c.url}, o.ConnectTimeout)
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("connect to the embedded NATS server: %w", err)
	}
	return c, nil
}

// dataDir is --data-dir, or the per-user state folder for the cluster:
// $XDG_STATE_HOME/parti/<cluster>, else ~/.local/state/parti/<cluster>.
func (o *RunOptions) dataDir(f *Factory) (string, error) {
	if o.DataDir != "" {
		return o.DataDir, nil
	}
	base, ok := f.Lookup("XDG_STATE_HOME")
	if !ok || !filepath.IsAbs(base) {
		home, ok := f.Lookup("HOME")
		if !ok {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return "", errors.New("no --data-dir given and no home folder to default to: set --data-dir")
			}
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "parti", f.Global.Cluster), nil
}

// serverName names an embedded server after this host and its port (and
// process, for a random port).
func serverName(port int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, host)
	if port <= 0 {
		return fmt.Sprintf("parti-%s-pid%d", host, os.Getpid())
	}
	return fmt.Sprintf("parti-%s-%d", host, port)
}
