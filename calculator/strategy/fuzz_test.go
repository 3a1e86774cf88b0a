package strategy

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parti-dev/parti/calculator/model"
)

// fuzzFleet builds a small fleet from fuzz bytes: up to 48 partitions with
// integer weights 1–256 (some bytes make giants), up to 10 workers, and a
// current assignment naming live workers, gone workers, or nobody.
func fuzzFleet(data []byte) (parts []model.Partition, workers, current []string) {
	at := func(i int) byte {
		if len(data) == 0 {
			return 0
		}
		return data[i%len(data)]
	}
	n := 1 + int(at(0))%48
	nw := 1 + int(at(1))%10
	for i := range nw {
		workers = append(workers, fmt.Sprintf("w%02d", i))
	}
	parts = make([]model.Partition, n)
	current = make([]string, n)
	for i := range parts {
		parts[i].Key = fmt.Sprintf("k%03d", i)
		w := float64(1 + int(at(2+2*i)))
		if at(3+2*i)%17 == 0 {
			w *= 40 // a giant
		}
		parts[i].Weight = w
		switch c := int(at(3+2*i)) % (nw + 2); {
		case c < nw:
			current[i] = workers[c]
		case c == nw:
			current[i] = "gone"
		}
	}
	if at(1)&0x80 != 0 {
		current = nil
	}
	return parts, workers, current
}

// checkInvariants asserts, for any strategy: one live owner per partition
// and determinism across fresh and reused values.
func checkInvariants(t *testing.T, name string, reused Strategy, parts []model.Partition, workers, current []string) []string {
	t.Helper()
	fresh, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	out := slices.Clone(fresh.Assign(nil, parts, workers, current))
	requireValid(t, parts, workers, out)
	requireSame(t, out, reused.Assign(nil, parts, workers, current), "%s: reused value", name)
	return out
}

var fuzzSeeds = [][]byte{
	{},
	{0, 0},
	{5, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
	{47, 9, 255, 17, 1, 34, 200, 0, 3, 3, 3, 3, 90, 51},
	{20, 0x84, 1, 1, 1, 1, 1, 1},
	{12, 11, 250, 0, 250, 17, 250, 34, 1, 1, 1, 1, 1, 2},
}

func FuzzSticky(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	reused := NewSticky(DefaultStickyOptions())
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, workers, current := fuzzFleet(data)
		out := checkInvariants(t, "sticky", reused, parts, workers, current)
		requireSame(t, out, reused.Assign(nil, parts, workers, out), "idempotent")
		// Weak balance bound that holds for any input: a worker holding
		// two or more partitions is never above both the hard cap and
		// average + heaviest partition.
		l, counts := loads(parts, workers, out)
		total, heaviest := model.TotalWeight(parts), 0.0
		for _, p := range parts {
			heaviest = max(heaviest, p.Weight)
		}
		avg := total / float64(len(workers))
		limit := max(1.04*max(avg, heaviest), avg+heaviest) * (1 + 1e-9)
		for i := range l {
			if counts[i] > 1 && l[i] > limit {
				t.Fatalf("worker %s load %v above %v (avg %v, heaviest %v)", workers[i], l[i], limit, avg, heaviest)
			}
		}
	})
}

func FuzzAssign(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), s)
	}
	names := Names()
	reused := make([]Strategy, len(names))
	for i, name := range names {
		reused[i], _ = New(name)
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		i := int(which) % len(names)
		parts, workers, current := fuzzFleet(data)
		checkInvariants(t, names[i], reused[i], parts, workers, current)
	})
}
