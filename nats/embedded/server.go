// Package embedded starts and stops an in-process nats-server with
// JetStream, so that `parti run` works with no NATS installed and tests can
// run against a real server.
//
// The server never installs signal handlers (the embedding process owns
// SIGINT/SIGTERM), always stores JetStream data under an explicit directory,
// and is silent unless a logger is given. This package must not import the
// calculator, cmd or tui layers.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultURL is where the embedded server listens when no URL is given.
const DefaultURL = "nats://127.0.0.1:4222"

// DefaultReadyTimeout bounds how long Start waits for the server to accept
// connections.
const DefaultReadyTimeout = 10 * time.Second

// Errors returned by Start, checked with errors.Is.
var (
	// ErrNoDataDir: Config.DataDir is empty. An empty store dir would make
	// the server share a folder under the OS temp dir with every other one.
	ErrNoDataDir = errors.New("embedded nats: data dir is required")
	// ErrNotReady: the server did not accept connections in time.
	ErrNotReady = errors.New("embedded nats: server not ready for connections")
	// ErrJetStreamDisabled: the server started but JetStream did not.
	ErrJetStreamDisabled = errors.New("embedded nats: JetStream failed to start")
)

// ClusterConfig makes the server a member of a NATS cluster.
type ClusterConfig struct {
	Name   string   // cluster name, identical on every member
	Host   string   // route listen host; default 127.0.0.1
	Port   int      // route listen port; must be fixed for restarts
	Routes []string // nats-route://host:port of every member (may include self)
}

// Config describes one embedded server.
type Config struct {
	// URL is the client listen address, nats://host:port. A port of -1
	// picks a random free port (tests). Empty means DefaultURL.
	URL string
	// DataDir is the JetStream store directory. Required.
	DataDir string
	// ServerName names the server; required and unique in a cluster.
	ServerName string
	// Logger receives the server's log lines; nil disables logging.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for readiness; 0 means
	// DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Cluster, if set, joins a cluster.
	Cluster *ClusterConfig
	// MaxMemory and MaxStore cap JetStream resources; 0 means server
	// defaults.
	MaxMemory, MaxStore int64
	// SyncAlways fsyncs every write (sync_interval: always), the durable
	// choice for coordination data.
	SyncAlways bool
}

// Server is a running embedded server.
type Server struct {
	srv *server.Server
	cfg Config
}

// ParseURL splits a nats://host:port URL into host and port. A missing port
// means 4222; "-1" is accepted (random port).
func ParseURL(raw string) (host string, port int, err error) {
	if raw == "" {
		raw = DefaultURL
	}
	scheme, rest, found := strings.Cut(raw, "://")
	if !found {
		scheme, rest = "nats", raw
	}
	if scheme != "nats" {
		return "", 0, fmt.Errorf("parse server url %q: scheme must be nats", raw)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		return "", 0, fmt.Errorf("parse server url %q: credentials are not allowed here", raw)
	}
	host, ps, err := net.SplitHostPort(rest)
	if err != nil {
		// No port given.
		host, ps = strings.Trim(rest, "[]"), ""
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if ps == "" {
		return host, 4222, nil
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("parse server url %q: bad port %q", raw, ps)
	}
	return host, port, nil
}

func (c Config) options() (*server.Options, error) {
	if strings.TrimSpace(c.DataDir) == "" {
		return nil, ErrNoDataDir
	}
	host, port, err := ParseURL(c.URL)
	if err != nil {
		return nil, err
	}
	o := &server.Options{
		ServerName:         c.ServerName,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           c.DataDir,
		NoSigs:             true,
		NoLog:              c.Logger == nil,
		JetStreamMaxMemory: c.MaxMemory,
		JetStreamMaxStore:  c.MaxStore,
		SyncAlways:         c.SyncAlways,
	}
	if cl := c.Cluster; cl != nil {
		if cl.Name == "" || cl.Port <= 0 || c.ServerName == "" {
			return nil, errors.New("embedded nats: cluster needs a name, a fixed port and a server name")
		}
		o.Cluster.Name = cl.Name
		o.Cluster.Host = cl.Host
		if o.Cluster.Host == "" {
			o.Cluster.Host = "127.0.0.1"
		}
		o.Cluster.Port = cl.Port
		for _, r := range cl.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("embedded nats: route %q: %w", r, err)
			}
			o.Routes = append(o.Routes, u)
		}
	}
	return o, nil
}

// Start starts a server and waits until it accepts connections with
// JetStream enabled. On error nothing is left running.
func Start(cfg Config) (*Server, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(slogAdapter{cfg.Logger}, false, false, false)
	}
	srv.Start()
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if !srv.ReadyForConnections(timeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("%w: %s within %s", ErrNotReady, cfg.URL, timeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("%w (store dir %s)", ErrJetStreamDisabled, cfg.DataDir)
	}
	return &Server{srv: srv, cfg: cfg}, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.srv.ClientURL() }

// Port is the client port actually bound.
func (s *Server) Port() int {
	if a, ok := s.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Config returns the configuration the server was started with.
func (s *Server) Config() Config { return s.cfg }

// Inner exposes the nats-server instance, e.g. for nats.InProcessServer.
func (s *Server) Inner() *server.Server { return s.srv }

// Shutdown stops the server and waits until it has stopped. Close client
// connections and watchers first. Safe to call more than once.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// slogAdapter feeds nats-server log lines to slog. Fatalf logs at error
// level and never exits: Start detects the failure instead.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(f string, v ...any) { a.l.Info(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Warnf(f string, v ...any)   { a.l.Warn(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Fatalf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...), "fatal", true) }
func (a slogAdapter) Errorf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Debugf(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a slogAdapter) Tracef(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...), "trace", true) }
