// Package e2e runs real parti processes against a NATS server and checks
// what the product promises: coverage, failover, handoff, restart and that
// no partition is ever held by two processes at once (from audit logs).
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

// binary is the parti binary built once by TestMain.
var binary string

func buildBinary() (string, func(), error) {
	dir, err := os.MkdirTemp("", "parti-e2e-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "parti")
	cmd := exec.Command("go", "build", "-o", bin, "..")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build parti: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// proc is one parti process.
type proc struct {
	id      string
	cmd     *exec.Cmd
	http    string
	audit   string
	logFile string
	done    chan struct{}
	exitErr error
	killed  time.Time // when we SIGKILLed it
}

// fleet is a NATS server and the parti processes attached to it.
type fleet struct {
	t       *testing.T
	url     string
	cluster string
	dir     string
	parts   int
	timing  []string
	extra   []string // more flags for every process
	mu      sync.Mutex
	procs   map[string]*proc
	all     []*proc
	seq     int
}

func newFleet(t *testing.T, parts int, timing []string) *fleet {
	srv := natstest.RunServer(t)
	f := &fleet{t: t, url: srv.Server().ClientURL(), cluster: fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e6),
		dir: t.TempDir(), parts: parts, procs: map[string]*proc{}, timing: timing}
	t.Cleanup(f.killAll)
	return f
}

// newClusterFleet is a fleet on a 3-node NATS cluster with replicated
// buckets; every process knows every server URL.
func newClusterFleet(t *testing.T, parts int, timing []string) (*fleet, *natstest.Cluster) {
	c := natstest.RunCluster(t, 3)
	f := &fleet{t: t, url: c.URLs(), cluster: fmt.Sprintf("e2ec%d", time.Now().UnixNano()%1e6),
		dir: t.TempDir(), parts: parts, procs: map[string]*proc{}, timing: timing,
		extra: []string{"--replicas", "3"}}
	t.Cleanup(f.killAll)
	return f, c
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// fastTiming: short TTLs and windows so the suite stays fast.
var fastTiming = []string{
	"--heartbeat-interval", "300ms", "--worker-ttl", "1s", "--leader-ttl", "1s",
	"--cold-start-window", "1s", "--scale-window", "300ms", "--cooldown", "300ms",
	"--restart-grace", "30s", "--leave-timeout", "3s",
}

func (f *fleet) start(id string) *proc {
	t := f.t
	f.mu.Lock()
	f.seq++
	n := f.seq
	f.mu.Unlock()
	p := &proc{id: id, http: freeAddr(t), audit: filepath.Join(f.dir, fmt.Sprintf("%s-%d.audit", id, n)),
		logFile: filepath.Join(f.dir, fmt.Sprintf("%s-%d.log", id, n)), done: make(chan struct{})}
	args := append([]string{"run", "--embedded", "never", "--nats-url", f.url, "--cluster", f.cluster,
		"--worker-id", id, "--partitions", strconv.Itoa(f.parts), "--http-addr", p.http, "--audit-log", p.audit,
		"--log-level", "debug", "--data-dir", f.dir}, f.timing...)
	args = append(args, f.extra...)
	p.cmd = exec.Command(binary, args...)
	out, err := os.Create(p.logFile)
	require.NoError(t, err)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.Env = append(os.Environ(), "NATS_URL=", "PARTI_NATS_URL=")
	require.NoError(t, p.cmd.Start())
	go func() {
		p.exitErr = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	f.mu.Lock()
	f.procs[id] = p
	f.all = append(f.all, p)
	f.mu.Unlock()
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (f *fleet) kill(id string) *proc {
	p := f.remove(id)
	p.killed = time.Now()
	require.NoError(f.t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.done
	return p
}

// term sends SIGTERM and waits for a clean exit.
func (f *fleet) term(id string) (*proc, time.Duration) {
	p := f.remove(id)
	start := time.Now()
	require.NoError(f.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		f.t.Fatalf("%s did not exit after SIGTERM; log:\n%s", id, f.log(p))
	}
	require.NoError(f.t, p.exitErr, "graceful exit; log:\n%s", f.log(p))
	return p, time.Since(start)
}

func (f *fleet) remove(id string) *proc {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.procs[id]
	require.True(f.t, ok, "no process %s", id)
	delete(f.procs, id)
	return p
}

func (f *fleet) killAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.all {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	if dir := os.Getenv("PARTI_E2E_KEEP_LOGS"); dir != "" && f.t.Failed() {
		_ = os.MkdirAll(dir, 0o755)
		for _, p := range f.all {
			if b, err := os.ReadFile(p.logFile); err == nil {
				_ = os.WriteFile(filepath.Join(dir, filepath.Base(p.logFile)), b, 0o644)
			}
		}
	}
	if f.t.Failed() {
		for _, p := range f.all {
			f.t.Logf("---- log of %s (%s)\n%s", p.id, p.logFile, f.log(p))
		}
	}
}

func (f *fleet) log(p *proc) string {
	b, _ := os.ReadFile(p.logFile)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// assignment is what /v1/assignment returns.
type assignment struct {
	Worker     string   `json:"worker"`
	Version    uint64   `json:"version"`
	Epoch      uint64   `json:"epoch"`
	Partitions []string `json:"partitions"`
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func getJSON(addr, path string, v any) error {
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// owners polls every live process and returns partition → worker, failing
// on a partition owned twice or a process that is not ready.
func (f *fleet) owners() (map[string]string, error) {
	f.mu.Lock()
	procs := make([]*proc, 0, len(f.procs))
	for _, p := range f.procs {
		procs = append(procs, p)
	}
	f.mu.Unlock()
	own := map[string]string{}
	var version uint64
	for i, p := range procs {
		var a assignment
		if err := getJSON(p.http, "/v1/assignment", &a); err != nil {
			return nil, fmt.Errorf("%s: %w", p.id, err)
		}
		if i > 0 && a.Version != version {
			return nil, fmt.Errorf("versions differ: %d vs %d", a.Version, version)
		}
		version = a.Version
		for _, k := range a.Partitions {
			if o, dup := own[k]; dup {
				return nil, fmt.Errorf("%s owned by %s and %s", k, o, p.id)
			}
			own[k] = p.id
		}
	}
	if len(own) != f.parts {
		return own, fmt.Errorf("%d of %d partitions owned", len(own), f.parts)
	}
	return own, nil
}

// waitCovered waits until the live processes own every partition exactly
// once and returns the time it took and the ownership.
func (f *fleet) waitCovered(timeout time.Duration) (time.Duration, map[string]string) {
	f.t.Helper()
	start := time.Now()
	var own map[string]string
	err := natstest.Poll(timeout, func() error {
		var err error
		own, err = f.owners()
		return err
	})
	if err != nil {
		f.mu.Lock()
		for id, p := range f.procs {
			var st map[string]any
			if getJSON(p.http, "/v1/status", &st) == nil {
				if c, ok := st["calculator"].(map[string]any); ok {
					delete(c, "history")
				}
				f.t.Logf("status of %s: %v", id, st)
			}
		}
		f.mu.Unlock()
		f.t.Fatalf("not covered within %v: %v", timeout, err)
	}
	return time.Since(start), own
}

type status struct {
	ID       string `json:"id"`
	IsLeader bool   `json:"is_leader"`
	Leader   string `json:"leader"`
}

// leader returns the process that reports itself leader.
func (f *fleet) leader() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, p := range f.procs {
		var s status
		if err := getJSON(p.http, "/v1/status", &s); err == nil && s.IsLeader {
			return id, nil
		}
	}
	return "", errors.New("no leader")
}

// audit reads every process's audit log and the kill times.
func (f *fleet) audit() ([]worker.AuditRecord, map[string]time.Time) {
	var recs []worker.AuditRecord
	ends := map[string]time.Time{}
	for _, p := range f.all {
		b, err := os.ReadFile(p.audit)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(f.t, err)
		rs, err := worker.ReadAudit(bytes.NewReader(b))
		require.NoError(f.t, err)
		if !p.killed.IsZero() {
			for _, r := range rs {
				ends[r.Nonce] = p.killed
			}
		}
		recs = append(recs, rs...)
	}
	return recs, ends
}

// cli runs a one-shot parti command.
func (f *fleet) cli(ctx context.Context, args ...string) (stdout string, stderr string, code int) {
	all := append(slices.Clone(args), "--nats-url", f.url, "--cluster", f.cluster)
	cmd := exec.CommandContext(ctx, binary, all...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return out.String(), errb.String(), code
}
