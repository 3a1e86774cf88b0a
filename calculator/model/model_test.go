package model

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidatePartitionsNamesTheEntry(t *testing.T) {
	cases := []struct {
		name  string
		parts []Partition
		want  string
	}{
		{"empty key", []Partition{{Key: "a", Weight: 1}, {Key: "", Weight: 1}}, "partition #2: empty key"},
		{"duplicate", []Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}, {Key: "a", Weight: 2}}, `partition #3 "a": duplicate key (first at #1)`},
		{"zero weight", []Partition{{Key: "a", Weight: 0}}, `partition #1 "a": weight 0 is not positive`},
		{"negative weight", []Partition{{Key: "a", Weight: -2}}, `weight -2 is not positive`},
		{"NaN", []Partition{{Key: "a", Weight: math.NaN()}}, `weight NaN is not finite`},
		{"Inf", []Partition{{Key: "a", Weight: math.Inf(1)}}, `weight +Inf is not finite`},
		{"control", []Partition{{Key: "a\nb", Weight: 1}}, `control characters`},
		{"long", []Partition{{Key: strings.Repeat("k", MaxKeyLength+1), Weight: 1}}, `longer than 256 bytes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePartitions(tc.parts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, errors.Is(err, ErrInvalidPartition))
			var ve *ValidationError
			assert.True(t, errors.As(err, &ve))
		})
	}
	require.NoError(t, ValidatePartitions(nil))
	require.NoError(t, ValidatePartitions([]Partition{{Key: "a", Weight: 0.5}, {Key: "b", Weight: 1e9}}))
}

func TestNormalizeSortsACopy(t *testing.T) {
	in := []Partition{{Key: "c", Weight: 1}, {Key: "a", Weight: 2}, {Key: "b", Weight: 3}}
	out, err := NormalizePartitions(in)
	require.NoError(t, err)
	assert.Equal(t, []Partition{{Key: "a", Weight: 2}, {Key: "b", Weight: 3}, {Key: "c", Weight: 1}}, out)
	assert.Equal(t, "c", in[0].Key, "input untouched")
	_, err = NormalizePartitions([]Partition{{Key: "a", Weight: -1}})
	assert.Error(t, err)
	assert.Equal(t, 6.0, TotalWeight(in))
}

func TestAssignmentValidate(t *testing.T) {
	parts := []Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}, {Key: "c", Weight: 1}}
	ok := Assignment{Owners: map[string][]string{"w1": {"a", "c"}, "w2": {"b"}, "w3": nil}}
	require.NoError(t, ok.Validate(parts))
	assert.Equal(t, 3, ok.PartitionCount())
	assert.Equal(t, []string{"w1", "w2", "w3"}, ok.Workers())

	dup := Assignment{Owners: map[string][]string{"w1": {"a", "b"}, "w2": {"b", "c"}}}
	assert.ErrorContains(t, dup.Validate(parts), `"b" has more than one owner`)
	missing := Assignment{Owners: map[string][]string{"w1": {"a", "b"}}}
	assert.ErrorContains(t, missing.Validate(parts), `"c" has no owner`)
	unknown := Assignment{Owners: map[string][]string{"w1": {"a", "b", "c", "z"}}}
	err := unknown.Validate(parts)
	assert.ErrorContains(t, err, `unknown partition "z"`)
	assert.ErrorIs(t, err, ErrInvalidAssignment)
}

func TestOwnersFromSlice(t *testing.T) {
	parts := []Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}, {Key: "c", Weight: 1}}
	got := OwnersFromSlice(parts, []string{"w2", "w1", "w2"}, []string{"w1", "w2", "w3"})
	assert.Equal(t, map[string][]string{"w1": {"b"}, "w2": {"a", "c"}, "w3": nil}, got)
}
