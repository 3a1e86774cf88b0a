// Package metrics is a parti node's instrumentation and local HTTP surface.
//
// It provides a Prometheus registry per node (NewRegistry), the collectors
// for the calculator (Calculator, which implements calculator.Metrics) and
// for the worker (Worker), and the HTTP handler that serves /metrics,
// /healthz, /readyz and routes mounted by the worker (NewHandler, Serve).
//
// Nothing here touches the global Prometheus registry: tests and embedding
// applications run many nodes in one process, each with its own registry.
//
// This package may import Prometheus and net/http, but never NATS; the
// calculator package is imported only for the port it implements.
package metrics
