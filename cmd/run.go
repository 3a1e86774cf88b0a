package cmd

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/calculator/strategy"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/worker"
)

// Embedded server modes of `parti run --embedded`.
const (
	EmbeddedAuto   = "auto"   // start one only when nothing answers on the default URL
	EmbeddedAlways = "always" // start one on --nats-url's host and port
	EmbeddedNever  = "never"  // connect to --nats-url
)

// Defaults of `parti run`.
const (
	DefaultRunPartitions = 64
	DefaultHTTPAddr      = "127.0.0.1:9090"
	MaxWorkerIDLength    = 64
)

// RunOptions are the inputs of `parti run`.
type RunOptions struct {
	Embedded       string
	DataDir        string
	WorkerID       string
	Partitions     int
	PartitionsFile string
	Strategy       string
	Replicas       int

	HeartbeatInterval time.Duration
	WorkerTTL         time.Duration
	LeaderTTL         time.Duration
	ColdStartWindow   time.Duration
	ScaleWindow       time.Duration
	RestartGrace      time.Duration
	Cooldown          time.Duration
	LeaveTimeout      time.Duration
	ConnectTimeout    time.Duration

	HTTPAddr string
	// explicitHTTP: --http-addr was given; otherwise a taken default port
	// moves on to the next free one, so a second node on the same machine
	// starts without flags.
	explicitHTTP bool
	AuditLog     string
	TUI          bool

	// Set by validate.
	explicitURL bool
	seed        []model.Partition
	layout      *layout.Layout
}

var workerIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func newCmdRun(f *Factory) *cobra.Command {
	o := &RunOptions{}
	c := &cobra.Command{
		Use:   "run",
		Short: "Start a worker node",
		Long: `run starts a parti worker node: it claims a worker ID, heartbeats, takes part in
leader election (running the calculator while it leads) and applies the
published assignments with a revoke-then-grant handoff.

NATS: with --embedded auto (the default) and no --nats-url, --context or
NATS_URL given, run joins the server answering on nats://127.0.0.1:4222, or
starts an embedded JetStream server there (other parti processes and the nats
CLI can connect to it). --embedded always starts one on --nats-url's host and
port; never only connects. The embedded server stores its data under
--data-dir, in nats-<port>.

Partitions: --partitions N seeds N demo partitions p-000, p-001, ... of
weight 1; --partitions-file seeds the set from a file. Either only seeds a
cluster that holds no partition set yet; an existing set is kept.

` + partitionsFileHelp + `

HTTP (--http-addr): /metrics, /healthz, /readyz, /v1/assignment (this
worker's partitions as {"worker","version","epoch","partitions"}) and
/v1/status (the worker's full status).

--tui attaches the live dashboard (the one of parti top, see docs/tui.md) to
this node: its logs are held while it is shown. q detaches it and the node
keeps running headless (logs go to stderr again); ctrl+c in the dashboard
stops the node with a graceful leave. Without a terminal on stdout, --tui
is ignored.

SIGINT or SIGTERM leaves gracefully, handing partitions off within
--leave-timeout; a second signal exits at once with code 130.`,
		Example: `  parti run
  parti run --partitions-file tenants.yaml --strategy consistent-hash
  parti run --nats-url nats://a:4222,nats://b:4222,nats://c:4222 --replicas 3 --embedded never`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.validate(c, f); err != nil {
				return err
			}
			return o.run(c.Context(), f)
		},
	}
	fl := c.Flags()
	o.Embedded = EmbeddedAuto
	fl.Var(&formatValue{value: &o.Embedded, allowed: []string{EmbeddedAuto, EmbeddedAlways, EmbeddedNever}}, "embedded",
		"embedded NATS server: auto|always|never")
	fl.StringVar(&o.DataDir, "data-dir", "", "state folder for the embedded server and worker restart state (default $XDG_STATE_HOME/parti/<cluster> or ~/.local/state/parti/<cluster>)")
	fl.StringVar(&o.WorkerID, "worker-id", "", "explicit worker ID (letters, digits, '-', '_'); default: the lowest free worker-N")
	fl.IntVar(&o.Partitions, "partitions", DefaultRunPartitions, "number of demo partitions to seed")
	fl.StringVar(&o.PartitionsFile, "partitions-file", "", "YAML or JSON file of partitions (key, weight) to seed")
	o.Strategy = strategy.Default
	fl.Var(&formatValue{value: &o.Strategy, allowed: strategy.Names()}, "strategy",
		"placement strategy when this node leads: "+strings.Join(strategy.Names(), "|"))
	fl.IntVar(&o.Replicas, "replicas", 1, "bucket replicas: 1, or 3 on a NATS cluster")
	fl.DurationVar(&o.HeartbeatInterval, "heartbeat-interval", worker.DefaultHeartbeatInterval, "heartbeat interval; at most a third of --worker-ttl")
	fl.DurationVar(&o.WorkerTTL, "worker-ttl", layout.DefaultWorkerTTL, "a worker without a heartbeat for this long is gone")
	fl.DurationVar(&o.LeaderTTL, "leader-ttl", layout.DefaultLeaderTTL, "a leader that does not renew for this long is replaced")
	fl.DurationVar(&o.ColdStartWindow, "cold-start-window", calculator.DefaultColdStartWindow, "with no assignment yet, collect workers this long before the first one (0: none)")
	fl.DurationVar(&o.ScaleWindow, "scale-window", calculator.DefaultScaleWindow, "batch joins and partition changes this long before rebalancing (0: none)")
	fl.DurationVar(&o.RestartGrace, "restart-grace", calculator.DefaultRestartGrace, "a worker back within this time gets its partitions back (0: none)")
	fl.DurationVar(&o.Cooldown, "cooldown", calculator.DefaultCooldown, "minimum time between two planned rebalances (0: none)")
	fl.DurationVar(&o.LeaveTimeout, "leave-timeout", worker.DefaultLeaveTimeout, "bound on the graceful handoff when stopping")
	fl.DurationVar(&o.ConnectTimeout, "connect-timeout", 5*time.Second, "give up (exit 3) if NATS is not reachable within this at start")
	fl.StringVar(&o.HTTPAddr, "http-addr", DefaultHTTPAddr, `HTTP listen address for metrics, probes and the assignment; "" disables (when the default port is taken the next free one is used)`)
	fl.StringVar(&o.AuditLog, "audit-log", "", "append one JSON line per partition acquired or released to this file")
	fl.BoolVar(&o.TUI, "tui", false, tuiFlagHelp)
	_ = c.RegisterFlagCompletionFunc("strategy", cobra.FixedCompletions(strategy.Names(), cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("embedded", cobra.FixedCompletions([]string{EmbeddedAuto, EmbeddedAlways, EmbeddedNever}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagFilename("partitions-file", "yaml", "yml", "json")
	return c
}

// validate checks the flags, loads the partitions file and computes the
// layout. Every problem is a usage error naming the flag or file.
func (o *RunOptions) validate(c *cobra.Command, f *Factory) error {
	fl := c.Flags()
	o.explicitURL = fl.Changed("nats-url") || f.Global.Context != ""
	o.explicitHTTP = fl.Changed("http-addr")
	if fl.Changed("partitions") && fl.Changed("partitions-file") {
		return usageErrorf("--partitions and --partitions-file are mutually exclusive")
	}
	if o.Replicas != 1 && o.Replicas != 3 {
		return usageErrorf("invalid --replicas %d: want 1, or 3 on a NATS cluster", o.Replicas)
	}
	if err := o.validateDurations(); err != nil {
		return err
	}
	if o.WorkerID != "" && (len(o.WorkerID) > MaxWorkerIDLength || !workerIDPattern.MatchString(o.WorkerID)) {
		return usageErrorf("invalid --worker-id %q: want 1 to %d letters, digits, '-' or '_'", o.WorkerID, MaxWorkerIDLength)
	}
	if o.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(o.HTTPAddr); err != nil {
			return usageErrorf("invalid --http-addr %q: want host:port, or \"\" to disable: %v", o.HTTPAddr, err)
		}
	}
	var err error
	o.layout, err = layout.New(layout.Options{Cluster: f.Global.Cluster, Replicas: o.Replicas, WorkerTTL: o.WorkerTTL, LeaderTTL: o.LeaderTTL})
	if err != nil {
		return usageErrorf("invalid bucket settings (--worker-ttl, --leader-ttl, --replicas): %v", err)
	}
	if o.PartitionsFile != "" {
		if o.seed, err = loadPartitionsFile(o.PartitionsFile); err != nil {
			return err
		}
		return nil
	}
	if o.Partitions < 1 {
		return usageErrorf("invalid --partitions %d: want at least 1", o.Partitions)
	}
	o.seed = demoPartitions(o.Partitions)
	return nil
}

// validateDurations checks the timing flags.
func (o *RunOptions) validateDurations() error {
	for _, d := range []struct {
		flag        string
		v           *time.Duration
		zeroAllowed bool
	}{
		{"heartbeat-interval", &o.HeartbeatInterval, false},
		{"worker-ttl", &o.WorkerTTL, false},
		{"leader-ttl", &o.LeaderTTL, false},
		{"cold-start-window", &o.ColdStartWindow, true},
		{"scale-window", &o.ScaleWindow, true},
		{"restart-grace", &o.RestartGrace, true},
		{"cooldown", &o.Cooldown, true},
		{"leave-timeout", &o.LeaveTimeout, false},
		{"connect-timeout", &o.ConnectTimeout, false},
	} {
		switch {
		case *d.v < 0:
			return usageErrorf("invalid --%s %s: must not be negative", d.flag, *d.v)
		case *d.v == 0 && !d.zeroAllowed:
			return usageErrorf("invalid --%s 0: must be positive", d.flag)
		}
	}
	if 3*o.HeartbeatInterval > o.WorkerTTL {
		return usageErrorf("--heartbeat-interval %s is more than a third of --worker-ttl %s: a worker must be able to miss two heartbeats before it is declared gone; use --heartbeat-interval %s or less, or --worker-ttl %s or more",
			o.HeartbeatInterval, o.WorkerTTL, o.WorkerTTL/3, 3*o.HeartbeatInterval)
	}
	return nil
}

// calculatorConfig is the calculator tuning from the flags. The calculator
// reads a zero duration as "use the default", so an explicit 0 (none) is
// passed as the smallest positive duration.
func (o *RunOptions) calculatorConfig() calculator.Config {
	none := func(d time.Duration) time.Duration {
		if d == 0 {
			return time.Nanosecond
		}
		return d
	}
	return calculator.Config{
		ColdStartWindow: none(o.ColdStartWindow),
		ScaleWindow:     none(o.ScaleWindow),
		RestartGrace:    none(o.RestartGrace),
		Cooldown:        none(o.Cooldown),
	}
}

// openAuditLog opens --audit-log for appending, creating it 0644. A file
// that cannot be opened is a usage error naming it.
func (o *RunOptions) openAuditLog() (*os.File, error) {
	if o.AuditLog == "" {
		return nil, nil
	}
	fh, err := os.OpenFile(o.AuditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, usageErrorf("--audit-log: %v", err)
	}
	return fh, nil
}

// joinFlags are the flags another process needs to reach this node's
// cluster: --nats-url unless it is the default, --context, --cluster unless
// it is the default.
func joinFlags(url, natsContext, cluster string) string {
	var fl []string
	if natsContext != "" {
		fl = append(fl, "--context "+natsContext)
	} else if url != "" && url != "nats://127.0.0.1:4222" {
		fl = append(fl, "--nats-url "+url)
	}
	if cluster != "" && cluster != layout.DefaultCluster {
		fl = append(fl, "--cluster "+cluster)
	}
	if len(fl) == 0 {
		return ""
	}
	return " " + strings.Join(fl, " ")
}

// bannerInfo is what the start-up banner shows.
type bannerInfo struct {
	Worker, Cluster string
	NATSURL         string // redacted
	Embedded        bool
	StoreDir        string
	Context         string
	HTTPAddr        string // bound address, "" when disabled
}

// runBanner is the few lines printed to stderr once the node holds its ID.
func runBanner(b bannerInfo) string {
	var s strings.Builder
	fmt.Fprintf(&s, "parti: worker %s is running in cluster %q\n", b.Worker, b.Cluster)
	if b.Embedded {
		fmt.Fprintf(&s, "  NATS   %s (embedded server, data in %s)\n", b.NATSURL, b.StoreDir)
	} else {
		fmt.Fprintf(&s, "  NATS   %s (external)\n", b.NATSURL)
	}
	flags := joinFlags(b.NATSURL, b.Context, b.Cluster)
	fmt.Fprintf(&s, "  join   parti run%s   (in another terminal)\n", flags)
	fmt.Fprintf(&s, "  watch  parti top%s\n", flags)
	if b.HTTPAddr != "" {
		fmt.Fprintf(&s, "  HTTP   http://%s  /metrics /healthz /readyz /v1/assignment /v1/status\n", b.HTTPAddr)
	} else {
		fmt.Fprintf(&s, "  HTTP   disabled\n")
	}
	fmt.Fprintf(&s, "  stop   Ctrl-C leaves gracefully; press it again to force exit\n")
	return s.String()
}

// httpPortTries is how many ports after the default --http-addr a node
// tries when the default is taken.
const httpPortTries = 20
