package strategy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator/model"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Weight distributions of the synthetic fleets.
const (
	distUniform   = "uniform"   // every partition weighs 1
	distLognormal = "lognormal" // exp(N(0,1))
	distZipf      = "zipf"      // rank k weighs 1/k^1.1, ranks shuffled
)

var dists = []string{distUniform, distLognormal, distZipf}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// makeParts builds n partitions p-000000… sorted by key.
func makeParts(n int, dist string, rng *rand.Rand) []model.Partition {
	parts := make([]model.Partition, n)
	for i := range parts {
		parts[i].Key = fmt.Sprintf("p-%06d", i)
		switch dist {
		case distLognormal:
			parts[i].Weight = math.Exp(rng.NormFloat64())
		case distZipf:
			parts[i].Weight = 1 / math.Pow(float64(i+1), 1.1)
		default:
			parts[i].Weight = 1
		}
	}
	if dist == distZipf {
		rng.Shuffle(n, func(i, j int) { parts[i].Weight, parts[j].Weight = parts[j].Weight, parts[i].Weight })
	}
	return parts
}

func workerID(i int) string { return fmt.Sprintf("worker-%05d", i) }

// fleet is a changing worker list with stable, never reused IDs.
type fleet struct {
	rng     *rand.Rand
	workers []string
	nextID  int
}

func newFleet(n int, rng *rand.Rand) *fleet {
	f := &fleet{rng: rng}
	f.join(n)
	return f
}

func (f *fleet) join(k int) {
	for range k {
		f.workers = append(f.workers, workerID(f.nextID))
		f.nextID++
	}
	slices.Sort(f.workers)
}

// remove drops k workers chosen by the fleet's rng and returns them.
func (f *fleet) remove(k int) []string {
	var gone []string
	for range k {
		i := f.rng.IntN(len(f.workers))
		gone = append(gone, f.workers[i])
		f.workers = slices.Delete(f.workers, i, i+1)
	}
	return gone
}

// requireValid checks that out gives every partition one owner from workers.
func requireValid(t testing.TB, parts []model.Partition, workers, out []string) {
	t.Helper()
	require.Len(t, out, len(parts))
	for i, o := range out {
		if _, ok := slices.BinarySearch(workers, o); !ok {
			t.Fatalf("partition %d (%s) owned by %q, not a live worker", i, parts[i].Key, o)
		}
	}
}

// requireSame fails when two owner slices differ, naming the count and the
// first differences instead of dumping both.
func requireSame(t testing.TB, want, got []string, format string, args ...any) {
	t.Helper()
	require.Len(t, got, len(want))
	diff, first := 0, ""
	for i := range want {
		if want[i] != got[i] {
			if diff < 3 {
				first += fmt.Sprintf(" [%d] %q→%q", i, want[i], got[i])
			}
			diff++
		}
	}
	if diff > 0 {
		t.Fatalf("%s: %d owners differ:%s", fmt.Sprintf(format, args...), diff, first)
	}
}

// loads returns the load of each worker (aligned with workers) and the
// number of partitions each holds.
func loads(parts []model.Partition, workers, out []string) ([]float64, []int) {
	l := make([]float64, len(workers))
	c := make([]int, len(workers))
	for i, o := range out {
		j, _ := slices.BinarySearch(workers, o)
		l[j] += parts[i].Weight
		c[j]++
	}
	return l, c
}

// forcedExtra counts the orphans of the step that are so heavy that every
// surviving worker would break the balance bound by taking one without
// giving something up: each makes movement beyond Required unavoidable.
func forcedExtra(parts []model.Partition, prevWorkers, workers, prev []string) int {
	if prev == nil {
		return 0
	}
	live := make(map[string]bool, len(workers))
	for _, w := range workers {
		live[w] = true
	}
	for _, w := range prevWorkers {
		if live[w] {
			live[w] = false // survivor
		}
	}
	load := make(map[string]float64, len(workers))
	total, heaviest := 0.0, 0.0
	for i, p := range parts {
		total += p.Weight
		heaviest = max(heaviest, p.Weight)
		if o := prev[i]; o != "" {
			if _, ok := live[o]; ok {
				load[o] += p.Weight
			}
		}
	}
	minLoad := math.Inf(1)
	for w, isNew := range live {
		if isNew {
			return 0 // a new worker can take anything
		}
		minLoad = min(minLoad, load[w])
	}
	avg := total / float64(len(workers))
	bound := 1.05 * max(avg, heaviest)
	n := 0
	for i, p := range parts {
		o := prev[i]
		if _, ok := live[o]; (o == "" || !ok) && p.Weight+minLoad > bound {
			n++
		}
	}
	return n
}

// applyStep changes the fleet and returns the current owners to pass to
// Assign: on leave the departed owners are still named (the strategy must
// treat an owner missing from workers as gone), on crash they are blanked.
func applyStep(f *fleet, kind string, k int, prev []string) []string {
	cur := slices.Clone(prev)
	switch kind {
	case "join":
		f.join(k)
	case "leave":
		f.remove(k)
	case "crash":
		gone := f.remove(k)
		for i, o := range cur {
			if slices.Contains(gone, o) {
				cur[i] = ""
			}
		}
	}
	return cur
}
