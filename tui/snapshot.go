package tui

import (
	"strings"
	"time"
)

// Snapshot is everything the dashboard shows at one moment. A source builds
// a new Snapshot for every change and never modifies one it has handed out:
// its slices may be shared with later snapshots but are read-only for
// everyone.
type Snapshot struct {
	// Taken is when the source built the snapshot.
	Taken time.Time
	// Cluster is the cluster name (namespace).
	Cluster string
	// URL is the NATS server URL, passwords redacted.
	URL string
	// Conn is the NATS connection state.
	Conn Conn
	// FreshAt is the last time the data was known to be current: now while
	// connected, the moment the connection dropped while it is down.
	FreshAt time.Time
	// Synced is true once every watcher has delivered its initial values.
	Synced bool
	// Node is the in-process node the dashboard is attached to (parti run
	// --tui); nil for a remote console.
	Node *Node
	// WorkerTTL is the heartbeat TTL of the workers bucket (0 if unknown).
	WorkerTTL time.Duration

	// Leader is the current holder of the leader key; nil when none.
	Leader *Leader
	// Version and Epoch identify the latest committed assignment (0: none).
	Version, Epoch uint64
	// Partitions is the partition set with each partition's owner in the
	// latest assignment, sorted by key.
	Partitions []Partition
	// TotalWeight sums the partitions' weights.
	TotalWeight float64
	// Workers are the workers seen in the workers bucket (and those in the
	// assignment), sorted by ID; gone workers stay for a while.
	Workers []Worker
	// Calculator is the leader's calculator as last published (or, for the
	// node that leads in this process, read live); nil if never seen.
	Calculator *Calculator
	// History is the rebalance history, oldest first.
	History []Rebalance
	// Events is the event log, oldest first.
	Events []Event
	// EventSource says how complete the calculator transitions in Events
	// are, e.g. "calculator fan-out (lossless)" or "status bucket".
	EventSource string
	// SourceError is the most recent error of the source itself (decoding,
	// watching), "" if none.
	SourceError string
}

// ConnState is the state of the NATS connection.
type ConnState int

// Connection states.
const (
	ConnConnecting ConnState = iota
	ConnConnected
	ConnReconnecting
	ConnClosed
)

// String returns the state's name.
func (c ConnState) String() string {
	switch c {
	case ConnConnected:
		return "connected"
	case ConnReconnecting:
		return "reconnecting"
	case ConnClosed:
		return "closed"
	}
	return "connecting"
}

// Conn is the NATS connection as the dashboard shows it.
type Conn struct {
	State ConnState
	Since time.Time // when State was entered
	Err   string    // why it dropped, if known
}

// Node is the in-process node's own view of itself.
type Node struct {
	ID       string
	State    string // worker lifecycle state: stable, rebalancing, degraded, ...
	Since    time.Time
	Degraded bool
	IsLeader bool
	Owned    int // partitions owned now
	Pending  int // partitions assigned but not yet acquired
	Version  uint64
}

// Leader is the holder of the leader key.
type Leader struct {
	ID      string
	Epoch   uint64    // 0 while taking office
	Since   time.Time // when it won the key
	Renewed time.Time // last renewal
}

// Partition is one partition and its owner in the latest assignment.
type Partition struct {
	Key    string
	Weight float64
	Owner  string // "" when unassigned
}

// WorkerStatus is a worker's liveness as the dashboard judges it.
type WorkerStatus int

// Worker statuses.
const (
	// StatusAlive: heartbeating.
	StatusAlive WorkerStatus = iota
	// StatusDraining: leaving gracefully, handing its partitions off.
	StatusDraining
	// StatusSuspect: no heartbeat for more than two heartbeat intervals,
	// but its key has not expired yet.
	StatusSuspect
	// StatusGone: its key expired or was deleted; kept visible for a while.
	StatusGone
)

// String returns the status's name.
func (s WorkerStatus) String() string {
	switch s {
	case StatusDraining:
		return "draining"
	case StatusSuspect:
		return "suspect"
	case StatusGone:
		return "gone"
	}
	return "alive"
}

// Worker is one worker process.
type Worker struct {
	ID      string
	Host    string
	PID     int
	Build   string    // parti build version it runs
	Started time.Time // process start
	// LastHeartbeat is when its latest heartbeat was stored; zero if never
	// seen (a worker known only from the assignment).
	LastHeartbeat time.Time
	// Interval is its heartbeat interval (measured between heartbeats, or
	// assumed).
	Interval time.Duration
	Draining bool
	// Gone is set once its key expired or was deleted, at GoneAt.
	Gone       bool
	GoneAt     time.Time
	GoneReason string // "expired" or "left"
	// Applied is the assignment version it reports as applied.
	Applied uint64
	// Partitions and Weight are what it owns in the latest assignment.
	Partitions int
	Weight     float64
}

