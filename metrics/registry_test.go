package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRegistryHasRuntimeCollectors(t *testing.T) {
	reg := NewRegistry()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var goMetrics, processMetrics int
	for _, mf := range mfs {
		switch {
		case strings.HasPrefix(mf.GetName(), "go_"):
			goMetrics++
		case strings.HasPrefix(mf.GetName(), "process_"):
			processMetrics++
		}
	}
	assert.Positive(t, goMetrics, "go collector")
	assert.Positive(t, processMetrics, "process collector")
}

func TestRegistryLintsClean(t *testing.T) {
	reg := NewRegistry()
	c := NewCalculator(reg)
	w := NewWorker(reg)
	touchCalculator(c)
	touchWorker(w)

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestTwoNodesDoNotCollide(t *testing.T) {
	regA, regB := NewRegistry(), NewRegistry()
	var ca, cb *Calculator
	var wa, wb *Worker
	require.NotPanics(t, func() {
		ca, cb = NewCalculator(regA), NewCalculator(regB)
		wa, wb = NewWorker(regA), NewWorker(regB)
	})

	ca.RebalanceAttempt()
	ca.RebalanceAttempt()
	cb.RebalanceAttempt()
	wa.SetOwned(3)
	wb.SetOwned(7)

	assert.InDelta(t, 2, testutil.ToFloat64(ca.rebalanceAttempts), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(cb.rebalanceAttempts), 0)
	assert.InDelta(t, 3, testutil.ToFloat64(wa.owned), 0)
	assert.InDelta(t, 7, testutil.ToFloat64(wb.owned), 0)

	n, err := testutil.GatherAndCount(regA, "parti_calculator_rebalance_attempts_total")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestRegisterTwiceSharesSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := NewCalculator(reg)
	var second *Calculator
	require.NotPanics(t, func() { second = NewCalculator(reg) })

	first.RebalanceAttempt()
	second.RebalanceAttempt()
	second.StoreOperation("load", time.Millisecond, errors.New("boom"))
	first.StoreOperation("load", time.Millisecond, errors.New("boom"))

	assert.InDelta(t, 2, testutil.ToFloat64(first.rebalanceAttempts), 0)
	assert.InDelta(t, 2, testutil.ToFloat64(first.kvErrors.WithLabelValues("load")), 0)

	w1 := NewWorker(reg)
	w2 := NewWorker(reg)
	w1.HeartbeatFailed()
	w2.HeartbeatFailed()
	assert.InDelta(t, 2, testutil.ToFloat64(w1.heartbeatFailures), 0)
}

func TestRegisterConflictPanics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parti_calculator_rebalance_attempts_total",
		Help: "A gauge squatting on the counter's name.",
	}))
	v := panicValue(func() { NewCalculator(reg) })
	require.NotNil(t, v)
	assert.Contains(t, v, "metrics: register collector:")
	assert.Contains(t, v, "parti_calculator_rebalance_attempts_total")
}

func TestNilRegistererLeavesMetricsUnregistered(t *testing.T) {
	c := NewCalculator(nil)
	w := NewWorker(nil)
	c.RebalanceAttempt()
	w.SetLeader(true)
	assert.InDelta(t, 1, testutil.ToFloat64(c.rebalanceAttempts), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(w.isLeader), 0)
}

// panicValue runs f and returns what it panicked with, or nil.
func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
