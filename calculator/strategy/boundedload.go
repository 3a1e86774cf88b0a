package strategy

import (
	"cmp"
	"math"
	"slices"

	"github.com/parti-dev/parti/calculator/model"
)

// DefaultLoadFactor is the capacity factor c of the bounded-load strategy:
// no worker is filled beyond c × (total weight / workers) unless a single
// partition is heavier than that. 1.25 is the classic trade-off between
// balance and movement from Mirrokni, Thorup and Zadimoghaddam.
const DefaultLoadFactor = 1.25

// BoundedLoad is consistent hashing with bounded loads (Mirrokni, Thorup,
// Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2018), weighted:
// each worker has a capacity of loadFactor × total weight / W. Partitions
// are placed heaviest first (ties broken by key hash, then key); each walks
// the ring clockwise from the hash of its key to the first worker whose load
// plus the partition's weight fits its capacity. An empty worker always
// accepts, so a partition heavier than the capacity still finds a home. It
// ignores current owners.
type BoundedLoad struct {
	ring   ring
	factor float64
	order  []int32
	hashes []uint64
	load   []float64
}

// NewBoundedLoad returns a bounded-load strategy with virtualNodes ring
// positions per worker (below 1 means DefaultVirtualNodes) and the given
// load factor (below 1, or not finite, means DefaultLoadFactor).
func NewBoundedLoad(virtualNodes int, loadFactor float64) *BoundedLoad {
	if virtualNodes < 1 {
		virtualNodes = DefaultVirtualNodes
	}
	if !(loadFactor >= 1) || math.IsInf(loadFactor, 0) {
		loadFactor = DefaultLoadFactor
	}
	return &BoundedLoad{ring: ring{vnodes: virtualNodes}, factor: loadFactor}
}

// Name returns "bounded-load".
func (*BoundedLoad) Name() string { return "bounded-load" }

// LoadFactor returns the capacity factor in use.
func (b *BoundedLoad) LoadFactor() float64 { return b.factor }

// Assign implements Strategy.
func (b *BoundedLoad) Assign(dst []string, parts []model.Partition, workers []string, _ []string) []string {
	n := len(parts)
	dst = resize(dst, n)
	if len(workers) == 0 {
		clear(dst)
		return dst
	}
	if n == 0 {
		return dst
	}
	b.ring.build(workers)
	b.hashes = resize(b.hashes, n)
	b.order = resize(b.order, n)
	total := 0.0
	for i := range parts {
		b.hashes[i] = hashKey(parts[i].Key)
		b.order[i] = int32(i)
		total += parts[i].Weight
	}
	slices.SortFunc(b.order, func(x, y int32) int {
		if c := cmp.Compare(parts[y].Weight, parts[x].Weight); c != 0 {
			return c
		}
		if c := cmp.Compare(b.hashes[x], b.hashes[y]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	b.load = resize(b.load, len(workers))
	clear(b.load)
	capacity := b.factor * total / float64(len(workers))
	slack := capacity * 1e-12 // absorbs rounding in the running sums
	nodes := b.ring.nodes
	for _, i := range b.order {
		w := parts[i].Weight
		chosen := int32(-1)
		pos := b.ring.search(b.hashes[i])
		for range nodes {
			o := nodes[pos].worker
			if b.load[o] == 0 || b.load[o]+w <= capacity+slack {
				chosen = o
				break
			}
			pos++
			if pos == len(nodes) {
				pos = 0
			}
		}
		if chosen < 0 {
			// Every worker is too full for this partition (only possible
			// for partitions heavier than (loadFactor−1) × average): take
			// the least loaded, lowest index first.
			chosen = 0
			for o := range b.load {
				if b.load[o] < b.load[chosen] {
					chosen = int32(o)
				}
			}
		}
		b.load[chosen] += w
		dst[i] = workers[chosen]
	}
	return dst
}
