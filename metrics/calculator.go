package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parti-dev/parti/calculator"
)

// Values of parti_calculator_circuit_breaker_state.
const (
	BreakerClosed   = 0 // calls go through
	BreakerHalfOpen = 1 // one trial call decides whether to close or reopen
	BreakerOpen     = 2 // calls are rejected until the cooldown has elapsed
)

// Histogram buckets, in seconds.
var (
	// rebalanceBuckets spans 1 ms to 30 s.
	rebalanceBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	// kvBuckets spans 0.5 ms to 5 s: one key-value round trip.
	kvBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	// stateBuckets spans 10 ms to 4 h: a state lasts from a blink (Rebalancing)
	// to the whole life of a stable fleet (Idle).
	stateBuckets = []float64{0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400}
)

var _ calculator.Metrics = (*Calculator)(nil)

// Calculator records the calculator's metrics in Prometheus. It implements
// calculator.Metrics; every method is cheap, never blocks and is safe for
// concurrent use. A nil *Calculator discards everything.
type Calculator struct {
	rebalanceDuration   prometheus.Histogram
	rebalanceAttempts   prometheus.Counter
	rebalanceFailures   prometheus.Counter
	partitionsMoved     prometheus.Counter
	stateChangesDropped prometheus.Counter
	breakerState        prometheus.Gauge
	breakerOpens        prometheus.Counter
	activeWorkers       prometheus.Gauge
	partitions          prometheus.Gauge
	assignmentVersion   prometheus.Gauge
	stateTransitions    *prometheus.CounterVec
	invalidTransitions  *prometheus.CounterVec
	stateDuration       *prometheus.HistogramVec
	kvDuration          *prometheus.HistogramVec
	kvErrors            *prometheus.CounterVec

	// lastOpens is the breaker's running total of opens last reported.
	lastOpens atomic.Uint64
}

// NewCalculator creates the calculator's metrics and registers them with reg
// (a nil reg leaves them unregistered). Calling it again with the same
// registry returns a Calculator that shares the already registered series.
func NewCalculator(reg prometheus.Registerer) *Calculator {
	return &Calculator{
		rebalanceDuration: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parti_calculator_rebalance_duration_seconds",
			Help:    "Time taken by a rebalance, from computing the plan to committing it or failing, in seconds.",
			Buckets: rebalanceBuckets,
		})),
		rebalanceAttempts: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_calculator_rebalance_attempts_total",
			Help: "Number of rebalances started.",
		})),
		rebalanceFailures: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_calculator_rebalance_failures_total",
			Help: "Number of rebalances that ended with an error.",
		})),
		partitionsMoved: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_calculator_partitions_moved_total",
			Help: "Number of partitions whose owner changed in published assignments.",
		})),
		stateChangesDropped: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_calculator_state_changes_dropped_total",
			Help: "Number of state-change events not delivered to a subscriber whose buffer was full.",
		})),
		breakerState: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_calculator_circuit_breaker_state",
			Help: "State of the publish circuit breaker: 0 closed, 1 half-open, 2 open.",
		})),
		breakerOpens: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_calculator_circuit_breaker_opens_total",
			Help: "Number of times the publish circuit breaker opened.",
		})),
		activeWorkers: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_calculator_active_workers",
			Help: "Number of live workers the calculator sees.",
		})),
		partitions: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_calculator_partitions",
			Help: "Number of partitions in the partition set.",
		})),
		assignmentVersion: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_calculator_assignment_version",
			Help: "Version of the latest committed assignment.",
		})),
		stateTransitions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parti_calculator_state_transitions_total",
			Help: "Number of state machine transitions, by source and target state.",
		}, []string{"from", "to"})),
		invalidTransitions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parti_calculator_invalid_transitions_total",
			Help: "Number of rejected state machine transitions, by source and requested target state.",
		}, []string{"from", "to"})),
		stateDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parti_calculator_state_duration_seconds",
			Help:    "Time spent in a state machine state, observed on leaving it, in seconds.",
			Buckets: stateBuckets,
		}, []string{"state"})),
		kvDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parti_kv_operation_duration_seconds",
			Help:    "Time taken by an assignment store operation, by operation, in seconds.",
			Buckets: kvBuckets,
		}, []string{"op"})),
		kvErrors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parti_kv_operation_errors_total",
			Help: "Number of failed assignment store operations, by operation.",
		}, []string{"op"})),
	}
}

