package calculator

import (
	"time"

	"github.com/parti-dev/parti/calculator/breaker"
	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/history"
)

// Status is a snapshot of the calculator's observable state.
type Status struct {
	State fsm.State `json:"state"`
	// Since is when State was entered.
	Since   time.Time `json:"since"`
	Leader  string    `json:"leader"`
	Epoch   uint64    `json:"epoch"`
	Version uint64    `json:"version"`
	// Workers and Partitions count the live workers and the partition set.
	Workers    int `json:"workers"`
	Partitions int `json:"partitions"`
	// Pending names the trigger of a rebalance that is waiting (window,
	// debounce or retry) and PendingDue when it fires.
	Pending    string    `json:"pending,omitempty"`
	PendingDue time.Time `json:"pending_due,omitzero"`
	// Synced is false until the membership source has delivered its first
	// complete snapshot.
	Synced  bool             `json:"synced"`
	Breaker breaker.Snapshot `json:"breaker"`
	// LastError is the most recent failure (publish, load or watch), kept
	// until a publish succeeds.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Errors counts failures by operation since start: "load", "watch",
	// "publish", "fenced", "invalid-transition", "no-workers".
	Errors              map[string]uint64 `json:"errors,omitempty"`
	InvalidTransitions  uint64            `json:"invalid_transitions"`
	DroppedStateChanges uint64            `json:"dropped_state_changes"`
	History             []history.Record  `json:"history,omitempty"`
}
