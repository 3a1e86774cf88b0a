package cmd

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ExitForced is the exit code of a node stopped by a second signal, during
// its graceful leave (128 + SIGINT).
const ExitForced = 130

// forceExit ends the process; tests replace it.
var forceExit = os.Exit

// watchSecondSignal makes a second SIGINT or SIGTERM end the process at
// once: the first one cancels the command's context (see Execute) and
// starts the graceful leave; the second gives up on it. stop undoes it.
func watchSecondSignal(errw io.Writer) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stopWatch := forceExitOnSecond(sigs, errw, forceExit)
	return func() {
		signal.Stop(sigs)
		stopWatch()
	}
}

// forceExitOnSecond counts signals received on sigs: the first prints that
// the node is leaving, the second prints "forced exit" to errw and calls
// exit with ExitForced. stop
// ends the watch and waits for its goroutine.
func forceExitOnSecond(sigs <-chan os.Signal, errw io.Writer, exit func(int)) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintln(errw, "stopping: leaving gracefully (signal again to force exit)")
					continue
				}
				fmt.Fprintln(errw, "forced exit")
				exit(ExitForced)
				return
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
