package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// initCompletionCmd adds cobra's `completion bash|zsh|fish|powershell`
// command, explaining parti's dynamic completions and rejecting an unknown
// shell as a usage error. Cobra binds the scripts' output stream when the
// command is created, so root's output must be set first.
func initCompletionCmd(root *cobra.Command, out io.Writer) {
	root.SetOut(out)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Long = `completion prints the shell completion script for parti: bash, zsh, fish or
powershell (see 'parti completion <shell> --help' for how to load it).

Besides commands and flags, it completes --worker with the IDs of the live
workers, read from the cluster the command line (or PARTI_* environment)
names, within ` + completionTimeout.String() + `; 'parti inspect <TAB>' offers the inspect targets.`
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown shell %q: want bash, zsh, fish or powershell", args[0])
			}
			return c.Help()
		}
	}
}

// completionTimeout bounds the NATS lookups of shell completion: a shell
// waits for them on every TAB.
const completionTimeout = 2 * time.Second

// registerWorkerCompletion completes c's --worker flag with the IDs of the
// live workers, read from the cluster that the flags on the command line
// (and the environment) name.
func (f *Factory) registerWorkerCompletion(c *cobra.Command) {
	_ = c.RegisterFlagCompletionFunc("worker", f.completeWorkerIDs)
}

// completeWorkerIDs lists the live worker IDs starting with prefix, each
// described by its host and pid. Any failure (no server, no cluster)
// completes nothing rather than printing an error into the shell.
func (f *Factory) completeWorkerIDs(c *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoFileComp
	if err := applyEnv(c, f.Lookup); err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil, directive
	}
	f.Global.natsURLSet = c.Flags().Changed("nats-url")
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, b, ctx, err := f.openClusterSession(ctx, "parti-completion", completionTimeout)
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil, directive
	}
	defer s.close()
	hbs, err := readHeartbeats(ctx, b, nil)
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil, directive
	}
	var out []cobra.Completion
	for _, hb := range hbs {
		if strings.HasPrefix(hb.Worker, prefix) {
			out = append(out, cobra.CompletionWithDesc(hb.Worker, fmt.Sprintf("%s pid %d", hb.Host, hb.PID)))
		}
	}
	return out, directive
}
