package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

func TestRunFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--heartbeat-interval", "-1s"}, "--heartbeat-interval"},
		{[]string{"--heartbeat-interval", "0"}, "--heartbeat-interval"},
		{[]string{"--worker-ttl", "0s"}, "--worker-ttl"},
		{[]string{"--leader-ttl", "-3s"}, "--leader-ttl"},
		{[]string{"--cold-start-window", "-1ms"}, "--cold-start-window"},
		{[]string{"--scale-window", "-1s"}, "--scale-window"},
		{[]string{"--restart-grace", "-1s"}, "--restart-grace"},
		{[]string{"--cooldown", "-1s"}, "--cooldown"},
		{[]string{"--leave-timeout", "0"}, "--leave-timeout"},
		{[]string{"--leave-timeout", "soon"}, "--leave-timeout"},
		{[]string{"--heartbeat-interval", "2s"}, "a third of --worker-ttl"},
		{[]string{"--heartbeat-interval", "1s", "--worker-ttl", "2s"}, "a third of --worker-ttl"},
		{[]string{"--worker-ttl", "60ms", "--heartbeat-interval", "10ms"}, "100ms"},
		{[]string{"--partitions", "8", "--partitions-file", "x.yaml"}, "mutually exclusive"},
		{[]string{"--partitions", "0"}, "--partitions"},
		{[]string{"--replicas", "2"}, "--replicas"},
		{[]string{"--embedded", "sometimes"}, "--embedded"},
		{[]string{"--strategy", "magic"}, "--strategy"},
		{[]string{"--worker-id", "bad id"}, "--worker-id"},
		{[]string{"--worker-id", strings.Repeat("w", 65)}, "--worker-id"},
		{[]string{"--http-addr", "nope"}, "--http-addr"},
		{[]string{"--audit-log", "/nonexistent-dir/audit.log"}, "--audit-log"},
		{[]string{"extra"}, "unknown command"},
	} {
		r := runCLI(t, nil, append([]string{"run"}, tc.args...)...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", tc.args, r.stderr)
		assert.Contains(t, r.stderr, tc.want, tc.args)
	}
	// The environment is checked the same way, naming the variable.
	r := runCLI(t, map[string]string{"PARTI_HEARTBEAT_INTERVAL": "-1s"}, "run")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--heartbeat-interval")
	r = runCLI(t, map[string]string{"PARTI_PARTITIONS": "3"}, "run", "--partitions-file", "x.yaml")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "mutually exclusive")
}

func TestRunUnreachable(t *testing.T) {
	start := time.Now()
	r := runCLI(t, nil, "run", "--embedded", "never", "--nats-url", "nats://127.0.0.1:1",
		"--connect-timeout", "500ms", "--http-addr", "")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)
	assert.Contains(t, r.stderr, "nats://127.0.0.1:1")
	assert.Less(t, time.Since(start), 5*time.Second)

	// auto with an explicit URL never starts a server: it connects.
	r = runCLI(t, nil, "run", "--nats-url", "nats://127.0.0.1:1", "--connect-timeout", "300ms", "--http-addr", "")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)
	r = runCLI(t, map[string]string{"NATS_URL": "nats://127.0.0.1:1"}, "run", "--connect-timeout", "300ms", "--http-addr", "")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)
}

func TestRunEmbeddedAlwaysPortTaken(t *testing.T) {
	n := natstest.RunServer(t)
	r := runCLI(t, nil, "run", "--embedded", "always", "--nats-url", n.URL(), "--data-dir", t.TempDir(), "--http-addr", "")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, "in use")
	assert.Contains(t, r.stderr, strings.TrimPrefix(n.URL(), "nats://"))

	r = runCLI(t, nil, "run", "--embedded", "always", "--replicas", "3", "--nats-url", "nats://127.0.0.1:-1", "--data-dir", t.TempDir())
	assert.Equal(t, ExitUsage, r.code, r.stderr)
}

func TestForceExitOnSecondSignal(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	var out bytes.Buffer
	exited := make(chan int, 1)
	stop := forceExitOnSecond(sigs, &out, func(code int) { exited <- code })
	sigs <- syscall.SIGINT
	select {
	case <-exited:
		t.Fatal("exit after the first signal")
	case <-time.After(50 * time.Millisecond):
	}
	sigs <- syscall.SIGTERM
	select {
	case code := <-exited:
		assert.Equal(t, ExitForced, code)
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after the second signal")
	}
	stop()
	assert.Contains(t, out.String(), "leaving gracefully")
	assert.Contains(t, out.String(), "forced exit")

	// Stopped before any signal: nothing happens.
	stop = forceExitOnSecond(make(chan os.Signal), io.Discard, func(int) { t.Error("exit") })
	stop()
}

