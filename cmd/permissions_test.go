package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/natstest"
)

// Passwords the documented configuration reads from the environment.
var rolePasswords = map[string]string{
	"PARTI_WORKER_PASSWORD":   "worker-secret",
	"PARTI_READER_PASSWORD":   "reader-secret",
	"PARTI_OPERATOR_PASSWORD": "operator-secret",
}

// documentedUsers parses the permissions block of docs/operations.md, so
// the tests run against exactly what the documentation tells people to
// configure.
func documentedUsers(t *testing.T) []*server.User {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "<!-- permissions:begin -->")
	require.True(t, ok, "no permissions:begin marker in docs/operations.md")
	block, _, ok := strings.Cut(rest, "<!-- permissions:end -->")
	require.True(t, ok, "no permissions:end marker in docs/operations.md")
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```conf")
	block = strings.TrimSuffix(block, "```")
	path := filepath.Join(t.TempDir(), "auth.conf")
	require.NoError(t, os.WriteFile(path, []byte(block), 0o600))
	for k, v := range rolePasswords {
		t.Setenv(k, v)
	}
	opts, err := server.ProcessConfigFile(path)
	require.NoError(t, err)
	require.Len(t, opts.Users, 3)
	return opts.Users
}

// TestDocumentedPermissions runs a fleet as the documented worker user and
// every operator command as the read-only and the full operator.
func TestDocumentedPermissions(t *testing.T) {
	n := natstest.RunServerWithOptions(t, natstest.ServerOptions{Users: documentedUsers(t)})
	f := startFleet(t, n.URL(), "parti", 2, nats.UserInfo("parti-worker", "worker-secret"))
	as := func(user, password string) func(args ...string) result {
		return func(args ...string) result {
			return runCLI(t, nil, append([]string{"--nats-url", n.URL(), "--user", user, "--password", password}, args...)...)
		}
	}
	reader := as("parti-reader", "reader-secret")
	operator := as("parti-operator", "operator-secret")
	parts := writeFile(t, "parts.yaml", partsYAML(func(string) (float64, bool) { return 1, true }, "p-30"))

	// The read-only operator reads everything...
	for _, target := range inspectTargets {
		r := reader("inspect", target, "-o", "json")
		assert.Equal(t, ExitOK, r.code, "%s: %s", target, r.stderr)
	}
	ws := decode[WorkersView](t, reader("inspect", "workers", "-o", "json"))
	assert.Len(t, ws.Workers, 2)
	r := reader("__complete", "inspect", "workers", "--worker", "")
	assert.Contains(t, r.stdout, "w1\t")
	r = reader("partitions", "apply", "-f", parts, "--dry-run")
	assert.Equal(t, ExitOK, r.code, "a dry run only reads: %s", r.stderr)

	// ...but may not rebalance or change the partition set: exit 5 at
	// once, naming the subject.
	for _, args := range [][]string{{"rebalance", "--force"}, {"rebalance", "--dry-run"}} {
		start := time.Now()
		r = reader(args...)
		assert.Equal(t, ExitDenied, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, `Permissions Violation for Publish to "parti.parti.control.rebalance"`)
		assert.Contains(t, r.stderr, "docs/operations.md")
		assert.Less(t, time.Since(start), 3*time.Second, "denied at once, not after --timeout")
	}
	r = reader("partitions", "apply", "-f", parts)
	assert.Equal(t, ExitDenied, r.code, r.stderr)
	assert.Contains(t, r.stderr, `Permissions Violation for Publish to "$KV.parti_parti_partitions.`)
	assert.Contains(t, r.stderr, "denied replacing the partition set")
	assert.Contains(t, r.stderr, "publish to $KV.parti_parti_partitions.>")
	// Nor read another cluster.
	r = reader("--cluster", "other", "inspect", "leader")
	assert.Equal(t, ExitDenied, r.code, r.stderr)
	assert.Contains(t, r.stderr, "KV_parti_other_")

	// The full operator does everything.
	forced := decode[RebalanceView](t, operator("rebalance", "--force", "--reason", "permissions test", "--wait", "-o", "json"))
	assert.Equal(t, "published", forced.Result)
	av := decode[ApplyView](t, operator("partitions", "apply", "-f", parts, "-o", "json"))
	assert.Equal(t, "applied", av.Result)
	for _, target := range inspectTargets {
		r := operator("inspect", target)
		assert.Equal(t, ExitOK, r.code, "%s: %s", target, r.stderr)
	}

	// Wrong credentials.
	r = as("parti-reader", "wrong")("inspect", "leader")
	assert.Equal(t, ExitDenied, r.code, r.stderr)
	assert.Contains(t, r.stderr, "refused the credentials")
	r = runCLI(t, nil, "--nats-url", n.URL(), "inspect", "leader")
	assert.Equal(t, ExitDenied, r.code, "no credentials: %s", r.stderr)

	// The workers lead, apply and leave gracefully with their permissions.
	f.covered(10*time.Second, 2)
	for _, id := range []string{"w0", "w1"} {
		require.NoError(t, f.stop(id), id)
	}
}

