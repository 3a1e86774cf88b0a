package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/metrics"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/worker"
)

// run runs the node until ctx is done (the first SIGINT or SIGTERM) or the
// worker stops on its own. Shutdown order: the worker leaves, then the HTTP
// server stops, then the connection drains, then the embedded server stops.
func (o *RunOptions) run(ctx context.Context, f *Factory) (err error) {
	logger, err := f.Logger()
	if err != nil {
		return err
	}
	// With --tui on a terminal, the dashboard owns the screen: log lines
	// (and the banner) are held until it detaches. Its ctrl+c (a key, not
	// a signal, in raw mode) stops the node as the first SIGINT would.
	errw := f.IO.Err
	var dashLog *dashboardLog
	stopRun := func() {}
	if o.TUI && !f.IO.OutIsTTY {
		fmt.Fprintln(f.IO.Err, "--tui needs a terminal on stdout; running headless")
	} else if o.TUI {
		dashLog = newDashboardLog(f.IO.Err)
		errw = dashLog
		if logger, err = newLogger(dashLog, f.Global.LogLevel, f.Global.LogFormat); err != nil {
			return err
		}
		defer dashLog.detach()
		ctx, stopRun = context.WithCancel(ctx)
		defer stopRun()
	}
	audit, err := o.openAuditLog()
	if err != nil {
		return err
	}
	if audit != nil {
		defer func() {
			if cerr := audit.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("--audit-log: %w", cerr)
			}
		}()
	}

	stopSignals := watchSecondSignal(errw)
	defer stopSignals()

	name := "parti-run " + o.WorkerID
	if o.WorkerID == "" {
		name = "parti-run " + strconv.Itoa(os.Getpid())
	}
	conn, err := o.connect(ctx, f, logger, name)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer conn.close()

	js, err := jetstream.New(conn.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	b, err := ensureBuckets(ctx, o.layout, js, logger)
	if err != nil {
		return interrupted(ctx, bucketError(err, conn.url))
	}

	reg := metrics.NewRegistry()
	wo := worker.Options{
		Conn: conn.nc, Buckets: b, Tracker: conn.tr, WorkerID: o.WorkerID,
		HeartbeatInterval: o.HeartbeatInterval, Partitions: o.seed, Strategy: o.Strategy,
		Calculator: o.calculatorConfig(), LeaveTimeout: o.LeaveTimeout,
		Version: BuildVersion().Version, Logger: logger, Registry: reg,
	}
	if audit != nil {
		wo.AuditLog = audit
	}
	if o.WorkerID != "" {
		// Remember this process so a fast restart takes the ID over.
		if dir, err := o.dataDir(f); err == nil {
			wo.StateDir = filepath.Join(dir, "workers")
		}
	}
	w, err := worker.New(wo)
	if err != nil {
		if errors.Is(err, worker.ErrInvalidOptions) {
			return usageErrorf("%v", err)
		}
		return err
	}

	// The HTTP server outlives the worker's leave, so probes report it.
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHTTP()
	handler := nodeHandler(w, reg, logger)
	bound, waitHTTP, err := metrics.Serve(httpCtx, o.HTTPAddr, handler, logger)
	if err != nil && !o.explicitHTTP {
		// The default port is taken (another node on this machine): try
		// the next few ports.
		host, port, _ := net.SplitHostPort(o.HTTPAddr)
		base, _ := strconv.Atoi(port)
		for i := 1; i <= httpPortTries && err != nil; i++ {
			addr := net.JoinHostPort(host, strconv.Itoa(base+i))
			bound, waitHTTP, err = metrics.Serve(httpCtx, addr, handler, logger)
		}
	}
	if err != nil {
		return fmt.Errorf("cannot serve HTTP on %s: %w", o.HTTPAddr, err)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- waitHTTP() }()

	nodeCtx, stopNode := context.WithCancel(ctx)
	defer stopNode()
	runDone := make(chan error, 1)
	go func() { runDone <- w.Run(nodeCtx) }()

	info := bannerInfo{Cluster: b.Layout.Cluster(), NATSURL: conn.url, Embedded: conn.srv != nil,
		StoreDir: conn.storeDir, Context: f.Global.Context, HTTPAddr: bound}
	watchHTTP := (<-chan error)(httpDone)
	if bound == "" {
		watchHTTP = nil // disabled: its wait returns at once
	}
	stopDashboard := func() {}
	if dashLog != nil {
		stopDashboard = attachDashboard(ctx, f, w, b, conn.nc, conn.tr, conn.url, dashLog, stopRun)
	}
	runErr, httpErr := waitNode(errw, w, info, runDone, watchHTTP, stopNode)
	stopDashboard() // the terminal is restored before anything else is printed

	stopHTTP()
	if httpErr == nil {
		httpErr = <-httpDone
	}
	runErr = interrupted(ctx, runErr)
	switch {
	case runErr != nil && ctx.Err() == nil:
		return fmt.Errorf("worker stopped: %w", runErr)
	case runErr != nil && conn.tr.Current().State != natsconn.StateConnected:
		return fmt.Errorf("graceful leave incomplete while NATS is unreachable (its worker ID expires after --worker-ttl %s): %w", o.WorkerTTL, runErr)
	case runErr != nil:
		return fmt.Errorf("graceful leave: %w", runErr)
	case httpErr != nil:
		return fmt.Errorf("HTTP server on %s stopped: %w", bound, httpErr)
	}
	return nil
}

// waitNode prints the banner once the worker holds its ID and waits until the
// worker has returned. An HTTP server that fails meanwhile stops the node.
// It returns the worker's error and the HTTP server's, if it stopped.
func waitNode(errw io.Writer, w *worker.Worker, info bannerInfo, runDone, httpDone <-chan error, stopNode func()) (runErr, httpErr error) {
	claimed := w.Claimed()
	for {
		select {
		case <-claimed:
			claimed = nil
			info.Worker = w.ID()
			fmt.Fprint(errw, runBanner(info))
		case err := <-httpDone:
			httpDone = nil
			if err == nil {
				err = errors.New("stopped unexpectedly")
			}
			httpErr = err
			stopNode()
		case runErr = <-runDone:
			return runErr, httpErr
		}
	}
}

// bucketError explains a failure to create or open the cluster's buckets.
func bucketError(err error, url string) error {
	switch {
	case errors.Is(err, layout.ErrBucketMismatch):
		return fmt.Errorf("%w\nthe cluster's buckets exist with other settings: give this node the same --worker-ttl, --leader-ttl and --replicas as the others", err)
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return fmt.Errorf("JetStream is not enabled on %s (start nats-server with -js): %w", url, err)
	}
	return fmt.Errorf("create the cluster's buckets on %s: %w", url, err)
}

// interrupted turns an error caused by ctx's cancellation (a signal during
// start-up, before there was anything to leave) into a clean exit.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ensureTimeout bounds how long a starting node keeps retrying to create
// or open the buckets while JetStream is slow to answer (a replicated
// stream electing its leader, a cluster still forming).
const ensureTimeout = 60 * time.Second

// ensureBuckets creates or opens the cluster's buckets, retrying requests
// that timed out.
func ensureBuckets(ctx context.Context, l *layout.Layout, js jetstream.JetStream, logger *slog.Logger) (*layout.Buckets, error) {
	deadline := time.Now().Add(ensureTimeout)
	for {
		b, err := l.Ensure(ctx, js)
		timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		if err == nil || !timedOut || ctx.Err() != nil || time.Now().After(deadline) {
			return b, err
		}
		logger.Warn("JetStream is slow to create the buckets; retrying", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
