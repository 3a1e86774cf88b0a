package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func do(t *testing.T, h http.Handler, method, target string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	res := rec.Result()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body), res.Header
}

func TestHandlerRoutes(t *testing.T) {
	reg := NewRegistry()
	c := NewCalculator(reg)
	c.RebalanceAttempt()
	h := NewHandler(HandlerOptions{
		Registry: reg,
		Extra: map[string]http.Handler{
			"/v1/status": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"state":"idle"}`)
			}),
			"POST /v1/rebalance": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
			}),
		},
	})

	tests := []struct {
		method, target string
		status         int
		body           string // exact, unless contains is set
		contains       string
	}{
		{method: http.MethodGet, target: "/healthz", status: http.StatusOK, body: "ok\n"},
		{method: http.MethodHead, target: "/healthz", status: http.StatusOK},
		{method: http.MethodGet, target: "/readyz", status: http.StatusOK, body: "ready\n"},
		{method: http.MethodGet, target: "/metrics", status: http.StatusOK, contains: "parti_calculator_rebalance_attempts_total 1\n"},
		{method: http.MethodHead, target: "/metrics", status: http.StatusOK},
		{method: http.MethodGet, target: "/v1/status", status: http.StatusOK, body: `{"state":"idle"}`},
		{method: http.MethodPost, target: "/v1/rebalance", status: http.StatusAccepted, body: ""},
		{method: http.MethodGet, target: "/", status: http.StatusNotFound, contains: "404"},
		{method: http.MethodGet, target: "/nope", status: http.StatusNotFound, contains: "404"},
		{method: http.MethodGet, target: "/metrics/extra", status: http.StatusNotFound, contains: "404"},
		{method: http.MethodPost, target: "/metrics", status: http.StatusMethodNotAllowed},
		{method: http.MethodPut, target: "/healthz", status: http.StatusMethodNotAllowed},
		{method: http.MethodDelete, target: "/readyz", status: http.StatusMethodNotAllowed},
		{method: http.MethodPost, target: "/v1/status", status: http.StatusMethodNotAllowed},
		{method: http.MethodGet, target: "/v1/rebalance", status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			status, body, header := do(t, h, tt.method, tt.target)
			assert.Equal(t, tt.status, status)
			switch {
			case tt.contains != "":
				assert.Contains(t, body, tt.contains)
			case tt.method != http.MethodHead && tt.status != http.StatusMethodNotAllowed:
				assert.Equal(t, tt.body, body)
			}
			if status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, header.Get("Allow"))
			}
		})
	}
}

func TestHandlerProbesFail(t *testing.T) {
	h := NewHandler(HandlerOptions{
		Health: func() error { return errors.New("calculator loop stuck") },
		Ready:  func() error { return errors.New("no worker ID yet") },
	})

	status, body, header := do(t, h, http.MethodGet, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "unhealthy: calculator loop stuck\n", body)
	assert.Equal(t, "text/plain; charset=utf-8", header.Get("Content-Type"))
	assert.Equal(t, "no-store", header.Get("Cache-Control"))

	status, body, _ = do(t, h, http.MethodGet, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "not ready: no worker ID yet\n", body)
}

func TestHandlerProbesRecover(t *testing.T) {
	ready := errors.New("connecting")
	h := NewHandler(HandlerOptions{
		Health: func() error { return nil },
		Ready:  func() error { return ready },
	})
	status, _, _ := do(t, h, http.MethodGet, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, status)

	ready = nil
	status, body, _ := do(t, h, http.MethodGet, "/readyz")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ready\n", body)
	status, body, _ = do(t, h, http.MethodGet, "/healthz")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ok\n", body)
}

func TestHandlerWithoutRegistry(t *testing.T) {
	h := NewHandler(HandlerOptions{})
	status, _, _ := do(t, h, http.MethodGet, "/metrics")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestHandlerMetricsGatherError(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(failingCollector{})
	h := NewHandler(HandlerOptions{Registry: reg})
	status, body, _ := do(t, h, http.MethodGet, "/metrics")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.True(t, strings.Contains(body, "collector broke"), body)
}

func TestHandlerExtraConflictPanics(t *testing.T) {
	assert.Panics(t, func() {
		NewHandler(HandlerOptions{Extra: map[string]http.Handler{"/healthz": http.NotFoundHandler()}})
	})
}

// failingCollector reports an error on every collection.
type failingCollector struct{}

var failingDesc = prometheus.NewDesc("parti_test_failing", "A collector that always fails.", nil, nil)

func (failingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- failingDesc }

func (failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(failingDesc, errors.New("collector broke"))
}
