package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdRun is a placeholder until the worker node exists.
func newCmdRun(_ *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Start a worker node (not yet available)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("parti run is not available yet: the worker node is being built; try 'parti simulate'")
		},
	}
}
