// Package identity gives a worker process a stable, exclusive worker ID
// held in the workers bucket, and keeps it alive with heartbeats.
//
// A claim is kv.Create(id): it succeeds only if no live process holds the
// ID. Each heartbeat is kv.Update(id, heartbeat, lastRevision), a
// compare-and-swap: if it fails as a lost race, the key expired (bucket
// TTL) and may have been claimed by another process, so the ID is lost and
// Lost() is closed. Transient failures (disconnected, timeouts) are
// retried and never by themselves declare the ID lost. A graceful leave
// deletes the key with a last-revision condition.
//
// It must not import the calculator, cmd or tui.
package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
)

// Defaults for Config.
const (
	DefaultPrefix   = "worker-"
	DefaultPoolSize = 1024
	DefaultInterval = time.Second
)

// Errors, checked with errors.Is.
var (
	// ErrIDTaken: the explicit ID is held by a live process.
	ErrIDTaken = errors.New("worker id is held by another live process")
	// ErrPoolExhausted: every ID of the pool is held.
	ErrPoolExhausted = errors.New("no free worker id in the pool")
	// ErrLost: the ID expired and was lost (possibly claimed by another
	// process). The worker must stop acting as that ID.
	ErrLost = errors.New("worker id lost")
	// ErrReleased: the ID was released; no more heartbeats.
	ErrReleased = errors.New("worker id released")
)

// Info describes the process in its heartbeats.
type Info struct {
	Host    string
	PID     int
	Version string
	Started time.Time
}

// Config configures a claim.
type Config struct {
	Workers  jetstream.KeyValue // the workers bucket
	ID       string             // explicit ID; empty claims the lowest free pool ID
	Prefix   string             // pool prefix; default "worker-"
	PoolSize int                // pool IDs are Prefix+0 .. Prefix+(PoolSize-1); default 1024
	Interval time.Duration      // heartbeat interval; default 1s (keep it ≤ TTL/3)
	Info     Info               // defaults: os.Hostname, os.Getpid, now
	// Now, if set, replaces time.Now for the timestamps written.
	Now func() time.Time
	// Resume, if set, lets the claim of an explicit ID take over a key that
	// still holds the heartbeat of this worker's previous process (a
	// restart faster than the TTL), instead of waiting for it to expire.
	// The caller must only set it when it knows that process is gone.
	Resume *Resume
}

// Resume identifies the previous process of a worker: the key is taken
// over only if its heartbeat carries this nonce, host and PID.
type Resume struct {
	Nonce string
	Host  string
	PID   int
}

// Identity is a claimed worker ID.
type Identity struct {
	cfg   Config
	id    string
	nonce string

	mu       sync.Mutex // serialises writes and guards below
	rev      uint64
	seq      uint64
	applied  uint64
	draining bool
	lastOK   time.Time
	lastSent time.Time // when the last acknowledged write was sent
	err      error     // ErrLost or ErrReleased once final
	lost     chan struct{}
	resumed  bool
}

func (c *Config) defaults() error {
	if c.Workers == nil {
		return errors.New("identity: workers bucket is nil")
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Info.Host == "" {
		c.Info.Host, _ = os.Hostname()
	}
	if c.Info.PID == 0 {
		c.Info.PID = os.Getpid()
	}
	if c.Info.Started.IsZero() {
		c.Info.Started = c.Now()
	}
	return nil
}

// NewNonce returns a random 16-hex-digit process nonce.
func NewNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Claim claims cfg.ID, or the lowest free ID of the pool, and writes the
// first heartbeat. Run must then be called to keep it alive.
func Claim(ctx context.Context, cfg Config) (*Identity, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	it := &Identity{cfg: cfg, nonce: NewNonce(), lost: make(chan struct{})}
	if cfg.ID != "" {
		err := it.claim(ctx, cfg.ID)
		if layout.IsLostRace(err) && cfg.Resume != nil {
			err = it.resume(ctx, cfg.ID, *cfg.Resume)
		}
		if err != nil {
			if layout.IsLostRace(err) {
				return nil, fmt.Errorf("claim worker id %s: %w", cfg.ID, ErrIDTaken)
			}
			return nil, fmt.Errorf("claim worker id %s: %w", cfg.ID, err)
		}
		return it, nil
	}
	for i := range cfg.PoolSize {
		id := fmt.Sprintf("%s%d", cfg.Prefix, i)
		err := it.claim(ctx, id)
		if err == nil {
			return it, nil
		}
		if !layout.IsLostRace(err) {
			return nil, fmt.Errorf("claim worker id %s: %w", id, err)
		}
	}
	return nil, fmt.Errorf("claim worker id %s0..%s%d: %w", cfg.Prefix, cfg.Prefix, cfg.PoolSize-1, ErrPoolExhausted)
}

func (it *Identity) claim(ctx context.Context, id string) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.id = id
	val, err := it.encodeLocked()
	if err != nil {
		return err
	}
	sent := time.Now()
	rev, err := it.cfg.Workers.Create(ctx, id, val)
	if err != nil {
		return err
	}
	it.rev, it.lastOK, it.lastSent = rev, time.Now(), sent
	return nil
}

