// Package sim runs the real strategies and planner on a synthetic fleet and
// reports, for each membership step, how many partitions moved, how many had
// to move, the load balance and the compute time. It backs `parti simulate`.
//
// It is pure: it must not import NATS or any I/O package.
package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
)

// Weight distributions.
const (
	WeightsUniform   = "uniform"   // every partition weighs 1
	WeightsLognormal = "lognormal" // exp(N(0, 1)): most near 1, a long tail
	WeightsZipf      = "zipf"      // rank k weighs 1/k^1.1, ranks shuffled
)

// ZipfExponent is the exponent of the zipf weight distribution.
const ZipfExponent = 1.1

// WeightDistributions lists the accepted --weights values.
func WeightDistributions() []string { return []string{WeightsUniform, WeightsLognormal, WeightsZipf} }

// StepKind is a membership change applied by one step.
type StepKind string

// Step kinds.
const (
	Join  StepKind = "join"  // K new workers join
	Leave StepKind = "leave" // K workers leave gracefully
	Crash StepKind = "crash" // K workers crash
)

// Step is one membership change of K workers.
type Step struct {
	Kind StepKind
	K    int
}

func (s Step) String() string { return fmt.Sprintf("%s:%d", s.Kind, s.K) }

// ParseSteps parses a comma list such as "join:1,leave:1,crash:5".
func ParseSteps(spec string) ([]Step, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	var out []Step
	for i, item := range strings.Split(spec, ",") {
		kind, n, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, fmt.Errorf("step %d %q: want kind:count, e.g. join:2", i+1, item)
		}
		k, err := strconv.Atoi(n)
		if err != nil || k <= 0 {
			return nil, fmt.Errorf("step %d %q: count must be a positive integer", i+1, item)
		}
		switch StepKind(kind) {
		case Join, Leave, Crash:
		default:
			return nil, fmt.Errorf("step %d %q: unknown kind %q (want join, leave or crash)", i+1, item, kind)
		}
		out = append(out, Step{Kind: StepKind(kind), K: k})
	}
	return out, nil
}

// Config describes one simulation.
type Config struct {
	Partitions int
	Workers    int
	Weights    string
	Strategy   string
	Steps      []Step
	Seed       uint64
}

// Validate checks the configuration and names the offending field.
func (c Config) Validate() error {
	switch {
	case c.Partitions <= 0:
		return errors.New("partitions must be positive")
	case c.Partitions > 10_000_000:
		return errors.New("partitions must be at most 10000000")
	case c.Workers <= 0:
		return errors.New("workers must be positive")
	case c.Workers > 100_000:
		return errors.New("workers must be at most 100000")
	case !slices.Contains(WeightDistributions(), c.Weights):
		return fmt.Errorf("weights %q: want one of %s", c.Weights, strings.Join(WeightDistributions(), ", "))
	}
	if _, err := strategy.New(c.Strategy); err != nil {
		return err
	}
	n := c.Workers
	for _, s := range c.Steps {
		if s.Kind == Join {
			n += s.K
			continue
		}
		if s.K >= n {
			return fmt.Errorf("step %s would leave no worker (%d alive)", s, n)
		}
		n -= s.K
	}
	return nil
}

// StepResult is the outcome of one step. The JSON form is part of the CLI
// contract (docs/cli.md).
type StepResult struct {
	Step       string  `json:"step"`
	Workers    int     `json:"workers"`
	Moved      int     `json:"moved"`
	Required   int     `json:"required"`
	MovedRatio float64 `json:"moved_ratio"`
	MaxOverAvg float64 `json:"max_over_avg_load"`
	LowerBound float64 `json:"lower_bound_max_over_avg"`
	ComputeMS  float64 `json:"compute_ms"`
}

// Report is the outcome of a simulation.
type Report struct {
	Strategy   string       `json:"strategy"`
	Partitions int          `json:"partitions"`
	Workers    int          `json:"workers"`
	Weights    string       `json:"weights"`
	Seed       uint64       `json:"seed"`
	Steps      []StepResult `json:"steps"`
}

// Run executes the simulation.
func Run(c Config) (*Report, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	placer, err := strategy.New(c.Strategy)
	if err != nil {
		return nil, err
	}
	rng := newRand(c.Seed)
	parts := Partitions(c.Partitions, c.Weights, rng)
	workers := make([]string, 0, c.Workers)
	nextID := 0
	for range c.Workers {
		workers = append(workers, workerID(nextID))
		nextID++
	}
	planner := calculator.NewPlanner(placer)
	rep := &Report{Strategy: c.Strategy, Partitions: c.Partitions, Workers: c.Workers,
		Weights: c.Weights, Seed: c.Seed}

	var prev []string
	var prevWorkers []string
	step := func(name string) {
		start := time.Now()
		next, _ := planner.Plan(parts, workers, prev, nil)
		elapsed := time.Since(start)
		st := strategy.Measure(parts, prevWorkers, workers, prev, next)
		rep.Steps = append(rep.Steps, StepResult{
			Step: name, Workers: len(workers), Moved: st.Moved, Required: st.Required,
			MovedRatio: round(float64(st.Moved)/math.Max(float64(st.Required), 1), 4),
			MaxOverAvg: round(st.MaxOverAvg, 4), LowerBound: round(st.LowerBound, 4),
			ComputeMS: round(float64(elapsed.Microseconds())/1000, 3),
		})
		prev = slices.Clone(next)
		prevWorkers = slices.Clone(workers)
	}
	step("initial")
	for _, s := range c.Steps {
		switch s.Kind {
		case Join:
			for range s.K {
				workers = append(workers, workerID(nextID))
				nextID++
			}
			slices.Sort(workers)
		case Leave, Crash:
			for range s.K {
				i := rng.IntN(len(workers))
				workers = slices.Delete(workers, i, i+1)
			}
		}
		step(s.String())
	}
	return rep, nil
}

func workerID(n int) string { return fmt.Sprintf("worker-%05d", n) }

// Partitions builds n partitions named p-000000… with weights drawn from the
// named distribution, sorted by key.
func Partitions(n int, weights string, rng *rand.Rand) []model.Partition {
	parts := make([]model.Partition, n)
	for i := range parts {
		parts[i].Key = fmt.Sprintf("p-%06d", i)
		switch weights {
		case WeightsLognormal:
			parts[i].Weight = math.Exp(rng.NormFloat64())
		case WeightsZipf:
			parts[i].Weight = 1 / math.Pow(float64(i+1), ZipfExponent)
		default:
			parts[i].Weight = 1
		}
	}
	if weights == WeightsZipf {
		rng.Shuffle(n, func(i, j int) { parts[i].Weight, parts[j].Weight = parts[j].Weight, parts[i].Weight })
	}
	model.SortPartitions(parts)
	return parts
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// newRand returns the seeded generator Run uses.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
