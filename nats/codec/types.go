package codec

import (
	"slices"
	"time"
)

// Kinds of envelope.
const (
	KindHeartbeat         = "heartbeat"
	KindLeader            = "leader"
	KindEpoch             = "epoch"
	KindWorkerAssignment  = "worker-assignment"
	KindCommit            = "commit"
	KindPartitionManifest = "partition-manifest"
	KindPartitionChunk    = "partition-chunk"
	KindStatus            = "status"
	KindHistory           = "history"
	KindControlReply      = "control-reply"
)

// Heartbeat is a worker's liveness record, the value of its key in the
// workers bucket. Writing it also keeps the worker's identity claim alive.
type Heartbeat struct {
	Header
	Worker   string    `json:"worker"`   // worker ID (the key)
	Nonce    string    `json:"nonce"`    // random per process start; tells restarts apart
	Host     string    `json:"host"`     // host name
	PID      int       `json:"pid"`      // process ID
	Version  string    `json:"version"`  // parti build version
	Started  time.Time `json:"started"`  // process start time
	Applied  uint64    `json:"applied"`  // assignment version the worker has applied
	Draining bool      `json:"draining"` // leaving gracefully: hand its partitions off
	Seq      uint64    `json:"seq"`      // heartbeat counter for this nonce
	At       time.Time `json:"at"`       // when the heartbeat was written
}

// Kind returns KindHeartbeat.
func (*Heartbeat) Kind() string { return KindHeartbeat }

func (h *Heartbeat) validate() error {
	switch {
	case h.Worker == "":
		return invalid("worker is empty")
	case h.Nonce == "":
		return invalid("nonce is empty")
	}
	return nil
}

// Leader is the value of the leader key. Epoch 0 means the holder has won
// the key and is still taking office (raising the epoch).
type Leader struct {
	Header
	ID    string    `json:"id"`    // leader's worker ID
	Nonce string    `json:"nonce"` // leader's process nonce
	Epoch uint64    `json:"epoch"` // fencing epoch, 0 while taking office
	Since time.Time `json:"since"` // when it won the key
	At    time.Time `json:"at"`    // last renewal
}

// Kind returns KindLeader.
func (*Leader) Kind() string { return KindLeader }

func (l *Leader) validate() error {
	if l.ID == "" {
		return invalid("id is empty")
	}
	return nil
}

// Epoch is the value of the epoch key in the assignments bucket (and, for
// fencing, in the status bucket). The revision of the message that set an
// epoch is the leader's fencing token.
type Epoch struct {
	Header
	Epoch  uint64    `json:"epoch"`  // ≥ 1
	Leader string    `json:"leader"` // worker ID that took this epoch
	At     time.Time `json:"at"`
}

// Kind returns KindEpoch.
func (*Epoch) Kind() string { return KindEpoch }

func (e *Epoch) validate() error {
	switch {
	case e.Epoch == 0:
		return invalid("epoch is 0")
	case e.Leader == "":
		return invalid("leader is empty")
	}
	return nil
}

// WorkerAssignment is one worker's partitions as of an assignment version,
// the value of w.<worker> in the assignments bucket.
type WorkerAssignment struct {
	Header
	Worker  string   `json:"worker"`
	Version uint64   `json:"version"` // assignment version that wrote it
	Epoch   uint64   `json:"epoch"`   // leader epoch that wrote it
	Keys    []string `json:"keys"`    // sorted, unique
}

// Kind returns KindWorkerAssignment.
func (*WorkerAssignment) Kind() string { return KindWorkerAssignment }

func (w *WorkerAssignment) validate() error {
	switch {
	case w.Worker == "":
		return invalid("worker is empty")
	case w.Version == 0:
		return invalid("version is 0")
	case w.Epoch == 0:
		return invalid("epoch is 0")
	}
	for i := 1; i < len(w.Keys); i++ {
		if w.Keys[i-1] >= w.Keys[i] {
			return invalid("keys not sorted and unique at %d", i)
		}
	}
	return nil
}

// Commit marks an assignment version complete. Workers maps each worker in
// the version to the KV revision of its w.<worker> entry, so readers load
// exactly the entries this version consists of.
type Commit struct {
	Header
	Version    uint64            `json:"version"`
	Epoch      uint64            `json:"epoch"`
	Leader     string            `json:"leader"`
	Workers    map[string]uint64 `json:"workers"`    // worker ID → entry revision
	Partitions int               `json:"partitions"` // partitions covered
	At         time.Time         `json:"at"`
}

// Kind returns KindCommit.
func (*Commit) Kind() string { return KindCommit }

func (c *Commit) validate() error {
	switch {
	case c.Version == 0:
		return invalid("version is 0")
	case c.Epoch == 0:
		return invalid("epoch is 0")
	case c.Leader == "":
		return invalid("leader is empty")
	case c.Partitions < 0:
		return invalid("partitions is negative")
	}
	for w, rev := range c.Workers {
		if w == "" || rev == 0 {
			return invalid("worker %q has revision %d", w, rev)
		}
	}
	return nil
}

// SortedWorkers returns the commit's worker IDs, sorted.
func (c *Commit) SortedWorkers() []string {
	out := make([]string, 0, len(c.Workers))
	for w := range c.Workers {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}
