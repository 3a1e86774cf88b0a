package calculator

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator/breaker"
	"github.com/parti-dev/parti/calculator/fanout"
	"github.com/parti-dev/parti/calculator/fsm"
	"github.com/parti-dev/parti/calculator/model"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a calculator over fakes, inside a synctest bubble.
type rig struct {
	t     *testing.T
	c     *Calculator
	mem   *fakeMembership
	store *fakeStore
	parts []model.Partition
}

func testConfig() Config {
	return Config{
		Leader: "w1", Epoch: 1,
		Partitions:        demoParts(40),
		ColdStartWindow:   2 * time.Second,
		ScaleWindow:       time.Second,
		DepartureDebounce: 50 * time.Millisecond,
		RestartGrace:      30 * time.Second,
		Cooldown:          3 * time.Second,
		Backoff:           breaker.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2},
		Breaker:           breaker.Config{FailureThreshold: 3, OpenTimeout: 5 * time.Second},
	}
}

func newRig(t *testing.T, cfg Config, store *fakeStore) *rig {
	t.Helper()
	if store == nil {
		store = newFakeStore()
	}
	mem := newFakeMembership()
	c, err := New(cfg, mem, store)
	require.NoError(t, err)
	r := &rig{t: t, c: c, mem: mem, store: store, parts: c.cfg.Partitions}
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() { c.Stop(); mem.wg.Wait() })
	synctest.Wait()
	return r
}

// advance moves the bubble's clock by d and lets every goroutine settle.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// coldStart brings a rig with workers to its first published version.
func (r *rig) coldStart(workers ...string) {
	r.mem.join(workers...)
	r.mem.synced()
	synctest.Wait()
	advance(r.c.cfg.ColdStartWindow)
	require.Equal(r.t, 1, r.store.commitCount(), "one publish after the cold-start window")
	require.Equal(r.t, fsm.Idle, r.c.Status().State)
}

func TestColdStartPublishesExactlyOnceAfterWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		assert.Equal(t, fsm.ColdStart, r.c.Status().State)
		r.mem.join("w1", "w2")
		r.mem.synced()
		synctest.Wait()
		advance(time.Second)
		r.mem.join("w3") // joins inside the window are batched
		synctest.Wait()
		advance(time.Second - time.Millisecond)
		assert.Zero(t, r.store.commitCount(), "nothing before the window ends")
		advance(time.Millisecond)
		require.Equal(t, 1, r.store.commitCount())
		c := r.store.lastCommit()
		assert.Equal(t, uint64(1), c.Version)
		assert.Equal(t, uint64(1), c.Epoch)
		assert.Equal(t, []string{"w1", "w2", "w3"}, c.Workers)
		assert.Equal(t, 40, c.Partitions)
		requireCoverage(t, r.store, r.parts, "w1", "w2", "w3")
		advance(time.Minute)
		assert.Equal(t, 1, r.store.commitCount(), "exactly one publish")
		h := r.c.History()
		require.Len(t, h, 1)
		assert.Equal(t, "cold-start", h[0].Trigger)
		assert.Equal(t, ResultPublished, h[0].Result)
		assert.Equal(t, 40, h[0].Moved)
	})
}

func TestColdStartWaitsForMembersAndSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		advance(10 * time.Second)
		assert.Zero(t, r.store.commitCount(), "no members, no publish")
		assert.Equal(t, fsm.ColdStart, r.c.Status().State)
		r.mem.join("w1")
		synctest.Wait()
		assert.Zero(t, r.store.commitCount(), "not synced yet")
		r.mem.synced()
		synctest.Wait()
		assert.Equal(t, 1, r.store.commitCount(), "first member after the window publishes at once")
		requireCoverage(t, r.store, r.parts, "w1")
	})
}

func TestJoinWaitsForScaleWindowAndCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2")
		// Cooldown (3s) is longer than the scale window (1s): a join right
		// after the first publish waits for the cooldown.
		r.mem.join("w3")
		synctest.Wait()
		st := r.c.Status()
		assert.Equal(t, fsm.ScalingWindow, st.State)
		assert.Equal(t, "join", st.Pending)
		advance(3*time.Second - time.Millisecond)
		assert.Equal(t, 1, r.store.commitCount(), "held by the cooldown")
		advance(time.Millisecond)
		assert.Equal(t, 2, r.store.commitCount())
		requireCoverage(t, r.store, r.parts, "w1", "w2", "w3")
		// Long after the cooldown, a join waits exactly the scale window.
		advance(10 * time.Second)
		r.mem.join("w4")
		synctest.Wait()
		advance(time.Second - time.Millisecond)
		assert.Equal(t, 2, r.store.commitCount())
		advance(time.Millisecond)
		assert.Equal(t, 3, r.store.commitCount())
		assert.Equal(t, uint64(3), r.store.lastCommit().Version)
	})
}

func TestScaleWindowIsNotExtendedByLaterEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1")
		advance(10 * time.Second)
		r.mem.join("w2")
		synctest.Wait()
		advance(900 * time.Millisecond)
		r.mem.join("w3")
		synctest.Wait()
		advance(100 * time.Millisecond)
		require.Equal(t, 2, r.store.commitCount(), "window measured from the first change")
		requireCoverage(t, r.store, r.parts, "w1", "w2", "w3")
	})
}

func TestCrashTakesEmergencyPathAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2", "w3")
		r.mem.expire("w2")
		synctest.Wait()
		assert.Equal(t, fsm.Emergency, r.c.Status().State)
		advance(50 * time.Millisecond) // debounce only; cooldown bypassed
		require.Equal(t, 2, r.store.commitCount())
		requireCoverage(t, r.store, r.parts, "w1", "w3")
		h := r.c.History()
		assert.Equal(t, "emergency", h[len(h)-1].Trigger)
		assert.Contains(t, h[len(h)-1].Reason, "w2 expired")
	})
}

func TestSimultaneousCrashesCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2", "w3", "w4")
		r.mem.expire("w2")
		synctest.Wait()
		advance(20 * time.Millisecond)
		r.mem.expire("w3")
		synctest.Wait()
		advance(30 * time.Millisecond)
		require.Equal(t, 2, r.store.commitCount(), "one publish for both")
		requireCoverage(t, r.store, r.parts, "w1", "w4")
	})
}

func TestEmergencyHysteresisHoldsBackAFlappingWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EmergencyBurst = 2
		cfg.EmergencyInterval = 5 * time.Minute
		cfg.Cooldown = 5 * time.Second
		r := newRig(t, cfg, nil)
		r.coldStart("w1", "w2")
		emergencies := 0
		for range 4 {
			before := r.store.commitCount()
			r.mem.expire("w2")
			synctest.Wait()
			emergency := r.c.Status().State == fsm.Emergency
			if emergency {
				emergencies++
			}
			advance(50 * time.Millisecond)
			if emergency {
				assert.Equal(t, before+1, r.store.commitCount(), "emergency rebalances at once")
			} else {
				assert.Equal(t, before, r.store.commitCount(), "held back: planned path")
			}
			advance(10 * time.Second) // past cooldown and window
			r.mem.join("w2")
			synctest.Wait()
			advance(10 * time.Second)
		}
		assert.Equal(t, 2, emergencies, "only EmergencyBurst emergencies within the interval")
		requireCoverage(t, r.store, r.parts, "w1", "w2")
		advance(5 * time.Minute)
		r.mem.expire("w2")
		synctest.Wait()
		assert.Equal(t, fsm.Emergency, r.c.Status().State, "detector re-armed after the interval")
	})
}

