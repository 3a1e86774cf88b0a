package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
)

// ChunkTarget is the encoded size a partition chunk is filled up to,
// well under the 1 MiB message limit.
const ChunkTarget = 256 << 10

// ErrConcurrentUpdate means another writer replaced the partition set first.
var ErrConcurrentUpdate = errors.New("partition set changed concurrently")

// ErrNoPartitionSet means the partitions bucket holds no manifest.
var ErrNoPartitionSet = errors.New("no partition set stored")

// PartitionSet is a stored partition set.
type PartitionSet struct {
	Manifest   codec.PartitionManifest
	Partitions []model.Partition // sorted by key
	Revision   uint64            // manifest revision
}

// chunk splits sorted parts into chunks of about ChunkTarget encoded bytes.
func chunk(parts []model.Partition) [][]model.Partition {
	var out [][]model.Partition
	start, size := 0, 0
	for i, p := range parts {
		b, _ := json.Marshal(p) // a Partition always marshals
		if size+len(b)+1 > ChunkTarget && i > start {
			out = append(out, parts[start:i])
			start, size = i, 0
		}
		size += len(b) + 1
	}
	if start < len(parts) {
		out = append(out, parts[start:])
	}
	return out
}

// WritePartitions validates parts and replaces the stored partition set:
// chunks of a new generation first, then the manifest (compare-and-swap on
// the manifest revision the writer read, so concurrent writers cannot
// interleave), then the previous generation's chunks are removed.
func WritePartitions(ctx context.Context, kv jetstream.KeyValue, parts []model.Partition) (PartitionSet, error) {
	sorted, err := model.NormalizePartitions(parts)
	if err != nil {
		return PartitionSet{}, err
	}
	var prev codec.PartitionManifest
	var prevRev uint64
	e, err := kv.Get(ctx, layout.KeyManifest)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return PartitionSet{}, fmt.Errorf("read partition manifest: %w", err)
	default:
		if prev, err = codec.DecodePartitionManifest(e.Key(), e.Value()); err != nil {
			return PartitionSet{}, err
		}
		prevRev = e.Revision()
	}
	gen := prev.Generation + 1
	chunks := chunk(sorted)
	for i, c := range chunks {
		val, err := codec.Encode(&codec.PartitionChunk{Generation: gen, Index: i, Partitions: c})
		if err != nil {
			return PartitionSet{}, err
		}
		if _, err := kv.Put(ctx, layout.ChunkKey(gen, i), val); err != nil {
			return PartitionSet{}, fmt.Errorf("write partition chunk %d: %w", i, err)
		}
	}
	m := codec.PartitionManifest{
		Generation: gen, Chunks: len(chunks), Count: len(sorted),
		TotalWeight: model.TotalWeight(sorted), SHA256: codec.PartitionDigest(sorted), At: time.Now(),
	}
	val, err := codec.Encode(&m)
	if err != nil {
		return PartitionSet{}, err
	}
	var rev uint64
	if prevRev == 0 {
		rev, err = kv.Create(ctx, layout.KeyManifest, val)
	} else {
		rev, err = kv.Update(ctx, layout.KeyManifest, val, prevRev)
	}
	if err != nil {
		if layout.IsLostRace(err) {
			err = fmt.Errorf("%w: %w", ErrConcurrentUpdate, err)
		}
		return PartitionSet{}, fmt.Errorf("write partition manifest: %w", err)
	}
	for i := range prev.Chunks {
		// Best effort: a leftover chunk is unreachable and harmless.
		_ = kv.Purge(ctx, layout.ChunkKey(prev.Generation, i))
	}
	return PartitionSet{Manifest: m, Partitions: sorted, Revision: rev}, nil
}

// ReadPartitions reads the stored partition set and checks it against its
// manifest (chunk generation and order, count, digest). A manifest read
// from a stale replica whose chunks were already replaced is retried.
func ReadPartitions(ctx context.Context, kv jetstream.KeyValue) (PartitionSet, error) {
	var lastErr error
	for range 5 {
		ps, err := readPartitionsOnce(ctx, kv)
		if err == nil || errors.Is(err, ErrNoPartitionSet) || ctx.Err() != nil {
			return ps, err
		}
		var de *codec.DecodeError
		if errors.As(err, &de) {
			return PartitionSet{}, err
		}
		lastErr = err
	}
	return PartitionSet{}, lastErr
}

func readPartitionsOnce(ctx context.Context, kv jetstream.KeyValue) (PartitionSet, error) {
	e, err := kv.Get(ctx, layout.KeyManifest)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return PartitionSet{}, ErrNoPartitionSet
	}
	if err != nil {
		return PartitionSet{}, fmt.Errorf("read partition manifest: %w", err)
	}
	m, err := codec.DecodePartitionManifest(e.Key(), e.Value())
	if err != nil {
		return PartitionSet{}, err
	}
	parts := make([]model.Partition, 0, m.Count)
	for i := range m.Chunks {
		key := layout.ChunkKey(m.Generation, i)
		ce, err := kv.Get(ctx, key)
		if err != nil {
			return PartitionSet{}, fmt.Errorf("read partition chunk %s: %w", key, err)
		}
		c, err := codec.DecodePartitionChunk(key, ce.Value())
		if err != nil {
			return PartitionSet{}, err
		}
		if c.Generation != m.Generation || c.Index != i {
			return PartitionSet{}, fmt.Errorf("partition chunk %s holds generation %d index %d", key, c.Generation, c.Index)
		}
		parts = append(parts, c.Partitions...)
	}
	if len(parts) != m.Count || codec.PartitionDigest(parts) != m.SHA256 {
		return PartitionSet{}, fmt.Errorf("partition set generation %d does not match its manifest (%d of %d partitions)", m.Generation, len(parts), m.Count)
	}
	if err := model.ValidatePartitions(parts); err != nil {
		return PartitionSet{}, fmt.Errorf("stored partition set: %w", err)
	}
	return PartitionSet{Manifest: m, Partitions: parts, Revision: e.Revision()}, nil
}

// IsChunkKey reports whether key is a partition chunk key.
func IsChunkKey(key string) bool { return strings.HasPrefix(key, layout.ChunkKeyPrefix) }
