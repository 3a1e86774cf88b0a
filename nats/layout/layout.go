// Package layout names and creates parti's JetStream KV buckets and
// subjects for one cluster namespace, classifies compare-and-swap
// conflicts, and publishes fenced writes.
//
// Layout for cluster C (see docs/architecture.md, "NATS layout and
// protocol"):
//
//	parti_C_workers      worker ID → heartbeat; TTL = worker TTL, limit markers
//	parti_C_leader       "leader" → leader record; TTL = leader TTL, limit markers
//	parti_C_assignments  "epoch", "commit", "w.<worker>"; no TTL, history 5
//	parti_C_partitions   "manifest", "chunk.<gen>.<i>"; no TTL
//	parti_C_status       "epoch", "status", "history"; no TTL
//	parti.C.control.rebalance   request/reply subject
//
// It must not import the calculator's engine, cmd or tui.
package layout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults for Options.
const (
	DefaultCluster        = "parti"
	DefaultWorkerTTL      = 3 * time.Second
	DefaultLeaderTTL      = 3 * time.Second
	DefaultHistory        = 5
	MaxClusterNameLength  = 32
	minLimitMarkerTTL     = time.Second
	minBucketTTL          = 100 * time.Millisecond
	partitionsHistory     = 2
	singleValueHistory    = 1
	assignmentsMaxHistory = jetstream.KeyValueMaxHistory
)

// Keys inside buckets.
const (
	KeyLeader   = "leader"   // leader bucket
	KeyEpoch    = "epoch"    // assignments and status buckets
	KeyCommit   = "commit"   // assignments bucket
	KeyManifest = "manifest" // partitions bucket
	KeyStatus   = "status"   // status bucket
	KeyHistory  = "history"  // status bucket
	// WorkerKeyPrefix prefixes per-worker entries in the assignments bucket.
	WorkerKeyPrefix = "w."
	// ChunkKeyPrefix prefixes partition chunks in the partitions bucket.
	ChunkKeyPrefix = "chunk."
)

// ErrInvalidCluster is wrapped by cluster name validation errors.
var ErrInvalidCluster = errors.New("invalid cluster name")

// ErrBucketMismatch means a bucket exists with settings that differ from the
// ones computed from the options (and Options.Reconcile is false).
var ErrBucketMismatch = errors.New("bucket exists with different settings")

var clusterRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidateCluster checks a cluster name: 1..32 characters from
// [A-Za-z0-9_-], so it can appear in bucket names and subjects.
func ValidateCluster(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidCluster)
	case len(name) > MaxClusterNameLength:
		return fmt.Errorf("%w %q: longer than %d characters", ErrInvalidCluster, name, MaxClusterNameLength)
	case !clusterRe.MatchString(name):
		return fmt.Errorf("%w %q: only letters, digits, '_' and '-' are allowed", ErrInvalidCluster, name)
	}
	return nil
}

// Options configure a cluster's buckets.
type Options struct {
	Cluster   string                // namespace; default "parti"
	Replicas  int                   // 1 (default) to 5; 3 for a NATS cluster
	Storage   jetstream.StorageType // FileStorage (default) or MemoryStorage
	WorkerTTL time.Duration         // heartbeat TTL; default 3s
	LeaderTTL time.Duration         // leader key TTL; default 3s
	History   int                   // assignments history; default 5
	// Reconcile updates existing buckets whose settings differ instead of
	// failing with ErrBucketMismatch. Storage cannot be changed.
	Reconcile bool
}

// Layout is the validated naming and configuration of one cluster.
type Layout struct {
	o Options
}

