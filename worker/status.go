package worker

import (
	"time"

	"github.com/parti-dev/parti/calculator"
)

// State is a worker lifecycle state.
type State string

// Worker states.
const (
	StateStarting    State = "starting"    // connecting, seeding partitions
	StateClaiming    State = "claiming"    // claiming a worker ID
	StateWaiting     State = "waiting"     // ID held; no assignment applied yet
	StateStable      State = "stable"      // the latest assignment is fully applied
	StateRebalancing State = "rebalancing" // released what it lost; waiting to acquire what it gained
	StateDegraded    State = "degraded"    // NATS unreachable: keeps its partitions, keeps trying
	StateLeaving     State = "leaving"     // graceful leave: handing partitions off
	StateStopped     State = "stopped"     // Run has returned
)

// Status is a snapshot of a worker.
type Status struct {
	ID          string    `json:"id"`
	State       State     `json:"state"`
	Since       time.Time `json:"since"`
	Degraded    bool      `json:"degraded"`
	Connection  string    `json:"connection"`
	Leader      string    `json:"leader"`
	LeaderEpoch uint64    `json:"leader_epoch"`
	IsLeader    bool      `json:"is_leader"`
	LeaderSince time.Time `json:"leader_since,omitzero"`
	// Version and Epoch identify the assignment applied (revocations done).
	Version uint64 `json:"version"`
	Epoch   uint64 `json:"epoch"`
	// Partitions are the partitions this worker owns now, sorted.
	Partitions []string `json:"partitions"`
	// Pending are partitions assigned to this worker that it has not yet
	// acquired (waiting for their previous owners to release them).
	Pending    []string           `json:"pending,omitempty"`
	Calculator *calculator.Status `json:"calculator,omitempty"`
	LastError  string             `json:"last_error,omitempty"`
}

// AuditRecord is one line of the audit log: a partition acquired or
// released by this worker. Time has nanosecond precision.
type AuditRecord struct {
	Time      time.Time `json:"time"`
	Worker    string    `json:"worker"`
	Nonce     string    `json:"nonce"`
	Event     string    `json:"event"` // acquire | release
	Partition string    `json:"partition"`
	Version   uint64    `json:"version"`
	Epoch     uint64    `json:"epoch"`
}
