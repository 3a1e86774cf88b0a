// Package worker is one parti node's lifecycle: it claims a stable worker ID,
// heartbeats, campaigns for leadership (running the calculator while it
// leads), applies published assignments with a revoke-then-grant handoff, and
// leaves gracefully. Applications embed it to get callbacks when their
// partitions change; `parti run` wraps it in a process.
//
// It may import the calculator, the NATS adapters and metrics; it must not
// import cmd or tui.
package worker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
)

// Defaults.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultLeaveTimeout      = 5 * time.Second
)

// Options configure a Worker.
type Options struct {
	// Conn is the NATS connection (required). The worker does not close it.
	Conn *nats.Conn
	// Buckets are the cluster's buckets, created with layout.Ensure
	// (required). Their layout fixes the worker and leader TTLs.
	Buckets *layout.Buckets
	// Tracker reports the connection state; when it says disconnected the
	// worker is degraded (it keeps its partitions). Optional.
	Tracker *natsconn.Tracker

	// WorkerID is an explicit ID; empty claims the lowest free pool ID.
	WorkerID string
	// StateDir, with an explicit WorkerID, is where the worker remembers
	// its process so that a restart faster than the worker TTL takes the
	// ID over at once (no partition moves) instead of waiting for it to
	// expire. Empty disables it.
	StateDir string
	// HeartbeatInterval defaults to 1s; keep it at most a third of the
	// worker TTL.
	HeartbeatInterval time.Duration
	// Partitions seed the cluster's partition set if it has none.
	Partitions []model.Partition
	// Strategy names the placement strategy the calculator uses when this
	// node leads; default sticky.
	Strategy string
	// Calculator tunes the calculator's windows, grace, cooldown, backoff
	// and breaker; its Leader, Epoch, Partitions, Strategy, Metrics and
	// Logger fields are set by the worker.
	Calculator calculator.Config
	// LeaveTimeout bounds the graceful handoff on leave; default 5s.
	LeaveTimeout time.Duration

	// Version is reported in heartbeats.
	Version string
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registry, if set, receives the worker's and the calculator's metrics.
	Registry prometheus.Registerer
	// AuditLog, if set, receives one JSON line per partition acquired or
	// released by this worker (see AuditRecord).
	AuditLog io.Writer
	// OnChange, if set, is called after every change of the owned set, from
	// the worker's apply goroutine, in order. It should return quickly: the
	// next change waits for it.
	OnChange func(Change)
}

// Change describes one change of the partitions this worker owns.
type Change struct {
	Version uint64   // assignment version now applied
	Epoch   uint64   // leader epoch of that version
	Gained  []string // partitions acquired, sorted
	Lost    []string // partitions released, sorted
	Current []string // every partition now owned, sorted
}

// ErrInvalidOptions is wrapped by option validation errors.
var ErrInvalidOptions = errors.New("invalid worker options")

func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...))
	}
	if o.Conn == nil {
		bad("Conn is required")
	}
	if o.Buckets == nil {
		bad("Buckets is required")
	}
	if o.HeartbeatInterval < 0 {
		bad("HeartbeatInterval must not be negative")
	}
	if o.LeaveTimeout < 0 {
		bad("LeaveTimeout must not be negative")
	}
	if o.Strategy != "" {
		if _, err := strategy.New(o.Strategy); err != nil {
			bad("%v", err)
		}
	}
	if err := model.ValidatePartitions(o.Partitions); err != nil {
		bad("partitions: %v", err)
	}
	if err := o.Calculator.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (o *Options) defaults() {
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.LeaveTimeout == 0 {
		o.LeaveTimeout = DefaultLeaveTimeout
	}
	if o.Strategy == "" {
		o.Strategy = strategy.Default
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
