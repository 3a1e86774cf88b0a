package calculator

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/parti-dev/parti/calculator/breaker"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
)

// Default timing. They are documented in docs/operations.md; change both
// together.
const (
	DefaultColdStartWindow    = 2 * time.Second
	DefaultScaleWindow        = 1 * time.Second
	DefaultDepartureDebounce  = 50 * time.Millisecond
	DefaultRestartGrace       = 30 * time.Second
	DefaultCooldown           = 1 * time.Second
	DefaultEmergencyBurst     = 3
	DefaultEmergencyInterval  = 30 * time.Second
	DefaultPublishConcurrency = 16
	DefaultStoreTimeout       = 5 * time.Second
	DefaultHistorySize        = 64
	DefaultSubscriberBuffer   = 256
)

// Config configures a Calculator. Zero values select the defaults above.
type Config struct {
	// Leader is this node's worker ID, recorded in every commit.
	Leader string
	// Epoch is the leader epoch this calculator publishes under.
	Epoch uint64
	// Strategy places partitions; nil means the default (sticky).
	Strategy strategy.Strategy
	// Partitions is the initial partition set; SetPartitions replaces it.
	Partitions []model.Partition

	// ColdStartWindow: with no assignment in the store, the calculator
	// collects members for this long after start and then publishes once.
	ColdStartWindow time.Duration
	// ScaleWindow batches planned changes (joins, partition set changes):
	// the rebalance runs this long after the first change.
	ScaleWindow time.Duration
	// DepartureDebounce coalesces simultaneous departures of workers that
	// hold partitions (emergency path) before rebalancing.
	DepartureDebounce time.Duration
	// RestartGrace: a worker that returns within this time after leaving
	// gets back the partitions it held.
	RestartGrace time.Duration
	// Cooldown is the minimum time between the ends of two planned
	// rebalances. Emergencies and forced rebalances bypass it.
	Cooldown time.Duration
	// EmergencyBurst and EmergencyInterval are the emergency detector's
	// hysteresis: after EmergencyBurst emergency rebalances within
	// EmergencyInterval, further departures go through the scale window
	// and cooldown, so a flapping worker cannot cause a rebalance storm.
	EmergencyBurst    int
	EmergencyInterval time.Duration

	// Backoff is the retry delay after a failed publish.
	Backoff breaker.Backoff
	// Breaker guards the store: after repeated failures the calculator
	// stops trying until the breaker's cooldown passes.
	Breaker breaker.Config

	// PublishConcurrency bounds concurrent worker-entry writes.
	PublishConcurrency int
	// StoreTimeout bounds one publish (all entry writes and the commit).
	StoreTimeout time.Duration
	// HistorySize is the number of rebalance records kept.
	HistorySize int
	// SubscriberBuffer is each state subscriber's buffer before gap events.
	SubscriberBuffer int

	Clock   Clock
	Metrics Metrics
	Logger  *slog.Logger
	// Rand returns numbers in [0, 1) for backoff jitter; nil uses
	// math/rand/v2.
	Rand func() float64
}

// ErrInvalidConfig is wrapped by configuration errors.
var ErrInvalidConfig = errors.New("invalid calculator config")

// withDefaults returns c with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ColdStartWindow, DefaultColdStartWindow)
	def(&c.ScaleWindow, DefaultScaleWindow)
	def(&c.DepartureDebounce, DefaultDepartureDebounce)
	def(&c.RestartGrace, DefaultRestartGrace)
	def(&c.Cooldown, DefaultCooldown)
	def(&c.EmergencyInterval, DefaultEmergencyInterval)
	def(&c.StoreTimeout, DefaultStoreTimeout)
	if c.EmergencyBurst == 0 {
		c.EmergencyBurst = DefaultEmergencyBurst
	}
	if c.PublishConcurrency == 0 {
		c.PublishConcurrency = DefaultPublishConcurrency
	}
	if c.HistorySize == 0 {
		c.HistorySize = DefaultHistorySize
	}
	if c.SubscriberBuffer == 0 {
		c.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if c.Backoff == (breaker.Backoff{}) {
		c.Backoff = breaker.DefaultBackoff()
	}
	if c.Breaker.FailureThreshold == 0 && c.Breaker.OpenTimeout == 0 {
		on := c.Breaker.OnStateChange
		c.Breaker = breaker.DefaultConfig()
		c.Breaker.OnStateChange = on
	}
	if c.Strategy == nil {
		c.Strategy, _ = strategy.New(strategy.Default)
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c
}

// Validate reports every invalid field in one error wrapping
// ErrInvalidConfig. Zero values are valid: they select defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ColdStartWindow", c.ColdStartWindow}, {"ScaleWindow", c.ScaleWindow},
		{"DepartureDebounce", c.DepartureDebounce}, {"RestartGrace", c.RestartGrace},
		{"Cooldown", c.Cooldown}, {"EmergencyInterval", c.EmergencyInterval},
		{"StoreTimeout", c.StoreTimeout},
	} {
		if d.v < 0 {
			bad("%s must not be negative, got %s", d.name, d.v)
		}
	}
	if c.EmergencyBurst < 0 {
		bad("EmergencyBurst must not be negative, got %d", c.EmergencyBurst)
	}
	if c.PublishConcurrency < 0 {
		bad("PublishConcurrency must not be negative, got %d", c.PublishConcurrency)
	}
	if c.HistorySize < 0 {
		bad("HistorySize must not be negative, got %d", c.HistorySize)
	}
	if c.SubscriberBuffer < 0 {
		bad("SubscriberBuffer must not be negative, got %d", c.SubscriberBuffer)
	}
	if c.Backoff != (breaker.Backoff{}) {
		if err := c.Backoff.Validate(); err != nil {
			bad("backoff: %v", err)
		}
	}
	if err := c.Breaker.Validate(); err != nil {
		bad("breaker: %v", err)
	}
	if err := model.ValidatePartitions(c.Partitions); err != nil {
		bad("partitions: %v", err)
	}
	return errors.Join(errs...)
}
