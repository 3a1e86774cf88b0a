package metrics

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// touchWorker calls every method once so that every labelled series exists.
func touchWorker(w *Worker) {
	w.SetOwned(5)
	w.SetAppliedVersion(3)
	w.SetLeader(true)
	w.HeartbeatFailed()
	w.SetDegraded(true)
	w.AssignmentChanged(2, 1)
	w.DecodeError("parti-assignments")
}

func TestWorkerMetricNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	w := NewWorker(reg)
	touchWorker(w)

	assert.Equal(t, []string{
		"parti_worker_applied_version",
		"parti_worker_assignment_changes_total",
		"parti_worker_decode_errors_total",
		"parti_worker_degraded",
		"parti_worker_heartbeat_failures_total",
		"parti_worker_is_leader",
		"parti_worker_owned_partitions",
		"parti_worker_partitions_acquired_total",
		"parti_worker_partitions_released_total",
	}, partiNames(t, reg))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	assert.Equal(t, 1, testutil.CollectAndCount(w.decodeErrors, "parti_worker_decode_errors_total"))
}

func TestWorkerGauges(t *testing.T) {
	w := NewWorker(prometheus.NewRegistry())

	w.SetOwned(12)
	w.SetAppliedVersion(7)
	w.SetLeader(true)
	w.SetDegraded(true)
	assert.InDelta(t, 12, testutil.ToFloat64(w.owned), 0)
	assert.InDelta(t, 7, testutil.ToFloat64(w.appliedVersion), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(w.isLeader), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(w.degraded), 0)

	w.SetOwned(0)
	w.SetLeader(false)
	w.SetDegraded(false)
	assert.InDelta(t, 0, testutil.ToFloat64(w.owned), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(w.isLeader), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(w.degraded), 0)
}

func TestWorkerCounters(t *testing.T) {
	w := NewWorker(prometheus.NewRegistry())

	w.HeartbeatFailed()
	w.HeartbeatFailed()
	w.AssignmentChanged(4, 0)
	w.AssignmentChanged(1, 2)
	w.AssignmentChanged(0, 0)  // not a change
	w.AssignmentChanged(-3, 1) // a nonsense count is treated as zero
	w.DecodeError("parti-heartbeats")
	w.DecodeError("parti-heartbeats")
	w.DecodeError("parti-assignments")

	assert.InDelta(t, 2, testutil.ToFloat64(w.heartbeatFailures), 0)
	assert.InDelta(t, 3, testutil.ToFloat64(w.assignmentChanges), 0)
	assert.InDelta(t, 5, testutil.ToFloat64(w.partitionsAcquired), 0)
	assert.InDelta(t, 3, testutil.ToFloat64(w.partitionsReleased), 0)
	assert.InDelta(t, 2, testutil.ToFloat64(w.decodeErrors.WithLabelValues("parti-heartbeats")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(w.decodeErrors.WithLabelValues("parti-assignments")), 0)
}

func TestWorkerConcurrentUse(t *testing.T) {
	w := NewWorker(prometheus.NewRegistry())
	const goroutines, calls = 8, 200
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range calls {
				w.SetOwned(i)
				w.HeartbeatFailed()
				w.AssignmentChanged(1, 1)
				w.DecodeError("b")
			}
		})
	}
	wg.Wait()

	const n = goroutines * calls
	assert.InDelta(t, n, testutil.ToFloat64(w.heartbeatFailures), 0)
	assert.InDelta(t, n, testutil.ToFloat64(w.assignmentChanges), 0)
	assert.InDelta(t, n, testutil.ToFloat64(w.decodeErrors.WithLabelValues("b")), 0)
}

func TestNilWorkerDiscards(t *testing.T) {
	var w *Worker
	assert.NotPanics(t, func() { touchWorker(w) })
}
