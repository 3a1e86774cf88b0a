package worker_test

import (
	"context"
	"log"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natsconn"
	"github.com/parti-dev/parti/worker"
)

// Embed a worker in an application: connect, open the cluster's buckets,
// and react to partition changes. Run returns after a graceful leave when
// ctx is cancelled. See examples/processor for a complete program.
func Example() {
	if err := embed(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func embed(ctx context.Context) error {
	tracker := natsconn.NewTracker()
	nc, err := natsconn.Connect(natsconn.Options{URLs: "nats://127.0.0.1:4222", RetryOnFailedConnect: true}, tracker)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	lay, _ := layout.New(layout.Options{Cluster: "parti"})
	buckets, err := lay.Ensure(ctx, js)
	if err != nil {
		return err
	}
	w, err := worker.New(worker.Options{
		Conn: nc, Buckets: buckets, Tracker: tracker,
		OnChange: func(c worker.Change) {
			// Stop work for c.Lost before returning; start work for c.Gained.
			log.Printf("version %d: +%v -%v (own %d)", c.Version, c.Gained, c.Lost, len(c.Current))
		},
	})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