func TestDepartureWithoutPartitionsIsPlanned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Partitions = demoParts(2)
		r := newRig(t, cfg, nil)
		r.coldStart("w1", "w2", "w3")
		own := r.store.owners()
		idle := ""
		for _, w := range []string{"w1", "w2", "w3"} {
			held := false
			for _, o := range own {
				held = held || o == w
			}
			if !held {
				idle = w
			}
		}
		require.NotEmpty(t, idle)
		advance(10 * time.Second)
		r.mem.leave(idle)
		synctest.Wait()
		assert.Equal(t, fsm.ScalingWindow, r.c.Status().State)
		advance(time.Second)
		assert.Equal(t, 2, r.store.commitCount())
		assert.NotContains(t, r.store.lastCommit().Workers, idle)
	})
}

func TestFlapWithinWindowCancelsRebalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Partitions = demoParts(2)
		r := newRig(t, cfg, nil)
		r.coldStart("w1", "w2", "w3")
		advance(10 * time.Second)
		r.mem.join("w4")
		synctest.Wait()
		assert.Equal(t, fsm.ScalingWindow, r.c.Status().State)
		r.mem.leave("w4")
		synctest.Wait()
		assert.Equal(t, fsm.Idle, r.c.Status().State, "back to the published membership")
		advance(time.Minute)
		assert.Equal(t, 1, r.store.commitCount())
	})
}

func TestRestartWithinGraceGetsItsPartitionsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2", "w3", "w4")
		before := r.store.owners()
		r.mem.expire("w3")
		synctest.Wait()
		advance(time.Second)
		require.Equal(t, 2, r.store.commitCount())
		advance(5 * time.Second)
		r.mem.join("w3")
		synctest.Wait()
		advance(5 * time.Second)
		require.Equal(t, 3, r.store.commitCount())
		assert.Equal(t, before, r.store.owners(), "zero net movement across the restart")
	})
}

func TestRestartAfterGraceIsAPlainJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.RestartGrace = 2 * time.Second
		r := newRig(t, cfg, nil)
		r.coldStart("w1", "w2", "w3", "w4")
		r.mem.expire("w3")
		synctest.Wait()
		advance(10 * time.Second)
		r.mem.join("w3")
		synctest.Wait()
		advance(5 * time.Second)
		requireCoverage(t, r.store, r.parts, "w1", "w2", "w3", "w4")
		h := r.c.History()
		last := h[len(h)-1]
		assert.Equal(t, "join", last.Trigger)
		// A plain join moves only the returning worker's fair share (10 of
		// 40), not necessarily back the keys it held.
		assert.LessOrEqual(t, last.Moved, 11)
	})
}

func TestStopDuringPendingWindowPublishesNothing(t *testing.T) {
	for _, when := range []string{"cold-start", "scale-window", "emergency", "backoff"} {
		t.Run(when, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, testConfig(), nil)
				switch when {
				case "cold-start":
					r.mem.join("w1")
					r.mem.synced()
				case "scale-window":
					r.coldStart("w1")
					advance(10 * time.Second)
					r.mem.join("w2")
				case "emergency":
					r.coldStart("w1", "w2")
					r.mem.expire("w2")
				case "backoff":
					r.coldStart("w1")
					advance(10 * time.Second)
					r.store.setFail(1, errStoreDown)
					r.mem.join("w2")
					synctest.Wait()
					advance(time.Second)
					require.Equal(t, fsm.BackingOff, r.c.Status().State)
				}
				synctest.Wait()
				before := r.store.commitCount()
				beforeAttempts := len(r.store.attemptTimes())
				r.c.Stop()
				assert.Equal(t, fsm.Stopped, r.c.Status().State)
				advance(time.Minute)
				assert.Equal(t, before, r.store.commitCount(), "nothing published after Stop")
				assert.Len(t, r.store.attemptTimes(), beforeAttempts, "no store call after Stop")
			})
		})
	}
}

