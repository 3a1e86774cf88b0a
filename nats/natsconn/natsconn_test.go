package natsconn_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/nats/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cliWritten is a context file in the layout `nats context save` writes:
// every field present, indented, most of them empty.
const cliWritten = `{
  "description": "staging cluster",
  "url": "nats://a.example:4222,nats://b.example:4222",
  "socks_proxy": "",
  "token": "",
  "user": "ops",
  "password": "s3cret",
  "creds": "",
  "nkey": "",
  "cert": "~/certs/client.pem",
  "key": "~/certs/client-key.pem",
  "ca": "/etc/ssl/ca.pem",
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

func writeContext(t *testing.T, name, body string) string {
	t.Helper()
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	dir := filepath.Join(cfg, "nats", "context")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o600))
	return cfg
}

func TestLoadContextAsCLIWritesIt(t *testing.T) {
	writeContext(t, "staging", cliWritten)
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	c, err := natsconn.LoadContext("staging")
	require.NoError(t, err)
	require.Equal(t, natsconn.CLIContext{
		Name: "staging", Description: "staging cluster",
		URL:  "nats://a.example:4222,nats://b.example:4222",
		User: "ops", Password: "s3cret",
		Cert: filepath.Join(home, "certs/client.pem"), Key: filepath.Join(home, "certs/client-key.pem"),
		CA: "/etc/ssl/ca.pem",
	}, c)
}

func TestLoadContextErrors(t *testing.T) {
	writeContext(t, "bad", `{"url": 5}`)
	_, err := natsconn.LoadContext("missing")
	require.ErrorIs(t, err, natsconn.ErrContextNotFound)
	require.Contains(t, err.Error(), "missing.json")
	_, err = natsconn.LoadContext("bad")
	require.ErrorContains(t, err, `"bad"`)
	_, err = natsconn.LoadContext("../etc/passwd")
	require.ErrorContains(t, err, "invalid name")
}

func TestResolvePrecedence(t *testing.T) {
	writeContext(t, "staging", cliWritten)

	// Context only.
	r, err := natsconn.Options{Context: "staging"}.Resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"nats://a.example:4222", "nats://b.example:4222"}, r.URLs)
	require.Equal(t, "ops", r.User)
	require.Equal(t, "s3cret", r.Password)
	require.Equal(t, "/etc/ssl/ca.pem", r.TLSCA)
	require.Equal(t, "staging", r.Context)

	// Flags override; any auth flag replaces the context's auth entirely.
	r, err = natsconn.Options{Context: "staging", URLs: "nats://c:4222", Token: "tok", TLSCA: "/my/ca.pem"}.Resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"nats://c:4222"}, r.URLs)
	require.Equal(t, "tok", r.Token)
	require.Empty(t, r.User)
	require.Empty(t, r.Password)
	require.Equal(t, "/my/ca.pem", r.TLSCA)
	require.NotEmpty(t, r.TLSCert, "TLS overrides field by field")

	// No context, no flags: defaults. The selected context is not applied.
	cfg := os.Getenv("XDG_CONFIG_HOME")
	require.NoError(t, os.WriteFile(filepath.Join(cfg, "nats", "context.txt"), []byte("staging\n"), 0o600))
	r, err = natsconn.Options{}.Resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"nats://127.0.0.1:4222"}, r.URLs)
	require.Empty(t, r.User)
	require.Equal(t, natsconn.DefaultTimeout, r.Timeout)

	// "." asks for the selected one.
	r, err = natsconn.Options{Context: natsconn.SelectedContext}.Resolve()
	require.NoError(t, err)
	require.Equal(t, "staging", r.Context)
	sel, err := natsconn.SelectedContextName()
	require.NoError(t, err)
	require.Equal(t, "staging", sel)

	_, err = natsconn.Options{TLSCert: "/c.pem"}.Resolve()
	require.Error(t, err)
}

func TestUnreachableFailsFastNamingURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	url := "nats://admin:hunter2@127.0.0.1:" + strconv.Itoa(port)

	start := time.Now()
	_, err = natsconn.Connect(natsconn.Options{URLs: url, Timeout: time.Second}, nil)
	require.Error(t, err)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Contains(t, err.Error(), "127.0.0.1:"+strconv.Itoa(port))
	require.NotContains(t, err.Error(), "hunter2")
}

func TestStateAcrossRestart(t *testing.T) {
	n := natstest.RunServer(t)
	tr := natsconn.NewTracker()
	require.Equal(t, natsconn.StateConnecting, tr.Current().State)
	nc, err := natsconn.Connect(natsconn.Options{URLs: n.URL(), Name: "state-test"}, tr)
	require.NoError(t, err)
	defer nc.Close()
	changes, cancel := tr.Subscribe()
	defer cancel()

	next := func(want natsconn.State) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case c := <-changes:
				if c.State == want {
					return
				}
			case <-deadline:
				t.Fatalf("no %s state; current %s", want, tr.Current().State)
			}
		}
	}
	next(natsconn.StateConnected)
	n.Shutdown()
	next(natsconn.StateReconnecting)
	require.Error(t, tr.Current().Err)
	natstest.RestartServer(t, n)
	next(natsconn.StateConnected)
	nc.Close()
	next(natsconn.StateClosed)
	_, ok := <-changes
	require.False(t, ok, "channel closes after StateClosed")
}
