package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/parti-dev/parti/worker"
)

// TestReplicatedClusterSurvivesANATSNodeLoss runs three parti processes
// against a 3-node NATS cluster with replicated buckets, shuts one NATS
// node down, crashes a worker, and checks the fleet still converges with no
// overlapping ownership.
func TestReplicatedClusterSurvivesANATSNodeLoss(t *testing.T) {
	const parts = 24
	f, nats := newClusterFleet(t, parts, fastTiming)
	// The first node creates the replicated buckets; the others join.
	f.start("r0")
	f.waitCovered(60 * time.Second)
	for i := 1; i < 3; i++ {
		f.start(fmt.Sprintf("r%d", i))
	}
	took, _ := f.waitCovered(60 * time.Second)
	t.Logf("3 workers on a 3-node NATS cluster (R3) cover %d partitions after %v", parts, took)

	stopped := time.Now()
	nats.Stop(0)
	f.waitCovered(60 * time.Second)
	t.Logf("NATS node 0 down: still covered (checked after %v)", time.Since(stopped))

	f.kill("r1")
	took, _ = f.waitCovered(60 * time.Second)
	t.Logf("crash of r1 with a NATS node down → partitions owned again after %v", took)

	f.start("r3")
	took, _ = f.waitCovered(60 * time.Second)
	t.Logf("join of r3 → covered after %v", took)

	recs, ends := f.audit()
	overlaps := worker.CheckOverlaps(recs, ends)
	for _, o := range overlaps {
		t.Errorf("partition %s held twice: %+v and %+v", o.Partition, o.A, o.B)
	}
	t.Logf("audit: %d records, %d overlaps", len(recs), len(overlaps))
}