func TestFailingStoreBacksOffOpensBreakerAndKeepsPendingChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Breaker = breaker.Config{FailureThreshold: 3, OpenTimeout: 10 * time.Second}
		r := newRig(t, cfg, nil)
		r.coldStart("w1")
		advance(10 * time.Second)
		r.store.setFail(1000, errStoreDown)
		r.store.mu.Lock()
		r.store.attempts = nil
		r.store.mu.Unlock()
		r.mem.join("w2")
		synctest.Wait()
		advance(time.Second) // the window: first attempt fails
		st := r.c.Status()
		require.Equal(t, fsm.BackingOff, st.State)
		assert.Equal(t, breaker.Closed, st.Breaker.State)
		assert.Contains(t, st.LastError, "store unreachable")
		assert.Equal(t, "join", st.Pending, "the pending change is kept")

		// Attempts 2 and 3 follow after growing backoffs (100ms, 200ms).
		advance(100 * time.Millisecond)
		advance(200 * time.Millisecond)
		st = r.c.Status()
		assert.Equal(t, breaker.Open, st.Breaker.State, "opens after the threshold")
		assert.Equal(t, uint64(1), st.Breaker.Opens)
		assert.Equal(t, 3, st.Breaker.ConsecutiveFailures)
		assert.False(t, st.Breaker.NextRetry.IsZero())
		attempts := r.store.attemptTimes()
		calls := len(attempts)

		// While open, nothing is attempted.
		advance(10*time.Second - time.Millisecond)
		assert.Len(t, r.store.attemptTimes(), calls, "no calls while the breaker is open")

		// After the cooldown the breaker lets one trial through; it fails
		// and the breaker opens again.
		advance(time.Millisecond)
		st = r.c.Status()
		assert.Equal(t, breaker.Open, st.Breaker.State)
		assert.Equal(t, uint64(2), st.Breaker.Opens)
		assert.Greater(t, len(r.store.attemptTimes()), calls)

		// The store recovers: the next trial succeeds and closes it.
		r.store.setFail(0, nil)
		advance(10 * time.Second)
		st = r.c.Status()
		assert.Equal(t, breaker.Closed, st.Breaker.State)
		assert.Equal(t, fsm.Idle, st.State)
		assert.Empty(t, st.Pending)
		assert.Empty(t, st.LastError)
		assert.Equal(t, 2, r.store.commitCount())
		requireCoverage(t, r.store, r.parts, "w1", "w2")

		// Backoff grew between attempts.
		gaps := []time.Duration{}
		var prev time.Time
		for _, at := range attempts {
			if !prev.IsZero() && at.Sub(prev) > 0 {
				gaps = append(gaps, at.Sub(prev))
			}
			prev = at
		}
		t.Logf("attempt gaps: %v", gaps)
		require.GreaterOrEqual(t, len(gaps), 2)
		assert.Equal(t, 100*time.Millisecond, gaps[0])
		assert.Equal(t, 200*time.Millisecond, gaps[1], "backoff grows")
		h := r.c.History()
		failed := 0
		for _, rec := range h {
			if rec.Result == ResultFailed {
				failed++
				assert.NotEmpty(t, rec.Error)
			}
		}
		assert.GreaterOrEqual(t, failed, 4)
		assert.Equal(t, ResultPublished, h[len(h)-1].Result)
	})
}

func TestFencedCalculatorStopsPublishing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2")
		r.store.mu.Lock()
		r.store.fenced = true
		r.store.mu.Unlock()
		r.mem.expire("w2")
		synctest.Wait()
		advance(time.Second)
		select {
		case <-r.c.Done():
		default:
			t.Fatal("calculator still running after being fenced")
		}
		assert.ErrorIs(t, r.c.Err(), ErrFenced)
		assert.Equal(t, fsm.Stopped, r.c.Status().State)
		_, err := r.c.Rebalance(t.Context(), RebalanceRequest{})
		assert.ErrorIs(t, err, ErrStopped)
	})
}

