// Package model holds the domain types shared by the calculator, its
// strategies and the adapters: partitions, members and assignments, with the
// validation rules that keep them well formed.
//
// It is pure: it must not import NATS, Prometheus or any I/O package.
package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// MaxKeyLength is the longest partition key accepted, in bytes.
const MaxKeyLength = 256

// Partition is a unit of work: a named key with a positive weight.
type Partition struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
}

// ErrInvalidPartition is wrapped by every partition validation error.
var ErrInvalidPartition = errors.New("invalid partition")

// ValidationError names the offending partition entry.
type ValidationError struct {
	Index  int    // position in the input, 0-based
	Key    string // the entry's key, possibly empty
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("partition #%d: %s", e.Index+1, e.Reason)
	}
	return fmt.Sprintf("partition #%d %q: %s", e.Index+1, e.Key, e.Reason)
}

// Unwrap lets errors.Is match ErrInvalidPartition.
func (e *ValidationError) Unwrap() error { return ErrInvalidPartition }

// ValidatePartitions checks a partition list: keys non-empty, printable, at
// most MaxKeyLength bytes and unique; weights finite and positive. The first
// problem is returned as a *ValidationError naming the entry.
func ValidatePartitions(parts []Partition) error {
	seen := make(map[string]int, len(parts))
	for i, p := range parts {
		switch {
		case p.Key == "":
			return &ValidationError{Index: i, Reason: "empty key"}
		case len(p.Key) > MaxKeyLength:
			return &ValidationError{Index: i, Key: p.Key[:32] + "…", Reason: fmt.Sprintf("key longer than %d bytes", MaxKeyLength)}
		case strings.ContainsFunc(p.Key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			return &ValidationError{Index: i, Key: p.Key, Reason: "key contains control characters"}
		case math.IsNaN(p.Weight) || math.IsInf(p.Weight, 0):
			return &ValidationError{Index: i, Key: p.Key, Reason: fmt.Sprintf("weight %v is not finite", p.Weight)}
		case p.Weight <= 0:
			return &ValidationError{Index: i, Key: p.Key, Reason: fmt.Sprintf("weight %v is not positive", p.Weight)}
		}
		if j, dup := seen[p.Key]; dup {
			return &ValidationError{Index: i, Key: p.Key, Reason: fmt.Sprintf("duplicate key (first at #%d)", j+1)}
		}
		seen[p.Key] = i
	}
	return nil
}

// SortPartitions sorts partitions by key, the canonical order every strategy
// expects.
func SortPartitions(parts []Partition) {
	slices.SortFunc(parts, func(a, b Partition) int { return strings.Compare(a.Key, b.Key) })
}

// NormalizePartitions validates parts and returns a sorted copy.
func NormalizePartitions(parts []Partition) ([]Partition, error) {
	if err := ValidatePartitions(parts); err != nil {
		return nil, err
	}
	out := slices.Clone(parts)
	SortPartitions(out)
	return out, nil
}

// TotalWeight sums the weights of parts.
func TotalWeight(parts []Partition) float64 {
	var t float64
	for _, p := range parts {
		t += p.Weight
	}
	return t
}

// Assignment is one published version of the partition → worker mapping.
//
// Owners maps each worker ID to the sorted keys it owns. Every partition of
// the set appears under exactly one worker.
type Assignment struct {
	Version uint64              `json:"version"`
	Epoch   uint64              `json:"epoch"`
	Leader  string              `json:"leader"`
	Owners  map[string][]string `json:"assignments"`
}

// PartitionCount is the number of partitions the assignment covers.
func (a *Assignment) PartitionCount() int {
	n := 0
	for _, ks := range a.Owners {
		n += len(ks)
	}
	return n
}

// Workers returns the sorted IDs of workers present in the assignment,
// including those that own nothing.
func (a *Assignment) Workers() []string {
	out := make([]string, 0, len(a.Owners))
	for w := range a.Owners {
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// ErrInvalidAssignment is wrapped by assignment validation errors.
var ErrInvalidAssignment = errors.New("invalid assignment")

// Validate checks that every partition in parts has exactly one owner and
// that no unknown key is owned.
func (a *Assignment) Validate(parts []Partition) error {
	want := make(map[string]bool, len(parts))
	for _, p := range parts {
		want[p.Key] = false
	}
	for w, keys := range a.Owners {
		for _, k := range keys {
			owned, known := want[k]
			if !known {
				return fmt.Errorf("%w: worker %s owns unknown partition %q", ErrInvalidAssignment, w, k)
			}
			if owned {
				return fmt.Errorf("%w: partition %q has more than one owner", ErrInvalidAssignment, k)
			}
			want[k] = true
		}
	}
	for k, owned := range want {
		if !owned {
			return fmt.Errorf("%w: partition %q has no owner", ErrInvalidAssignment, k)
		}
	}
	return nil
}

// OwnersFromSlice builds the worker → keys map from a per-partition owner
// slice aligned with parts (owner[i] owns parts[i]). Workers listed in
// workers appear even when they own nothing. Keys come out sorted when parts
// is sorted.
func OwnersFromSlice(parts []Partition, owner []string, workers []string) map[string][]string {
	out := make(map[string][]string, len(workers))
	for _, w := range workers {
		out[w] = nil
	}
	counts := make(map[string]int, len(workers))
	for _, o := range owner {
		counts[o]++
	}
	for w, n := range counts {
		out[w] = make([]string, 0, n)
	}
	for i, p := range parts {
		out[owner[i]] = append(out[owner[i]], p.Key)
	}
	return out
}
