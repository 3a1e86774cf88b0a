package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name.golden (or rewrites it with
// -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./tui -run TestGolden -update")
	assert.Equal(t, string(want), got, "View() differs from %s; run with -update after checking the change", path)
}

// checkFits asserts the screen is exactly h lines, none wider than w.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	require.Len(t, lines, h, "screen height")
	for i, l := range lines {
		assert.LessOrEqual(t, ansi.StringWidth(l), w, "line %d is wider than %d: %q", i+1, w, l)
	}
}

func TestGolden(t *testing.T) {
	scenarios := []struct {
		name string
		snap func() Snapshot
		keys []string
		text string
		deps func(*Deps)
	}{
		{name: "healthy", snap: healthy},
		{name: "no_leader", snap: noLeader},
		{name: "breaker_open", snap: breakerOpen},
		{name: "stale", snap: stale},
		{name: "empty", snap: emptyFleet},
		{name: "filter", snap: healthy, keys: []string{"2", "/"}, text: "p-01"},
		{name: "help", snap: healthy, keys: []string{"?"}},
		{name: "drilldown", snap: healthy, keys: []string{"down", "enter"}},
		{name: "history", snap: healthy, keys: []string{"3"}},
		{name: "events", snap: healthy, keys: []string{"4"}},
		{name: "confirm", snap: healthy, keys: []string{"r"}, deps: withRebalance(nil)},
		{name: "attached", snap: attachedSnap, deps: func(d *Deps) { d.Attached = true }},
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, sc := range scenarios {
			name := fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				var deps []func(*Deps)
				if sc.deps != nil {
					deps = append(deps, sc.deps)
				}
				m := newModel(t, size[0], size[1], sc.snap(), deps...)
				press(m, sc.keys...)
				typeText(m, sc.text)
				v := m.View()
				checkFits(t, v, size[0], size[1])
				golden(t, name, v)
			})
		}
	}
}

func attachedSnap() Snapshot {
	s := healthy()
	s.Node = &Node{ID: "worker-0", State: "stable", IsLeader: true, Owned: 22, Version: 7}
	c := *s.Calculator
	c.Live = true
	s.Calculator = &c
	s.EventSource = "calculator fan-out (lossless)"
	return s
}