func TestTakeoverWithUnchangedMembershipPublishesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parts := demoParts(10)
		store := newFakeStore()
		store.loaded = &model.Assignment{Version: 7, Epoch: 3, Leader: "old", Owners: map[string][]string{
			"w1": keys(parts[:5]), "w2": keys(parts[5:]),
		}}
		cfg := testConfig()
		cfg.Partitions, cfg.Epoch = parts, 4
		r := newRig(t, cfg, store)
		assert.Equal(t, fsm.Idle, r.c.Status().State)
		assert.Equal(t, uint64(7), r.c.Status().Version)
		r.mem.join("w1", "w2")
		r.mem.synced()
		synctest.Wait()
		advance(time.Minute)
		assert.Zero(t, store.commitCount(), "no assignment change without a membership change")
		assert.Equal(t, fsm.Idle, r.c.Status().State)
	})
}

func TestTakeoverAfterLeaderCrashReassignsItsPartitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parts := demoParts(10)
		store := newFakeStore()
		store.loaded = &model.Assignment{Version: 7, Epoch: 3, Leader: "w0", Owners: map[string][]string{
			"w0": keys(parts[:4]), "w1": keys(parts[4:7]), "w2": keys(parts[7:]),
		}}
		for w, ks := range store.loaded.Owners {
			store.entries[w] = ks
		}
		cfg := testConfig()
		cfg.Partitions, cfg.Epoch, cfg.Leader = parts, 4, "w1"
		r := newRig(t, cfg, store)
		r.mem.join("w1", "w2")
		synctest.Wait()
		assert.Zero(t, store.commitCount(), "nothing before the sync")
		r.mem.synced()
		synctest.Wait()
		assert.Equal(t, fsm.Emergency, r.c.Status().State)
		advance(50 * time.Millisecond)
		require.Equal(t, 1, store.commitCount())
		c := store.lastCommit()
		assert.Equal(t, uint64(8), c.Version, "versions continue from the loaded one")
		assert.Equal(t, uint64(4), c.Epoch)
		assert.Equal(t, []string{"w1", "w2"}, c.Workers)
		requireCoverage(t, store, parts, "w1", "w2")
		store.mu.Lock()
		deletes := store.deletes
		store.mu.Unlock()
		assert.Equal(t, 1, deletes, "the departed leader's entry is deleted")
	})
}

func TestOnlyChangedEntriesAreWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Partitions = demoParts(100)
		r := newRig(t, cfg, nil)
		r.coldStart("w1", "w2", "w3", "w4", "w5")
		r.store.mu.Lock()
		r.store.writes = 0
		r.store.mu.Unlock()
		r.mem.expire("w5")
		synctest.Wait()
		advance(time.Second)
		r.store.mu.Lock()
		writes, deletes := r.store.writes, r.store.deletes
		r.store.mu.Unlock()
		assert.LessOrEqual(t, writes, 4, "only the workers that received w5's partitions")
		assert.Equal(t, 1, deletes)
	})
}

func TestPublishIsConcurrentWithABound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.PublishConcurrency = 4
		cfg.Partitions = demoParts(200)
		store := newFakeStore()
		store.delay = 10 * time.Millisecond
		r := newRig(t, cfg, store)
		ws := []string{}
		for i := range 20 {
			ws = append(ws, "w"+string(rune('a'+i)))
		}
		r.mem.join(ws...)
		r.mem.synced()
		synctest.Wait()
		advance(2 * time.Second)
		advance(time.Second)
		require.Equal(t, 1, store.commitCount())
		store.mu.Lock()
		defer store.mu.Unlock()
		assert.Equal(t, 4, store.maxFlight, "writes run in parallel, at most PublishConcurrency")
	})
}

func TestForceRebalanceAndDryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		_, err := r.c.Rebalance(t.Context(), RebalanceRequest{})
		assert.Error(t, err, "not synced yet")
		r.coldStart("w1", "w2")
		r.mem.join("w3")
		synctest.Wait()

		dry, err := r.c.Rebalance(t.Context(), RebalanceRequest{DryRun: true})
		require.NoError(t, err)
		assert.Equal(t, ResultDryRun, dry.Result)
		assert.Equal(t, uint64(1), dry.Version)
		assert.Positive(t, dry.Moved)
		assert.Len(t, dry.Moves, dry.Moved)
		for _, m := range dry.Moves {
			assert.Equal(t, "w3", m.To)
		}
		assert.Equal(t, 1, r.store.commitCount(), "dry run publishes nothing")

		res, err := r.c.Rebalance(t.Context(), RebalanceRequest{Reason: "test"})
		require.NoError(t, err)
		assert.Equal(t, ResultPublished, res.Result)
		assert.Equal(t, uint64(2), res.Version)
		assert.Equal(t, uint64(1), res.PreviousVersion)
		assert.Equal(t, dry.Moved, res.Moved, "the dry run predicted the publish")
		assert.Equal(t, dry.Moves, res.Moves, "a forced rebalance lists its moves")
		assert.Equal(t, 2, r.store.commitCount(), "bypasses window and cooldown")
		assert.Equal(t, fsm.Idle, r.c.Status().State)
		h := r.c.History()
		assert.Equal(t, "force", h[len(h)-1].Trigger)
		assert.Equal(t, "test", h[len(h)-1].Reason)

		// Forcing with nothing to change still publishes a new version.
		res, err = r.c.Rebalance(t.Context(), RebalanceRequest{})
		require.NoError(t, err)
		assert.Equal(t, uint64(3), res.Version)
		assert.Zero(t, res.Moved)
	})
}

func TestForceWhileBreakerOpenFailsClearly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1")
		advance(10 * time.Second)
		r.store.setFail(1000, errStoreDown)
		for range 3 {
			_, err := r.c.Rebalance(t.Context(), RebalanceRequest{})
			require.ErrorIs(t, err, errStoreDown)
		}
		_, err := r.c.Rebalance(t.Context(), RebalanceRequest{})
		require.ErrorIs(t, err, ErrBreakerOpen)
		assert.Equal(t, fsm.BackingOff, r.c.Status().State)
	})
}

func TestSetPartitionsRebalancesAfterWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2")
		advance(10 * time.Second)
		err := r.c.SetPartitions(t.Context(), []model.Partition{{Key: "a", Weight: 1}, {Key: "a", Weight: 2}})
		require.ErrorIs(t, err, model.ErrInvalidPartition)
		newParts := demoParts(60)
		require.NoError(t, r.c.SetPartitions(t.Context(), newParts))
		synctest.Wait()
		assert.Equal(t, fsm.ScalingWindow, r.c.Status().State)
		advance(time.Second)
		require.Equal(t, 2, r.store.commitCount())
		assert.Equal(t, 60, r.store.lastCommit().Partitions)
		requireCoverage(t, r.store, newParts, "w1", "w2")
		// Shrinking drops the removed keys.
		require.NoError(t, r.c.SetPartitions(t.Context(), newParts[:10]))
		synctest.Wait()
		advance(3 * time.Second)
		requireCoverage(t, r.store, newParts[:10], "w1", "w2")
	})
}

func TestNoWorkersLeftSkipsAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1")
		r.mem.expire("w1")
		synctest.Wait()
		advance(time.Second)
		st := r.c.Status()
		assert.Equal(t, fsm.Idle, st.State)
		assert.Equal(t, uint64(1), st.Errors["no-workers"])
		assert.Equal(t, 1, r.store.commitCount())
		r.mem.join("w2")
		synctest.Wait()
		advance(5 * time.Second)
		assert.Equal(t, 2, r.store.commitCount())
		requireCoverage(t, r.store, r.parts, "w2")
	})
}

