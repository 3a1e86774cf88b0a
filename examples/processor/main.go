// Command processor is a small application that embeds a parti worker: it
// joins a cluster, processes the partitions it owns (here: a ticker per
// partition that logs a line), and logs every gain and loss. Run a NATS
// server (or `parti run`, which starts an embedded one), then start several
// copies:
//
//	go run ./examples/processor --nats-url nats://127.0.0.1:4222
//
// Ctrl-C leaves gracefully: the partitions are handed to the other copies.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/worker"
)

func main() {
	url := flag.String("nats-url", "nats://127.0.0.1:4222", "NATS server URL")
	cluster := flag.String("cluster", "parti", "parti cluster name")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*url, *cluster, log); err != nil {
		log.Error("processor stopped", "err", err)
		os.Exit(1)
	}
}

func run(url, cluster string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tracker := natsconn.NewTracker()
	nc, err := natsconn.Connect(natsconn.Options{URLs: url, Name: "processor", RetryOnFailedConnect: true}, tracker)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	lay, err := layout.New(layout.Options{Cluster: cluster})
	if err != nil {
		return err
	}
	buckets, err := lay.Ensure(ctx, js)
	if err != nil {
		return err
	}

	p := &processor{log: log, running: map[string]*task{}}
	defer p.stopAll()
	w, err := worker.New(worker.Options{
		Conn: nc, Buckets: buckets, Tracker: tracker, Logger: log,
		// Seed a demo set if the cluster has none yet.
		Partitions: demoPartitions(16),
		OnChange:   p.onChange,
	})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// processor runs one goroutine per owned partition.
type processor struct {
	log     *slog.Logger
	mu      sync.Mutex
	running map[string]*task
}

// task is one partition's processing goroutine.
type task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (t *task) stop() {
	t.cancel()
	<-t.done
}

// onChange is called by the worker, in order, after each change. Losses
// must be stopped before returning: the worker announces the release (and
// another process may start the partition) right after.
func (p *processor) onChange(c worker.Change) {
	p.log.Info("assignment changed", "version", c.Version, "gained", c.Gained, "lost", c.Lost, "owned", len(c.Current))
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range c.Lost {
		if t, ok := p.running[k]; ok {
			t.stop() // wait until it has really stopped
			delete(p.running, k)
		}
	}
	for _, k := range c.Gained {
		ctx, cancel := context.WithCancel(context.Background())
		t := &task{cancel: cancel, done: make(chan struct{})}
		p.running[k] = t
		go func() {
			defer close(t.done)
			p.process(ctx, k)
		}()
	}
}

func (p *processor) process(ctx context.Context, key string) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.log.Info("processing", "partition", key)
		}
	}
}

func (p *processor) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, t := range p.running {
		t.stop()
		delete(p.running, k)
	}
}

func demoPartitions(n int) []model.Partition {
	out := make([]model.Partition, n)
	for i := range out {
		out[i] = model.Partition{Key: fmt.Sprintf("p-%03d", i), Weight: 1}
	}
	return out
}