// resume takes over id's key if its heartbeat belongs to r, with a
// compare-and-swap on the revision read, so a concurrent claim or a live
// heartbeat wins instead.
func (it *Identity) resume(ctx context.Context, id string, r Resume) error {
	e, err := it.cfg.Workers.Get(ctx, id)
	if err != nil {
		return err
	}
	hb, err := codec.DecodeHeartbeat(id, e.Value())
	if err != nil {
		return err
	}
	if hb.Nonce != r.Nonce || hb.Host != r.Host || hb.PID != r.PID {
		return jetstream.ErrKeyExists
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	it.id = id
	it.applied = 0
	val, err := it.encodeLocked()
	if err != nil {
		return err
	}
	sent := time.Now()
	rev, err := it.cfg.Workers.Update(ctx, id, val, e.Revision())
	if err != nil {
		return err
	}
	it.rev, it.lastOK, it.lastSent, it.resumed = rev, time.Now(), sent, true
	return nil
}

// Resumed reports whether the claim took over the previous process's key.
func (it *Identity) Resumed() bool {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.resumed
}

// ID is the claimed worker ID.
func (it *Identity) ID() string { return it.id }

// Nonce is this process's random instance nonce.
func (it *Identity) Nonce() string { return it.nonce }

// Revision is the revision of the last heartbeat written.
func (it *Identity) Revision() uint64 {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.rev
}

// LastHeartbeat is when the last heartbeat was acknowledged.
func (it *Identity) LastHeartbeat() time.Time {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.lastOK
}

// Lost is closed when the ID is lost (ErrLost). It is not closed by
// Release.
func (it *Identity) Lost() <-chan struct{} { return it.lost }

// Err returns ErrLost or ErrReleased (wrapped) once the identity ended,
// else nil.
func (it *Identity) Err() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.err
}

// SetApplied records the assignment version the worker has applied; the
// next heartbeat carries it.
func (it *Identity) SetApplied(v uint64) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.applied = v
}

// SetDraining marks the worker as leaving (or not) and writes a heartbeat
// at once, so the leader starts the handoff without waiting a period.
func (it *Identity) SetDraining(ctx context.Context, draining bool) error {
	it.mu.Lock()
	it.draining = draining
	it.mu.Unlock()
	return it.Heartbeat(ctx)
}

func (it *Identity) encodeLocked() ([]byte, error) {
	it.seq++
	return codec.Encode(&codec.Heartbeat{
		Worker:   it.id,
		Nonce:    it.nonce,
		Host:     it.cfg.Info.Host,
		PID:      it.cfg.Info.PID,
		Version:  it.cfg.Info.Version,
		Started:  it.cfg.Info.Started,
		Applied:  it.applied,
		Draining: it.draining,
		Seq:      it.seq,
		At:       it.cfg.Now(),
	})
}

// Heartbeat writes one heartbeat now. It returns an error wrapping ErrLost
// if the ID was lost (and closes Lost), ErrReleased after Release, or a
// transient error that the caller may retry.
func (it *Identity) Heartbeat(ctx context.Context) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.err != nil {
		return it.err
	}
	val, err := it.encodeLocked()
	if err != nil {
		return err
	}
	sent := time.Now()
	rev, err := it.cfg.Workers.Update(ctx, it.id, val, it.rev)
	if layout.IsLostRace(err) && it.adoptOwnWriteLocked(ctx) {
		// An earlier heartbeat that timed out had landed after all.
		rev, err = it.cfg.Workers.Update(ctx, it.id, val, it.rev)
	}
	if err != nil {
		if layout.IsLostRace(err) {
			it.err = fmt.Errorf("worker id %s: %w: heartbeat at revision %d refused: %w", it.id, ErrLost, it.rev, err)
			close(it.lost)
			return it.err
		}
		return fmt.Errorf("heartbeat %s: %w", it.id, err)
	}
	it.rev, it.lastOK, it.lastSent = rev, time.Now(), sent
	return nil
}

// LastSent is when the last acknowledged heartbeat was sent. The server
// stamps the write no earlier, so the key cannot expire before
// LastSent + the bucket TTL (on this host's clock).
func (it *Identity) LastSent() time.Time {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.lastSent
}

// adoptOwnWriteLocked checks whether the key's current value is this
// process's own heartbeat (written by a request whose reply was lost) and,
// if so, adopts its revision. A stale read at worst makes the retried
// update fail, which then counts as the loss it is.
func (it *Identity) adoptOwnWriteLocked(ctx context.Context) bool {
	e, err := it.cfg.Workers.Get(ctx, it.id)
	if err != nil {
		return false
	}
	hb, err := codec.DecodeHeartbeat(e.Key(), e.Value())
	if err != nil || hb.Nonce != it.nonce || e.Revision() == it.rev {
		return false
	}
	it.rev = e.Revision()
	return true
}

// Run heartbeats every Interval until ctx is done (returns nil), the ID is
// lost (returns an error wrapping ErrLost) or released (returns nil).
// onError, if not nil, receives transient heartbeat failures; it must not
// block.
func (it *Identity) Run(ctx context.Context, onError func(error)) error {
	t := time.NewTicker(it.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, it.cfg.Interval)
		err := it.Heartbeat(hctx)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, ErrLost):
			return err
		case errors.Is(err, ErrReleased):
			return nil
		case ctx.Err() != nil:
			return nil
		case onError != nil:
			onError(err)
		}
	}
}

// Release gives the ID up: it deletes the key if it is still at this
// process's last revision (a later holder's key is left alone). After
// Release, Heartbeat returns ErrReleased.
func (it *Identity) Release(ctx context.Context) error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.err != nil {
		return it.err
	}
	err := it.cfg.Workers.Delete(ctx, it.id, jetstream.LastRevision(it.rev))
	if layout.IsLostRace(err) && it.adoptOwnWriteLocked(ctx) {
		// A heartbeat whose reply was lost (cancelled) had landed.
		err = it.cfg.Workers.Delete(ctx, it.id, jetstream.LastRevision(it.rev))
	}
	if err != nil && !layout.IsLostRace(err) {
		return fmt.Errorf("release worker id %s: %w", it.id, err)
	}
	it.err = fmt.Errorf("worker id %s: %w", it.id, ErrReleased)
	if err != nil {
		return fmt.Errorf("release worker id %s: already %w (%w)", it.id, ErrLost, err)
	}
	return nil
}
