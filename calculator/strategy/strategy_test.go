package strategy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	for _, name := range Names() {
		s, err := New(name)
		require.NoError(t, err)
		assert.Equal(t, name, s.Name())
	}
	assert.Equal(t, Default, Names()[0])
	_, err := New("nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Contains(t, err.Error(), "sticky, consistent-hash, bounded-load, round-robin")
}

func TestValidWorkers(t *testing.T) {
	assert.True(t, ValidWorkers([]string{"a"}))
	assert.True(t, ValidWorkers([]string{"a", "b", "c"}))
	assert.False(t, ValidWorkers(nil))
	assert.False(t, ValidWorkers([]string{"b", "a"}), "unsorted")
	assert.False(t, ValidWorkers([]string{"a", "a"}), "duplicate")
	assert.False(t, ValidWorkers([]string{"", "a"}), "empty ID")
}

// TestStrategiesProperties checks every strategy on random fleets: each
// partition gets one live owner, the output depends only on the input (a
// fresh value, a value reused on other input, and dst reuse all agree), and
// the stateless strategies ignore current.
func TestStrategiesProperties(t *testing.T) {
	sizes := [][2]int{{1, 1}, {3, 7}, {50, 1}, {200, 13}, {2000, 40}}
	for _, name := range Names() {
		reused, err := New(name)
		require.NoError(t, err)
		var dst []string
		for _, dist := range dists {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/%s/%dx%d", name, dist, size[0], size[1]), func(t *testing.T) {
					rng := newRand(uint64(size[0]*1000 + size[1]))
					parts := makeParts(size[0], dist, rng)
					f := newFleet(size[1], rng)
					fresh, err := New(name)
					require.NoError(t, err)
					out := slices.Clone(fresh.Assign(nil, parts, f.workers, nil))
					requireValid(t, parts, f.workers, out)
					dst = reused.Assign(dst, parts, f.workers, nil)
					requireSame(t, out, dst, "reused value")

					// A random current assignment, partly pointing at gone workers.
					cur := make([]string, len(parts))
					for i := range cur {
						switch rng.IntN(4) {
						case 0:
						case 1:
							cur[i] = "gone-" + strconv.Itoa(rng.IntN(3))
						default:
							cur[i] = f.workers[rng.IntN(len(f.workers))]
						}
					}
					next := slices.Clone(reused.Assign(dst, parts, f.workers, cur))
					requireValid(t, parts, f.workers, next)
					fresh2, _ := New(name)
					requireSame(t, next, fresh2.Assign(nil, parts, f.workers, cur), "fresh value with current")
					if name != "sticky" {
						requireSame(t, out, next, "stateless strategy must ignore current")
					}
				})
			}
		}
	}
}

func TestEmptyInputs(t *testing.T) {
	for _, name := range Names() {
		s, _ := New(name)
		assert.Empty(t, s.Assign(nil, nil, []string{"a"}, nil), name)
		assert.Equal(t, []string{"", ""}, s.Assign([]string{"x"}, makeParts(2, distUniform, newRand(1)), nil, nil), name)
	}
}

func TestRoundRobin(t *testing.T) {
	parts := makeParts(10, distZipf, newRand(1))
	out := NewRoundRobin().Assign(nil, parts, []string{"a", "b", "c"}, nil)
	assert.Equal(t, []string{"a", "b", "c", "a", "b", "c", "a", "b", "c", "a"}, out)
}

// TestConsistentHashMinimalMovement: when a worker joins, only partitions
// that go to it move; when it leaves again, exactly those move back.
func TestConsistentHashMinimalMovement(t *testing.T) {
	rng := newRand(5)
	parts := makeParts(5000, distUniform, rng)
	f := newFleet(20, rng)
	c := NewConsistentHash(DefaultVirtualNodes)
	before := slices.Clone(c.Assign(nil, parts, f.workers, nil))
	f.join(1)
	joined := workerID(20)
	after := slices.Clone(c.Assign(nil, parts, f.workers, before))
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			require.Equal(t, joined, after[i])
		}
	}
	assert.InDelta(t, len(parts)/21, moved, float64(len(parts))/21*0.5, "the newcomer takes about 1/W")
	f.workers = slices.DeleteFunc(f.workers, func(w string) bool { return w == joined })
	requireSame(t, before, c.Assign(nil, parts, f.workers, after), "leave restores the previous placement")
	// Balance is only as good as the ring: loose sanity bound.
	st := Measure(parts, nil, f.workers, nil, before)
	assert.Less(t, st.MaxOverAvg, 1.6)
}

