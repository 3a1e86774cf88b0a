package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseSteps(t *testing.T) {
	steps, err := ParseSteps(" join:1, leave:2,crash:3 ")
	require.NoError(t, err)
	assert.Equal(t, []Step{{Join, 1}, {Leave, 2}, {Crash, 3}}, steps)
	steps, err = ParseSteps("")
	require.NoError(t, err)
	assert.Empty(t, steps)
	for spec, want := range map[string]string{
		"join":       "want kind:count",
		"join:0":     "positive integer",
		"join:x":     "positive integer",
		"explode:1":  `unknown kind "explode"`,
		"join:1,,":   "step 2",
		"leave:-3":   "positive integer",
		"crash:1:2":  "positive integer",
		"join:1,bad": "step 2",
	} {
		_, err := ParseSteps(spec)
		assert.ErrorContains(t, err, want, spec)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Partitions: 10, Workers: 2, Weights: WeightsUniform, Strategy: "sticky"}
	require.NoError(t, ok.Validate())
	for name, mut := range map[string]func(*Config){
		"partitions must be positive": func(c *Config) { c.Partitions = 0 },
		"at most 10000000":            func(c *Config) { c.Partitions = 10_000_001 },
		"workers must be positive":    func(c *Config) { c.Workers = -1 },
		"workers must be at most":     func(c *Config) { c.Workers = 100_001 },
		`weights "pareto"`:            func(c *Config) { c.Weights = "pareto" },
		`unknown strategy "best"`:     func(c *Config) { c.Strategy = "best" },
		"would leave no worker":       func(c *Config) { c.Steps = []Step{{Join, 1}, {Crash, 3}} },
	} {
		c := ok
		mut(&c)
		assert.ErrorContains(t, c.Validate(), name)
		_, err := Run(c)
		assert.Error(t, err)
	}
}

func TestRunReportsEveryStep(t *testing.T) {
	rep, err := Run(Config{Partitions: 1000, Workers: 10, Weights: WeightsUniform, Strategy: "sticky", Seed: 3,
		Steps: []Step{{Join, 2}, {Leave, 1}, {Crash, 3}}})
	require.NoError(t, err)
	require.Len(t, rep.Steps, 4)
	assert.Equal(t, "initial", rep.Steps[0].Step)
	assert.Equal(t, 1000, rep.Steps[0].Moved)
	assert.Equal(t, 1000, rep.Steps[0].Required)
	assert.Equal(t, []int{10, 12, 11, 8}, []int{rep.Steps[0].Workers, rep.Steps[1].Workers, rep.Steps[2].Workers, rep.Steps[3].Workers})
	assert.Equal(t, "join:2", rep.Steps[1].Step)
	for _, s := range rep.Steps {
		assert.LessOrEqual(t, s.MovedRatio, 1.05, s.Step)
		assert.LessOrEqual(t, s.MaxOverAvg, 1.05*s.LowerBound+1e-9, s.Step)
		assert.GreaterOrEqual(t, s.ComputeMS, 0.0)
	}
}

func TestRunIsDeterministic(t *testing.T) {
	c := Config{Partitions: 500, Workers: 7, Weights: WeightsLognormal, Strategy: "bounded-load", Seed: 11,
		Steps: []Step{{Crash, 2}, {Join, 3}}}
	a, err := Run(c)
	require.NoError(t, err)
	b, err := Run(c)
	require.NoError(t, err)
	for i := range a.Steps {
		a.Steps[i].ComputeMS, b.Steps[i].ComputeMS = 0, 0
	}
	assert.Equal(t, a, b)
}

func TestAcceptanceStickyBounds(t *testing.T) {
	steps, err := ParseSteps("join:1,leave:1,crash:5,join:10")
	require.NoError(t, err)
	for _, w := range WeightDistributions() {
		t.Run(w, func(t *testing.T) {
			rep, err := Run(Config{Partitions: 10000, Workers: 100, Weights: w, Strategy: "sticky", Seed: 7, Steps: steps})
			require.NoError(t, err)
			for i, s := range rep.Steps {
				if i > 0 {
					assert.LessOrEqual(t, s.MovedRatio, 1.05, "%s moved ratio", s.Step)
				}
				assert.LessOrEqual(t, s.MaxOverAvg, 1.05*s.LowerBound, "%s balance", s.Step)
			}
		})
	}
}

func TestPartitionsDistributions(t *testing.T) {
	for _, w := range WeightDistributions() {
		rng := newRand(1)
		ps := Partitions(1000, w, rng)
		require.NoError(t, model.ValidatePartitions(ps), w)
		assert.IsIncreasing(t, keysOf(ps))
	}
	uni := Partitions(10, WeightsUniform, newRand(1))
	assert.Equal(t, 10.0, model.TotalWeight(uni))
	z := Partitions(100, WeightsZipf, newRand(1))
	maxW := 0.0
	for _, p := range z {
		maxW = max(maxW, p.Weight)
	}
	assert.Equal(t, 1.0, maxW, "rank 1 weighs 1")
}

func TestEveryStrategyRuns(t *testing.T) {
	for _, s := range strategy.Names() {
		rep, err := Run(Config{Partitions: 200, Workers: 5, Weights: WeightsZipf, Strategy: s, Seed: 1,
			Steps: []Step{{Join, 1}, {Crash, 1}}})
		require.NoError(t, err, s)
		assert.Len(t, rep.Steps, 3)
		assert.Equal(t, s, rep.Strategy)
	}
}

func keysOf(ps []model.Partition) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}