func TestRunBanner(t *testing.T) {
	b := runBanner(bannerInfo{Worker: "worker-0", Cluster: "parti", NATSURL: "nats://127.0.0.1:4222",
		Embedded: true, StoreDir: "/s/nats-4222", HTTPAddr: "127.0.0.1:9090"})
	lines := strings.Split(strings.TrimSpace(b), "\n")
	assert.LessOrEqual(t, len(lines), 8)
	for _, want := range []string{"worker-0", `"parti"`, "embedded", "/s/nats-4222", "parti run   ", "parti top\n",
		"http://127.0.0.1:9090", "/metrics", "/healthz", "/readyz", "/v1/assignment", "/v1/status"} {
		assert.Contains(t, b, want)
	}
	b = runBanner(bannerInfo{Worker: "w", Cluster: "blue", NATSURL: "nats://10.0.0.1:4222,nats://10.0.0.2:4222"})
	assert.Contains(t, b, "external")
	assert.Contains(t, b, "parti run --nats-url nats://10.0.0.1:4222,nats://10.0.0.2:4222 --cluster blue")
	assert.Contains(t, b, "parti top --nats-url")
	assert.Contains(t, b, "HTTP   disabled")
	assert.Contains(t, runBanner(bannerInfo{NATSURL: "nats://x:1", Context: "prod", Cluster: "parti"}), "parti top --context prod\n")
}

// fakeNode is a nodeStatus with a fixed status.
type fakeNode struct{ s worker.Status }

func (n fakeNode) Status() worker.Status { return n.s }
func (n fakeNode) Ready() error          { return errors.New("not yet") }
func (n fakeNode) Healthy() error        { return nil }

func TestNodeHandler(t *testing.T) {
	h := nodeHandler(fakeNode{worker.Status{ID: "worker-3", Version: 7, Epoch: 2, State: worker.StateStable}}, nil, nil)
	get := func(path string) (int, string, http.Header) {
		rec := &recorder{header: http.Header{}}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
		require.NoError(t, err)
		h.ServeHTTP(rec, req)
		return rec.code, rec.body.String(), rec.header
	}
	code, body, hdr := get("/v1/assignment")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "application/json", hdr.Get("Content-Type"))
	assert.JSONEq(t, `{"worker":"worker-3","version":7,"epoch":2,"partitions":[]}`, body)
	code, body, _ = get("/v1/status")
	require.Equal(t, http.StatusOK, code)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, "stable", st["state"])
	code, _, _ = get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, _, _ = get("/healthz")
	assert.Equal(t, http.StatusOK, code)
}

type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

// syncBuffer is a bytes.Buffer safe for the command and the test to use at
// once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRun runs the CLI in the background until the returned stop is
// called; stop cancels its context and returns the exit code.
func startRun(t *testing.T, args ...string) (stderr *syncBuffer, stop func() int) {
	t.Helper()
	stderr = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: stderr}
	go func() { done <- run(ctx, args, ios, func(string) (string, bool) { return "", false }) }()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("run did not return after cancel; stderr:\n%s", stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return stderr, stop
}

var bannerHTTP = regexp.MustCompile(`HTTP   http://(\S+)`)

// waitBannerHTTP waits for the banner and returns the HTTP address in it.
func waitBannerHTTP(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	var addr string
	natstest.WaitFor(t, 20*time.Second, func() error {
		m := bannerHTTP.FindStringSubmatch(stderr.String())
		if m == nil {
			return fmt.Errorf("no banner yet; stderr:\n%s", stderr.String())
		}
		addr = m[1]
		return nil
	})
	return addr
}

func httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// waitAssigned waits until the node at addr is ready and owns want
// partitions, and returns its assignment.
func waitAssigned(t *testing.T, addr string, want int) NodeAssignment {
	t.Helper()
	var a NodeAssignment
	natstest.WaitFor(t, 30*time.Second, func() error {
		code, body, err := httpGet(context.Background(), "http://"+addr+"/readyz")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("readyz %d %s: %w", code, body, err)
		}
		code, body, err = httpGet(context.Background(), "http://"+addr+"/v1/assignment")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("assignment %d: %w", code, err)
		}
		a = NodeAssignment{}
		if err := json.Unmarshal(body, &a); err != nil {
			return err
		}
		if len(a.Partitions) != want {
			return fmt.Errorf("owns %d partitions, want %d", len(a.Partitions), want)
		}
		return nil
	})
	return a
}