// RebalanceAttempt counts a rebalance that started.
func (c *Calculator) RebalanceAttempt() {
	if c == nil {
		return
	}
	c.rebalanceAttempts.Inc()
}

// RebalanceDone records a finished rebalance: its duration, the partitions
// it moved, and a failure if err is not nil.
func (c *Calculator) RebalanceDone(d time.Duration, moved int, err error) {
	if c == nil {
		return
	}
	c.rebalanceDuration.Observe(d.Seconds())
	if moved > 0 {
		c.partitionsMoved.Add(float64(moved))
	}
	if err != nil {
		c.rebalanceFailures.Inc()
	}
}

// StateTransition counts a state machine transition.
func (c *Calculator) StateTransition(from, to string) {
	if c == nil {
		return
	}
	c.stateTransitions.WithLabelValues(from, to).Inc()
}

// StateDuration records how long the state machine stayed in state.
func (c *Calculator) StateDuration(state string, d time.Duration) {
	if c == nil {
		return
	}
	c.stateDuration.WithLabelValues(state).Observe(d.Seconds())
}

// InvalidTransition counts a transition the state machine rejected.
func (c *Calculator) InvalidTransition(from, to string) {
	if c == nil {
		return
	}
	c.invalidTransitions.WithLabelValues(from, to).Inc()
}

// BreakerState records the circuit breaker's new state ("closed",
// "half-open" or "open"; other names leave the gauge unchanged) and its
// running total of opens. The opens counter grows by the difference from the
// total last reported; a total below that one means a new breaker started
// counting from zero, and is added in full. The counter never decreases.
func (c *Calculator) BreakerState(state string, opens uint64) {
	if c == nil {
		return
	}
	switch state {
	case "closed":
		c.breakerState.Set(BreakerClosed)
	case "half-open":
		c.breakerState.Set(BreakerHalfOpen)
	case "open":
		c.breakerState.Set(BreakerOpen)
	}
	for {
		last := c.lastOpens.Load()
		if opens == last {
			return
		}
		if c.lastOpens.CompareAndSwap(last, opens) {
			delta := opens - last
			if opens < last {
				delta = opens
			}
			if delta > 0 {
				c.breakerOpens.Add(float64(delta))
			}
			return
		}
	}
}

// StateChangesDropped counts n state-change events dropped for slow
// subscribers.
func (c *Calculator) StateChangesDropped(n uint64) {
	if c == nil || n == 0 {
		return
	}
	c.stateChangesDropped.Add(float64(n))
}

// ActiveWorkers sets the number of live workers.
func (c *Calculator) ActiveWorkers(n int) {
	if c == nil {
		return
	}
	c.activeWorkers.Set(float64(n))
}

// Partitions sets the number of partitions.
func (c *Calculator) Partitions(n int) {
	if c == nil {
		return
	}
	c.partitions.Set(float64(n))
}

// AssignmentVersion sets the latest committed assignment version.
func (c *Calculator) AssignmentVersion(v uint64) {
	if c == nil {
		return
	}
	c.assignmentVersion.Set(float64(v))
}

// StoreOperation records one assignment store operation ("load", "write",
// "delete", "commit", ...): its duration, and an error if err is not nil.
func (c *Calculator) StoreOperation(op string, d time.Duration, err error) {
	if c == nil {
		return
	}
	c.kvDuration.WithLabelValues(op).Observe(d.Seconds())
	if err != nil {
		c.kvErrors.WithLabelValues(op).Inc()
	}
}
