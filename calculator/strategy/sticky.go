package strategy

import (
	"cmp"
	"slices"

	"github.com/parti-dev/parti/calculator/model"
)

// StickyOptions tunes the sticky strategy. Start from DefaultStickyOptions.
type StickyOptions struct {
	// Slack is the half-width of the band around the target load t (the
	// average load of the workers that hold no oversized partition): a
	// worker that held nothing before the call (a newcomer) pulls
	// partitions while it is below (1−Slack)·t, and a receiver is filled
	// up to (1+Slack)·t. Values outside (0, 0.5] mean the default, 0.03.
	Slack float64
	// Overload sets the hard cap: no worker holding two or more partitions
	// stays above (1+Overload)·max(average load, heaviest partition), so
	// the balance max/avg stays within (1+Overload) of its lower bound
	// whenever the partitions are fine enough to allow it. It is raised to
	// Slack when smaller; values outside (0, 0.5] mean the default, 0.04.
	Overload float64
}

// DefaultStickyOptions returns the options New("sticky") uses: Slack 0.03,
// Overload 0.04.
func DefaultStickyOptions() StickyOptions {
	return StickyOptions{Slack: 0.03, Overload: 0.04}
}

func (o StickyOptions) normalized() StickyOptions {
	d := DefaultStickyOptions()
	if !(o.Slack > 0 && o.Slack <= 0.5) {
		o.Slack = d.Slack
	}
	if !(o.Overload > 0 && o.Overload <= 0.5) {
		o.Overload = d.Overload
	}
	o.Overload = max(o.Overload, o.Slack)
	return o
}

// Sticky keeps every partition with its current owner unless that owner is
// gone or the balance requires a move, so joins, leaves and crashes move
// little more than the partitions that must move. It is the default.
//
// One call runs these phases, all deterministic:
//
//  1. keep: a partition whose current owner is in workers stays; the others
//     (orphans) are queued.
//  2. shed: a worker grossly overloaded (above both the hard cap and
//     average + heaviest partition, e.g. it held everything before others
//     joined) queues its heaviest partitions until it is back near the
//     target. A stable assignment never triggers this.
//  3. place: the queue is placed heaviest first (ties by key hash, then
//     key) on the least-loaded worker (ties by worker order): LPT list
//     scheduling, seeded by hash. With no current assignment this is the
//     whole initial placement. A partition that would push even the
//     least-loaded worker over the hard cap goes to the worker that can
//     make room with the fewest evictions, and the evicted partitions
//     rejoin the queue.
//  4. repair: one partition at a time moves to the least-loaded worker
//     from the most loaded one, while the latter is above the hard cap
//     (it gives the lightest partition that alone brings it under, else
//     the heaviest that fits), or while a newcomer is below (1−Slack)·t or
//     any worker is starving below t/2 (the receiver gets the heaviest
//     partition that fits its room without dropping the donor below the
//     band). A worker that is merely under the target is not topped up:
//     that would move partitions between surviving workers without
//     lowering the maximum load. Every move must narrow the gap between
//     the two workers, so the sum of squared loads falls and the loop ends.
//
// Partitions heavier than the fair share ("oversized": taking the heaviest
// first, each heavier than the average of the weight left over the workers
// left) are expected to sit alone, and the target t is the average load of
// the workers holding none of them. With heavy-tailed weights (a lower
// bound above 1) the hard cap is loose, so orphans of a crash land without
// evicting anything.
//
// Scratch buffers live in the Sticky value and are reused: once they have
// grown, a call allocates nothing, and its cost beyond a few passes over
// the partitions grows with the workers and the moves.
type Sticky struct {
	opts StickyOptions

	index  map[string]int32 // worker ID → index in workers
	owner  []int32          // partition → worker, −1 while in the pool
	next   []int32          // partition → next partition of the same worker, −1 at the end
	prev   []int32          // partition → previous partition of the same worker, −1 at the head
	giant  []bool           // partition → oversized
	hashes []uint64         // partition → key hash (valid for pool entries)
	head   []int32          // worker → first partition, −1 if none
	count  []int32          // worker → partitions held
	load   []float64        // worker → weight held
	gcount []int32          // worker → oversized partitions held
	gsum   []float64        // worker → weight of oversized partitions held
	fresh  []bool           // worker → held no partition in current
	moved  []bool           // partition → orphaned or evicted in this call
	extra  []int32          // evicted partitions waiting for placement, a max-heap
	pool   []int32          // partitions waiting for placement
	heap   []int32          // workers as a min-heap by (load, index)
	tmp    []int32          // scratch list of partitions
	top    []int32          // per worker, its heaviest evictable partitions (host search)

	total, avg, wmax float64 // per call
	tStatic, hardCap float64 // per call: target if oversized partitions sit alone; cap for any worker
	tol              float64 // per call: rounding tolerance on loads
}

