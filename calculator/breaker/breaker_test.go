package breaker

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

type transition struct{ from, to State }

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", Closed.String())
	assert.Equal(t, "open", Open.String())
	assert.Equal(t, "half-open", HalfOpen.String())
	assert.Equal(t, "State(7)", State(7).String())
}

func TestConfig(t *testing.T) {
	def := DefaultConfig()
	assert.Equal(t, DefaultFailureThreshold, def.FailureThreshold)
	assert.Equal(t, DefaultOpenTimeout, def.OpenTimeout)
	require.NoError(t, def.Validate())
	require.NoError(t, Config{}.Validate(), "zero values select defaults")

	err := Config{FailureThreshold: -1}.Validate()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Config.FailureThreshold")

	err = Config{FailureThreshold: -1, OpenTimeout: -time.Second}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.FailureThreshold")
	assert.Contains(t, err.Error(), "Config.OpenTimeout")
}

func TestNewAppliesDefaults(t *testing.T) {
	b := New(Config{FailureThreshold: -3})
	for i := range DefaultFailureThreshold - 1 {
		b.Failure(at(time.Duration(i)))
	}
	assert.Equal(t, Closed, b.State(t0))
	b.Failure(t0)
	assert.Equal(t, Open, b.State(t0))
	assert.Equal(t, t0.Add(DefaultOpenTimeout), b.Snapshot(t0).NextRetry)
}

// TestFullCycle walks closed → open → half-open → open → half-open →
// closed and checks every observable on the way.
func TestFullCycle(t *testing.T) {
	var changes []transition
	b := New(Config{FailureThreshold: 3, OpenTimeout: 10 * time.Second,
		OnStateChange: func(from, to State) { changes = append(changes, transition{from, to}) }})

	assert.Equal(t, Snapshot{State: Closed}, b.Snapshot(t0), "a new breaker")

	// Failures below the threshold, interrupted by a success.
	b.Failure(at(1 * time.Second))
	b.Failure(at(2 * time.Second))
	assert.Equal(t, 2, b.Snapshot(at(2*time.Second)).ConsecutiveFailures)
	b.Success(at(3 * time.Second))
	assert.Zero(t, b.Snapshot(at(3*time.Second)).ConsecutiveFailures, "success resets the count")

	// Three consecutive failures open it.
	for i := 4; i <= 6; i++ {
		require.True(t, b.Allow(at(time.Duration(i)*time.Second)))
		b.Failure(at(time.Duration(i) * time.Second))
	}
	openedAt := at(6 * time.Second)
	assert.Equal(t, Snapshot{
		State:               Open,
		ConsecutiveFailures: 3,
		Opens:               1,
		OpenedAt:            openedAt,
		NextRetry:           openedAt.Add(10 * time.Second),
		LastChange:          openedAt,
	}, b.Snapshot(openedAt))
	assert.Equal(t, []transition{{Closed, Open}}, changes)

	// Open rejects until the cooldown has elapsed.
	assert.False(t, b.Allow(openedAt))
	assert.False(t, b.Allow(openedAt.Add(10*time.Second-time.Nanosecond)))
	assert.Equal(t, Open, b.State(openedAt.Add(10*time.Second-time.Nanosecond)))

	// Once it has, it reports half-open but changes nothing until Allow.
	eligible := openedAt.Add(10 * time.Second)
	assert.Equal(t, HalfOpen, b.State(eligible))
	assert.Equal(t, Snapshot{
		State:               HalfOpen,
		ConsecutiveFailures: 3,
		Opens:               1,
		OpenedAt:            openedAt,
		LastChange:          eligible,
	}, b.Snapshot(eligible.Add(time.Second)))
	assert.Len(t, changes, 1)

	// One trial goes through; further calls wait for its outcome.
	trial := eligible.Add(2 * time.Second)
	require.True(t, b.Allow(trial))
	assert.False(t, b.Allow(trial))
	assert.False(t, b.Allow(trial.Add(time.Second)))
	assert.Equal(t, HalfOpen, b.State(trial))
	assert.Equal(t, trial, b.Snapshot(trial).LastChange)
	assert.Zero(t, b.Snapshot(trial).NextRetry)

	// The trial fails: open again with a fresh cooldown.
	reopened := trial.Add(500 * time.Millisecond)
	b.Failure(reopened)
	s := b.Snapshot(reopened)
	assert.Equal(t, Open, s.State)
	assert.Equal(t, uint64(2), s.Opens)
	assert.Equal(t, 4, s.ConsecutiveFailures)
	assert.Equal(t, reopened, s.OpenedAt)
	assert.Equal(t, reopened.Add(10*time.Second), s.NextRetry)
	assert.False(t, b.Allow(reopened.Add(9*time.Second)))

	// Next trial succeeds: closed, counters reset, Opens kept.
	trial2 := reopened.Add(10 * time.Second)
	require.True(t, b.Allow(trial2))
	closedAt := trial2.Add(time.Second)
	b.Success(closedAt)
	assert.Equal(t, Snapshot{State: Closed, Opens: 2, LastChange: closedAt}, b.Snapshot(closedAt))
	assert.True(t, b.Allow(closedAt))

	assert.Equal(t, []transition{
		{Closed, Open}, {Open, HalfOpen}, {HalfOpen, Open}, {Open, HalfOpen}, {HalfOpen, Closed},
	}, changes)

	// It takes a full threshold of new failures to open again.
	b.Failure(closedAt)
	b.Failure(closedAt)
	assert.Equal(t, Closed, b.State(closedAt))
	b.Failure(closedAt)
	assert.Equal(t, Open, b.State(closedAt))
	assert.Equal(t, uint64(3), b.Snapshot(closedAt).Opens)
}

