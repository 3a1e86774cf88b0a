package strategy

import "github.com/parti-dev/parti/calculator/model"

// maxDonorScans bounds, per Assign call, the full scans for a donor when the
// most loaded worker has no partition that fits; each scan reads every
// partition once.
const maxDonorScans = 64

// repair moves single partitions until no worker exceeds its cap and the
// least-loaded worker is within the band, or no move narrows the gap (see
// the Sticky doc). Each move strictly lowers the sum of squared loads, so the
// loop terminates; the iteration bound is a safety net only.
func (s *Sticky) repair(parts []model.Partition) {
	nw := len(s.load)
	scans := maxDonorScans
	for range 2*len(parts) + 2*nw + 64 {
		// The target is the average load of the workers that hold no
		// oversized partition; there is always at least one of them.
		held, holders := 0.0, 0
		for o := range nw {
			if s.gcount[o] > 0 {
				held += s.load[o]
				holders++
			}
		}
		t := max(s.total-held, 0) / float64(nw-holders)
		lo, hi, pureCap := (1-s.opts.Slack)*t, (1+s.opts.Slack)*t, (1+s.opts.Overload)*t

		// b: least loaded. aMax: most loaded of those that can give.
		// aOver: the one furthest above its own cap.
		b, aMax, aOver := int32(0), int32(-1), int32(-1)
		worst := s.tol
		for o := range int32(nw) {
			if s.load[o] < s.load[b] {
				b = o
			}
			if s.count[o] < 2 {
				continue
			}
			if aMax < 0 || s.load[o] > s.load[aMax] {
				aMax = o
			}
			if ex := s.load[o] - s.capOf(o, pureCap); ex > worst {
				worst, aOver = ex, o
			}
		}
		under := s.load[b] < lo-s.tol
		donor := aOver
		if donor < 0 {
			if !under || aMax < 0 {
				return
			}
			donor = aMax
		}
		if donor == b {
			return
		}
		room := hi - s.load[b] + s.tol
		p := s.heaviestFit(parts, donor, min(room, s.load[donor]-s.floorOf(donor, lo)+s.tol))
		if p < 0 && under && scans > 0 {
			scans--
			donor, p = s.bestDonor(parts, b, room, lo)
		}
		if p < 0 && aOver >= 0 {
			donor = aOver
			p = s.lightest(parts, donor)
		}
		if p < 0 || !(s.load[b]+parts[p].Weight < s.load[donor]-s.tol) {
			return // no move narrows the gap
		}
		s.detach(parts, p)
		s.attach(parts, p, b)
	}
}

// capOf is the load above which worker o must give partitions away: the
// pure cap, plus the oversized partitions it holds, within the hard cap.
func (s *Sticky) capOf(o int32, pureCap float64) float64 {
	if s.gcount[o] == 0 {
		return pureCap
	}
	return min(s.hardCap, s.gsum[o]+pureCap)
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
