package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdTop is a placeholder until the dashboard exists.
func newCmdTop(_ *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "top",
		Short: "Live dashboard of a parti cluster (not yet available)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("parti top is not available yet")
		},
	}
}
