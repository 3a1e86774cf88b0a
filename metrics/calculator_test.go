package metrics

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// touchCalculator calls every method once so that every labelled series
// exists.
func touchCalculator(c *Calculator) {
	c.RebalanceAttempt()
	c.RebalanceDone(20*time.Millisecond, 3, errors.New("publish failed"))
	c.StateTransition("idle", "scaling-window")
	c.StateDuration("idle", time.Minute)
	c.InvalidTransition("idle", "idle")
	c.BreakerState("open", 1)
	c.StateChangesDropped(2)
	c.ActiveWorkers(4)
	c.Partitions(64)
	c.AssignmentVersion(9)
	c.StoreOperation("commit", 3*time.Millisecond, errors.New("timeout"))
}

func TestCalculatorMetricNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := NewCalculator(reg)
	touchCalculator(c)

	assert.Equal(t, []string{
		"parti_calculator_active_workers",
		"parti_calculator_assignment_version",
		"parti_calculator_circuit_breaker_opens_total",
		"parti_calculator_circuit_breaker_state",
		"parti_calculator_invalid_transitions_total",
		"parti_calculator_partitions",
		"parti_calculator_partitions_moved_total",
		"parti_calculator_rebalance_attempts_total",
		"parti_calculator_rebalance_duration_seconds",
		"parti_calculator_rebalance_failures_total",
		"parti_calculator_state_changes_dropped_total",
		"parti_calculator_state_duration_seconds",
		"parti_calculator_state_transitions_total",
		"parti_kv_operation_duration_seconds",
		"parti_kv_operation_errors_total",
	}, partiNames(t, reg))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)

	assert.Equal(t, 1, testutil.CollectAndCount(c.rebalanceDuration, "parti_calculator_rebalance_duration_seconds"))
	assert.Equal(t, 1, testutil.CollectAndCount(c.stateTransitions, "parti_calculator_state_transitions_total"))
	assert.Equal(t, 1, testutil.CollectAndCount(c.invalidTransitions, "parti_calculator_invalid_transitions_total"))
	assert.Equal(t, 1, testutil.CollectAndCount(c.stateDuration, "parti_calculator_state_duration_seconds"))
	assert.Equal(t, 1, testutil.CollectAndCount(c.kvDuration, "parti_kv_operation_duration_seconds"))
	assert.Equal(t, 1, testutil.CollectAndCount(c.kvErrors, "parti_kv_operation_errors_total"))
}

func TestCalculatorHistogramBuckets(t *testing.T) {
	assert.InDelta(t, 0.001, rebalanceBuckets[0], 0)
	assert.InDelta(t, 30, rebalanceBuckets[len(rebalanceBuckets)-1], 0)
	for _, b := range [][]float64{rebalanceBuckets, kvBuckets, stateBuckets} {
		assert.IsIncreasing(t, b)
	}
}

func TestCalculatorRebalance(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())

	c.RebalanceAttempt()
	c.RebalanceDone(150*time.Millisecond, 5, nil)
	c.RebalanceAttempt()
	c.RebalanceDone(2*time.Second, 0, errors.New("fenced"))
	c.RebalanceDone(time.Millisecond, -1, nil) // a nonsense count is ignored

	assert.InDelta(t, 2, testutil.ToFloat64(c.rebalanceAttempts), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(c.rebalanceFailures), 0)
	assert.InDelta(t, 5, testutil.ToFloat64(c.partitionsMoved), 0)

	h := histogram(t, c.rebalanceDuration)
	assert.Equal(t, uint64(3), h.GetSampleCount())
	assert.InDelta(t, 2.151, h.GetSampleSum(), 1e-9)
}

func TestCalculatorStates(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())

	c.StateTransition("cold-start", "rebalancing")
	c.StateTransition("rebalancing", "idle")
	c.StateTransition("rebalancing", "idle")
	c.InvalidTransition("idle", "cold-start")
	c.StateDuration("rebalancing", 250*time.Millisecond)
	c.StateDuration("rebalancing", 750*time.Millisecond)
	c.StateDuration("idle", time.Hour)

	assert.InDelta(t, 1, testutil.ToFloat64(c.stateTransitions.WithLabelValues("cold-start", "rebalancing")), 0)
	assert.InDelta(t, 2, testutil.ToFloat64(c.stateTransitions.WithLabelValues("rebalancing", "idle")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(c.invalidTransitions.WithLabelValues("idle", "cold-start")), 0)

	rebalancing := histogram(t, c.stateDuration.WithLabelValues("rebalancing").(prometheus.Histogram))
	assert.Equal(t, uint64(2), rebalancing.GetSampleCount())
	assert.InDelta(t, 1.0, rebalancing.GetSampleSum(), 1e-9)
	idle := histogram(t, c.stateDuration.WithLabelValues("idle").(prometheus.Histogram))
	assert.InDelta(t, 3600, idle.GetSampleSum(), 1e-9)
}