func TestConsistentHashVirtualNodes(t *testing.T) {
	assert.Equal(t, DefaultVirtualNodes, NewConsistentHash(0).ring.vnodes)
	assert.Equal(t, 7, NewConsistentHash(7).ring.vnodes)
	// Fewer virtual nodes give a different (coarser) ring.
	parts := makeParts(300, distUniform, newRand(1))
	workers := newFleet(5, newRand(1)).workers
	a := NewConsistentHash(1).Assign(nil, parts, workers, nil)
	b := NewConsistentHash(DefaultVirtualNodes).Assign(nil, parts, workers, nil)
	assert.NotEqual(t, a, b)
}

// TestBoundedLoadCapacity: no worker exceeds loadFactor × average unless it
// holds a single partition, for every distribution.
func TestBoundedLoadCapacity(t *testing.T) {
	for _, dist := range dists {
		rng := newRand(11)
		parts := makeParts(3000, dist, rng)
		f := newFleet(30, rng)
		b := NewBoundedLoad(DefaultVirtualNodes, DefaultLoadFactor)
		out := b.Assign(nil, parts, f.workers, nil)
		requireValid(t, parts, f.workers, out)
		l, counts := loads(parts, f.workers, out)
		avg := 0.0
		for _, x := range l {
			avg += x
		}
		avg /= float64(len(l))
		for i := range l {
			if counts[i] > 1 {
				assert.LessOrEqual(t, l[i], DefaultLoadFactor*avg*(1+1e-9), "%s worker %d", dist, i)
			}
		}
	}
}

func TestBoundedLoadOptions(t *testing.T) {
	assert.InDelta(t, DefaultLoadFactor, NewBoundedLoad(0, 0.5).LoadFactor(), 0)
	assert.InDelta(t, DefaultLoadFactor, NewBoundedLoad(0, math.NaN()).LoadFactor(), 0)
	assert.InDelta(t, DefaultLoadFactor, NewBoundedLoad(0, math.Inf(1)).LoadFactor(), 0)
	assert.InDelta(t, 1.1, NewBoundedLoad(0, 1.1).LoadFactor(), 0)
	assert.Equal(t, DefaultVirtualNodes, NewBoundedLoad(-1, 2).ring.vnodes)
}

// TestBoundedLoadOverflow exercises the fallback when no worker has room:
// with a load factor of 1 and coarse weights some partition fits nowhere.
func TestBoundedLoadOverflow(t *testing.T) {
	parts := makeParts(7, distUniform, newRand(1))
	for i := range parts {
		parts[i].Weight = float64(10 + i%3)
	}
	workers := []string{"a", "b", "c"}
	b := NewBoundedLoad(4, 1)
	out := b.Assign(nil, parts, workers, nil)
	requireValid(t, parts, workers, out)
	requireSame(t, out, NewBoundedLoad(4, 1).Assign(nil, parts, workers, nil), "deterministic")
}

func TestHashIsPinned(t *testing.T) {
	// FNV-1a 64 reference values.
	assert.Equal(t, uint64(0xcbf29ce484222325), fnv1a(""))
	assert.Equal(t, uint64(0xaf63dc4c8601ec8c), fnv1a("a"))
	assert.Equal(t, uint64(0x85944171f73967e8), fnv1a("foobar"))
	// The placement hash must never change: leaders of different releases
	// must agree.
	assert.Equal(t, uint64(0xfc05700b1644cac1), hashKey("p-000000"))
	for _, w := range []string{"w", "worker-00042"} {
		for _, i := range []int{0, 7, 10, 127, 123456} {
			assert.Equal(t, hashKey(w+"#"+strconv.Itoa(i)), hashVNode(w, i))
		}
	}
}