// NewSticky returns a sticky strategy with the given options (invalid fields
// take their defaults).
func NewSticky(opts StickyOptions) *Sticky {
	return &Sticky{opts: opts.normalized()}
}

// Name returns "sticky".
func (*Sticky) Name() string { return "sticky" }

// Options returns the options in use, after defaults were applied.
func (s *Sticky) Options() StickyOptions { return s.opts }

// Assign implements Strategy.
func (s *Sticky) Assign(dst []string, parts []model.Partition, workers []string, current []string) []string {
	n := len(parts)
	dst = resize(dst, n)
	if len(workers) == 0 {
		clear(dst)
		return dst
	}
	if n == 0 {
		return dst
	}
	s.prepare(n, workers)
	s.keep(parts, current)
	s.findGiants(parts)
	s.shed(parts)
	s.place(parts)
	s.repair(parts)
	for i, o := range s.owner[:n] {
		dst[i] = workers[o]
	}
	return dst
}

// prepare sizes and resets the scratch state for n partitions and workers.
func (s *Sticky) prepare(n int, workers []string) {
	if s.index == nil {
		s.index = make(map[string]int32, len(workers))
	} else {
		clear(s.index)
	}
	for i, w := range workers {
		s.index[w] = int32(i)
	}
	s.owner = resize(s.owner, n)
	s.next = resize(s.next, n)
	s.prev = resize(s.prev, n)
	s.giant = resize(s.giant, n)
	clear(s.giant)
	s.moved = resize(s.moved, n)
	clear(s.moved)
	s.hashes = resize(s.hashes, n)
	nw := len(workers)
	s.head = resize(s.head, nw)
	for i := range s.head {
		s.head[i] = -1
	}
	s.count = resize(s.count, nw)
	clear(s.count)
	s.load = resize(s.load, nw)
	clear(s.load)
	s.gcount = resize(s.gcount, nw)
	clear(s.gcount)
	s.gsum = resize(s.gsum, nw)
	clear(s.gsum)
	s.fresh = resize(s.fresh, nw)
	s.pool = s.pool[:0]
	s.extra = s.extra[:0]
}

// keep attaches every partition whose current owner is live and pools the
// rest; it also sums the weights.
func (s *Sticky) keep(parts []model.Partition, current []string) {
	s.total, s.wmax = 0, 0
	for i := range parts {
		w := parts[i].Weight
		s.total += w
		s.wmax = max(s.wmax, w)
		s.owner[i] = -1
		if i < len(current) && current[i] != "" {
			if o, ok := s.index[current[i]]; ok {
				s.attach(parts, int32(i), o)
				continue
			}
		}
		s.pool = append(s.pool, int32(i))
	}
	for o, c := range s.count {
		s.fresh[o] = c == 0
	}
	s.avg = s.total / float64(len(s.load))
	s.tol = s.avg * 1e-9
	s.hardCap = (1 + s.opts.Overload) * max(s.avg, s.wmax)
}