func TestWatchEndingIsResumedAndResynced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.coldStart("w1", "w2", "w3")
		r.mem.kill()
		synctest.Wait()
		assert.Equal(t, uint64(1), r.c.Status().Errors["watch"])
		advance(time.Second)
		require.Equal(t, 2, r.mem.watchCount(), "watch re-created after backoff")
		// The new watch re-announces w1 and w2 only: w3 died meanwhile.
		r.mem.join("w1", "w2")
		r.mem.synced()
		synctest.Wait()
		advance(time.Second)
		require.Equal(t, 2, r.store.commitCount())
		requireCoverage(t, r.store, r.parts, "w1", "w2")
	})
}

func TestLoadFailureIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newFakeStore()
		store.loadErr = errStoreDown
		r := newRig(t, testConfig(), store)
		advance(time.Second)
		st := r.c.Status()
		assert.Equal(t, fsm.Init, st.State)
		assert.Positive(t, st.Errors["load"])
		store.mu.Lock()
		store.loadErr = nil
		store.mu.Unlock()
		advance(5 * time.Second)
		assert.Equal(t, fsm.ColdStart, r.c.Status().State)
	})
}

func TestWatchErrorIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := newFakeMembership()
		mem.watchErr = errors.New("no connection")
		c, err := New(testConfig(), mem, newFakeStore())
		require.NoError(t, err)
		require.NoError(t, c.Start(t.Context()))
		defer func() { c.Stop(); mem.wg.Wait() }()
		synctest.Wait()
		assert.Positive(t, c.Status().Errors["watch"])
		mem.mu.Lock()
		mem.watchErr = nil
		mem.mu.Unlock()
		advance(time.Second)
		assert.Equal(t, 1, mem.watchCount())
	})
}

func TestSubscribersSeeEveryTransitionInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		r := newRig(t, cfg, nil)
		ch, cancel := r.c.Subscribe()
		defer cancel()
		var got []StateChange
		done := make(chan struct{})
		go func() {
			defer close(done)
			var last uint64
			for ev := range ch {
				assert.False(t, ev.IsGap())
				if last != 0 {
					assert.Equal(t, last+1, ev.Seq)
				}
				last = ev.Seq
				got = append(got, ev.Value)
			}
		}()
		r.coldStart("w1", "w2")
		r.mem.expire("w2")
		synctest.Wait()
		advance(time.Second)
		r.c.Stop()
		<-done
		var path []string
		for _, s := range got {
			path = append(path, s.From.String()+">"+s.To.String())
		}
		assert.Equal(t, []string{
			"cold-start>rebalancing", "rebalancing>idle",
			"idle>emergency", "emergency>rebalancing", "rebalancing>idle",
			"idle>stopped",
		}, path)
	})
}

func TestStalledSubscriberGetsGapAndNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.SubscriberBuffer = 4
		cfg.Partitions = demoParts(4)
		r := newRig(t, cfg, nil)
		stalled, cancel := r.c.Subscribe()
		defer cancel()
		r.coldStart("w1")
		for range 10 {
			_, err := r.c.Rebalance(t.Context(), RebalanceRequest{})
			require.NoError(t, err)
		}
		assert.Equal(t, 11, r.store.commitCount(), "the calculator was never blocked")
		var evs []fanout.Event[StateChange]
		for len(evs) == 0 || !evs[len(evs)-1].IsGap() {
			evs = append(evs, <-stalled)
		}
		assert.Len(t, evs, cfg.SubscriberBuffer+1, "a full buffer, then the gap")
		for i := 1; i < len(evs)-1; i++ {
			assert.Equal(t, evs[i-1].Seq+1, evs[i].Seq, "in order until the gap")
		}
		gap := evs[len(evs)-1]
		prev := evs[len(evs)-2].Seq
		assert.Equal(t, r.c.hub.Seq(), gap.Seq, "the gap carries the latest event")
		assert.Equal(t, prev+gap.Missed, gap.Seq, "the gap accounts for every missed event")
		assert.Equal(t, fsm.Idle, gap.Value.To, "gap carries the latest state")
		assert.Equal(t, gap.Missed, r.c.Status().DroppedStateChanges)
	})
}

