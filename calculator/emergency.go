package calculator

import "time"

// emergencyDetector decides whether a departure of workers that hold
// partitions may rebalance at once. Its hysteresis allows at most burst
// emergency rebalances within interval; past that, departures are treated
// as planned changes (scale window and cooldown), so a flapping worker
// cannot cause a rebalance storm.
type emergencyDetector struct {
	burst    int
	interval time.Duration
	times    []time.Time // start times of recent emergencies, oldest first
}

func newEmergencyDetector(burst int, interval time.Duration) *emergencyDetector {
	return &emergencyDetector{burst: burst, interval: interval, times: make([]time.Time, 0, burst)}
}

// allow reports whether an emergency may start at now.
func (d *emergencyDetector) allow(now time.Time) bool {
	d.prune(now)
	return len(d.times) < d.burst
}

// record notes an emergency starting at now.
func (d *emergencyDetector) record(now time.Time) {
	d.prune(now)
	if len(d.times) == d.burst && d.burst > 0 {
		d.times = append(d.times[:0], d.times[1:]...)
	}
	d.times = append(d.times, now)
}

func (d *emergencyDetector) prune(now time.Time) {
	n := 0
	for n < len(d.times) && now.Sub(d.times[n]) >= d.interval {
		n++
	}
	if n > 0 {
		d.times = append(d.times[:0], d.times[n:]...)
	}
}
