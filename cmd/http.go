package cmd

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parti-dev/parti/metrics"
	"github.com/parti-dev/parti/worker"
)

// NodeAssignment is the JSON of GET /v1/assignment: the partitions this
// node owns now and the assignment version they come from.
type NodeAssignment struct {
	Worker     string   `json:"worker"`
	Version    uint64   `json:"version"`
	Epoch      uint64   `json:"epoch"`
	Partitions []string `json:"partitions"`
}

// nodeStatus is what the HTTP endpoints read from the running node;
// *worker.Worker implements it.
type nodeStatus interface {
	Status() worker.Status
	Ready() error
	Healthy() error
}

// nodeHandler serves /metrics, /healthz, /readyz, /v1/assignment and
// /v1/status for a node.
func nodeHandler(w nodeStatus, reg prometheus.Gatherer, logger *slog.Logger) http.Handler {
	return metrics.NewHandler(metrics.HandlerOptions{
		Registry: reg,
		Health:   w.Healthy,
		Ready:    w.Ready,
		Logger:   logger,
		Extra: map[string]http.Handler{
			"/v1/assignment": jsonHandler(func() any {
				s := w.Status()
				parts := s.Partitions
				if parts == nil {
					parts = []string{}
				}
				return NodeAssignment{Worker: s.ID, Version: s.Version, Epoch: s.Epoch, Partitions: parts}
			}),
			"/v1/status": jsonHandler(func() any { return w.Status() }),
		},
	})
}

// jsonHandler answers with the JSON of what get returns, never cached.
func jsonHandler(get func() any) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		body, err := json.Marshal(get())
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Cache-Control", "no-store")
		_, _ = rw.Write(append(body, '\n'))
	})
}
