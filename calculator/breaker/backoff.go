package breaker

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidConfig is wrapped by every error returned by Backoff.Validate
// and Config.Validate.
var ErrInvalidConfig = errors.New("breaker: invalid configuration")

// Backoff computes capped exponential retry delays with jitter.
//
// The delay before retry number attempt (1 for the first retry) is
//
//	base  = min(Max, Initial * Multiplier^(attempt-1))
//	delay = base * (1 - Jitter*r)
//
// where r is drawn from [0, 1). Jitter only ever shortens a delay, so a
// delay never exceeds Max, and with Jitter ≤ 1 it is never negative.
type Backoff struct {
	// Initial is the delay before the first retry. Must be positive.
	Initial time.Duration
	// Max caps every delay. Must be at least Initial.
	Max time.Duration
	// Multiplier is the growth factor between consecutive delays. Must be
	// at least 1.
	Multiplier float64
	// Jitter is the fraction of each delay that is randomised, in [0, 1]:
	// 0 gives exact delays, 0.2 gives delays in (0.8*base, base].
	Jitter float64
}

// DefaultBackoff returns the default retry schedule: 100ms doubling up to
// 10s, with 20 % jitter.
func DefaultBackoff() Backoff {
	return Backoff{
		Initial:    100 * time.Millisecond,
		Max:        10 * time.Second,
		Multiplier: 2,
		Jitter:     0.2,
	}
}

// Validate reports every invalid field of b in one error wrapping
// ErrInvalidConfig, or nil if b is usable.
func (b Backoff) Validate() error {
	var errs []error
	if b.Initial <= 0 {
		errs = append(errs, fmt.Errorf("%w: Backoff.Initial must be positive, got %s", ErrInvalidConfig, b.Initial))
	}
	if b.Max < b.Initial {
		errs = append(errs, fmt.Errorf("%w: Backoff.Max (%s) must not be less than Backoff.Initial (%s)",
			ErrInvalidConfig, b.Max, b.Initial))
	}
	if !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 0) { // also rejects NaN
		errs = append(errs, fmt.Errorf("%w: Backoff.Multiplier must be a finite number >= 1, got %v",
			ErrInvalidConfig, b.Multiplier))
	}
	if !(b.Jitter >= 0 && b.Jitter <= 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("%w: Backoff.Jitter must be within [0, 1], got %v", ErrInvalidConfig, b.Jitter))
	}
	return errors.Join(errs...)
}

// Delay returns the delay before retry number attempt; attempts below 1
// count as 1. rnd supplies the jitter draw in [0, 1) (for example
// rand.Float64); a nil rnd means no jitter, and a draw outside [0, 1) is
// clamped into it. Growth is computed in floating point and capped before
// converting back, so a huge attempt number yields Max instead of
// overflowing. b should pass Validate; even when it does not, the result is
// never negative.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	attempt = max(attempt, 1)
	limit := float64(b.Max)
	base := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempt-1))
	if !(base < limit) { // also catches +Inf and NaN
		base = limit
	}
	d := base
	if rnd != nil && b.Jitter > 0 {
		r := rnd()
		switch {
		case !(r >= 0): // also NaN
			r = 0
		case r >= 1:
			r = math.Nextafter(1, 0)
		}
		d = base * (1 - min(b.Jitter, 1)*r)
	}
	if !(d > 0) {
		return 0
	}
	if d >= limit {
		// Return Max itself: float64(Max) may round up past the int64
		// range, and converting that back would overflow.
		return b.Max
	}
	return time.Duration(d)
}