// findGiants marks the oversized partitions: taking partitions heaviest
// first (ties by index), each one heavier than the average of the weight
// left over the workers left, while at least one worker remains for the
// rest. tStatic becomes that remaining average. Oversized partitions are
// heavier than the average, so there are fewer than workers of them; the
// scan repeats with a lower threshold only when every candidate qualified.
func (s *Sticky) findGiants(parts []model.Partition) {
	nw := len(s.load)
	theta := s.avg
	rest, k := s.total, 0
	for range 64 {
		s.tmp = s.tmp[:0]
		for i := range parts {
			if parts[i].Weight > theta {
				s.tmp = append(s.tmp, int32(i))
			}
		}
		slices.SortFunc(s.tmp, func(a, b int32) int {
			if c := cmp.Compare(parts[b].Weight, parts[a].Weight); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		rest, k = s.total, 0
		for _, p := range s.tmp {
			if k >= nw-1 || parts[p].Weight <= rest/float64(nw-k) {
				break
			}
			rest -= parts[p].Weight
			k++
		}
		t := max(rest, 0) / float64(nw-k)
		if k < len(s.tmp) || k >= nw-1 || t >= theta {
			break
		}
		theta = t
	}
	s.tStatic = max(rest, 0) / float64(nw-k)
	for _, p := range s.tmp[:k] {
		s.giant[p] = true
		if o := s.owner[p]; o >= 0 {
			s.gcount[o]++
			s.gsum[o] += parts[p].Weight
		}
	}
}

// shed moves partitions of grossly overloaded workers to the pool: heaviest
// first, each only if the worker keeps at least the static target, until it
// is within (1+Slack) of it. The threshold is above anything the repair
// phase leaves behind, so a stable assignment is never shed.
func (s *Sticky) shed(parts []model.Partition) {
	above := max(s.hardCap, s.avg+s.wmax) + s.tol
	keepAtLeast := s.tStatic - s.tol
	fillTo := (1+s.opts.Slack)*s.tStatic + s.tol
	for o := range s.load {
		if s.count[o] < 2 || s.load[o] <= above {
			continue
		}
		s.tmp = s.tmp[:0]
		for p := s.head[o]; p >= 0; p = s.next[p] {
			s.tmp = append(s.tmp, p)
		}
		slices.SortFunc(s.tmp, func(a, b int32) int {
			if c := cmp.Compare(parts[b].Weight, parts[a].Weight); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for _, p := range s.tmp {
			if s.load[o] <= fillTo || s.count[o] < 2 {
				break
			}
			if s.load[o]-parts[p].Weight >= keepAtLeast {
				s.detach(parts, p)
				s.pool = append(s.pool, p)
			}
		}
	}
}

// attach gives partition p to worker o.
func (s *Sticky) attach(parts []model.Partition, p, o int32) {
	s.owner[p] = o
	s.prev[p] = -1
	s.next[p] = s.head[o]
	if s.head[o] >= 0 {
		s.prev[s.head[o]] = p
	}
	s.head[o] = p
	s.count[o]++
	s.load[o] += parts[p].Weight
	if s.giant[p] {
		s.gcount[o]++
		s.gsum[o] += parts[p].Weight
	}
}

// detach takes partition p away from its owner.
func (s *Sticky) detach(parts []model.Partition, p int32) {
	o := s.owner[p]
	if s.prev[p] >= 0 {
		s.next[s.prev[p]] = s.next[p]
	} else {
		s.head[o] = s.next[p]
	}
	if s.next[p] >= 0 {
		s.prev[s.next[p]] = s.prev[p]
	}
	s.owner[p] = -1
	s.count[o]--
	if s.count[o] == 0 {
		s.load[o] = 0 // no rounding residue on an empty worker
	} else {
		s.load[o] -= parts[p].Weight
	}
	if s.giant[p] {
		s.gcount[o]--
		s.gsum[o] -= parts[p].Weight
		if s.gcount[o] == 0 {
			s.gsum[o] = 0
		}
	}
}

// heaviestFit returns the heaviest partition of worker o weighing at most
// limit (ties: lowest index), or −1.
func (s *Sticky) heaviestFit(parts []model.Partition, o int32, limit float64) int32 {
	best := int32(-1)
	for p := s.head[o]; p >= 0; p = s.next[p] {
		w := parts[p].Weight
		if w > limit {
			continue
		}
		if best < 0 || w > parts[best].Weight || (w == parts[best].Weight && p < best) {
			best = p
		}
	}
	return best
}

// lightest returns the lightest partition of worker o (ties: lowest index),
// or −1 when it holds none.
func (s *Sticky) lightest(parts []model.Partition, o int32) int32 {
	best := int32(-1)
	for p := s.head[o]; p >= 0; p = s.next[p] {
		w := parts[p].Weight
		if best < 0 || w < parts[best].Weight || (w == parts[best].Weight && p < best) {
			best = p
		}
	}
	return best
}