func TestStaleOutcomesWhileOpenAreIgnored(t *testing.T) {
	b := New(Config{FailureThreshold: 1, OpenTimeout: time.Minute})
	b.Failure(t0)
	before := b.Snapshot(t0)
	b.Success(at(time.Second))
	b.Failure(at(2 * time.Second))
	assert.Equal(t, before, b.Snapshot(t0))
}

func TestLostTrialIsRegranted(t *testing.T) {
	b := New(Config{FailureThreshold: 1, OpenTimeout: time.Minute})
	b.Failure(t0)
	trial := at(time.Minute)
	require.True(t, b.Allow(trial))
	// The outcome never arrives.
	assert.False(t, b.Allow(trial.Add(time.Minute-time.Nanosecond)))
	require.True(t, b.Allow(trial.Add(time.Minute)), "a new trial after another cooldown")
	assert.False(t, b.Allow(trial.Add(time.Minute+time.Second)))
	b.Success(trial.Add(time.Minute + time.Second))
	assert.Equal(t, Closed, b.State(trial.Add(2*time.Minute)))
}

// TestConcurrentUse is a smoke test for the race detector: one goroutine
// drives the breaker like the calculator does while others read it, and
// the state-change callback calls back into the breaker.
func TestConcurrentUse(t *testing.T) {
	var b *Breaker
	var mu sync.Mutex
	changes := 0
	b = New(Config{FailureThreshold: 2, OpenTimeout: time.Second, OnStateChange: func(_, to State) {
		_ = b.Snapshot(t0) // must not deadlock
		mu.Lock()
		changes++
		mu.Unlock()
	}})

	var readers, drivers sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := b.Snapshot(at(time.Hour))
				_ = s.State.String()
				_ = b.State(t0)
			}
		})
	}
	driver := func(offset int) {
		for i := range 2000 {
			now := at(time.Duration(i) * 300 * time.Millisecond)
			if b.Allow(now) {
				if (i+offset)%3 == 0 {
					b.Success(now)
				} else {
					b.Failure(now)
				}
			}
		}
	}
	drivers.Go(func() { driver(0) })
	drivers.Go(func() { driver(1) })
	drivers.Wait()
	close(stop)
	readers.Wait()

	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, changes)
	assert.Positive(t, b.Snapshot(at(time.Hour)).Opens)
}
