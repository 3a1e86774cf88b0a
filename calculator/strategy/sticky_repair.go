package strategy

import "github.com/parti-dev/parti/calculator/model"

// maxDonorScans bounds, per Assign call, the full scans for a donor when the
// most loaded worker has no partition that fits; each scan reads every
// partition once.
const maxDonorScans = 64

// starveLevel is the fraction of the target below which a worker that held
// partitions before the call pulls partitions from others. Workers that held
// nothing (newcomers) pull as soon as they are below (1 − Slack)·t. Topping
// up a worker that is merely under the target moves partitions between
// surviving workers without lowering the maximum load (the hard cap guards
// that), so only a starving worker does it.
const starveLevel = 0.5

// repair moves single partitions while a worker is above the hard cap, a
// newcomer is below the band or a worker is starving (see the Sticky doc).
// Each move strictly lowers the sum of squared loads, so the loop
// terminates; the iteration bound is a safety net only.
func (s *Sticky) repair(parts []model.Partition) {
	nw := len(s.load)
	scans := maxDonorScans
	capacity := s.hardCap + s.tol
	for range 2*len(parts) + 2*nw + 64 {
		// The target is the average load of the workers that hold no
		// oversized partition; there is always at least one of them.
		held, holders := 0.0, 0
		// b: least loaded; bFresh: least loaded of the workers that held
		// nothing before this call; a: most loaded that can give.
		b, bFresh, a := int32(0), int32(-1), int32(-1)
		for o := range int32(nw) {
			if s.gcount[o] > 0 {
				held += s.load[o]
				holders++
			}
			if s.load[o] < s.load[b] {
				b = o
			}
			if s.fresh[o] && (bFresh < 0 || s.load[o] < s.load[bFresh]) {
				bFresh = o
			}
			if s.count[o] >= 2 && (a < 0 || s.load[o] > s.load[a]) {
				a = o
			}
		}
		t := max(s.total-held, 0) / float64(nw-holders)
		lo, hi := (1-s.opts.Slack)*t, (1+s.opts.Slack)*t
		if a < 0 {
			return
		}
		recv, donor, p := b, int32(-1), int32(-1)
		if s.load[a] > capacity {
			if a != b {
				donor, p = a, s.overPick(parts, a, b, t, hi)
			}
		} else {
			// Fill newcomers first, then a starving worker.
			if bFresh >= 0 && s.load[bFresh] < lo-s.tol {
				recv = bFresh
				donor, p = s.underPick(parts, a, recv, lo, hi, &scans)
			}
			if p < 0 && s.load[b] < starveLevel*t-s.tol {
				recv = b
				donor, p = s.underPick(parts, a, recv, lo, hi, &scans)
			}
		}
		if p < 0 || !(s.load[recv]+parts[p].Weight < s.load[donor]-s.tol) {
			return // no move narrows the gap
		}
		s.detach(parts, p)
		s.attach(parts, p, recv)
	}
}

// overPick chooses the partition the overloaded worker a gives to the
// least-loaded worker b: one that fits b's room up to the top of the band
// (see shedPick), else a's lightest.
func (s *Sticky) overPick(parts []model.Partition, a, b int32, t, hi float64) int32 {
	floor := t
	if s.gcount[a] > 0 {
		floor = s.gsum[a]
	}
	if p := s.shedPick(parts, a, s.load[a]-s.hardCap, hi-s.load[b]+s.tol, floor, false); p >= 0 {
		return p
	}
	return s.lightest(parts, a)
}

// underPick chooses a donor and partition for the underloaded worker b: the
// heaviest partition of the most loaded worker a that fits b's room and
// keeps a at its floor, else (within the scan budget) the same from the
// most loaded worker that has one. (−1, −1) when there is none.
func (s *Sticky) underPick(parts []model.Partition, a, b int32, lo, hi float64, scans *int) (int32, int32) {
	if a == b {
		return -1, -1
	}
	room := hi - s.load[b] + s.tol
	if p := s.heaviestFit(parts, a, min(room, s.load[a]-s.floorOf(a, lo)+s.tol)); p >= 0 {
		return a, p
	}
	if *scans <= 0 {
		return -1, -1
	}
	*scans--
	return s.bestDonor(parts, b, room, lo)
}

// shedPick chooses what an overloaded worker o gives to a receiver with
// room: the lightest partition that alone brings it back under the cap
// (weight ≥ excess) while it keeps at least floor, else the heaviest lighter
// than the excess, as progress. With skipMoved, partitions already moved in
// this call are not candidates. −1 when nothing fits the room.
func (s *Sticky) shedPick(parts []model.Partition, o int32, excess, room, floor float64, skipMoved bool) int32 {
	fix, step := int32(-1), int32(-1)
	for p := s.head[o]; p >= 0; p = s.next[p] {
		w := parts[p].Weight
		if w > room || (skipMoved && s.moved[p]) {
			continue
		}
		if w >= excess-s.tol {
			if s.load[o]-w >= floor-s.tol && (fix < 0 || w < parts[fix].Weight || (w == parts[fix].Weight && p < fix)) {
				fix = p
			}
			continue
		}
		if step < 0 || w > parts[step].Weight || (w == parts[step].Weight && p < step) {
			step = p
		}
	}
	if fix >= 0 {
		return fix
	}
	return step
}

// floorOf is the load worker o keeps when it gives partitions to an
// underloaded worker: the bottom of the band, or for a worker holding
// oversized partitions, those partitions.
func (s *Sticky) floorOf(o int32, lo float64) float64 {
	if s.gcount[o] == 0 {
		return lo
	}
	return s.gsum[o]
}

// bestDonor finds, for the underloaded worker b, the most loaded worker
// (ties: lowest index) with a partition it can give without dropping below
// its floor and that fits b's room; it returns (−1, −1) when there is none.
func (s *Sticky) bestDonor(parts []model.Partition, b int32, room, lo float64) (int32, int32) {
	best, bestP := int32(-1), int32(-1)
	for o := range int32(len(s.load)) {
		if o == b || s.count[o] < 2 || (best >= 0 && s.load[o] <= s.load[best]) {
			continue
		}
		if p := s.heaviestFit(parts, o, min(room, s.load[o]-s.floorOf(o, lo)+s.tol)); p >= 0 {
			best, bestP = o, p
		}
	}
	return best, bestP
}