func TestCalculatorGauges(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())

	c.ActiveWorkers(3)
	c.Partitions(128)
	c.AssignmentVersion(41)
	c.AssignmentVersion(42)
	c.ActiveWorkers(2)

	assert.InDelta(t, 2, testutil.ToFloat64(c.activeWorkers), 0)
	assert.InDelta(t, 128, testutil.ToFloat64(c.partitions), 0)
	assert.InDelta(t, 42, testutil.ToFloat64(c.assignmentVersion), 0)
}

func TestCalculatorStateChangesDropped(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())

	c.StateChangesDropped(3)
	c.StateChangesDropped(0)
	c.StateChangesDropped(2)

	assert.InDelta(t, 5, testutil.ToFloat64(c.stateChangesDropped), 0)
}

func TestCalculatorStoreOperation(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())

	c.StoreOperation("write", 2*time.Millisecond, nil)
	c.StoreOperation("write", 4*time.Millisecond, errors.New("fenced"))
	c.StoreOperation("commit", time.Millisecond, nil)

	assert.InDelta(t, 1, testutil.ToFloat64(c.kvErrors.WithLabelValues("write")), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(c.kvErrors.WithLabelValues("commit")), 0)
	write := histogram(t, c.kvDuration.WithLabelValues("write").(prometheus.Histogram))
	assert.Equal(t, uint64(2), write.GetSampleCount())
	assert.InDelta(t, 0.006, write.GetSampleSum(), 1e-9)
}

func TestCalculatorBreaker(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())
	assert.InDelta(t, BreakerClosed, testutil.ToFloat64(c.breakerState), 0)

	steps := []struct {
		state string
		opens uint64
		gauge float64
		total float64
	}{
		{"open", 1, BreakerOpen, 1},
		{"half-open", 1, BreakerHalfOpen, 1},
		{"open", 2, BreakerOpen, 2},
		{"half-open", 2, BreakerHalfOpen, 2},
		{"closed", 2, BreakerClosed, 2},
		{"open", 5, BreakerOpen, 5},     // missed reports: catch up by the delta
		{"mystery", 5, BreakerOpen, 5},  // an unknown state leaves the gauge alone
		{"closed", 0, BreakerClosed, 5}, // a new breaker: never decrease
		{"open", 1, BreakerOpen, 6},     // and count its opens
		{"half-open", 1, BreakerHalfOpen, 6},
	}
	prev := 0.0
	for i, s := range steps {
		c.BreakerState(s.state, s.opens)
		total := testutil.ToFloat64(c.breakerOpens)
		assert.InDelta(t, s.gauge, testutil.ToFloat64(c.breakerState), 0, "step %d gauge", i)
		assert.InDelta(t, s.total, total, 0, "step %d opens", i)
		assert.GreaterOrEqual(t, total, prev, "step %d: the counter decreased", i)
		prev = total
	}
}

func TestCalculatorConcurrentUse(t *testing.T) {
	c := NewCalculator(prometheus.NewRegistry())
	const goroutines, calls = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				c.RebalanceAttempt()
				c.RebalanceDone(time.Millisecond, 1, nil)
				c.StateTransition("idle", "rebalancing")
				c.StateDuration("idle", time.Second)
				c.BreakerState("open", uint64(g*calls+i+1))
				c.StateChangesDropped(1)
				c.ActiveWorkers(i)
				c.StoreOperation("write", time.Millisecond, nil)
			}
		})
	}
	wg.Wait()

	const n = goroutines * calls
	assert.InDelta(t, n, testutil.ToFloat64(c.rebalanceAttempts), 0)
	assert.InDelta(t, n, testutil.ToFloat64(c.partitionsMoved), 0)
	assert.InDelta(t, n, testutil.ToFloat64(c.stateTransitions.WithLabelValues("idle", "rebalancing")), 0)
	assert.InDelta(t, n, testutil.ToFloat64(c.stateChangesDropped), 0)
	assert.GreaterOrEqual(t, testutil.ToFloat64(c.breakerOpens), float64(n))
}

func TestNilCalculatorDiscards(t *testing.T) {
	var c *Calculator
	assert.NotPanics(t, func() { touchCalculator(c) })
}

// histogram returns the single histogram h holds.
func histogram(t *testing.T, h prometheus.Histogram) *dto.Histogram {
	t.Helper()
	var m dto.Metric
	require.NoError(t, h.Write(&m))
	require.NotNil(t, m.GetHistogram())
	return m.GetHistogram()
}
