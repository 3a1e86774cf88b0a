package cmd

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the CLI contract and documented in docs/cli.md.
const (
	ExitOK          = 0 // success
	ExitFailure     = 1 // runtime failure
	ExitUsage       = 2 // usage error: unknown command, bad flag value, invalid file
	ExitUnreachable = 3 // NATS not reachable
	ExitNoLeader    = 4 // no leader answered
	ExitDenied      = 5 // permission denied by NATS
)

// ExitError carries an exit code with an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// usageErrorf returns an error that exits with ExitUsage.
func usageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
