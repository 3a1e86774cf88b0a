package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type result struct {
	code   int
	stdout string
	stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	io := &IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(context.Background(), args, io, lookup)
	return result{code, out.String(), errb.String()}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "parti ")
	assert.Contains(t, r.stdout, "go1.")

	r = runCLI(t, nil, "version", "-o", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var v VersionInfo
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.NotEmpty(t, v.Version)
	assert.NotEmpty(t, v.GoVersion)

	r = runCLI(t, nil, "version", "-o", "yaml")
	assert.Contains(t, r.stdout, "go_version:")
	r = runCLI(t, nil, "version", "-o", "table")
	assert.Contains(t, r.stdout, "go1.")
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"},
		{"version", "extra"},
		{"version", "-o", "xml"},
		{"simulate", "--partitions", "abc"},
		{"simulate", "--partitions", "0"},
		{"simulate", "--steps", "join"},
		{"simulate", "--strategy", "magic"},
		{"--cluster", "bad name", "version"},
		{"--log-level", "loud", "version"},
		{"--log-format", "xml", "version"},
		{"--no-such-flag"},
	} {
		r := runCLI(t, nil, args...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "Error:", args)
	}
}

func TestEnvironmentBinding(t *testing.T) {
	// flag > env > default
	r := runCLI(t, map[string]string{"PARTI_OUTPUT": "json"}, "version")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.True(t, json.Valid([]byte(r.stdout)), "env sets -o")
	r = runCLI(t, map[string]string{"PARTI_OUTPUT": "json"}, "version", "-o", "text")
	assert.False(t, json.Valid([]byte(r.stdout)), "flag beats env")
	r = runCLI(t, map[string]string{"PARTI_LOG_LEVEL": "nonsense"}, "version")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "PARTI_LOG_LEVEL")
	r = runCLI(t, map[string]string{"PARTI_PARTITIONS": "x"}, "simulate")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "PARTI_PARTITIONS")
	assert.Contains(t, r.stderr, "--partitions")
}

func TestNATSURLEnvPrecedence(t *testing.T) {
	f := &Factory{IO: &IOStreams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, Global: &GlobalOptions{},
		Lookup: func(k string) (string, bool) {
			v, ok := map[string]string{"NATS_URL": "nats://a:1"}[k]
			return v, ok
		}}
	root := NewRootCmd(f)
	root.SetArgs([]string{"version"})
	require.NoError(t, root.Execute())
	assert.Equal(t, "nats://a:1", f.Global.NATSURL)

	f.Lookup = func(k string) (string, bool) {
		v, ok := map[string]string{"NATS_URL": "nats://a:1", "PARTI_NATS_URL": "nats://b:2"}[k]
		return v, ok
	}
	f.Global = &GlobalOptions{}
	root = NewRootCmd(f)
	root.SetArgs([]string{"version"})
	require.NoError(t, root.Execute())
	assert.Equal(t, "nats://b:2", f.Global.NATSURL, "PARTI_NATS_URL beats NATS_URL")
}

func TestSimulateJSONShape(t *testing.T) {
	r := runCLI(t, nil, "simulate", "--partitions", "1000", "--workers", "10", "--steps", "join:1,crash:2", "--seed", "7", "-o", "json")
	require.Equal(t, ExitOK, r.code, r.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	for _, k := range []string{"strategy", "partitions", "workers", "weights", "seed", "steps"} {
		assert.Contains(t, got, k)
	}
	steps := got["steps"].([]any)
	require.Len(t, steps, 3)
	first := steps[0].(map[string]any)
	for _, k := range []string{"step", "workers", "moved", "required", "moved_ratio", "max_over_avg_load", "lower_bound_max_over_avg", "compute_ms"} {
		assert.Contains(t, first, k)
	}
	assert.Equal(t, "initial", first["step"])
}

func TestSimulateTable(t *testing.T) {
	r := runCLI(t, nil, "simulate", "--partitions", "100", "--workers", "4", "--steps", "join:1")
	require.Equal(t, ExitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, "piped: no header, one row per step")
	assert.True(t, strings.HasPrefix(lines[0], "initial\t4\t100\t100\t"))
	assert.True(t, strings.HasPrefix(lines[1], "join:1\t5\t"))
}

func TestTableOnTTYHasHeader(t *testing.T) {
	var out bytes.Buffer
	tb := &table{tty: true}
	tb.header("A", "LONGER")
	tb.row("1", "2")
	require.NoError(t, tb.render(&out))
	assert.Equal(t, "A  LONGER\n1  2\n", out.String())
}

func TestHelpMentionsEnvironment(t *testing.T) {
	r := runCLI(t, nil, "--help")
	require.Equal(t, ExitOK, r.code)
	assert.Contains(t, r.stdout, "PARTI_")
	assert.Contains(t, r.stdout, "simulate")
}
