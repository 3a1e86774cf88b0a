package calculator

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrFenced: a store write was rejected because a newer leader epoch
	// exists. The calculator stops publishing; the node must step down.
	ErrFenced = errors.New("fenced: a newer leader epoch exists")
	// ErrStopped: the calculator has been stopped.
	ErrStopped = errors.New("calculator stopped")
	// ErrNoWorkers: there is no live worker to assign partitions to.
	ErrNoWorkers = errors.New("no live workers")
	// ErrNoPartitions: the partition set is empty.
	ErrNoPartitions = errors.New("no partitions")
	// ErrBreakerOpen: the circuit breaker is open; the attempt was not made.
	ErrBreakerOpen = errors.New("circuit breaker open")
)
