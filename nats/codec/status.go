package codec

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the leader's calculator status, the value of the status key in
// the status bucket, read by remote consoles.
type Status struct {
	Header
	Leader     string    `json:"leader"`      // leader worker ID
	Epoch      uint64    `json:"epoch"`       // leader epoch
	State      string    `json:"state"`       // calculator state name
	StateSince time.Time `json:"state_since"` // when it entered State
	Version    uint64    `json:"version"`     // latest published assignment version
	Workers    int       `json:"workers"`     // live workers
	Partitions int       `json:"partitions"`  // partitions in the set
	Breaker    Breaker   `json:"breaker"`
	LastError  string    `json:"last_error,omitempty"`
	At         time.Time `json:"at"`
}

// Breaker is the calculator's circuit breaker as shown to consoles.
type Breaker struct {
	State     string    `json:"state"` // closed, open, half-open
	Failures  int       `json:"failures"`
	Opens     uint64    `json:"opens"`
	NextRetry time.Time `json:"next_retry,omitzero"`
}

// Kind returns KindStatus.
func (*Status) Kind() string { return KindStatus }

func (s *Status) validate() error {
	if s.Leader == "" {
		return invalid("leader is empty")
	}
	return nil
}

// History is the recent rebalance history, the value of the history key in
// the status bucket, newest last.
type History struct {
	Header
	Leader  string         `json:"leader"`
	Epoch   uint64         `json:"epoch"`
	Entries []HistoryEntry `json:"entries"`
}

// HistoryEntry is one rebalance attempt.
type HistoryEntry struct {
	At         time.Time `json:"at"`
	Reason     string    `json:"reason"`
	DurationMS float64   `json:"duration_ms"`
	Moved      int       `json:"moved"`
	Version    uint64    `json:"version"`
	Result     string    `json:"result"` // ok, error, skipped
	Error      string    `json:"error,omitempty"`
}

// Kind returns KindHistory.
func (*History) Kind() string { return KindHistory }

func (h *History) validate() error {
	if h.Leader == "" {
		return invalid("leader is empty")
	}
	return nil
}

// ControlRequest is a request on the control subject. It is a plain JSON
// object (not a stored envelope): {"op":"rebalance","dry_run":false,
// "reason":"..."}.
type ControlRequest struct {
	Op     string `json:"op"`
	DryRun bool   `json:"dry_run"`
	Reason string `json:"reason,omitempty"`
}

// Control operations.
const (
	OpRebalance = "rebalance"
)

// EncodeControlRequest marshals r after checking it has an op.
func EncodeControlRequest(r ControlRequest) ([]byte, error) {
	if r.Op == "" {
		return nil, fmt.Errorf("encode control request: %w: op is empty", ErrInvalid)
	}
	return json.Marshal(r)
}

// DecodeControlRequest decodes a control request received on subject.
func DecodeControlRequest(subject string, data []byte) (ControlRequest, error) {
	var r ControlRequest
	fail := func(err error) error { return &DecodeError{Key: subject, Kind: "control-request", Err: err} }
	switch {
	case len(data) > MaxValueSize:
		return r, fail(ErrTooLarge)
	case len(data) == 0:
		return r, fail(ErrEmpty)
	}
	if err := unmarshal(data, &r); err != nil {
		return ControlRequest{}, fail(err)
	}
	if r.Op == "" {
		return ControlRequest{}, fail(invalid("op is empty"))
	}
	return r, nil
}

// ControlReply answers a control request. Error is set, and Result nil,
// when the request failed.
type ControlReply struct {
	Header
	Leader string           `json:"leader"`
	Epoch  uint64           `json:"epoch"`
	Error  string           `json:"error,omitempty"`
	Result *RebalanceResult `json:"result,omitempty"`
}

// RebalanceResult is the outcome of a rebalance request.
//
// PreviousVersion, Result, Moves and MaxOverAvg were added within envelope
// version 1: a reply from an older leader leaves them zero.
type RebalanceResult struct {
	DryRun     bool                `json:"dry_run"`
	Version    uint64              `json:"version"`
	Moved      int                 `json:"moved"`
	DurationMS float64             `json:"duration_ms"`
	Plan       map[string][]string `json:"plan,omitempty"` // worker → keys, for dry runs
	// PreviousVersion is the version published before this request.
	PreviousVersion uint64 `json:"previous_version"`
	// Result is ResultPublished, ResultUnchanged or ResultDryRun.
	Result string `json:"result,omitempty"`
	// Moves lists every partition that changes owner: [] when none, null
	// (nil) when the leader could not list them.
	Moves []Move `json:"moves"`
	// MaxOverAvg is the resulting balance: the heaviest worker's weighted
	// load over the average.
	MaxOverAvg float64 `json:"max_over_avg"`
}

// Results of a rebalance request.
const (
	ResultPublished = "published" // a new version was published
	ResultUnchanged = "unchanged" // nothing to change; no version published
	ResultDryRun    = "dry-run"   // the plan only; nothing published
)

// Move is one partition changing owner. From is "" for a partition no
// previous version assigned.
type Move struct {
	Partition string `json:"partition"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Kind returns KindControlReply.
func (*ControlReply) Kind() string { return KindControlReply }

func (r *ControlReply) validate() error {
	if r.Error == "" && r.Result == nil {
		return invalid("neither error nor result")
	}
	return nil
}
