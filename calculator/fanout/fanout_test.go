package fanout

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checker verifies the package's delivery rule for one subscriber whose
// events carry Value == Seq.
type checker struct {
	prev   uint64
	normal uint64 // normal events seen
	missed uint64 // sum of Missed over gap events
	gaps   int
}

func (c *checker) check(e Event[uint64]) error {
	if e.Value != e.Seq {
		return fmt.Errorf("event %d carries value %d", e.Seq, e.Value)
	}
	if e.IsGap() {
		if e.Seq != c.prev+e.Missed {
			return fmt.Errorf("gap after %d: seq %d, missed %d", c.prev, e.Seq, e.Missed)
		}
		c.missed += e.Missed
		c.gaps++
	} else {
		if e.Seq != c.prev+1 {
			return fmt.Errorf("event after %d has seq %d", c.prev, e.Seq)
		}
		c.normal++
	}
	c.prev = e.Seq
	return nil
}

// drain receives every event that is ready without blocking. Inside a
// synctest bubble, call synctest.Wait first so that "ready" is exact.
func drain(t *testing.T, ch <-chan Event[uint64], c *checker) []Event[uint64] {
	t.Helper()
	var got []Event[uint64]
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got
			}
			require.NoError(t, c.check(e))
			got = append(got, e)
			// Let the delivery goroutine queue the next event.
			synctest.Wait()
		default:
			return got
		}
	}
}

func TestEventIsGap(t *testing.T) {
	assert.False(t, Event[int]{Seq: 3}.IsGap())
	assert.True(t, Event[int]{Seq: 3, Missed: 1}.IsGap())
}

// TestFastAndStalledSubscribers publishes 100 000 events to nine readers
// that keep up and one that does not read at all until publishing is done.
func TestFastAndStalledSubscribers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			total  = 100_000
			buffer = 256
			fast   = 9
		)
		h := NewHub[uint64](Options{Buffer: buffer})

		var wg sync.WaitGroup
		results := make([]checker, fast)
		errs := make([]error, fast)
		for i := range fast {
			ch, _ := h.Subscribe()
			wg.Go(func() {
				for e := range ch {
					if errs[i] == nil {
						errs[i] = results[i].check(e)
					}
				}
			})
		}
		stalled, unsubscribe := h.Subscribe()
		require.Equal(t, fast+1, h.Subscribers())

		// The loop never waits for the stalled subscriber: if Publish
		// blocked on it, the bubble would deadlock and synctest would fail
		// the test. Every buffer/2 events it waits until the fast readers
		// are idle, so they are never more than buffer/2 events behind.
		for i := uint64(1); i <= total; i++ {
			require.Equal(t, i, h.Publish(i))
			if i%(buffer/2) == 0 {
				synctest.Wait()
			}
		}
		synctest.Wait()
		assert.Equal(t, uint64(total), h.Seq())

		for i := range fast {
			require.NoError(t, errs[i], "fast subscriber %d", i)
			assert.Equal(t, uint64(total), results[i].normal, "fast subscriber %d", i)
			assert.Zero(t, results[i].gaps, "fast subscriber %d", i)
		}

		var c checker
		got := drain(t, stalled, &c)
		require.Len(t, got, buffer+1)
		for i, e := range got[:buffer] {
			assert.Equal(t, Event[uint64]{Seq: uint64(i + 1), Value: uint64(i + 1)}, e)
		}
		assert.Equal(t, Event[uint64]{Seq: total, Value: total, Missed: total - buffer}, got[buffer])
		assert.Equal(t, uint64(total-buffer), h.Dropped())

		unsubscribe()
		_, ok := <-stalled
		assert.False(t, ok, "unsubscribe closes the channel")
		assert.Equal(t, fast, h.Subscribers())

		h.Close()
		wg.Wait()
		assert.Zero(t, h.Subscribers())
	})
}

func TestGapDeliveredWithoutFurtherPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 4})
		defer h.Close()
		ch, unsubscribe := h.Subscribe()
		defer unsubscribe()

		for i := uint64(1); i <= 10; i++ {
			h.Publish(i)
		}
		synctest.Wait()

		var c checker
		got := drain(t, ch, &c)
		require.Equal(t, []Event[uint64]{
			{Seq: 1, Value: 1}, {Seq: 2, Value: 2}, {Seq: 3, Value: 3}, {Seq: 4, Value: 4},
			{Seq: 10, Value: 10, Missed: 6},
		}, got)

		// Back in step: the next event follows the gap directly.
		h.Publish(11)
		synctest.Wait()
		got = drain(t, ch, &c)
		require.Equal(t, []Event[uint64]{{Seq: 11, Value: 11}}, got)
		assert.Equal(t, uint64(6), h.Dropped())
	})
}

// TestDeliveryRuleInterleaved mixes publishing bursts and partial reads in
// a fixed pattern, with a one-slot buffer so that gaps follow each other,
// and checks the delivery rule on every event.
func TestDeliveryRuleInterleaved(t *testing.T) {
	for _, buffer := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprint("buffer=", buffer), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := NewHub[uint64](Options{Buffer: buffer})
				defer h.Close()
				ch, _ := h.Subscribe()

				var c checker
				seq := uint64(0)
				for round := range 50 {
					burst := round%7 + 1
					for range burst {
						seq++
						h.Publish(seq)
					}
					synctest.Wait()
					reads := round % 4
					for range reads {
						select {
						case e := <-ch:
							require.NoError(t, c.check(e))
						default:
						}
						synctest.Wait()
					}
				}
				drain(t, ch, &c)
				assert.Equal(t, seq, c.prev, "the last event delivered is the latest")
				assert.Equal(t, seq, c.normal+c.missed, "every event delivered or counted")
				assert.Equal(t, c.missed, h.Dropped())
				assert.Positive(t, c.gaps)
			})
		})
	}
}

func TestOnDropTotalsMatchDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls, sum atomic.Uint64
		h := NewHub[uint64](Options{Buffer: 2, OnDrop: func(n uint64) {
			calls.Add(1)
			sum.Add(n)
		}})
		defer h.Close()
		a, _ := h.Subscribe()
		h.Subscribe() // never read
		h.Subscribe() // never read

		for i := uint64(1); i <= 5; i++ {
			h.Publish(i)
		}
		synctest.Wait()
		// Each subscriber holds two events; three were dropped for each.
		assert.Equal(t, uint64(9), h.Dropped())
		assert.Equal(t, h.Dropped(), sum.Load())
		assert.Equal(t, uint64(3), calls.Load(), "one call per publish that dropped")

		var c checker
		drain(t, a, &c)
		assert.Equal(t, uint64(3), c.missed)
		h.Publish(6) // a has room again; the other two drop it
		assert.Equal(t, uint64(11), h.Dropped())
		assert.Equal(t, h.Dropped(), sum.Load())
	})
}

func TestDefaultBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: -1})
		defer h.Close()
		ch, _ := h.Subscribe()
		for i := uint64(1); i <= DefaultBuffer+10; i++ {
			h.Publish(i)
		}
		synctest.Wait()
		var c checker
		got := drain(t, ch, &c)
		require.Len(t, got, DefaultBuffer+1)
		assert.Equal(t, uint64(10), got[DefaultBuffer].Missed)
	})
}

func TestUnsubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 8})
		defer h.Close()
		a, unsubA := h.Subscribe()
		b, unsubB := h.Subscribe()
		h.Publish(1)
		synctest.Wait()

		unsubA()
		unsubA() // idempotent
		assert.Equal(t, 1, h.Subscribers())
		_, ok := <-a
		assert.False(t, ok, "buffered events are discarded on unsubscribe")

		h.Publish(2)
		synctest.Wait()
		var c checker
		got := drain(t, b, &c)
		assert.Equal(t, []Event[uint64]{{Seq: 1, Value: 1}, {Seq: 2, Value: 2}}, got)

		unsubB()
		assert.Zero(t, h.Subscribers())
		assert.Equal(t, uint64(3), h.Publish(3), "publish without subscribers still numbers events")
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 1})
		ch, unsubscribe := h.Subscribe()
		h.Publish(1)
		h.Publish(2)
		synctest.Wait()

		// Its delivery goroutine is blocked sending to a reader that never
		// reads: Close must still return.
		h.Close()
		h.Close()
		unsubscribe()
		_, ok := <-ch
		assert.False(t, ok)

		assert.Zero(t, h.Publish(3), "publish after close")
		assert.Equal(t, uint64(2), h.Seq())
		late, unsubLate := h.Subscribe()
		_, ok = <-late
		assert.False(t, ok, "subscribe after close returns a closed channel")
		unsubLate()
		assert.Zero(t, h.Subscribers())
		assert.Equal(t, uint64(1), h.Dropped(), "the second event was folded into a pending gap")
	})
}

// TestConcurrentUse runs Subscribe, unsubscribe, Publish and Close from many
// goroutines at once. It has no fixed outcome; it exists for the race
// detector, the double-close panic and the leak check in TestMain.
func TestConcurrentUse(t *testing.T) {
	for range 20 {
		h := NewHub[uint64](Options{Buffer: 4})
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range 16 {
			wg.Go(func() {
				<-start
				for i := range 50 {
					switch (g + i) % 4 {
					case 0:
						h.Publish(uint64(i))
					case 1:
						ch, unsub := h.Subscribe()
						h.Publish(uint64(i))
						select {
						case <-ch:
						default:
						}
						unsub()
					case 2:
						ch, unsub := h.Subscribe()
						var inner sync.WaitGroup
						inner.Go(func() {
							for range ch { // drain until closed
							}
						})
						h.Publish(uint64(i))
						if i%2 == 0 {
							go unsub() // races with the deferred call below
						}
						unsub()
						inner.Wait()
					case 3:
						_, unsub := h.Subscribe() // never read
						defer unsub()
						if g == 2 && i == 21 { // closes mid-way, while others still work
							h.Close()
						}
					}
				}
			})
		}
		close(start)
		wg.Wait()
		h.Close()
		assert.Zero(t, h.Subscribers())
	}
}

func TestCloseDeliversBufferedEventsToAReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 4})
		ch, unsubscribe := h.Subscribe()
		defer unsubscribe()
		for i := range 6 {
			h.Publish(uint64(i + 1))
		}
		var got []Event[uint64]
		done := make(chan struct{})
		go func() {
			defer close(done)
			for e := range ch {
				got = append(got, e)
			}
		}()
		h.Close()
		<-done
		require.Len(t, got, 5, "the four buffered events and the gap")
		assert.Equal(t, uint64(1), got[0].Seq)
		assert.Equal(t, Event[uint64]{Seq: 6, Value: 6, Missed: 2}, got[4])
	})
}

func TestCloseGivesUpOnAStalledReaderAfterTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 4, CloseTimeout: time.Second})
		ch, unsubscribe := h.Subscribe()
		defer unsubscribe()
		h.Publish(1)
		start := time.Now()
		h.Close()
		assert.Equal(t, time.Second, time.Since(start), "waited exactly the timeout")
		_, ok := <-ch
		assert.False(t, ok)
	})
}

func TestNegativeCloseTimeoutDiscards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub[uint64](Options{Buffer: 4, CloseTimeout: -1})
		ch, unsubscribe := h.Subscribe()
		defer unsubscribe()
		h.Publish(1)
		synctest.Wait()
		start := time.Now()
		h.Close()
		assert.Zero(t, time.Since(start))
		_, ok := <-ch
		assert.False(t, ok)
	})
}
