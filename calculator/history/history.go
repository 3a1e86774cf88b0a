// Package history keeps the calculator's recent rebalances in a bounded,
// fixed-size ring, for the status reader, `parti inspect history` and the
// dashboard's history table and chart.
//
// The package is plain in-memory bookkeeping: it must not import NATS or any
// I/O package.
package history

import (
	"encoding/json"
	"math"
	"sync"
	"time"
)

// DefaultCapacity is the ring capacity used when NewRing is given zero or a
// negative number.
const DefaultCapacity = 64

// Triggers: what started a rebalance (Record.Trigger).
const (
	TriggerColdStart  = "cold-start" // first assignment after the cold-start window
	TriggerJoin       = "join"       // a worker joined
	TriggerLeave      = "leave"      // a worker left gracefully
	TriggerCrash      = "crash"      // a worker's heartbeat expired
	TriggerEmergency  = "emergency"  // the emergency detector fired
	TriggerForce      = "force"      // an operator forced it
	TriggerPartitions = "partitions" // the partition set changed
	TriggerRetry      = "retry"      // a retry after a failed attempt
)

// Results: how a rebalance ended (Record.Result).
const (
	ResultPublished = "published" // a new version was published
	ResultUnchanged = "unchanged" // the computed assignment equals the current one
	ResultFailed    = "failed"    // it failed; Record.Error says why
	ResultDryRun    = "dry-run"   // computed but, as asked, not published
)

// Record describes one rebalance.
//
// Its JSON form is stable:
//
//	{"start":"2025-01-02T03:04:05.123456789Z","duration_ms":12.5,
//	 "trigger":"join","reason":"worker-3 joined","moved":42,"version":7,
//	 "workers":4,"partitions":1000,"result":"published","error":"…"}
//
// start is RFC 3339 with nanoseconds, in UTC; duration_ms is the duration
// in milliseconds as a number with up to nanosecond precision; error is left
// out when empty. Every other field is always present.
type Record struct {
	Start      time.Time     `json:"start"`       // when the rebalance began
	Duration   time.Duration `json:"duration_ms"` // how long it took; milliseconds in JSON
	Trigger    string        `json:"trigger"`     // one of the Trigger constants
	Reason     string        `json:"reason"`      // human-readable detail
	Moved      int           `json:"moved"`       // partitions that changed owner
	Version    uint64        `json:"version"`     // assignment version published (or current)
	Workers    int           `json:"workers"`     // live workers taken into account
	Partitions int           `json:"partitions"`  // partitions assigned
	Result     string        `json:"result"`      // one of the Result constants
	Error      string        `json:"error,omitempty"`
}

// recordJSON is Record's wire form.
type recordJSON struct {
	Start      time.Time `json:"start"`
	DurationMS float64   `json:"duration_ms"`
	Trigger    string    `json:"trigger"`
	Reason     string    `json:"reason"`
	Moved      int       `json:"moved"`
	Version    uint64    `json:"version"`
	Workers    int       `json:"workers"`
	Partitions int       `json:"partitions"`
	Result     string    `json:"result"`
	Error      string    `json:"error,omitempty"`
}

// MarshalJSON encodes r in the form documented on Record.
func (r Record) MarshalJSON() ([]byte, error) {
	return json.Marshal(recordJSON{
		Start:      r.Start.UTC(),
		DurationMS: float64(r.Duration) / float64(time.Millisecond),
		Trigger:    r.Trigger,
		Reason:     r.Reason,
		Moved:      r.Moved,
		Version:    r.Version,
		Workers:    r.Workers,
		Partitions: r.Partitions,
		Result:     r.Result,
		Error:      r.Error,
	})
}

// UnmarshalJSON decodes the form documented on Record. duration_ms is
// rounded to the nearest nanosecond and saturates at the limits of
// time.Duration.
func (r *Record) UnmarshalJSON(data []byte) error {
	var w recordJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Record{
		Start:      w.Start,
		Duration:   msToDuration(w.DurationMS),
		Trigger:    w.Trigger,
		Reason:     w.Reason,
		Moved:      w.Moved,
		Version:    w.Version,
		Workers:    w.Workers,
		Partitions: w.Partitions,
		Result:     w.Result,
		Error:      w.Error,
	}
	return nil
}

func msToDuration(ms float64) time.Duration {
	ns := math.Round(ms * float64(time.Millisecond))
	switch {
	case ns >= math.MaxInt64: // float64(MaxInt64) rounds up to 2^63
		return math.MaxInt64
	case ns <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(ns)
}

// Ring holds the most recent rebalance records, up to a fixed capacity; a
// new record overwrites the oldest one once it is full. It is safe for
// concurrent use: the calculator adds while status readers take snapshots.
type Ring struct {
	mu   sync.RWMutex
	buf  []Record // preallocated, len == capacity
	next int      // index the next Add writes to
	n    int      // number of records held
}

// NewRing returns an empty ring holding up to capacity records (zero or
// negative means DefaultCapacity). All its storage is allocated here, so
// Add never allocates.
func NewRing(capacity int) *Ring {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Ring{buf: make([]Record, capacity)}
}

// Add appends r, dropping the oldest record if the ring is full.
func (g *Ring) Add(r Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf[g.next] = r
	g.next++
	if g.next == len(g.buf) {
		g.next = 0
	}
	if g.n < len(g.buf) {
		g.n++
	}
}

// Snapshot returns a copy of the records, oldest first. The copy is the
// caller's: later Adds do not change it and changing it does not change the
// ring. It returns an empty, non-nil slice when the ring is empty.
func (g *Ring) Snapshot() []Record {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]Record, g.n)
	start := g.next - g.n
	if start < 0 {
		start += len(g.buf)
	}
	k := copy(out, g.buf[start:min(start+g.n, len(g.buf))])
	copy(out[k:], g.buf[:g.n-k])
	return out
}

// Last returns the most recent record, and false if the ring is empty.
func (g *Ring) Last() (Record, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.n == 0 {
		return Record{}, false
	}
	i := g.next - 1
	if i < 0 {
		i += len(g.buf)
	}
	return g.buf[i], true
}

// Len returns the number of records held.
func (g *Ring) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.n
}

// Cap returns the maximum number of records held.
func (g *Ring) Cap() int {
	return len(g.buf) // fixed at construction
}