func TestConcurrentSubscribeUnsubscribeStop(t *testing.T) {
	mem := newFakeMembership()
	c, err := New(testConfig(), mem, newFakeStore())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				ch, cancel := c.Subscribe()
				if (i+j)%3 == 0 {
					go func() {
						for range ch { //nolint:revive // drain
						}
					}()
				}
				if j%2 == 0 {
					cancel()
				}
				cancel()
				_ = c.Status()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		mem.join("w1")
		mem.synced()
	}()
	wg.Add(2)
	go func() { defer wg.Done(); c.Stop() }()
	go func() { defer wg.Done(); c.Stop() }()
	wg.Wait()
	c.Stop()
	mem.wg.Wait()
	ch, cancel := c.Subscribe()
	_, open := <-ch
	assert.False(t, open, "subscribing after Stop yields a closed channel")
	cancel()
	assert.ErrorIs(t, c.Start(context.Background()), ErrStopped)
}

func TestStartIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		require.NoError(t, r.c.Start(t.Context()))
		assert.Equal(t, 1, r.mem.watchCount())
	})
}

func TestStopBeforeStart(t *testing.T) {
	c, err := New(testConfig(), newFakeMembership(), newFakeStore())
	require.NoError(t, err)
	c.Stop()
	c.Stop()
	assert.ErrorIs(t, c.Start(context.Background()), ErrStopped)
	_, err = c.Rebalance(context.Background(), RebalanceRequest{})
	assert.Error(t, err)
}

func TestConfigValidation(t *testing.T) {
	cfg := Config{ScaleWindow: -1, Cooldown: -time.Second, EmergencyBurst: -1, PublishConcurrency: -2,
		HistorySize: -1, SubscriberBuffer: -1, Backoff: breaker.Backoff{Initial: -1},
		Breaker:    breaker.Config{FailureThreshold: -1},
		Partitions: []model.Partition{{Key: "x", Weight: 0}}}
	err := cfg.Validate()
	require.ErrorIs(t, err, ErrInvalidConfig)
	for _, field := range []string{"ScaleWindow", "Cooldown", "EmergencyBurst", "PublishConcurrency",
		"HistorySize", "SubscriberBuffer", "backoff", "breaker", `"x"`} {
		assert.Contains(t, err.Error(), field)
	}
	_, err = New(cfg, newFakeMembership(), newFakeStore())
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(Config{}, nil, newFakeStore())
	assert.ErrorIs(t, err, ErrInvalidConfig)
	require.NoError(t, Config{}.Validate(), "zero config selects defaults")
	d := Config{}.withDefaults()
	assert.Equal(t, DefaultScaleWindow, d.ScaleWindow)
	assert.Equal(t, "sticky", d.Strategy.Name())
}

func keys(ps []model.Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}

func TestTakeoverDropsKeysOutsideThePartitionSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parts := demoParts(6)
		store := newFakeStore()
		store.loaded = &model.Assignment{Version: 3, Epoch: 1, Leader: "w1", Owners: map[string][]string{
			"w1": append(keys(parts[:3]), "gone-1"), "w2": append(keys(parts[3:]), "gone-2"),
		}}
		for w, ks := range store.loaded.Owners {
			store.entries[w] = ks
		}
		cfg := testConfig()
		cfg.Partitions, cfg.Epoch = parts, 2
		r := newRig(t, cfg, store)
		r.mem.join("w1", "w2")
		r.mem.synced()
		synctest.Wait()
		assert.Equal(t, fsm.ScalingWindow, r.c.Status().State)
		advance(3 * time.Second)
		require.Equal(t, 1, store.commitCount())
		requireCoverage(t, store, parts, "w1", "w2")
		assert.Equal(t, 6, store.lastCommit().Partitions)
	})
}
