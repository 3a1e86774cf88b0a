package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Registry is gathered for GET /metrics, typically the node's
	// *prometheus.Registry from NewRegistry. Nil leaves /metrics unrouted.
	Registry prometheus.Gatherer
	// Health reports whether the process is alive and working; nil means
	// always healthy. It backs GET /healthz.
	Health func() error
	// Ready reports whether the node should receive traffic (for example:
	// connected, holding a worker ID, assignment applied); nil means always
	// ready. It backs GET /readyz.
	Ready func() error
	// Extra mounts more routes, such as "/v1/assignment" or "/v1/status".
	// A key that is a plain path ("/v1/status") answers GET and HEAD only; a
	// key that already names a method ("POST /v1/rebalance") is used as the
	// http.ServeMux pattern as is.
	Extra map[string]http.Handler
	// Logger receives errors met while serving /metrics; nil discards them.
	Logger *slog.Logger
}

// NewHandler returns the node's HTTP handler. It routes GET (and HEAD)
// /metrics, /healthz, /readyz and opts.Extra; any other path is 404, and any
// other method on a known path is 405. Probes answer 200 with "ok" or
// "ready", or 503 with the reason. NewHandler panics, as http.ServeMux does,
// if an Extra key is not a valid pattern or conflicts with another route.
func NewHandler(opts HandlerOptions) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
		}))
	}
	mux.Handle("GET /healthz", probe(opts.Health, "ok", "unhealthy: "))
	mux.Handle("GET /readyz", probe(opts.Ready, "ready", "not ready: "))
	for pattern, h := range opts.Extra {
		if strings.HasPrefix(pattern, "/") {
			pattern = http.MethodGet + " " + pattern
		}
		mux.Handle(pattern, h)
	}
	return mux
}

// probe answers 200 with okBody while check returns nil (or is nil), and
// 503 with failPrefix and the error otherwise.
func probe(check func() error, okBody, failPrefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if check != nil {
			if err := check(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, failPrefix+err.Error()+"\n")
				return
			}
		}
		_, _ = io.WriteString(w, okBody+"\n")
	})
}