// New validates o, applies defaults and returns the layout.
func New(o Options) (*Layout, error) {
	if o.Cluster == "" {
		o.Cluster = DefaultCluster
	}
	if err := ValidateCluster(o.Cluster); err != nil {
		return nil, err
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Replicas < 1 || o.Replicas > 5 {
		return nil, fmt.Errorf("replicas %d: must be 1 to 5", o.Replicas)
	}
	if o.WorkerTTL == 0 {
		o.WorkerTTL = DefaultWorkerTTL
	}
	if o.LeaderTTL == 0 {
		o.LeaderTTL = DefaultLeaderTTL
	}
	if o.WorkerTTL < minBucketTTL || o.LeaderTTL < minBucketTTL {
		return nil, fmt.Errorf("worker and leader TTL must be at least %s", minBucketTTL)
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.History < 2 || o.History > assignmentsMaxHistory {
		return nil, fmt.Errorf("history %d: must be 2 to %d", o.History, assignmentsMaxHistory)
	}
	return &Layout{o: o}, nil
}

// Options returns the options with defaults applied.
func (l *Layout) Options() Options { return l.o }

// Cluster is the cluster name.
func (l *Layout) Cluster() string { return l.o.Cluster }

// WorkersBucket is the name of the heartbeat bucket.
func (l *Layout) WorkersBucket() string { return "parti_" + l.o.Cluster + "_workers" }

// LeaderBucket is the name of the leader election bucket.
func (l *Layout) LeaderBucket() string { return "parti_" + l.o.Cluster + "_leader" }

// AssignmentsBucket is the name of the assignments bucket.
func (l *Layout) AssignmentsBucket() string { return "parti_" + l.o.Cluster + "_assignments" }

// PartitionsBucket is the name of the partition set bucket.
func (l *Layout) PartitionsBucket() string { return "parti_" + l.o.Cluster + "_partitions" }

// StatusBucket is the name of the status bucket.
func (l *Layout) StatusBucket() string { return "parti_" + l.o.Cluster + "_status" }

// ControlSubject is the rebalance request/reply subject.
func (l *Layout) ControlSubject() string { return "parti." + l.o.Cluster + ".control.rebalance" }

// KeySubject is the JetStream subject a KV key is stored under.
func KeySubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// WorkerKey is a worker's entry key in the assignments bucket.
func WorkerKey(worker string) string { return WorkerKeyPrefix + worker }

// WorkerFromKey returns the worker ID of an assignments-bucket key, or
// ok == false if key is not a worker entry.
func WorkerFromKey(key string) (string, bool) {
	w, ok := strings.CutPrefix(key, WorkerKeyPrefix)
	return w, ok && w != ""
}

// ChunkKey is the key of partition chunk i of generation gen.
func ChunkKey(gen uint64, i int) string { return fmt.Sprintf("%s%d.%d", ChunkKeyPrefix, gen, i) }

func markerTTL(ttl time.Duration) time.Duration { return max(ttl, minLimitMarkerTTL) }

// Configs returns every bucket's configuration, computed deterministically
// from the options.
func (l *Layout) Configs() []jetstream.KeyValueConfig {
	base := func(name, desc string, history int) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket:      name,
			Description: desc,
			History:     uint8(history),
			Storage:     l.o.Storage,
			Replicas:    l.o.Replicas,
		}
	}
	workers := base(l.WorkersBucket(), "parti worker heartbeats and identity claims", singleValueHistory)
	workers.TTL, workers.LimitMarkerTTL = l.o.WorkerTTL, markerTTL(l.o.WorkerTTL)
	leader := base(l.LeaderBucket(), "parti leader election", singleValueHistory)
	leader.TTL, leader.LimitMarkerTTL = l.o.LeaderTTL, markerTTL(l.o.LeaderTTL)
	return []jetstream.KeyValueConfig{
		workers,
		leader,
		base(l.AssignmentsBucket(), "parti assignments: epoch, per-worker entries, commit marker", l.o.History),
		base(l.PartitionsBucket(), "parti partition set: manifest and chunks", partitionsHistory),
		base(l.StatusBucket(), "parti calculator status and rebalance history", singleValueHistory),
	}
}

// Buckets are the opened KV buckets of a cluster.
type Buckets struct {
	Layout      *Layout
	JS          jetstream.JetStream
	Workers     jetstream.KeyValue
	Leader      jetstream.KeyValue
	Assignments jetstream.KeyValue
	Partitions  jetstream.KeyValue
	Status      jetstream.KeyValue
}

