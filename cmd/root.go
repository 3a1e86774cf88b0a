// Package cmd is parti's command-line interface: cobra commands that turn
// flags into options, call a package, and render the result as a table,
// JSON or YAML. It holds no domain logic.
package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/nats/layout"
)

// GlobalOptions are the flags every command accepts.
type GlobalOptions struct {
	NATSURL   string
	Context   string
	Creds     string
	NKey      string
	User      string
	Password  string
	TLSCert   string
	TLSKey    string
	TLSCA     string
	Cluster   string
	LogLevel  string
	LogFormat string

	// natsURLSet records that --nats-url was given (flag or environment):
	// only then does it override the URL of a --context.
	natsURLSet bool
}

// Factory gives commands what they share: streams, global options and a
// logger.
type Factory struct {
	IO     *IOStreams
	Global *GlobalOptions
	// Lookup reads an environment variable; tests replace it.
	Lookup func(string) (string, bool)
}

// Logger builds the slog logger from --log-level and --log-format, writing
// to stderr.
func (f *Factory) Logger() (*slog.Logger, error) {
	return newLogger(f.IO.Err, f.Global.LogLevel, f.Global.LogFormat)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("invalid --log-format %q: want text or json", format)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	g := f.Global
	root := &cobra.Command{
		Use:   "parti",
		Short: "Weighted partitions over a changing fleet of workers, coordinated through NATS JetStream",
		Long: `parti keeps weighted partitions spread over a changing fleet of worker
processes: each partition owned by exactly one live worker, load balanced,
with minimal movement when workers come and go. Coordination runs through
NATS JetStream key-value buckets.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if err := applyEnv(c, f.Lookup); err != nil {
				return err
			}
			g.natsURLSet = c.Flags().Changed("nats-url")
			if err := layout.ValidateCluster(g.Cluster); err != nil {
				return usageErrorf("invalid --cluster: %v", err)
			}
			_, err := f.Logger()
			return err
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URLs, comma separated")
	pf.StringVar(&g.Context, "context", "", "use a nats CLI context by name")
	pf.StringVar(&g.Creds, "creds", "", "NATS user credentials file")
	pf.StringVar(&g.NKey, "nkey", "", "NATS NKey seed file")
	pf.StringVar(&g.User, "user", "", "NATS user name")
	pf.StringVar(&g.Password, "password", "", "NATS password")
	pf.StringVar(&g.TLSCert, "tlscert", "", "TLS client certificate file")
	pf.StringVar(&g.TLSKey, "tlskey", "", "TLS client key file")
	pf.StringVar(&g.TLSCA, "tlsca", "", "TLS certificate authority file")
	pf.StringVar(&g.Cluster, "cluster", "parti", "cluster name: namespace for buckets and subjects")
	g.LogLevel, g.LogFormat = "info", "text"
	pf.Var(&formatValue{value: &g.LogLevel, allowed: []string{"debug", "info", "warn", "error"}}, "log-level", "log level: debug|info|warn|error")
	pf.Var(&formatValue{value: &g.LogFormat, allowed: []string{"text", "json"}}, "log-format", "log format: text|json")

	root.SetUsageTemplate(root.UsageTemplate() + "\n" + envHelp() + "\n")
	root.AddCommand(newCmdVersion(f), newCmdSimulate(f), newCmdRun(f), newCmdInspect(f), newCmdTop(f),
		newCmdRebalance(f), newCmdPartitions(f))
	if f.IO != nil {
		initCompletionCmd(root, f.IO.Out)
	}
	return root
}

// Execute runs the CLI with the process's streams and environment and
// returns the exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], SystemIO(), osLookup)
}

// run executes the CLI with args; it is the test seam for the whole tree.
func run(ctx context.Context, args []string, io *IOStreams, lookup func(string) (string, bool)) int {
	f := &Factory{IO: io, Global: &GlobalOptions{}, Lookup: lookup}
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if isUnknownCommand(err) {
			err = &ExitError{Code: ExitUsage, Err: err}
		}
		fmt.Fprintln(io.Err, "Error:", err)
	}
	return exitCode(err)
}

// isUnknownCommand recognises cobra's errors for unknown commands and bad
// positional arguments, which carry no type of their own.
func isUnknownCommand(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.Contains(msg, "arg(s)") ||
		strings.HasPrefix(msg, "invalid argument")
}
