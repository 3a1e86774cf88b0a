package breaker

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func constRand(r float64) func() float64 { return func() float64 { return r } }

func TestBackoffDelay(t *testing.T) {
	def := DefaultBackoff()
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		rnd     func() float64
		want    time.Duration
	}{
		{"attempt 1 is Initial", def, 1, nil, 100 * time.Millisecond},
		{"attempt 0 counts as 1", def, 0, nil, 100 * time.Millisecond},
		{"negative attempt counts as 1", def, -5, nil, 100 * time.Millisecond},
		{"attempt 2 doubles", def, 2, nil, 200 * time.Millisecond},
		{"attempt 3", def, 3, nil, 400 * time.Millisecond},
		{"attempt 7 below the cap", def, 7, nil, 6400 * time.Millisecond},
		{"attempt 8 hits the cap", def, 8, nil, 10 * time.Second},
		{"attempt 50 capped", def, 50, nil, 10 * time.Second},
		{"attempt 1000 does not overflow", def, 1000, nil, 10 * time.Second},
		{"max int attempt", def, math.MaxInt, nil, 10 * time.Second},
		{"multiplier 1 is constant", Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 1}, 40, nil, time.Second},
		{"fractional multiplier", Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 1.5}, 3, nil, 2250 * time.Millisecond},
		{"jitter draw 0 keeps the base", def, 3, constRand(0), 400 * time.Millisecond},
		{"jitter draw 0.5 shortens by Jitter/2", def, 3, constRand(0.5), 360 * time.Millisecond},
		{"jitter on the cap", def, 1000, constRand(0.5), 9 * time.Second},
		{"draw of 1 is clamped below 1", Backoff{Initial: time.Second, Max: time.Second, Multiplier: 1, Jitter: 1}, 1, constRand(1), 0},
		{"negative draw is clamped to 0", def, 2, constRand(-3), 200 * time.Millisecond},
		{"NaN draw is clamped to 0", def, 2, constRand(math.NaN()), 200 * time.Millisecond},
		{"zero jitter ignores rnd", Backoff{Initial: time.Second, Max: time.Second, Multiplier: 2}, 1, constRand(0.9), time.Second},
		{"largest Max", Backoff{Initial: time.Second, Max: math.MaxInt64, Multiplier: 2}, 1000, nil, math.MaxInt64},
		{"largest Max with jitter", Backoff{Initial: time.Second, Max: math.MaxInt64, Multiplier: 10, Jitter: 0.5}, 1000, constRand(0.5), 6917529027641081856},
		{"huge multiplier", Backoff{Initial: time.Second, Max: time.Hour, Multiplier: math.MaxFloat64}, 3, nil, time.Hour},
		{"zero value never negative", Backoff{}, 5, nil, 0},
		{"negative Max never negative", Backoff{Initial: time.Second, Max: -time.Second, Multiplier: 2}, 5, nil, 0},
		{"negative Initial never negative", Backoff{Initial: -time.Second, Max: time.Second, Multiplier: 2}, 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.b.Delay(tt.attempt, tt.rnd))
		})
	}
}

func TestBackoffJitterRange(t *testing.T) {
	b := DefaultBackoff()
	rng := rand.New(rand.NewPCG(1, 2))
	for attempt := 1; attempt <= 12; attempt++ {
		base := b.Delay(attempt, nil)
		lo := time.Duration(float64(base) * (1 - b.Jitter))
		var minSeen, maxSeen time.Duration = base, 0
		for range 2000 {
			d := b.Delay(attempt, rng.Float64)
			require.Greater(t, d, lo, "attempt %d", attempt)
			require.LessOrEqual(t, d, base, "attempt %d", attempt)
			require.LessOrEqual(t, d, b.Max)
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		// The draws actually spread over the range.
		spread := float64(base) * b.Jitter
		assert.Less(t, float64(minSeen-lo), spread*0.05, "attempt %d", attempt)
		assert.Less(t, float64(base-maxSeen), spread*0.05, "attempt %d", attempt)
	}
}

func TestBackoffMonotonicWithoutJitter(t *testing.T) {
	b := DefaultBackoff()
	prev := time.Duration(0)
	for attempt := 1; attempt <= 1000; attempt++ {
		d := b.Delay(attempt, nil)
		require.GreaterOrEqual(t, d, prev, "attempt %d", attempt)
		require.LessOrEqual(t, d, b.Max)
		prev = d
	}
}

func TestBackoffValidate(t *testing.T) {
	valid := DefaultBackoff()
	with := func(f func(*Backoff)) Backoff {
		b := valid
		f(&b)
		return b
	}
	tests := []struct {
		name  string
		b     Backoff
		field []string // substrings the error must contain; none means valid
	}{
		{"default", valid, nil},
		{"no jitter", with(func(b *Backoff) { b.Jitter = 0 }), nil},
		{"full jitter", with(func(b *Backoff) { b.Jitter = 1 }), nil},
		{"Max equals Initial", with(func(b *Backoff) { b.Max = b.Initial }), nil},
		{"zero Initial", with(func(b *Backoff) { b.Initial = 0 }), []string{"Backoff.Initial"}},
		{"negative Initial", with(func(b *Backoff) { b.Initial = -time.Second }), []string{"Backoff.Initial must be positive"}},
		{"Max below Initial", with(func(b *Backoff) { b.Max = 50 * time.Millisecond }), []string{"Backoff.Max"}},
		{"Multiplier below 1", with(func(b *Backoff) { b.Multiplier = 0.5 }), []string{"Backoff.Multiplier"}},
		{"Multiplier NaN", with(func(b *Backoff) { b.Multiplier = math.NaN() }), []string{"Backoff.Multiplier"}},
		{"Multiplier Inf", with(func(b *Backoff) { b.Multiplier = math.Inf(1) }), []string{"Backoff.Multiplier"}},
		{"negative Jitter", with(func(b *Backoff) { b.Jitter = -0.1 }), []string{"Backoff.Jitter"}},
		{"Jitter above 1", with(func(b *Backoff) { b.Jitter = 1.5 }), []string{"Backoff.Jitter"}},
		{"Jitter NaN", with(func(b *Backoff) { b.Jitter = math.NaN() }), []string{"Backoff.Jitter"}},
		{"every field wrong", Backoff{Initial: -1, Max: -2, Multiplier: 0, Jitter: 2},
			[]string{"Backoff.Initial", "Backoff.Max", "Backoff.Multiplier", "Backoff.Jitter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Validate()
			if tt.field == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidConfig)
			for _, f := range tt.field {
				assert.Contains(t, err.Error(), f)
			}
		})
	}
}
