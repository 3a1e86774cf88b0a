//go:build chaos

package e2e

import (
	"os"
	"strconv"
	"testing"
)

// TestChaosLong runs `make chaos`: PARTI_CHAOS_SEED (default 42) and
// PARTI_CHAOS_EVENTS (default 60) choose the schedule.
func TestChaosLong(t *testing.T) {
	seed, events := uint64(42), 60
	if v, err := strconv.ParseUint(os.Getenv("PARTI_CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("PARTI_CHAOS_EVENTS")); err == nil && v > 0 {
		events = v
	}
	chaos(t, seed, events)
}