// StatusAt judges the worker's liveness at now.
func (w *Worker) StatusAt(now time.Time) WorkerStatus {
	switch {
	case w.Gone:
		return StatusGone
	case w.Draining:
		return StatusDraining
	case w.LastHeartbeat.IsZero():
		return StatusSuspect
	case w.Interval > 0 && now.Sub(w.LastHeartbeat) > 2*w.Interval:
		return StatusSuspect
	}
	return StatusAlive
}

// Calculator is the leader's calculator state.
type Calculator struct {
	Leader string
	Epoch  uint64
	State  string // fsm state name: idle, scaling-window, rebalancing, ...
	Since  time.Time
	// Version is the latest version the calculator published.
	Version    uint64
	Workers    int
	Partitions int
	// Pending names a rebalance that is waiting, and PendingDue when it
	// fires (in-process only).
	Pending    string
	PendingDue time.Time
	Breaker    Breaker
	LastError  string
	// Updated is when this status was written (remote) or read (live).
	Updated time.Time
	// Live is true when read from the calculator in this process.
	Live bool
}

// Breaker is the calculator's circuit breaker.
type Breaker struct {
	State     string // closed, open, half-open
	Failures  int    // consecutive failures
	Opens     uint64 // times it opened
	NextRetry time.Time
}

// Rebalance is one rebalance in the history.
type Rebalance struct {
	At       time.Time
	Leader   string
	Trigger  string // cold-start, join, leave, crash, emergency, force, partitions, retry
	Reason   string
	Duration time.Duration
	Moved    int
	Version  uint64
	Result   string // published, unchanged, failed, dry-run, skipped
	Error    string
}

// EventKind classifies an event log entry.
type EventKind int

// Event kinds.
const (
	EventState      EventKind = iota // a calculator state transition
	EventGap                         // transitions were missed
	EventWorker                      // a worker joined, left, expired, turned suspect
	EventLeader                      // leadership changed
	EventAssignment                  // a new assignment version
	EventRebalance                   // a rebalance finished
	EventConn                        // the NATS connection changed
	EventError                       // a source error
	EventInfo                        // anything else
)

// String returns the kind's short label.
func (k EventKind) String() string {
	switch k {
	case EventState:
		return "state"
	case EventGap:
		return "GAP"
	case EventWorker:
		return "worker"
	case EventLeader:
		return "leader"
	case EventAssignment:
		return "assign"
	case EventRebalance:
		return "rebal"
	case EventConn:
		return "conn"
	case EventError:
		return "error"
	}
	return "info"
}

// Event is one entry of the event log.
type Event struct {
	At     time.Time
	Kind   EventKind
	Text   string
	Worker string // the worker it concerns, if any
	// Missed counts the transitions a gap event stands for (0 if unknown).
	Missed uint64
}

// AliveCount counts workers alive or draining at now, and all workers not
// gone.
func (s *Snapshot) AliveCount(now time.Time) (alive, present int) {
	for i := range s.Workers {
		switch s.Workers[i].StatusAt(now) {
		case StatusAlive, StatusDraining:
			alive++
			present++
		case StatusSuspect:
			present++
		}
	}
	return alive, present
}

// Worker returns the worker with id, or nil.
func (s *Snapshot) Worker(id string) *Worker {
	lo, hi := 0, len(s.Workers)
	for lo < hi {
		m := (lo + hi) / 2
		if s.Workers[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.Workers) && s.Workers[lo].ID == id {
		return &s.Workers[lo]
	}
	return nil
}

// IsLeader reports whether id holds the leader key.
func (s *Snapshot) IsLeader(id string) bool {
	return s.Leader != nil && s.Leader.ID == id
}

// Stale reports whether the data may be out of date: the connection is not
// up.
func (s *Snapshot) Stale() bool {
	return s.Conn.State != ConnConnected
}

// historyMentions reports whether a rebalance names worker id in its reason.
func historyMentions(r *Rebalance, id string) bool {
	return containsWord(r.Reason, id) || containsWord(r.Error, id)
}

// containsWord reports whether s contains id not directly followed or
// preceded by another ID character (so worker-1 does not match worker-10).
func containsWord(s, id string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], id)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if (start == 0 || !idChar(s[start-1])) && (end == len(s) || !idChar(s[end])) {
			return true
		}
		i = start + 1
	}
}

func idChar(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
