package codec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/parti-dev/parti/calculator/model"
)

// PartitionManifest is the value of the manifest key in the partitions
// bucket. The partition set of a generation is split into Chunks chunk
// keys; the manifest is written last, so a reader that finds a manifest
// finds every chunk it names.
type PartitionManifest struct {
	Header
	Generation  uint64    `json:"generation"`   // increases with every write
	Chunks      int       `json:"chunks"`       // number of chunk keys
	Count       int       `json:"count"`        // number of partitions
	TotalWeight float64   `json:"total_weight"` // sum of weights
	SHA256      string    `json:"sha256"`       // hex digest, see PartitionDigest
	At          time.Time `json:"at"`
}

// Kind returns KindPartitionManifest.
func (*PartitionManifest) Kind() string { return KindPartitionManifest }

func (m *PartitionManifest) validate() error {
	switch {
	case m.Generation == 0:
		return invalid("generation is 0")
	case m.Chunks < 0 || m.Count < 0:
		return invalid("negative chunk or partition count")
	case m.Count > 0 && m.Chunks == 0:
		return invalid("%d partitions in 0 chunks", m.Count)
	case len(m.SHA256) != sha256.Size*2:
		return invalid("sha256 is not a hex digest")
	}
	if _, err := hex.DecodeString(m.SHA256); err != nil {
		return invalid("sha256 is not a hex digest")
	}
	return nil
}

// PartitionChunk is one slice of a partition set generation, the value of
// chunk.<generation>.<index>.
type PartitionChunk struct {
	Header
	Generation uint64            `json:"generation"`
	Index      int               `json:"index"`
	Partitions []model.Partition `json:"partitions"`
}

// Kind returns KindPartitionChunk.
func (*PartitionChunk) Kind() string { return KindPartitionChunk }

func (c *PartitionChunk) validate() error {
	switch {
	case c.Generation == 0:
		return invalid("generation is 0")
	case c.Index < 0:
		return invalid("index is negative")
	}
	return nil
}

// PartitionDigest is the hex SHA-256 of the JSON encoding of parts, in
// the order given (canonically sorted by key).
func PartitionDigest(parts []model.Partition) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		_ = enc.Encode(p) // writing to a hash never fails
	}
	return hex.EncodeToString(h.Sum(nil))
}