// Ensure creates the cluster's buckets, or opens them if they exist with
// the same settings. Existing buckets with different settings fail with
// ErrBucketMismatch (naming the differences) unless Options.Reconcile is
// set, in which case they are updated.
func (l *Layout) Ensure(ctx context.Context, js jetstream.JetStream) (*Buckets, error) {
	kvs := make([]jetstream.KeyValue, 0, 5)
	for _, cfg := range l.Configs() {
		kv, err := l.ensureOne(ctx, js, cfg)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, kv)
	}
	if l.o.Replicas > 1 {
		for _, kv := range kvs {
			if err := waitForLeader(ctx, kv); err != nil {
				return nil, err
			}
		}
	}
	return &Buckets{Layout: l, JS: js, Workers: kvs[0], Leader: kvs[1], Assignments: kvs[2], Partitions: kvs[3], Status: kvs[4]}, nil
}

// Open opens the cluster's existing buckets without creating or checking
// them (read-only tools: inspect, top).
func (l *Layout) Open(ctx context.Context, js jetstream.JetStream) (*Buckets, error) {
	kvs := make([]jetstream.KeyValue, 0, 5)
	for _, cfg := range l.Configs() {
		kv, err := js.KeyValue(ctx, cfg.Bucket)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", cfg.Bucket, err)
		}
		kvs = append(kvs, kv)
	}
	return &Buckets{Layout: l, JS: js, Workers: kvs[0], Leader: kvs[1], Assignments: kvs[2], Partitions: kvs[3], Status: kvs[4]}, nil
}

func (l *Layout) ensureOne(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketExists) {
		return nil, fmt.Errorf("create bucket %s: %w", cfg.Bucket, err)
	}
	kv, err = js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", cfg.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("bucket %s status: %w", cfg.Bucket, err)
	}
	diffs := Diff(cfg, st.Config())
	if len(diffs) == 0 {
		return kv, nil
	}
	if !l.o.Reconcile || slices.ContainsFunc(diffs, func(d string) bool { return strings.HasPrefix(d, "storage") }) {
		return nil, fmt.Errorf("%w: %s: %s", ErrBucketMismatch, cfg.Bucket, strings.Join(diffs, "; "))
	}
	kv, err = js.UpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("update bucket %s (%s): %w", cfg.Bucket, strings.Join(diffs, "; "), err)
	}
	return kv, nil
}

// leaderWait bounds how long Ensure waits for a replicated bucket's
// stream to elect a leader.
const leaderWait = 15 * time.Second

// waitForLeader waits until a replicated bucket's stream has a leader, so
// the first writes after Ensure are not refused with "no response from
// stream".
func waitForLeader(ctx context.Context, kv jetstream.KeyValue) error {
	deadline := time.Now().Add(leaderWait)
	wait := 10 * time.Millisecond
	for {
		st, err := kv.Status(ctx)
		if err == nil {
			bs, ok := st.(*jetstream.KeyValueBucketStatus)
			if !ok || bs.StreamInfo() == nil || bs.StreamInfo().Cluster == nil || bs.StreamInfo().Cluster.Leader != "" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bucket %s has no stream leader after %s (last error: %w)", kv.Bucket(), leaderWait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("bucket %s: waiting for a stream leader: %w", kv.Bucket(), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// Diff lists the settings parti relies on that differ between want and
// have, as "field: have X, want Y".
func Diff(want, have jetstream.KeyValueConfig) []string {
	var out []string
	add := func(field string, h, w any) {
		if h != w {
			out = append(out, fmt.Sprintf("%s: have %v, want %v", field, h, w))
		}
	}
	add("storage", have.Storage, want.Storage)
	add("history", max(have.History, 1), max(want.History, 1))
	add("ttl", have.TTL, want.TTL)
	add("limit_marker_ttl", have.LimitMarkerTTL, want.LimitMarkerTTL)
	add("replicas", max(have.Replicas, 1), max(want.Replicas, 1))
	return out
}
