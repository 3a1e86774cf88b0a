package metrics

import "github.com/prometheus/client_golang/prometheus"

// Worker records a worker node's metrics in Prometheus. Every method is
// cheap, never blocks and is safe for concurrent use. A nil *Worker discards
// everything, so a node built without metrics needs no checks.
type Worker struct {
	owned              prometheus.Gauge
	appliedVersion     prometheus.Gauge
	isLeader           prometheus.Gauge
	heartbeatFailures  prometheus.Counter
	degraded           prometheus.Gauge
	assignmentChanges  prometheus.Counter
	partitionsAcquired prometheus.Counter
	partitionsReleased prometheus.Counter
	decodeErrors       *prometheus.CounterVec
}

// NewWorker creates the worker's metrics and registers them with reg (a nil
// reg leaves them unregistered). Calling it again with the same registry
// returns a Worker that shares the already registered series.
func NewWorker(reg prometheus.Registerer) *Worker {
	return &Worker{
		owned: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_worker_owned_partitions",
			Help: "Number of partitions this worker owns.",
		})),
		appliedVersion: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_worker_applied_version",
			Help: "Version of the latest assignment this worker has applied.",
		})),
		isLeader: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_worker_is_leader",
			Help: "1 while this node is the leader and runs the calculator, else 0.",
		})),
		heartbeatFailures: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_worker_heartbeat_failures_total",
			Help: "Number of heartbeats that could not be written.",
		})),
		degraded: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parti_worker_degraded",
			Help: "1 while the worker cannot reach NATS and keeps its last known partitions, else 0.",
		})),
		assignmentChanges: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_worker_assignment_changes_total",
			Help: "Number of applied assignments that changed this worker's partitions.",
		})),
		partitionsAcquired: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_worker_partitions_acquired_total",
			Help: "Number of partitions this worker has taken ownership of.",
		})),
		partitionsReleased: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parti_worker_partitions_released_total",
			Help: "Number of partitions this worker has given up.",
		})),
		decodeErrors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parti_worker_decode_errors_total",
			Help: "Number of malformed key-value entries skipped, by bucket.",
		}, []string{"bucket"})),
	}
}

// SetOwned sets the number of partitions this worker owns.
func (w *Worker) SetOwned(n int) {
	if w == nil {
		return
	}
	w.owned.Set(float64(n))
}

// SetAppliedVersion sets the version of the assignment this worker applied.
func (w *Worker) SetAppliedVersion(v uint64) {
	if w == nil {
		return
	}
	w.appliedVersion.Set(float64(v))
}

// SetLeader records whether this node is the leader.
func (w *Worker) SetLeader(leader bool) {
	if w == nil {
		return
	}
	w.isLeader.Set(boolValue(leader))
}

// HeartbeatFailed counts a heartbeat that could not be written.
func (w *Worker) HeartbeatFailed() {
	if w == nil {
		return
	}
	w.heartbeatFailures.Inc()
}

// SetDegraded records whether the worker runs degraded (NATS unreachable,
// working from its last known assignment).
func (w *Worker) SetDegraded(degraded bool) {
	if w == nil {
		return
	}
	w.degraded.Set(boolValue(degraded))
}

// AssignmentChanged records an applied assignment that gave this worker
// acquired partitions and took released ones away. A call with nothing
// acquired or released is not a change and counts nothing; negative counts
// are treated as zero.
func (w *Worker) AssignmentChanged(acquired, released int) {
	if w == nil {
		return
	}
	acquired, released = max(acquired, 0), max(released, 0)
	if acquired == 0 && released == 0 {
		return
	}
	w.assignmentChanges.Inc()
	w.partitionsAcquired.Add(float64(acquired))
	w.partitionsReleased.Add(float64(released))
}

// DecodeError counts a malformed entry of the named key-value bucket that
// was skipped.
func (w *Worker) DecodeError(bucket string) {
	if w == nil {
		return
	}
	w.decodeErrors.WithLabelValues(bucket).Inc()
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