// TestNATSContext uses contexts laid out as the nats CLI writes them:
// <XDG_CONFIG_HOME>/nats/context/<name>.json, and context.txt naming the
// selected one.
func TestNATSContext(t *testing.T) {
	n := natstest.RunServerWithOptions(t, natstest.ServerOptions{Users: documentedUsers(t)})
	startFleet(t, n.URL(), "parti", 1, nats.UserInfo("parti-worker", "worker-secret"))

	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := filepath.Join(cfg, "nats", "context")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	writeContext := func(name, user, password string) {
		// Every field `nats context save` writes, most of them unused.
		body := `{
  "description": "parti ` + name + `",
  "url": "` + n.URL() + `",
  "socks_proxy": "",
  "token": "",
  "user": "` + user + `",
  "password": "` + password + `",
  "creds": "",
  "nkey": "",
  "cert": "",
  "key": "",
  "ca": "",
  "nsc": "",
  "jetstream_domain": "",
  "jetstream_api_prefix": "",
  "jetstream_event_prefix": "",
  "inbox_prefix": "",
  "user_jwt": "",
  "color_scheme": "",
  "tls_first": false,
  "windows_cert_store": "",
  "windows_cert_match_by": "",
  "windows_cert_match": "",
  "windows_ca_certs_match": null
}
`
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o600))
	}
	writeContext("ops", "parti-operator", "operator-secret")
	writeContext("ro", "parti-reader", "reader-secret")
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "nats", "context.txt"), []byte("ro\n"), 0o600))

	r := runCLI(t, nil, "--context", "ops", "rebalance", "--force", "-o", "json")
	assert.Equal(t, "published", decode[RebalanceView](t, r).Result)
	r = runCLI(t, map[string]string{"PARTI_CONTEXT": "ops"}, "inspect", "workers", "-o", "json")
	assert.Len(t, decode[WorkersView](t, r).Workers, 1)

	// "." is the context selected in the nats CLI: here the reader.
	r = runCLI(t, nil, "--context", ".", "inspect", "leader", "-o", "json")
	assert.Equal(t, "w0", decode[LeaderView](t, r).Leader)
	r = runCLI(t, nil, "--context", ".", "rebalance", "--force")
	assert.Equal(t, ExitDenied, r.code, r.stderr)

	// Credential flags replace the context's credentials as a whole.
	r = runCLI(t, nil, "--context", "ro", "--user", "parti-operator", "--password", "operator-secret", "rebalance", "--dry-run")
	assert.Equal(t, ExitOK, r.code, r.stderr)

	r = runCLI(t, nil, "--context", "missing", "inspect", "leader")
	assert.Equal(t, ExitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, filepath.Join(dir, "missing.json"))
}
