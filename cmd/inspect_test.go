package cmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/election"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/nats/store"
)

// setupCluster creates cluster's buckets on the server at url.
func setupCluster(t *testing.T, url, cluster string) (context.Context, *layout.Buckets) {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, url))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	l, err := layout.New(layout.Options{Cluster: cluster})
	require.NoError(t, err)
	b, err := l.Ensure(ctx, js)
	require.NoError(t, err)
	return ctx, b
}

// publish wins the election as leaderID and publishes owners as version 1
// through the store, the way a leader's calculator does. The elector runs
// until the test ends.
func publish(ctx context.Context, t *testing.T, b *layout.Buckets, leaderID string, owners map[string][]string) {
	t.Helper()
	el, err := election.New(election.Config{Leader: b.Leader, Assignments: b.Assignments, ID: leaderID})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = el.Campaign(cctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	var term *election.Term
	select {
	case term = <-el.Terms():
	case <-time.After(10 * time.Second):
		t.Fatal("no leadership")
	}
	s := store.New(b)
	s.SetFence(term.Fence)
	var workers []string
	n := 0
	for w, keys := range owners {
		workers = append(workers, w)
		n += len(keys)
		require.NoError(t, s.WriteWorker(ctx, term.Epoch, 1, calculator.WorkerEntry{Worker: w, Keys: keys}))
	}
	sortStrings(workers)
	require.NoError(t, s.Commit(ctx, calculator.Commit{Version: 1, Epoch: term.Epoch, Leader: leaderID,
		Workers: workers, Partitions: n, At: time.Now()}))
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestInspectAssignments(t *testing.T) {
	n := natstest.RunServer(t)
	ctx, b := setupCluster(t, n.URL(), "insp")
	publish(ctx, t, b, "worker-0", map[string][]string{
		"worker-0": {"a", "c"}, "worker-1": {"b"}, "worker-2": nil,
	})
	base := []string{"--nats-url", n.URL(), "--cluster", "insp", "inspect", "assignments"}

	r := runCLI(t, nil, append(base, "-o", "json")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Len(t, got, 5)
	assert.Equal(t, "insp", got["cluster"])
	assert.InDelta(t, 1, got["version"], 0)
	assert.InDelta(t, 1, got["epoch"], 0)
	assert.Equal(t, "worker-0", got["leader"])
	assert.Equal(t, map[string]any{"worker-0": []any{"a", "c"}, "worker-1": []any{"b"}, "worker-2": []any{}}, got["assignments"])
	assert.Contains(t, r.stdout, `"worker-2": []`, "a worker owning nothing is [] not null")

	r = runCLI(t, nil, append(base, "-o", "json", "--worker", "worker-1")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	var v AssignmentsView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, map[string][]string{"worker-1": {"b"}}, v.Assignments)

	r = runCLI(t, nil, append(base, "-o", "json", "--worker", "worker-9")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"assignments": {}`)
	assert.Contains(t, r.stderr, "worker-9")

	r = runCLI(t, nil, append(base, "-o", "yaml")...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "leader: worker-0")

	// Piped table: no header, full lists, tab-separated.
	r = runCLI(t, nil, base...)
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, "worker-0\ta,c\t2\nworker-1\tb\t1\nworker-2\t\t0\n", r.stdout)
}

func TestInspectAssignmentsNothingPublished(t *testing.T) {
	n := natstest.RunServer(t)
	setupCluster(t, n.URL(), "empty")
	r := runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "empty", "inspect", "assignments", "-o", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"cluster":"empty","version":0,"epoch":0,"leader":"","assignments":{}}`, r.stdout)
	assert.Contains(t, r.stderr, "no assignment has been published yet")

	// A cluster whose buckets do not exist is an error naming it.
	r = runCLI(t, nil, "--nats-url", n.URL(), "--cluster", "ghost", "inspect", "assignments")
	assert.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, `"ghost"`)
}

func TestInspectUnreachable(t *testing.T) {
	start := time.Now()
	r := runCLI(t, nil, "--nats-url", "nats://127.0.0.1:1", "inspect", "assignments", "--timeout", "2s")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)
	assert.Contains(t, r.stderr, "nats://127.0.0.1:1")
	assert.Less(t, time.Since(start), 3*time.Second)

	r = runCLI(t, nil, "--nats-url", "nats://u:secret@127.0.0.1:1", "inspect", "assignments", "--timeout", "1s")
	assert.Equal(t, ExitUnreachable, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "secret")
}

func TestInspectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"inspect", "bogus"},
		{"inspect", "assignments", "--timeout", "0"},
		{"inspect", "assignments", "-o", "xml"},
		{"inspect", "assignments", "extra"},
		{"--creds", "/nonexistent/creds", "inspect", "assignments"},
	} {
		r := runCLI(t, nil, args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
	r := runCLI(t, nil, "inspect")
	assert.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "assignments")
}

func TestAssignmentsTableOnTTY(t *testing.T) {
	var out strings.Builder
	ios := &IOStreams{Out: &out, OutIsTTY: true}
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = "p-0" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	v := AssignmentsView{Cluster: "parti", Version: 4, Epoch: 2, Leader: "worker-0",
		Assignments: map[string][]string{"worker-0": keys, "worker-1": {}}}
	require.NoError(t, printAssignmentsTable(ios, v, 60))
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "version 4 epoch 2 leader worker-0", lines[0])
	assert.Regexp(t, `^WORKER\s+PARTITIONS\s+COUNT$`, lines[1])
	assert.LessOrEqual(t, len([]rune(lines[2])), 60)
	assert.Contains(t, lines[2], "…(+")
	assert.Regexp(t, `\s40$`, lines[2])
	assert.Regexp(t, `^worker-1\s+-\s+0$`, lines[3])
}

func TestFitList(t *testing.T) {
	assert.Equal(t, "-", fitList(nil, 10))
	assert.Equal(t, "a,b,c", fitList([]string{"a", "b", "c"}, 20))
	got := fitList([]string{"aaaaaa", "bbbbbb", "cccccc", "dddddd"}, 20)
	assert.Equal(t, "aaaaaa,bbbbbb,…(+2)", got)
	assert.LessOrEqual(t, len([]rune(got)), 20)
}
