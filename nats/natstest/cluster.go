package natstest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parti-dev/parti/nats/embedded"
)

// Route ports are picked in [portLow, portHigh), outside the Linux
// ephemeral range 32768–60999, so random client ports never collide with
// them.
const (
	portLow  = 20000
	portHigh = 30000
)

var (
	portMu   sync.Mutex
	portNext int
	portUsed = map[int]bool{}
)

// freePort returns a port in [portLow, portHigh) that this process has not
// handed out before and that can be listened on right now. The start
// point depends on the process ID so parallel test binaries (go test runs
// packages concurrently) begin far apart.
func freePort() (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	if portNext == 0 {
		portNext = portLow + (os.Getpid()*193)%(portHigh-portLow)
	}
	for range portHigh - portLow {
		p := portNext
		portNext++
		if portNext >= portHigh {
			portNext = portLow
		}
		if portUsed[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		portUsed[p] = true
		return p, nil
	}
	return 0, errors.New("no free port in 20000-29999")
}

// Cluster is a JetStream cluster of embedded servers in this process.
type Cluster struct {
	Name  string
	Nodes []*Node
}

// RunCluster starts an n-node JetStream cluster on 127.0.0.1 (random client
// ports, fixed route ports), waits until it has a meta leader with every
// peer current, and registers its shutdown with t.Cleanup.
func RunCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	var lastErr error
	for attempt := range 3 {
		c, err := startCluster(t, n, attempt)
		if err == nil {
			t.Cleanup(c.Shutdown)
			return c
		}
		lastErr = err
	}
	t.Fatalf("start %d-node cluster: %v", n, lastErr)
	return nil
}

func startCluster(t testing.TB, n, attempt int) (*Cluster, error) {
	ports := make([]int, n)
	routes := make([]string, n)
	for i := range n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	c := &Cluster{Name: "parti-test"}
	root := t.TempDir()
	type result struct {
		i   int
		srv *embedded.Server
		err error
	}
	results := make(chan result, n)
	cfgs := make([]embedded.Config, n)
	for i := range n {
		cfgs[i] = embedded.Config{
			URL:          "nats://127.0.0.1:-1",
			DataDir:      filepath.Join(root, fmt.Sprintf("a%d-n%d", attempt, i)),
			ServerName:   fmt.Sprintf("n%d", i),
			ReadyTimeout: 10 * time.Second,
			Cluster: &embedded.ClusterConfig{
				Name:   c.Name,
				Port:   ports[i],
				Routes: routes,
			},
		}
		go func(i int) {
			srv, err := embedded.Start(cfgs[i])
			results <- result{i, srv, err}
		}(i)
	}
	c.Nodes = make([]*Node, n)
	var errs []error
	for range n {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		c.Nodes[r.i] = &Node{t: t, srv: r.srv, cfg: cfgs[r.i], port: r.srv.Port()}
	}
	if len(errs) > 0 {
		c.Shutdown()
		return nil, errors.Join(errs...)
	}
	if err := Poll(20*time.Second, c.ready); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// ready reports nil once exactly one meta leader exists, it sees every
// running node as an online peer, and every running node is current.
func (c *Cluster) ready() error {
	leaders, running := 0, 0
	var leader interface{ JetStreamClusterPeers() []string }
	for _, nd := range c.Nodes {
		s := nd.Server()
		if s == nil {
			continue
		}
		running++
		in := s.Inner()
		if !in.JetStreamIsCurrent() {
			return fmt.Errorf("%s: JetStream meta not current", in.Name())
		}
		if in.JetStreamIsLeader() {
			leaders++
			leader = in
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d meta leaders", leaders)
	}
	if got := len(leader.JetStreamClusterPeers()); got < running {
		return fmt.Errorf("meta leader sees %d of %d running peers", got, running)
	}
	return nil
}

// URLs is the comma-separated client URLs of every node, for
// nats.Connect.
func (c *Cluster) URLs() string {
	us := make([]string, 0, len(c.Nodes))
	for _, nd := range c.Nodes {
		us = append(us, nd.URL())
	}
	return strings.Join(us, ",")
}

// Stop shuts node i down (a clean in-process shutdown).
func (c *Cluster) Stop(i int) { c.Nodes[i].Shutdown() }

// Restart starts node i again with the same name, store, client port and
// route port, and waits until the cluster has a meta leader.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	RestartServer(t, c.Nodes[i])
	WaitFor(t, 20*time.Second, c.ready)
}

// Shutdown stops every node. Safe to call repeatedly.
func (c *Cluster) Shutdown() {
	var wg sync.WaitGroup
	for _, nd := range c.Nodes {
		if nd == nil {
			continue
		}
		wg.Go(nd.Shutdown)
	}
	wg.Wait()
}