// fastTiming are timing flags that make a node converge quickly.
var fastTiming = []string{"--heartbeat-interval", "100ms", "--worker-ttl", "500ms", "--leader-ttl", "500ms",
	"--cold-start-window", "50ms", "--scale-window", "50ms", "--cooldown", "50ms", "--leave-timeout", "2s"}

func TestRunExternalServer(t *testing.T) {
	n := natstest.RunServer(t)
	auditPath := t.TempDir() + "/audit.log"
	args := append([]string{"--nats-url", n.URL(), "--cluster", "runext", "run", "--embedded", "never",
		"--http-addr", "127.0.0.1:0", "--audit-log", auditPath, "--tui"}, fastTiming...)
	stderr, stop := startRun(t, args...)
	addr := waitBannerHTTP(t, stderr)
	a := waitAssigned(t, addr, 64)
	assert.Equal(t, "p-000", a.Partitions[0])
	assert.NotEmpty(t, a.Worker)
	assert.Positive(t, a.Version)
	out := stderr.String()
	assert.Contains(t, out, "--tui needs a terminal on stdout; running headless")
	assert.Contains(t, out, "(external)")
	assert.Contains(t, out, "--cluster runext")

	code, body, err := httpGet(context.Background(), "http://"+addr+"/metrics")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), "parti_")

	// inspect sees the same assignment.
	r := runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "runext", "inspect", "assignments", "-o", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var v AssignmentsView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, a.Worker, v.Leader)
	assert.Len(t, v.Assignments[a.Worker], 64)

	require.Equal(t, ExitOK, stop(), stderr.String())
	audit, err := os.ReadFile(auditPath)
	require.NoError(t, err)
	assert.Contains(t, string(audit), `"event":"acquire"`)
}

func TestRunEmbeddedRandomPort(t *testing.T) {
	dir := t.TempDir()
	args := append([]string{"--cluster", "runemb", "run", "--embedded", "always", "--nats-url", "nats://127.0.0.1:-1",
		"--data-dir", dir, "--http-addr", "127.0.0.1:0", "--partitions", "10", "--worker-id", "solo"}, fastTiming...)
	stderr, stop := startRun(t, args...)
	addr := waitBannerHTTP(t, stderr)
	a := waitAssigned(t, addr, 10)
	assert.Equal(t, "solo", a.Worker)
	assert.Contains(t, stderr.String(), "embedded server, data in "+dir)
	require.Equal(t, ExitOK, stop(), stderr.String())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the random-port store is removed on exit")
}

func TestRunHTTPAddrTaken(t *testing.T) {
	n := natstest.RunServer(t)
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	addr := ln.Addr().String()
	r := runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "httptaken", "run", "--embedded", "never", "--http-addr", addr)
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, addr)
}

func TestRunTwoNodesShare(t *testing.T) {
	n := natstest.RunServer(t)
	base := append([]string{"--nats-url", n.URL(), "--cluster", "pair", "run", "--http-addr", "127.0.0.1:0",
		"--partitions", "20"}, fastTiming...)
	err1, stop1 := startRun(t, base...)
	addr1 := waitBannerHTTP(t, err1)
	waitAssigned(t, addr1, 20)
	err2, stop2 := startRun(t, base...)
	addr2 := waitBannerHTTP(t, err2)
	waitAssigned(t, addr2, 10)
	waitAssigned(t, addr1, 10)
	require.Equal(t, ExitOK, stop1(), err1.String())
	waitAssigned(t, addr2, 20)
	require.Equal(t, ExitOK, stop2(), err2.String())
}

func TestRunDataDirDefault(t *testing.T) {
	f := &Factory{Global: &GlobalOptions{Cluster: "blue"}, Lookup: func(k string) (string, bool) {
		v, ok := map[string]string{"XDG_STATE_HOME": "/state", "HOME": "/home/u"}[k]
		return v, ok
	}}
	o := &RunOptions{}
	dir, err := o.dataDir(f)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/state", "parti", "blue"), dir)

	f.Lookup = func(k string) (string, bool) {
		v, ok := map[string]string{"HOME": "/home/u"}[k]
		return v, ok
	}
	dir, err = o.dataDir(f)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("/home/u", ".local", "state", "parti", "blue"), dir)

	o.DataDir = "/explicit"
	dir, err = o.dataDir(f)
	require.NoError(t, err)
	assert.Equal(t, "/explicit", dir)

	assert.Regexp(t, `^parti-[A-Za-z0-9_-]+-4222$`, serverName(4222))
	assert.Regexp(t, `^parti-[A-Za-z0-9_-]+-pid\d+$`, serverName(-1))
}
