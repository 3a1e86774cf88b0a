package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get fetches url with a client that keeps no idle connections behind. It
// may be called from any goroutine.
func get(ctx context.Context, url string) (*http.Response, error) {
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		Timeout:   5 * time.Second,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

func TestServeDisabled(t *testing.T) {
	bound, wait, err := Serve(t.Context(), "", NewHandler(HandlerOptions{}), nil)
	require.NoError(t, err)
	assert.Empty(t, bound)
	require.NotNil(t, wait)
	assert.NoError(t, wait())
}

func TestServeAnswersAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bound, wait, err := Serve(ctx, "127.0.0.1:0", NewHandler(HandlerOptions{Registry: NewRegistry()}), nil)
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(bound)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port)

	res, err := get(t.Context(), "http://"+bound+"/healthz")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "ok\n", string(body))

	cancel()
	require.NoError(t, wait())
	require.NoError(t, wait(), "wait may be called again")

	res, err = get(t.Context(), "http://"+bound+"/healthz")
	if err == nil {
		_ = res.Body.Close()
	}
	assert.Error(t, err, "the server still answers after shutdown")
}

func TestServeAddressInUse(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	addr := ln.Addr().String()

	bound, wait, err := Serve(t.Context(), addr, NewHandler(HandlerOptions{}), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.Empty(t, bound)
	assert.Nil(t, wait)
}

func TestServeBadAddress(t *testing.T) {
	_, _, err := Serve(t.Context(), "not an address", NewHandler(HandlerOptions{}), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not an address")
}

func TestServeCutsOffSlowRequests(t *testing.T) {
	defer func(d time.Duration) { shutdownTimeout = d }(shutdownTimeout)
	shutdownTimeout = 50 * time.Millisecond

	started := make(chan struct{})
	slow := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // runs until the server cuts the connection
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bound, wait, err := Serve(ctx, "127.0.0.1:0", NewHandler(HandlerOptions{
		Extra: map[string]http.Handler{"/slow": slow},
	}), nil)
	require.NoError(t, err)

	clientErr := make(chan error, 1)
	go func() {
		res, err := get(t.Context(), "http://"+bound+"/slow")
		if err == nil {
			_ = res.Body.Close()
		}
		clientErr <- err
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request never reached the handler")
	}

	cancel()
	err = wait()
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), bound)
	assert.Error(t, <-clientErr, "the cut-off request succeeded")
}
