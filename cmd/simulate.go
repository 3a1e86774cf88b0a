package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/calculator/sim"
	"github.com/parti-dev/parti/calculator/strategy"
)

// SimulateOptions are the inputs of `parti simulate`.
type SimulateOptions struct {
	sim.Config
	Steps string
	out   outputFlag
}

func newCmdSimulate(f *Factory) *cobra.Command {
	o := &SimulateOptions{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Run the real strategies on a synthetic fleet and report movement and balance",
		Long: `simulate runs parti's placement strategies and planner offline on a synthetic
fleet. For the initial placement and then for each membership step it reports:

  moved       partitions whose owner changed
  required    partitions that had to move: those held by departed workers plus
              those the newly joined workers received
  ratio       moved / max(required, 1); 1.00 means no needless movement
  max/avg     heaviest worker load divided by the average load
  lb          the best achievable max/avg: max(1, heaviest partition / average)
  compute     time the planner took

Weights: uniform (all 1), lognormal (exp of a standard normal), zipf (rank k
weighs 1/k^1.1, ranks shuffled). Steps: a comma list of join:K, leave:K and
crash:K; departing workers are chosen by the seeded random generator.`,
		Example: `  parti simulate --partitions 10000 --workers 100 --steps join:1,leave:1,crash:5,join:10 --seed 7
  parti simulate --strategy consistent-hash --weights zipf -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			steps, err := sim.ParseSteps(o.Steps)
			if err != nil {
				return usageErrorf("invalid --steps: %v", err)
			}
			o.Config.Steps = steps
			if err := o.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			rep, err := sim.Run(o.Config)
			if err != nil {
				return err
			}
			return o.out.print(f.IO, rep, func(t *table) { simulateTable(t, rep) }, nil)
		},
	}
	fl := c.Flags()
	fl.IntVar(&o.Partitions, "partitions", 10000, "number of partitions")
	fl.IntVar(&o.Workers, "workers", 100, "number of workers at the start")
	fl.StringVar(&o.Weights, "weights", sim.WeightsUniform, "weight distribution: "+strings.Join(sim.WeightDistributions(), "|"))
	fl.StringVar(&o.Strategy, "strategy", strategy.Default, "placement strategy: "+strings.Join(strategy.Names(), "|"))
	fl.StringVar(&o.Steps, "steps", "join:1,leave:1,crash:5,join:10", "membership steps: comma list of join:K, leave:K, crash:K")
	fl.Uint64Var(&o.Seed, "seed", 1, "random seed for weights and departures")
	o.out.register(c, "table", "table", "json", "yaml")
	_ = c.RegisterFlagCompletionFunc("strategy", cobra.FixedCompletions(strategy.Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("weights", cobra.FixedCompletions(sim.WeightDistributions(), cobra.ShellCompDirectiveNoFileComp))
	return c
}

func simulateTable(t *table, rep *sim.Report) {
	t.header("STEP", "WORKERS", "MOVED", "REQUIRED", "RATIO", "MAX/AVG", "LB", "COMPUTE")
	for _, s := range rep.Steps {
		t.row(s.Step, fmt.Sprint(s.Workers), fmt.Sprint(s.Moved), fmt.Sprint(s.Required),
			fmt.Sprintf("%.3f", s.MovedRatio), fmt.Sprintf("%.3f", s.MaxOverAvg),
			fmt.Sprintf("%.3f", s.LowerBound), fmt.Sprintf("%.2fms", s.ComputeMS))
	}
}
