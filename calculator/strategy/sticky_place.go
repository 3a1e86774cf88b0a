package strategy

import (
	"cmp"
	"slices"

	"github.com/parti-dev/parti/calculator/model"
)

// place puts the pool on the least-loaded workers, heaviest partition first,
// ties by key hash then index: longest-processing-time-first list
// scheduling, seeded by hash so that equal weights spread evenly.
//
// A partition too heavy for the least-loaded worker's headroom pushes it
// over the hard cap; that worker then at once gives back kept partitions
// (the fewest that bring it under the cap, each small enough for the
// current least-loaded worker), which join the queue and fill the holes the
// remaining orphans would otherwise fill. Doing this during placement, not
// after it, lets the evicted partitions be large and few.
func (s *Sticky) place(parts []model.Partition) {
	if len(s.pool) == 0 {
		return
	}
	for _, p := range s.pool {
		s.hashes[p] = hashKey(parts[p].Key)
		s.moved[p] = true
	}
	slices.SortFunc(s.pool, func(a, b int32) int { return s.order(parts, a, b) })
	s.heap = resize(s.heap, len(s.load))
	for i := range s.heap {
		s.heap[i] = int32(i)
	}
	s.heapify()
	searches := maxHostSearches
	next := 0
	for next < len(s.pool) || len(s.extra) > 0 {
		var p int32
		if len(s.extra) > 0 && (next == len(s.pool) || s.order(parts, s.extra[0], s.pool[next]) < 0) {
			p = s.popExtra(parts)
		} else {
			p = s.pool[next]
			next++
		}
		o := s.heap[0]
		if s.load[o]+parts[p].Weight > s.hardCap+s.tol && searches > 0 {
			searches--
			o = s.host(parts, p)
		}
		s.attach(parts, p, o)
		if o == s.heap[0] {
			s.siftDown(0)
		} else {
			s.heapify()
		}
		if s.load[o] > s.hardCap+s.tol && s.evict(parts, o) {
			s.heapify()
		}
	}
	s.pool = s.pool[:0]
}

// maxHostSearches bounds, per Assign call, the searches for a host that can
// take a partition too heavy for the least-loaded worker; each search reads
// every partition once. Past it, such partitions go to the least loaded.
const maxHostSearches = 64

// hostLookahead is the most evictions a host search considers per worker.
const hostLookahead = 3

// host picks the worker for queued partition p, which would push even the
// least-loaded worker over the hard cap: the one that needs the fewest
// evictions (its heaviest kept partitions that each fit the least-loaded
// worker's headroom, at most hostLookahead) to take p, ties by load then
// index; the least-loaded worker when none does within the lookahead.
func (s *Sticky) host(parts []model.Partition, p int32) int32 {
	m := s.heap[0]
	room := s.hardCap - s.load[m] + s.tol
	nw := len(s.load)
	s.top = resize(s.top, hostLookahead*nw)
	for i := range s.top {
		s.top[i] = -1
	}
	for q := range int32(len(parts)) {
		o := s.owner[q]
		if o < 0 || s.moved[q] || parts[q].Weight > room {
			continue
		}
		// Insert q into o's top list, heaviest first (ties: lower index).
		top := s.top[int(o)*hostLookahead : int(o+1)*hostLookahead]
		for i := range top {
			if top[i] < 0 || parts[q].Weight > parts[top[i]].Weight {
				copy(top[i+1:], top[i:len(top)-1])
				top[i] = q
				break
			}
		}
	}
	best, bestK := m, hostLookahead+1
	w := parts[p].Weight
	for o := range int32(nw) {
		excess := s.load[o] + w - s.hardCap - s.tol
		k, shed := 0, 0.0
		for _, q := range s.top[int(o)*hostLookahead : int(o+1)*hostLookahead] {
			if q < 0 || shed >= excess {
				break
			}
			shed += parts[q].Weight
			k++
		}
		if shed < excess {
			continue
		}
		if k < bestK || (k == bestK && s.lighter(o, best)) {
			best, bestK = o, k
		}
	}
	return best
}

// order sorts the placement queue: heaviest first, then by key hash, then
// by index.
func (s *Sticky) order(parts []model.Partition, a, b int32) int {
	if c := cmp.Compare(parts[b].Weight, parts[a].Weight); c != 0 {
		return c
	}
	if c := cmp.Compare(s.hashes[a], s.hashes[b]); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// evict hands partitions that worker o kept to the placement queue until it
// is back under the hard cap; it reports whether any left. A partition
// moves at most once per call, which bounds the chain of evictions.
func (s *Sticky) evict(parts []model.Partition, o int32) bool {
	evicted := false
	for s.load[o] > s.hardCap+s.tol && s.count[o] >= 2 {
		m := s.heap[0]
		if m == o {
			break
		}
		q := s.shedPick(parts, o, s.load[o]-s.hardCap, s.hardCap-s.load[m]+s.tol, s.tStatic, true)
		if q < 0 {
			break
		}
		s.detach(parts, q)
		s.moved[q] = true
		s.hashes[q] = hashKey(parts[q].Key)
		s.pushExtra(parts, q)
		evicted = true
	}
	return evicted
}

// pushExtra adds p to the max-heap of evicted partitions.
func (s *Sticky) pushExtra(parts []model.Partition, p int32) {
	s.extra = append(s.extra, p)
	h := s.extra
	for i := len(h) - 1; i > 0; {
		up := (i - 1) / 2
		if s.order(parts, h[i], h[up]) >= 0 {
			break
		}
		h[i], h[up] = h[up], h[i]
		i = up
	}
}

// popExtra removes and returns the first evicted partition in queue order.
func (s *Sticky) popExtra(parts []model.Partition) int32 {
	h := s.extra
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	s.extra = h
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && s.order(parts, h[r], h[l]) < 0 {
			m = r
		}
		if s.order(parts, h[m], h[i]) >= 0 {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top
}

// lighter orders workers by (load, index) for the placement heap.
func (s *Sticky) lighter(a, b int32) bool {
	return s.load[a] < s.load[b] || (s.load[a] == s.load[b] && a < b)
}

// heapify restores the worker min-heap after arbitrary load changes.
func (s *Sticky) heapify() {
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.siftDown(i)
	}
}

func (s *Sticky) siftDown(i int) {
	h := s.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && s.lighter(h[r], h[l]) {
			m = r
		}
		if !s.lighter(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
