package strategy

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parti-dev/parti/calculator/model"
)

func TestMeasure(t *testing.T) {
	parts := []model.Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}, {Key: "c", Weight: 2}, {Key: "d", Weight: 4}}

	t.Run("initial", func(t *testing.T) {
		st := Measure(parts, nil, []string{"x", "y"}, nil, []string{"x", "x", "x", "y"})
		assert.Equal(t, 4, st.Moved)
		assert.Equal(t, 4, st.Required)
		assert.InDelta(t, 1.0, st.MaxOverAvg, 1e-12) // loads 4 and 4, avg 4
		assert.InDelta(t, 1.0, st.LowerBound, 1e-12)
		assert.InDelta(t, 1.0, st.MoveRatio(), 0)
		assert.InDelta(t, 1.0, st.BalanceRatio(), 1e-12)
	})
	t.Run("crash and join", func(t *testing.T) {
		// y crashed (c, d orphaned); z joined and got b (a move) and d (an
		// orphan, counted once); c went to x (orphan); a stayed.
		prev := []string{"x", "x", "y", "y"}
		next := []string{"x", "z", "x", "z"}
		st := Measure(parts, []string{"x", "y"}, []string{"x", "z"}, prev, next)
		assert.Equal(t, 3, st.Moved)
		assert.Equal(t, 3, st.Required)
		assert.InDelta(t, 5.0/4.0, st.MaxOverAvg, 1e-12) // z holds 5 of 8 over 2 workers
		assert.InDelta(t, 1.0, st.LowerBound, 1e-12)
	})
	t.Run("extra moves between survivors", func(t *testing.T) {
		prev := []string{"x", "y", "y", "x"}
		next := []string{"y", "y", "x", "x"}
		st := Measure(parts, []string{"x", "y"}, []string{"x", "y"}, prev, next)
		assert.Equal(t, 2, st.Moved)
		assert.Equal(t, 0, st.Required)
		assert.True(t, math.IsInf(st.MoveRatio(), 1))
	})
	t.Run("unowned and giant", func(t *testing.T) {
		prev := []string{"", "x", "x", "x"}
		next := []string{"x", "x", "x", "y"}
		st := Measure(parts, []string{"x", "y", "z", "w"}, []string{"w", "x", "y", "z"}, prev, next)
		assert.Equal(t, 2, st.Moved)
		assert.Equal(t, 1, st.Required)
		assert.InDelta(t, 4.0/2.0, st.MaxOverAvg, 1e-12) // avg 8/4
		assert.InDelta(t, 2.0, st.LowerBound, 1e-12)
		assert.InDelta(t, 1.0, st.BalanceRatio(), 1e-12)
	})
	t.Run("nothing", func(t *testing.T) {
		st := Measure(nil, nil, nil, nil, nil)
		assert.Equal(t, Stats{}, st)
		assert.InDelta(t, 1.0, st.MoveRatio(), 0)
		assert.InDelta(t, 0.0, st.BalanceRatio(), 0)
	})
}
