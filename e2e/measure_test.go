//go:build measure

package e2e

import (
	"fmt"
	"testing"
)

// TestMeasureDefaults runs the lifecycle schedule with parti's default
// timing and prints the figures next to the brief's goals. It is not part
// of `make test` (it takes longer); run it with `make measure`.
func TestMeasureDefaults(t *testing.T) {
	fig := lifecycle(t, nil)
	fmt.Printf("\n%-44s %12s   %s\n", "measured with default settings", "figure", "goal")
	row := func(name string, v any, goal string) { fmt.Printf("%-44s %12v   %s\n", name, v, goal) }
	row("cold start of 5 → all partitions owned", fig.coldStart, "one publish after the 2 s window")
	row("worker SIGKILL → partitions owned again", fig.crashOwned, "≤ worker TTL + 0.5 s = 3.5 s")
	row("leader SIGKILL → new leader", fig.leaderTakeover, "≤ leader TTL + 0.5 s = 3.5 s")
	row("leader SIGKILL → partitions owned again", fig.leaderCrashOwned, "")
	row("SIGTERM → handoff done, process exited", fig.termExit, "handoff ≤ 250 ms")
	row("restart within grace → partitions moved", fig.restartMoved, "0")
	row("join → new worker owns partitions", fig.joinAssigned, "≤ scale window + 100 ms (+ process start)")
	row("audit records checked, overlaps", fmt.Sprintf("%d, 0", fig.auditRecords), "no overlap")
}
